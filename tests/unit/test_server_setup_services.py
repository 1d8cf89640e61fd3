"""Server settings, member zones, the audit trail and the artist roster against each database backend."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any, cast

import discord
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from labelbot.artists import repository
from labelbot.artists.models import Artist
from labelbot.artists.service import find_artist
from labelbot.audit.models import AuditEntry
from labelbot.audit.service import AUDIT_POST, record, render_values
from labelbot.client import LabelBot
from labelbot.config import JobSettings
from labelbot.db.base import utcnow
from labelbot.errors import Conflict, NotFound
from labelbot.features.artists._service import (
    ArtistDraft,
    add_artist,
    edit_artist,
    link_manager,
    remove_artist,
    unlink_manager,
)
from labelbot.guilds.models import GuildSettings, MemberSettings
from labelbot.guilds.service import get_guild_settings, member_zone, peek_guild_settings, set_own_zone
from labelbot.jobs import JobQueue, ScheduledJob
from labelbot.permissions import manages_artist
from labelbot.registry import FeatureRegistry

GUILD = 1000
MOD = 1
ALICE = 2
BOB = 3

Sessions = async_sessionmaker[AsyncSession]


class StubBot:
    """Just what the services use of the bot: its job queue, sessions and feature registry."""

    def __init__(self, sessionmaker: Sessions) -> None:
        self.jobs = JobQueue(sessionmaker, JobSettings())
        self.sessionmaker = sessionmaker
        self.features = FeatureRegistry()


@pytest.fixture
def bot(sessionmaker: Sessions) -> LabelBot:
    return cast(LabelBot, StubBot(sessionmaker))


async def count(sessionmaker: Sessions, model: type[Any]) -> int:
    async with sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_settings_are_created_once_with_the_defaults(sessionmaker: Sessions) -> None:
    async with sessionmaker() as session:
        peeked = await peek_guild_settings(session, GUILD)
        assert peeked.timezone == "UTC"
        assert peeked.teaser_offsets_minutes == [10080, 1440, 60]
    assert await count(sessionmaker, GuildSettings) == 0, "peeking writes nothing"

    async def first_command() -> GuildSettings:
        async with sessionmaker.begin() as session:
            return await get_guild_settings(session, GUILD)

    created = await asyncio.gather(*(first_command() for _ in range(4)))
    assert {settings.guild_id for settings in created} == {GUILD}
    assert await count(sessionmaker, GuildSettings) == 1
    stored = created[0]
    assert (stored.timezone, stored.reminder_offsets_minutes, stored.collab_expiry_days) == ("UTC", [1440, 60, 10], 30)
    assert (stored.release_approval, stored.tier_keep_lower, stored.calendar_secret) == (False, False, None)


async def test_a_members_zone_wins_over_the_servers(sessionmaker: Sessions) -> None:
    async with sessionmaker.begin() as session:
        (await get_guild_settings(session, GUILD)).timezone = "Europe/Berlin"
    async with sessionmaker.begin() as session:
        assert await member_zone(session, ALICE, GUILD) == "Europe/Berlin"
        assert await set_own_zone(session, ALICE, "Asia/Tokyo") is None
    async with sessionmaker.begin() as session:
        assert await member_zone(session, ALICE, GUILD) == "Asia/Tokyo"
        assert await member_zone(session, ALICE, GUILD + 1) == "Asia/Tokyo", "a member's zone is theirs everywhere"
        assert await set_own_zone(session, ALICE, None) == "Asia/Tokyo"
    async with sessionmaker() as session:
        assert await member_zone(session, ALICE, GUILD) == "Europe/Berlin"
    assert await count(sessionmaker, MemberSettings) == 1


async def test_audit_entries_queue_a_post_only_where_a_mod_log_is_set(sessionmaker: Sessions, bot: LabelBot) -> None:
    async with sessionmaker.begin() as session:
        entry = await record(
            bot, session, guild_id=GUILD, actor_id=MOD, action="settings.timezone", target="server time zone",
            before={"timezone": "UTC"}, after={"timezone": "Europe/Berlin"},
        )  # fmt: skip
    assert entry.id is not None
    assert await count(sessionmaker, ScheduledJob) == 0

    async with sessionmaker.begin() as session:
        (await get_guild_settings(session, GUILD)).mod_log_channel_id = 777
        entry = await record(
            bot, session, guild_id=GUILD, actor_id=MOD, action="settings.channel", target="mod log channel",
            before={"channel_id": None}, after={"channel_id": 777},
        )  # fmt: skip
        quiet = await record(
            bot, session, guild_id=GUILD, actor_id=ALICE, action="settings.my_timezone", target="own time zone",
            before=None, after={"timezone": "Asia/Tokyo"}, post=False,
        )  # fmt: skip
    async with sessionmaker() as session:
        jobs = list(await session.scalars(select(ScheduledJob)))
    assert [(job.kind, job.key, job.payload, job.guild_id) for job in jobs] == [
        (AUDIT_POST, f"audit:{entry.id}", {"entry_id": entry.id}, GUILD)
    ]
    assert quiet.id != entry.id
    assert await count(sessionmaker, AuditEntry) == 3


async def test_an_audit_entry_and_its_post_roll_back_together(sessionmaker: Sessions, bot: LabelBot) -> None:
    async def failing_command() -> None:
        async with sessionmaker.begin() as session:
            (await get_guild_settings(session, GUILD)).mod_log_channel_id = 777
            await record(
                bot, session, guild_id=GUILD, actor_id=MOD, action="settings.channel", target="mod log channel",
                before=None, after={"channel_id": 777},
            )  # fmt: skip
            raise RuntimeError("the command failed after recording")

    with pytest.raises(RuntimeError):
        await failing_command()
    assert await count(sessionmaker, AuditEntry) == 0
    assert await count(sessionmaker, ScheduledJob) == 0


def test_recorded_values_render_as_mentions_that_do_not_ping() -> None:
    rendered = render_values({"channel_id": 5, "role_id": 6, "manager_user_id": 7, "enabled": True, "bio": "@everyone"})
    assert rendered.splitlines() == [
        "channel: <#5>",
        "role: <@&6>",
        "manager user: <@7>",
        "enabled: on",
        "bio: @\u200beveryone",
    ]
    assert render_values(None) == "—"


def draft(name: str) -> ArtistDraft:
    return ArtistDraft(name=name, bio=None, genres=[], links=[])


async def add(bot: LabelBot, sessionmaker: Sessions, name: str, role_id: int | None = None) -> Artist:
    async with sessionmaker.begin() as session:
        return await add_artist(
            bot,
            session,
            guild_id=GUILD,
            actor_id=MOD,
            draft=draft(name),
            fan_role_id=role_id,
            fan_role_created_by_bot=False,
        )


async def test_artist_names_are_unique_per_server_among_active_artists(sessionmaker: Sessions, bot: LabelBot) -> None:
    nova = await add(bot, sessionmaker, "Nova Lights", role_id=42)
    with pytest.raises(Conflict, match="There already is an artist called “Nova Lights”"):
        await add(bot, sessionmaker, "NOVA LIGHTS")
    with pytest.raises(Conflict, match="already is the fan role of Nova Lights"):
        await add(bot, sessionmaker, "Echo Park", role_id=42)

    # The database refuses it too, should two moderators race past the check.
    with pytest.raises(IntegrityError):
        async with sessionmaker.begin() as session:
            session.add(
                Artist(guild_id=GUILD, name="nova lights", name_key="nova lights", created_by=MOD, genres=[], links=[])
            )

    async with sessionmaker.begin() as session:
        other = Artist(
            guild_id=GUILD + 1, name="Nova Lights", name_key="nova lights", created_by=MOD, genres=[], links=[]
        )
        session.add(other)  # another server may have its own Nova Lights

    async with sessionmaker.begin() as session:
        current = await repository.get_active(session, GUILD, nova.id)
        assert current is not None
        await remove_artist(bot, session, current, actor_id=MOD, delete_fan_role=False)
    again = await add(bot, sessionmaker, "Nova Lights")
    assert again.id != nova.id
    async with sessionmaker() as session:
        assert (await find_artist(session, GUILD, "nova LIGHTS")).id == again.id
        with pytest.raises(NotFound, match="There is no artist called “Echo” in this server"):
            await find_artist(session, GUILD, "Echo")


async def test_search_puts_name_prefixes_first_and_limits_to_managed_artists(
    sessionmaker: Sessions, bot: LabelBot
) -> None:
    for name in ["Harbour Lights", "Echo Park", "Parker 100%", "Quiet Harbour"]:
        await add(bot, sessionmaker, name)
    async with sessionmaker() as session:
        names = [a.name for a in await repository.search_active(session, GUILD, "har")]
        assert names == ["Harbour Lights", "Quiet Harbour"]
        assert [a.name for a in await repository.search_active(session, GUILD, "PARK")] == ["Parker 100%", "Echo Park"]
        assert [a.name for a in await repository.search_active(session, GUILD, "0%")] == ["Parker 100%"]
        assert [a.name for a in await repository.search_active(session, GUILD, "_")] == [], "LIKE wildcards are escaped"
        assert len(await repository.search_active(session, GUILD, "", limit=3)) == 3
        echo = await find_artist(session, GUILD, "Echo Park")
    async with sessionmaker.begin() as session:
        await link_manager(bot, session, echo, actor_id=MOD, user_id=ALICE)
    async with sessionmaker() as session:
        mine = await repository.search_active(session, GUILD, "", managed_by=ALICE)
        assert [a.name for a in mine] == ["Echo Park"]
        assert [a.name for a in await repository.managed_by(session, GUILD, ALICE)] == ["Echo Park"]
        assert await repository.count_active(session, GUILD) == 4


def guild_member(user_id: int, *, manage_guild: bool = False) -> discord.Member:
    stub: Any = SimpleNamespace(
        id=user_id,
        guild=SimpleNamespace(id=GUILD, owner_id=MOD),
        guild_permissions=discord.Permissions(manage_guild=manage_guild),
        resolved_permissions=None,
        roles=[],
    )
    return cast(discord.Member, stub)


async def test_managers_link_unlink_and_the_artist_of_check(sessionmaker: Sessions, bot: LabelBot) -> None:
    nova = await add(bot, sessionmaker, "Nova Lights")
    echo = await add(bot, sessionmaker, "Echo Park")
    async with sessionmaker.begin() as session:
        await link_manager(bot, session, nova, actor_id=MOD, user_id=ALICE)
        await link_manager(bot, session, echo, actor_id=MOD, user_id=ALICE)
    with pytest.raises(Conflict, match="already manages Nova Lights"):
        async with sessionmaker.begin() as session:
            await link_manager(bot, session, nova, actor_id=MOD, user_id=ALICE)

    async with sessionmaker() as session:
        assert await manages_artist(session, guild_member(ALICE), nova, owner_ids=())
        assert await manages_artist(session, guild_member(ALICE), echo, owner_ids=())
        assert not await manages_artist(session, guild_member(BOB), nova, owner_ids=())
        assert await manages_artist(session, guild_member(BOB, manage_guild=True), nova, owner_ids=())
        assert await manages_artist(session, guild_member(MOD), nova, owner_ids=()), "the server owner"
        assert await repository.managers_by_artist(session, [nova.id, echo.id]) == {nova.id: [ALICE], echo.id: [ALICE]}

    async with sessionmaker.begin() as session:
        await unlink_manager(bot, session, nova, actor_id=MOD, user_id=ALICE)
    with pytest.raises(NotFound, match="isn't a manager of Nova Lights"):
        async with sessionmaker.begin() as session:
            await unlink_manager(bot, session, nova, actor_id=MOD, user_id=ALICE)
    async with sessionmaker() as session:
        assert not await manages_artist(session, guild_member(ALICE), nova, owner_ids=())
        assert await manages_artist(session, guild_member(ALICE), echo, owner_ids=())


async def test_edits_record_only_what_changed(sessionmaker: Sessions, bot: LabelBot) -> None:
    nova = await add(bot, sessionmaker, "Nova Lights")
    await add(bot, sessionmaker, "Echo Park")
    async with sessionmaker.begin() as session:
        current = await repository.get_active(session, GUILD, nova.id)
        assert current is not None
        changed = await edit_artist(
            bot, session, current, actor_id=ALICE, changes={"bio": "New.", "genres": [], "name": "Nova Lights"}
        )
        assert changed == {"bio": "New."}
        assert await edit_artist(bot, session, current, actor_id=ALICE, changes={"bio": "New."}) == {}

    async def rename_to_a_taken_name() -> None:
        async with sessionmaker.begin() as session:
            current = await repository.get_active(session, GUILD, nova.id)
            assert current is not None
            await edit_artist(bot, session, current, actor_id=MOD, changes={"name": "echo park"})

    with pytest.raises(Conflict, match="There already is an artist called “Echo Park”"):
        await rename_to_a_taken_name()
    async with sessionmaker() as session:
        edits = list(await session.scalars(select(AuditEntry).where(AuditEntry.action == "artist.edit")))
    assert [(e.before, e.after) for e in edits] == [({"id": nova.id, "bio": None}, {"id": nova.id, "bio": "New."})]


async def test_other_features_add_sections_to_artist_info(bot: LabelBot) -> None:
    async def releases(session: AsyncSession, artist: Artist) -> str | None:
        return f"Next drop of {artist.name}"

    bot.features.artist_info.add("Upcoming releases", releases)
    assert [section.title for section in bot.features.artist_info.sections()] == ["Upcoming releases"]
    bot.features.artist_info.remove("Upcoming releases")
    assert bot.features.artist_info.sections() == []


async def test_removed_artists_keep_their_row(sessionmaker: Sessions, bot: LabelBot) -> None:
    nova = await add(bot, sessionmaker, "Nova Lights")
    async with sessionmaker.begin() as session:
        current = await repository.get_active(session, GUILD, nova.id)
        assert current is not None
        await link_manager(bot, session, current, actor_id=MOD, user_id=ALICE)
        await remove_artist(bot, session, current, actor_id=MOD, delete_fan_role=False)
    async with sessionmaker() as session:
        assert await repository.get_active(session, GUILD, nova.id) is None
        kept = await session.get(Artist, nova.id)
        assert kept is not None
        assert kept.removed_at is not None
        assert kept.removed_at <= utcnow()
        assert await repository.manager_ids(session, nova.id) == [ALICE], "its managers stay on record"
        assert await repository.managed_by(session, GUILD, ALICE) == []
