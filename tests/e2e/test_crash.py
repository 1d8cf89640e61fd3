"""Scheduled posts survive a crash: the bot is SIGKILLed mid-burst and restarted; each post exists exactly once."""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from labelbot.artists.models import Artist
from labelbot.catalog.models import Release, ReleaseStatus
from labelbot.config import JobSettings
from labelbot.db import create_engine, create_sessionmaker, utcnow
from labelbot.features.releases import _service as release_service
from labelbot.guilds.models import GuildSettings
from labelbot.jobs import JobQueue, JobStatus, ScheduledJob
from tests.fakediscord import ChannelType, FakeChannel, FakeMessage
from tests.harness import BotHarness, BotProcess
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
    # A bot with its process to itself keeps its start-up heap out of the collector's full passes (client.py).
    assert "objects kept out of garbage collection" in second.output()

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


# -- announcements at the embargo minute, with a crash among them -------------------------------------------------

RELEASES = 20
# Two releases per label server: each announcements channel stays within Discord's 5 messages per 5 s, so any wait
# the test sees is the engine's, not the rate limit's.
LABELS = 10
RECOVERY_GOAL = timedelta(seconds=5)


async def _seed_releases(harness: BotHarness, channels: list[FakeChannel], first_due: datetime) -> None:
    """Twenty scheduled releases on ten label servers, due in four bursts of five over four seconds."""
    engine = create_engine(harness.database_url)
    sessions = create_sessionmaker(engine)
    queue = JobQueue(sessions, JobSettings())
    try:
        async with sessions.begin() as session:
            artists = []
            for channel in channels:
                session.add(GuildSettings(guild_id=channel.guild_id, announcements_channel_id=channel.id))
                artist = Artist(
                    guild_id=channel.guild_id,
                    name="Nova Lights",
                    name_key="nova lights",
                    created_by=harness.moderator.id,
                )
                session.add(artist)
                artists.append(artist)
            await session.flush()
            for n in range(RELEASES):
                artist = artists[n % LABELS]
                due = first_due + timedelta(seconds=n // 5)
                release = Release(
                    guild_id=artist.guild_id,
                    artist_id=artist.id,
                    title=f"Night Drive {n}",
                    release_at=due,
                    status=ReleaseStatus.SCHEDULED,
                    created_by=harness.moderator.id,
                )
                session.add(release)
                await session.flush()
                await queue.schedule(
                    session,
                    release_service.ANNOUNCE,
                    {"release_id": release.id},
                    due,
                    guild_id=release.guild_id,
                    key=release_service.announce_key(release.id),
                )
    finally:
        await engine.dispose()


def _announcements(harness: BotHarness, channels: list[FakeChannel]) -> list[FakeMessage]:
    return [message for channel in channels for message in harness.fake.messages(channel)]


async def _ready(harness: BotHarness, process: BotProcess) -> datetime:
    """Wait until the process has started its job queue (what "ready" means for scheduled work); return when."""
    await harness.wait_until(lambda: "Job queue" in process.output() and " started:" in process.output(), timeout=30)
    return utcnow()


@pytest.mark.slow
async def test_after_kill_9_and_a_restart_every_announcement_is_out_within_seconds_once_and_crossposted(
    harness: BotHarness,
) -> None:
    # The production lease: what the dead process claimed must come back because it is dead, not because a lease
    # ran out (a minute, before workers had heartbeats).
    harness.extra_env["LABELBOT_JOBS__LEASE_SECONDS"] = "60"
    channels = []
    for n in range(LABELS):
        guild = harness.guild if n == 0 else harness.fake.add_guild(f"Label {n}")
        channels.append(guild.add_channel("announcements", type=ChannelType.news))

    first = harness.spawn()
    await _ready(harness, first)
    await _seed_releases(harness, channels, utcnow() + timedelta(seconds=2))
    await harness.wait_until(lambda: len(_announcements(harness, channels)) >= 1, timeout=30)
    first.kill()
    before_crash = len(_announcements(harness, channels))
    assert before_crash < RELEASES, "the crash must land mid-burst for this test to mean anything"

    # A crosspost the killed process made but had not recorded is made again and answered "already crossposted"
    # (40033), which the handler takes as done: the one refusal this restart may meet.
    harness.fake.expect_refusals("/channels/{channel_id}/messages/{message_id}/crosspost", status=400, code=40033)
    second = harness.spawn()
    ready = await _ready(harness, second)
    await harness.wait_until(lambda: len(_announcements(harness, channels)) >= RELEASES, timeout=30)
    await harness.wait_until(
        lambda: all(message.crossposted for message in _announcements(harness, channels)), timeout=30
    )
    await second.terminate()
    # Any other refusal is a defect.
    refused = harness.fake.rejected_requests
    assert [r for r in refused if not (r.path.endswith("/crosspost") and (r.error or {}).get("code") == 40033)] == []
    refused.clear()

    posted = _announcements(harness, channels)
    # Each announcement is a card whose title line is "## <release title>".
    titles = Counter(line[3:] for message in posted for line in message.text.splitlines() if line.startswith("## "))
    assert sorted(titles) == sorted(f"Night Drive {n}" for n in range(RELEASES)), titles
    assert max(titles.values()) == 1, f"announced twice: {[t for t, k in titles.items() if k > 1]}"
    slowest = max(message.created_at for message in posted) - ready
    assert slowest <= RECOVERY_GOAL, f"the last announcement came {slowest} after the restart was ready"
