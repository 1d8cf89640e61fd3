"""The database connection cut for 10 seconds under use (PostgreSQL through a TCP proxy the test controls):
commands answer a clear "try again", and the bot recovers by itself."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy.engine import make_url

from labelbot.config import JobSettings
from labelbot.db import create_engine, create_sessionmaker, utcnow
from labelbot.jobs import JobQueue
from labelbot.tree import DATABASE_DOWN
from tests.e2e.helpers import nothing_more_happens
from tests.fakediscord import ChannelType
from tests.faults.helpers import PARTY_FEATURES, only_features, run, set_parties_channel
from tests.harness import BotHarness
from tests.support.tcpproxy import TcpProxy
from tests.support.ticker import KIND

CUT_SECONDS = 10.0


@pytest.fixture
async def proxy(harness: BotHarness) -> AsyncIterator[TcpProxy]:
    if not harness.database_url.startswith("postgresql"):
        pytest.skip("the connection cut goes through a TCP proxy in front of PostgreSQL")
    url = make_url(harness.database_url)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    await proxy.start()
    harness.extra_env["LABELBOT_DATABASE__URL"] = url.set(host="127.0.0.1", port=proxy.port).render_as_string(
        hide_password=False
    )
    yield proxy
    await proxy.stop()


# No expect_error_log here: while the database is away the job engine warns once per pass, with no traceback.
async def test_a_ten_second_database_cut_answers_try_again_and_the_bot_recovers(
    harness: BotHarness, proxy: TcpProxy
) -> None:
    h = harness
    only_features(h, PARTY_FEATURES, extra=["tests.support.ticker"])
    await h.start()
    await set_parties_channel(h)
    assert "No listening parties" in (await run(h, h.moderator, "party list")).content
    posts = h.guild.add_channel("after-the-cut", type=ChannelType.text)

    # A post due just after the cut ends, scheduled straight into the database (not through the proxy).
    engine = create_engine(h.database_url)
    try:
        queue = JobQueue(create_sessionmaker(engine), JobSettings())
        async with create_sessionmaker(engine).begin() as session:
            due = utcnow() + timedelta(seconds=CUT_SECONDS + 2)
            await queue.schedule(session, KIND, {"channel_id": posts.id, "n": 1}, due, key="tick:after-cut")
    finally:
        await engine.dispose()

    await proxy.cut()
    answers: list[str] = []
    loop = asyncio.get_running_loop()
    cut_until = loop.time() + CUT_SECONDS
    # Under use: members keep running commands, reading and writing, during the whole cut.
    while loop.time() < cut_until:
        answers.append((await run(h, h.moderator, "party list")).content)
        answers.append(
            (await run(h, h.moderator, "party schedule", title="Cut", start="in 2 hours", tracklist="A - 0:05")).content
        )
        await asyncio.sleep(0.5)
    proxy.restore()

    assert len(answers) >= 6
    assert all(answer == DATABASE_DOWN for answer in answers), answers
    # No apology with a reference, nothing silent.
    assert not [i for i in h.fake.interactions if i.late_callbacks]

    # Recovers by itself: the next commands work, and the post due after the cut is made once.
    async def works() -> bool:
        return "No listening parties" in (await run(h, h.moderator, "party list")).content

    await h.wait_until(works, timeout=30, interval=1.0)
    scheduled = await run(h, h.moderator, "party schedule", title="After", start="in 2 hours", tracklist="A - 0:05")
    assert "Scheduled" in scheduled.content, scheduled.content
    tick = await h.fake.wait_for_message(posts, lambda m: m.content == "tick 1", timeout=30)
    assert tick is not None
    await nothing_more_happens(h, "tick:after-cut")
    assert [m.content for m in h.fake.messages(posts)] == ["tick 1"]
