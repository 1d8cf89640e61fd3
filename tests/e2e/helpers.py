"""Helpers for end-to-end tests of server setup: run commands, snapshot what a refusal must leave untouched."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from labelbot.artists.models import Artist, ArtistManager
from labelbot.audit.models import AuditEntry
from labelbot.audit.service import AUDIT_POST
from labelbot.client import LabelBot
from labelbot.db.base import utcnow
from labelbot.guilds.models import GuildSettings, MemberSettings
from labelbot.jobs import JobStatus, ScheduledJob
from tests.fakediscord import FakeGuild, FakeInteraction, FakeReply, interactions
from tests.harness import BotHarness

# Every table the server-setup commands write to.
SETUP_TABLES: tuple[type[Any], ...] = (GuildSettings, MemberSettings, AuditEntry, Artist, ArtistManager, ScheduledJob)

NO_PINGS = {"parse": []}


def running(harness: BotHarness) -> LabelBot:
    assert harness.bot is not None, "the bot is not running"
    return harness.bot


async def slash(
    harness: BotHarness, user: Any, command: str, /, *, where: Any = None, **options: Any
) -> FakeInteraction:
    """Run a slash command as `user` in `where` (default #general); options by name, even one named "channel"."""
    return await interactions.slash(harness.fake, harness.guild, where or harness.general, user, command, options)


async def run(harness: BotHarness, user: Any, command: str, /, *, where: Any = None, **options: Any) -> FakeReply:
    """Run a slash command and return what the member finally sees."""
    return await (await slash(harness, user, command, where=where, **options)).reply()


def _row(obj: Any) -> dict[str, Any]:
    return {column.key: getattr(obj, column.key) for column in obj.__table__.columns}


async def table_rows(harness: BotHarness, model: type[Any]) -> list[dict[str, Any]]:
    """Every row of a table, as dicts, in primary-key order."""
    async with running(harness).sessionmaker() as session:
        primary_key = list(model.__table__.primary_key.columns)
        rows = await session.scalars(select(model).order_by(*primary_key))
        return [_row(row) for row in rows]


async def database_state(harness: BotHarness) -> dict[str, list[dict[str, Any]]]:
    """The rows of every table server setup writes to."""
    return {model.__tablename__: await table_rows(harness, model) for model in SETUP_TABLES}


def guild_state(guild: FakeGuild) -> dict[str, Any]:
    """The server's roles and channels as Discord keeps them."""
    return {
        "roles": [(role.id, role.name, role.permissions, role.position, role.mentionable) for role in guild.roles],
        "channels": [(channel.id, channel.name, int(channel.type)) for channel in guild.channels],
    }


async def audit_entries(harness: BotHarness) -> list[AuditEntry]:
    async with running(harness).sessionmaker() as session:
        return list(await session.scalars(select(AuditEntry).order_by(AuditEntry.id)))


async def guild_settings(harness: BotHarness) -> GuildSettings | None:
    async with running(harness).sessionmaker() as session:
        return await session.get(GuildSettings, harness.guild.id)


async def audit_posts_done(harness: BotHarness, count: int) -> bool:
    """Whether `count` mod-log posts of audit entries have run to the end (so any duplicate would be there)."""
    async with running(harness).sessionmaker() as session:
        done = await session.scalars(
            select(ScheduledJob).where(ScheduledJob.kind == AUDIT_POST, ScheduledJob.status == JobStatus.DONE)
        )
        return len(list(done)) >= count


def embed_fields(reply: FakeReply, index: int = 0) -> dict[str, str]:
    return {field["name"]: field["value"] for field in reply.embeds[index].get("fields", [])}


SETTLED = (JobStatus.DONE, JobStatus.CANCELLED)


async def jobs_with_key(database_url: str, prefix: str) -> list[ScheduledJob]:
    """The job rows whose key starts with `prefix`, read on a connection of the test's own (the bot may be down)."""
    from labelbot.db import create_engine, create_sessionmaker

    engine = create_engine(database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            rows = await session.scalars(
                select(ScheduledJob).where(ScheduledJob.key.startswith(prefix)).order_by(ScheduledJob.id)
            )
            return list(rows)
    finally:
        await engine.dispose()


async def wait_jobs_settled(harness: BotHarness, prefix: str, *, timeout: float = 30.0) -> list[ScheduledJob]:
    """Wait until every job keyed `prefix...` is done or cancelled (there must be at least one)."""

    async def settled() -> bool:
        rows = await jobs_with_key(harness.database_url, prefix)
        return bool(rows) and all(row.status in SETTLED for row in rows)

    await harness.wait_until(settled, timeout=timeout, interval=0.1)
    return await jobs_with_key(harness.database_url, prefix)


async def sweep_once(harness: BotHarness) -> None:
    """One pass of the job engine's safety net, and a run of whatever it finds due: a duplicate would post now."""
    jobs = running(harness).jobs
    await jobs.sweep()
    await jobs.run_due()


async def nothing_more_happens(harness: BotHarness, prefix: str) -> list[ScheduledJob]:
    """The fact that shows no duplicate or early post can still come: the jobs settled, then a sweep ran."""
    rows = await wait_jobs_settled(harness, prefix)
    await sweep_once(harness)
    return rows


async def come_due(harness: BotHarness, key: str) -> None:
    """The pending job keyed `key` comes due now (its moment arrives), and the job engine runs it."""
    bot = running(harness)
    async with bot.sessionmaker.begin() as session:
        moved = await session.execute(
            update(ScheduledJob)
            .where(ScheduledJob.key == key, ScheduledJob.status == JobStatus.PENDING)
            .values(due_at=utcnow(), scheduled_for=utcnow())
        )
    assert getattr(moved, "rowcount", 0) == 1, f"no pending job {key!r}"
    await sweep_once(harness)
