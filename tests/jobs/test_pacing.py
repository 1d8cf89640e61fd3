"""The bot's pacer keeps the per-channel and the global limits: a fake Discord enforcing them answers no 429."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import discord
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from labelbot.db import utcnow
from labelbot.jobs import JobContext, JobQueue, JobStatus, ScheduledJob, send_once
from labelbot.pacing import Pacer, SlidingWindow
from tests.fakediscord import FakeDiscord
from tests.fakediscord.clientrun import running
from tests.fakediscord.ratelimit import Limit
from tests.jobs.conftest import fast_settings

SCALE = 0.1
NONE = discord.AllowedMentions.none()
MESSAGES = "/channels/{channel_id}/messages"


def context(job_id: int, pacer: Pacer | None) -> JobContext:
    return JobContext(
        id=job_id,
        kind="release.announce",
        key=None,
        payload={},
        guild_id=None,
        due_at=utcnow(),
        attempt=1,
        late=False,
        lateness=timedelta(0),
        pacer=pacer,
    )


async def fan_out(fake: FakeDiscord, pacer: Pacer | None) -> tuple[list[int], float]:
    """Post 12 announcements in each of 3 channels and fetch 3 channels 60 times each, all at once."""
    guild = fake.add_guild("Label network")
    channels = [guild.add_channel(f"announcements-{n}") for n in range(3)]
    client = discord.Client(
        intents=discord.Intents(guilds=True),
        guild_ready_timeout=0.05,
        http_trace=pacer.trace_config() if pacer is not None else None,
    )
    async with running(fake, client):
        fake.enforce_rate_limits = True
        before = len(fake.requests)
        started = asyncio.get_running_loop().time()
        targets = [client.get_channel(channel.id) for channel in channels]
        posts = [
            send_once(target, context(n * 100 + i, pacer), allowed_mentions=NONE, content=f"Drop {i}")
            for n, target in enumerate(targets)
            if isinstance(target, discord.TextChannel)
            for i in range(12)
        ]
        fetches = [client.fetch_channel(channel.id) for channel in channels for _ in range(60)]
        await asyncio.gather(*posts, *fetches)
        elapsed = asyncio.get_running_loop().time() - started
        assert len(fake.requests) - before >= 36 + 180
    return [len(fake.messages(channel)) for channel in channels], elapsed


@pytest.mark.fake_discord(rate_limit_scale=SCALE)
async def test_paced_sends_and_fetches_meet_no_429(fake_discord: FakeDiscord) -> None:
    pacer = Pacer(fake_discord.api_base, global_limit=(50, 1.0 * SCALE), channel_limit=(5, 5.0 * SCALE))

    posted, elapsed = await fan_out(fake_discord, pacer)

    assert posted == [12, 12, 12]
    assert fake_discord.count_429 == 0
    assert pacer.stats.rate_limited == 0
    # Twelve posts in a channel need three of its windows: the pacer waited, rather than sending them at once.
    assert elapsed >= 2 * 5.0 * SCALE
    assert pacer.stats.paced_requests >= 36 + 180


@pytest.mark.fake_discord(rate_limit_scale=SCALE)
async def test_unpaced_the_same_fan_out_is_answered_429(fake_discord: FakeDiscord) -> None:
    # What the pacer prevents: discord.py alone learns the limits from 429s.
    posted, _ = await fan_out(fake_discord, None)

    assert posted == [12, 12, 12]
    assert fake_discord.count_429 > 0


async def test_a_window_counts_each_request_until_its_answer_is_a_window_old() -> None:
    window = SlidingWindow(2, 0.2)
    loop = asyncio.get_running_loop()
    first = await window.acquire()
    second = await window.acquire()
    began = loop.time()
    third = asyncio.create_task(window.acquire())
    await asyncio.sleep(0.3)
    # Both still in flight: however long ago they were sent, nothing more goes out.
    assert not third.done()
    window.release(first)
    await third
    assert loop.time() - began >= 0.3 + 0.2
    window.release(second)


async def test_a_long_429_hands_the_job_back_instead_of_holding_its_worker(
    fake_discord: FakeDiscord, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    guild = fake_discord.add_guild("Busy label")
    channel = guild.add_channel("announcements")
    pacer = Pacer(fake_discord.api_base)
    client = discord.Client(
        intents=discord.Intents(guilds=True), guild_ready_timeout=0.05, http_trace=pacer.trace_config()
    )
    queue = JobQueue(sessionmaker, fast_settings(), worker_id="announcer")

    async def announce(ctx: JobContext) -> None:
        target = client.get_channel(channel.id)
        assert isinstance(target, discord.TextChannel)
        await target.send("Out now", allowed_mentions=NONE)

    queue.register("release.announce", announce)
    async with running(fake_discord, client):
        # Another process on the token used up the channel's window, and Discord asks for a minute.
        fake_discord.ratelimiter.limits[("POST", MESSAGES)] = Limit("messages.create", 5, 60.0)
        fake_discord.enforce_rate_limits = True
        fake_discord.ratelimiter.exhaust("POST", MESSAGES, str(channel.id))
        async with sessionmaker.begin() as session:
            job = await queue.schedule(session, "release.announce", {}, utcnow())
        async with asyncio.timeout(20):
            await queue.run_due()
    async with sessionmaker() as session:
        stored = await session.get(ScheduledJob, job.id)
    assert stored is not None
    # Back in the table for when the minute is over, not a failed attempt, and nothing posted yet.
    assert stored.status == JobStatus.PENDING
    assert stored.attempts == 0
    assert stored.last_error is None
    assert stored.due_at >= utcnow() + timedelta(seconds=40)
    assert fake_discord.messages(channel) == []
