"""Scheduled posts survive a crash: the bot is SIGKILLed mid-burst and restarted; each post exists exactly once."""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import JobSettings
from bot.db import create_engine, create_sessionmaker, utcnow
from bot.jobs import JobQueue, JobStatus, ScheduledJob
from tests.fakediscord import ChannelType
from tests.harness import BotHarness
from tests.support.ticker import KIND

JOBS = 200
# Discord allows about 5 messages per 5 s in one channel (the fake enforces the same), so a burst of 200 posts is
# spread the way a label's would be: over many channels.
CHANNELS = 20


async def count_done(engine: AsyncEngine) -> int:
    async with create_sessionmaker(engine)() as session:
        done = await session.scalar(
            select(func.count()).select_from(ScheduledJob).where(ScheduledJob.status == JobStatus.DONE)
        )
        return int(done or 0)


@pytest.mark.slow
async def test_sigkill_mid_burst_loses_nothing_and_posts_nothing_twice(harness: BotHarness) -> None:
    channels = [harness.guild.add_channel(f"drops-{i}", type=ChannelType.text) for i in range(CHANNELS)]
    harness.extra_env["LABELBOT_FEATURES__EXTRA_EXTENSIONS"] = '["tests.support.ticker"]'

    # 200 posts falling due over three seconds, a few seconds from now (the bot needs ~2 s to start).
    engine = create_engine(harness.database_url)
    queue = JobQueue(create_sessionmaker(engine), JobSettings())
    start = utcnow() + timedelta(seconds=3)
    async with create_sessionmaker(engine).begin() as session:
        for n in range(JOBS):
            due = start + timedelta(milliseconds=15 * n)
            payload = {"channel_id": channels[n % CHANNELS].id, "n": n}
            await queue.schedule(session, KIND, payload, due, key=f"tick:{n}")

    first = harness.spawn()
    await harness.wait_until(lambda: len(posts(harness, channels)) >= JOBS // 4, timeout=30)
    first.kill()
    posted_before_crash = len(posts(harness, channels))
    assert posted_before_crash < JOBS, "the crash must land mid-burst for this test to mean anything"

    second = harness.spawn()
    await harness.wait_until(_all_done(engine), timeout=60, interval=0.5)
    await second.terminate()
    await engine.dispose()

    contents = Counter(message.content for message in posts(harness, channels))
    assert set(contents) == {f"tick {n}" for n in range(JOBS)}, "a post was lost"
    assert max(contents.values()) == 1, f"posted twice: {[c for c, k in contents.items() if k > 1]}"
    nonces = Counter(message.nonce for message in posts(harness, channels))
    assert len(nonces) == JOBS


def posts(harness: BotHarness, channels: list[Any]) -> list[Any]:
    return [message for channel in channels for message in harness.fake.messages(channel)]


def _all_done(engine: AsyncEngine) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return await count_done(engine) == JOBS

    return check
