"""send_once: a retry never posts the same message twice."""

from __future__ import annotations

import itertools
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import discord
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from labelbot.db import utcnow
from labelbot.jobs import JobContext, JobQueue, JobStatus, ScheduledJob, job_nonce, send_once
from labelbot.jobs.sending import NONCE_LENGTH, recorded_message_id
from tests.fakediscord import FakeDiscord
from tests.fakediscord.clientrun import running
from tests.jobs.conftest import fast_settings

NONE = discord.AllowedMentions.none()
_message_ids = itertools.count(1000)


class FakeChannel:
    """Just enough of a Messageable: remembers what was sent and which messages exist."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.existing: dict[int, Any] = {}
        self.fetched: list[int] = []

    async def send(self, **kwargs: Any) -> Any:
        message = SimpleNamespace(id=next(_message_ids), content=kwargs.get("content"))
        self.sent.append(kwargs)
        self.existing[message.id] = message
        return message

    async def fetch_message(self, message_id: int) -> Any:
        self.fetched.append(message_id)
        if message_id not in self.existing:
            raise discord.NotFound(SimpleNamespace(status=404, reason="Not Found"), "Unknown Message")
        return self.existing[message_id]


def context(job_id: int = 1, *, generation: int = 0, progress: dict[str, Any] | None = None) -> JobContext:
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
        generation=generation,
        progress=progress if progress is not None else {},
    )


def test_nonce_is_stable_fits_discord_and_differs_per_part_job_and_run() -> None:
    nonce = job_nonce(context(7), "teaser")
    assert nonce == job_nonce(context(7), "teaser")
    assert len(nonce) <= NONCE_LENGTH
    others = {
        job_nonce(context(7), "announce"),
        job_nonce(context(8), "teaser"),
        job_nonce(context(7, generation=1), "teaser"),
    }
    assert nonce not in others
    assert len(others) == 3


async def test_send_once_posts_once_and_a_retry_fetches_instead() -> None:
    channel = FakeChannel()
    first_attempt = context()

    posted = await send_once(channel, first_attempt, "main", allowed_mentions=NONE, content="Out now!")

    assert channel.sent == [
        {"nonce": job_nonce(first_attempt, "main"), "allowed_mentions": NONE, "content": "Out now!"}
    ]
    assert recorded_message_id(first_attempt, "main") == posted.id
    retry = context(progress=dict(first_attempt.progress))
    again = await send_once(channel, retry, "main", allowed_mentions=NONE, content="Out now!")
    assert again is posted
    assert len(channel.sent) == 1
    assert channel.fetched == [posted.id]


async def test_a_recorded_message_deleted_since_is_posted_again_under_a_new_nonce() -> None:
    channel = FakeChannel()
    ctx = context(progress={"messages": {"main": 999_999}})

    posted = await send_once(channel, ctx, "main", allowed_mentions=NONE, content="Out now!")

    assert len(channel.sent) == 1
    assert channel.sent[0]["nonce"] != job_nonce(ctx, "main")
    assert recorded_message_id(ctx, "main") == posted.id


async def test_send_once_chooses_the_nonce_itself() -> None:
    with pytest.raises(TypeError, match="nonce"):
        await send_once(FakeChannel(), context(), allowed_mentions=NONE, nonce="mine")


async def test_a_retried_handler_skips_the_parts_it_already_posted(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    queue = JobQueue(sessionmaker, fast_settings(), worker_id="sender")
    channel = FakeChannel()

    async def announce(ctx: JobContext) -> dict[str, Any]:
        await send_once(channel, ctx, "announcement", allowed_mentions=NONE, content="New single!")
        if ctx.attempt == 1:
            raise discord.DiscordServerError(SimpleNamespace(status=503, reason="Unavailable"), "try later")
        await send_once(channel, ctx, "thread", allowed_mentions=NONE, content="Talk about it here")
        return {"announced": True}

    queue.register("release.announce", announce)
    async with sessionmaker.begin() as session:
        job = await queue.schedule(session, "release.announce", {}, utcnow())
    await queue.run_due()
    async with sessionmaker.begin() as session:
        # Skip the backoff: make the retry due now.
        stored = await session.get(ScheduledJob, job.id)
        assert stored is not None
        stored.due_at = utcnow()
    await queue.run_due()

    assert [sent["content"] for sent in channel.sent] == ["New single!", "Talk about it here"]
    async with sessionmaker() as session:
        done = await session.get(ScheduledJob, job.id)
    assert done is not None
    assert done.status == JobStatus.DONE
    assert done.result is not None
    assert set(done.result["messages"]) == {"announcement", "thread"}
    assert done.result["announced"] is True


async def test_a_repeat_that_lost_its_record_gets_the_first_message_back_from_discord(
    fake_discord: FakeDiscord,
) -> None:
    # A crash between the send and recording its id: the retry sends again, and the nonce makes Discord answer
    # with the first message instead of posting a second one.
    guild = fake_discord.add_guild("Label HQ")
    news = guild.add_channel("announcements")
    client = discord.Client(intents=discord.Intents.none() | discord.Intents(guilds=True), guild_ready_timeout=0.05)
    async with running(fake_discord, client):
        channel = client.get_channel(news.id)
        assert isinstance(channel, discord.TextChannel)
        first = await send_once(channel, context(41), allowed_mentions=NONE, content="Out now!")
        repeat = await send_once(channel, context(41), allowed_mentions=NONE, content="Out now!")
        other_run = await send_once(channel, context(41, generation=1), allowed_mentions=NONE, content="Out again!")

    assert repeat.id == first.id
    assert other_run.id != first.id
    assert [message.content for message in fake_discord.messages(news)] == ["Out now!", "Out again!"]
