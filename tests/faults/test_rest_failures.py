"""Discord answering 500s and 429s in bursts: every scheduled post is eventually made, exactly once."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import func, select

from labelbot.config import JobSettings
from labelbot.db import create_engine, create_sessionmaker, utcnow
from labelbot.jobs import JobQueue, JobStatus, ScheduledJob
from tests.fakediscord import ChannelType, FakeChannel, FakeMessage
from tests.faults.helpers import only_features
from tests.harness import BotHarness
from tests.support.ticker import KIND

JOBS = 60
CHANNELS = 12
MESSAGES = "/channels/{channel_id}/messages"


class Bursts:
    """Counts the bot's posts; of every 10 it tries, the 1st answers 500, the 2nd 502, the 3rd a bare 429."""

    def __init__(self) -> None:
        self.seen = 0

    def count(self, method: str, path: str, template: str) -> bool:
        """Called first for every request (the first injected failure): counts posts."""
        if method != "POST" or template != MESSAGES:
            return False
        self.seen += 1
        return self.seen % 10 == 1

    def nth(self, n: int) -> Callable[[str, str, str], bool]:
        return lambda method, path, template: method == "POST" and template == MESSAGES and self.seen % 10 == n


async def test_bursts_of_500s_and_429s_lose_no_post_and_repeat_none(harness: BotHarness) -> None:
    h = harness
    only_features(h, {"labelbot.features.about"}, extra=["tests.support.ticker"])
    channels = [h.guild.add_channel(f"drops-{i}", type=ChannelType.text) for i in range(CHANNELS)]
    engine = create_engine(h.database_url)
    try:
        queue = JobQueue(create_sessionmaker(engine), JobSettings())
        start = utcnow() + timedelta(seconds=3)
        async with create_sessionmaker(engine).begin() as session:
            for n in range(JOBS):
                payload = {"channel_id": channels[n % CHANNELS].id, "n": n}
                await queue.schedule(session, KIND, payload, start + timedelta(milliseconds=50 * n), key=f"tick:{n}")
    finally:
        await engine.dispose()

    # Three kinds of failure, each in bursts: discord.py retries 5xx itself; a 429 without rate-limit headers
    # (as a proxy in front of Discord would send) is an error the job engine retries.
    bursts = Bursts()
    h.fake.inject_failures(bursts.count, status=500, count=10**6)
    h.fake.inject_failures(bursts.nth(2), status=502, count=10**6)
    h.fake.inject_failures(bursts.nth(3), status=429, count=10**6)
    await h.start()
    # Later, a solid burst: the next 6 posts the bot tries fail (bare 429s).
    await h.fake.wait_until(lambda: len(posts(h, channels)) >= JOBS // 3, timeout=60, what="a third of the posts")
    h.fake.inject_failures(MESSAGES, status=429, count=6)

    await h.wait_until(lambda: len(posts(h, channels)) >= JOBS, timeout=120, interval=0.2)
    assert h.bot is not None
    await h.wait_until(lambda: all_done(h), timeout=30, interval=0.3)

    failed = [r for r in h.fake.requests if r.route == MESSAGES and r.method == "POST" and r.status >= 429]
    assert len(failed) >= 10, "the bursts of failures never happened"
    contents = Counter(m.content for m in posts(h, channels))
    assert set(contents) == {f"tick {n}" for n in range(JOBS)}, "a post was lost"
    assert max(contents.values()) == 1, f"posted twice: {[c for c, k in contents.items() if k > 1]}"


def posts(h: BotHarness, channels: list[FakeChannel]) -> list[FakeMessage]:
    return [m for channel in channels for m in h.fake.messages(channel)]


async def all_done(h: BotHarness) -> bool:
    assert h.bot is not None
    async with h.bot.sessionmaker() as session:
        done = await session.scalar(
            select(func.count())
            .select_from(ScheduledJob)
            .where(ScheduledJob.kind == KIND, ScheduledJob.status == JobStatus.DONE)
        )
    return int(done or 0) == JOBS
