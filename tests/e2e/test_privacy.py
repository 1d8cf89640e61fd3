"""Members' data is theirs: /profile delete, /forget-me, links kept private, a server's purge after the bot leaves,
and an attendee CSV whose cells cannot run as formulas; through the fake Discord on every backend."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Column, Table, func, select

from labelbot.artists.models import Artist, ArtistManager
from labelbot.audit.models import AuditEntry
from labelbot.catalog.models import Release
from labelbot.db.base import Base
from labelbot.gatherings.models import Gathering, GatheringRsvp
from labelbot.guilds.models import MemberSettings
from labelbot.jobs import JobStatus, ScheduledJob
from labelbot.models.anniversaries import LabelDate
from labelbot.models.collabs import (
    CollabAlert,
    CollabInterest,
    CollabMemberSkill,
    CollabProfile,
    CollabReport,
    CollabRequest,
    CollabSkill,
    InterestStatus,
)
from labelbot.models.drops import Drop, DropDm, DropDmWish, DropSignup
from labelbot.models.events import CommunityEvent
from labelbot.models.fan_roles import FanRolePanel, FanRolePanelEntry, LoyaltyTier
from labelbot.models.fan_roles import PartyAttendance as FanPartyAttendance
from labelbot.models.parties import ListeningParty, PartyAttendance, PartyThreadMessage, PartyTrackRating
from labelbot.models.supporters import (
    ClaimCode,
    ClaimMiss,
    EarlyWindow,
    SupporterGrant,
    SupporterPerk,
    SupporterStanding,
)
from labelbot.models.web_pages import DashboardLink, DashboardSession
from labelbot.privacy import FORGOTTEN_MEMBER_ID, MemberData, member_columns
from labelbot.privacy.columns import forgotten_row_rule, json_columns, policy_of
from labelbot.privacy.guilds import purge_key, sweep_departed_guilds
from labelbot.privacy.service import guild_scope
from tests.fakediscord import FakeUser
from tests.harness import BotHarness

TIMEOUT = 20.0
# A server the member is also in: forgetting them here must leave it alone.
ELSEWHERE = 777_000_000_000_000_001


# -- seeding: one row of the member in every table that holds a member id ------------------------------------------


# Message ids are the table's key: one per seeded member and server, never two alike.
THREAD_MESSAGE_IDS = itertools.count(10**15)


async def seed_member(session: Any, guild_id: int, uid: int) -> None:
    """Rows of `uid` in `guild_id`, covering every member column of the schema (checked by `coverage`)."""
    now = datetime.now(UTC)
    tag = f"{uid}-{guild_id}"
    artist = Artist(guild_id=guild_id, name=f"Artist {tag}", name_key=f"artist {tag}", created_by=uid)
    session.add(artist)
    await session.flush()
    session.add(ArtistManager(artist_id=artist.id, user_id=uid, added_by=uid))
    release = Release(guild_id=guild_id, artist_id=artist.id, title="Night Drive", release_at=now, created_by=uid,
                      approved_by=uid)  # fmt: skip
    session.add(release)
    session.add(AuditEntry(guild_id=guild_id, actor_id=uid, action="artist.add", target=f"Artist {tag}"))
    skill = CollabSkill(guild_id=guild_id, name=f"skill {tag}", key=f"skill {tag}")
    session.add(skill)
    session.add(CollabProfile(guild_id=guild_id, user_id=uid, alerts=True, alert_via="dm", dms_closed=False,
                              bio="Mixes at night", links="https://mixes.example/" + tag))  # fmt: skip
    await session.flush()
    session.add(CollabMemberSkill(guild_id=guild_id, user_id=uid, skill_id=skill.id))
    mine = CollabRequest(guild_id=guild_id, poster_id=uid, title="Need a drummer", needed="Drums", compensation="paid",
                         lifetime_seconds=3600, closed_by_id=uid, filled_by_id=uid)  # fmt: skip
    session.add(mine)
    await session.flush()
    session.add(CollabInterest(request_id=mine.id, user_id=uid))
    session.add(CollabAlert(request_id=mine.id, user_id=uid, guild_id=guild_id, via="dm"))
    session.add(CollabReport(request_id=mine.id, reporter_id=uid))
    session.add(
        CommunityEvent(guild_id=guild_id, title="AMA", zone="UTC", anchor_at=now, duration_seconds=3600,
                       place_kind="external", card_channel_id=1, created_by=uid)
    )  # fmt: skip
    panel = FanRolePanel(guild_id=guild_id, name=f"Panel {tag}", name_key=f"panel {tag}", style="buttons", mode="any",
                         channel_id=1, created_by=uid)  # fmt: skip
    session.add(panel)
    await session.flush()
    session.add(FanRolePanelEntry(panel_id=panel.id, role_id=uid, label="Fans", position=0, added_by=uid))
    session.add(LoyaltyTier(guild_id=guild_id, role_id=uid, threshold=uid % 100_000 + 1, created_by=uid))
    party = ListeningParty(guild_id=guild_id, title="Album night", host_id=uid, text_channel_id=1, starts_at=now)
    session.add(party)
    await session.flush()
    gathering = Gathering(kind="party", ref_id=party.id, guild_id=guild_id, title="Album night", starts_at=now,
                          ends_at=now + timedelta(hours=1))  # fmt: skip
    session.add(gathering)
    await session.flush()
    session.add(GatheringRsvp(gathering_id=gathering.id, user_id=uid, answer="going"))
    session.add(PartyAttendance(party_id=party.id, user_id=uid))
    session.add(
        PartyThreadMessage(message_id=next(THREAD_MESSAGE_IDS), party_id=party.id, track_index=0, author_id=uid)
    )
    session.add(PartyTrackRating(party_id=party.id, track_index=0, user_id=uid, stars=4))
    session.add(FanPartyAttendance(guild_id=guild_id, party_id=party.id, user_id=uid))
    perk = SupporterPerk(guild_id=guild_id, name=f"Perk {tag}", name_key=f"perk {tag}", role_id=uid,
                         earned_by="membership", created_by=uid)  # fmt: skip
    session.add(perk)
    await session.flush()
    code = ClaimCode(guild_id=guild_id, perk_id=perk.id, code_sha256=tag[:64], created_by=uid, redeemed_by=uid,
                     redeemed_at=now)  # fmt: skip
    session.add(code)
    await session.flush()
    session.add(SupporterGrant(guild_id=guild_id, user_id=uid, perk_id=perk.id, code_id=code.id, starts_at=now))
    session.add(SupporterStanding(perk_id=perk.id, user_id=uid, guild_id=guild_id, role_held=True))
    session.add(ClaimMiss(guild_id=guild_id, user_id=uid))
    drop = Drop(guild_id=guild_id, artist_id=artist.id, item="Poster", kind="merch", drop_at=now, zone="UTC",
                link="https://shop.example/poster", channel_id=1, created_by=uid)  # fmt: skip
    session.add(drop)
    session.add(DropSignup(guild_id=guild_id, user_id=uid))
    session.add(DropDmWish(guild_id=guild_id, user_id=uid, weekly_budget=3))
    await session.flush()
    session.add(DropDm(guild_id=guild_id, drop_id=drop.id, user_id=uid))
    session.add(EarlyWindow(guild_id=guild_id, release_id=release.id, perk_id=perk.id, channel_id=1, opens_at=now,
                            hours_before=1, links="https://private.example/a", created_by=uid))  # fmt: skip
    session.add(LabelDate(guild_id=guild_id, name=f"Bandcamp Friday {tag}", name_key=f"bandcamp friday {tag}",
                          on_date=now.date(), created_by=uid))  # fmt: skip
    later = now + timedelta(hours=1)
    session.add(DashboardLink(token_digest=f"link-{tag}"[:64], guild_id=guild_id, user_id=uid, expires_at=later))
    session.add(DashboardSession(token_digest=f"session-{tag}"[:64], guild_id=guild_id, user_id=uid, expires_at=later))


async def count_of(session: Any, column: Column[Any], value: int, guild_id: int | None = None) -> int:
    query = select(func.count()).select_from(column.table).where(column == value)
    if guild_id is not None:
        scope = guild_scope(column.table, guild_id)  # type: ignore[arg-type]
        if scope is not None:
            query = query.where(scope)
    return int(await session.scalar(query) or 0)


async def member_counts(h: BotHarness, uid: int, guild_id: int | None = None) -> dict[str, int]:
    """How many rows hold `uid`, column by column of the whole schema (a future table is counted too)."""
    assert h.bot is not None
    async with h.bot.sessionmaker() as session:
        return {
            f"{c.table.name}.{c.name}": await count_of(session, c, uid, guild_id) for c in member_columns(Base.metadata)
        }


def components(message: Any) -> list[str]:
    found = []
    for row in message.components or []:
        for component in row.get("components", []):
            if "custom_id" in component:
                found.append(component["custom_id"])
    return found


async def confirm(h: BotHarness, user: FakeUser, command: str, value: str) -> Any:
    """Run a command that asks first, press the button answering `value`, and wait for the prompt's last word."""
    ix = await h.fake.slash(h.guild, h.general, user, command)
    question = await ix.reply(timeout=TIMEOUT)
    assert question.ephemeral
    custom_id = next(c for c in question.custom_ids if c.startswith("confirm:") and c.endswith(f":{value}"))
    click = await h.fake.click(h.guild, h.general, user, question, custom_id)
    await click.wait_callback()
    await h.wait_until(lambda: ix.original_edits > 0 or click.original_edits > 0, timeout=TIMEOUT)
    return ix


def final_text(ix: Any) -> str:
    return " ".join(r.content for r in ix.responses)


# -- forget-me ------------------------------------------------------------------------------------------------------


async def test_forget_me_leaves_no_row_of_the_member_and_keeps_their_audit_entries_nameless(
    labelbot: BotHarness,
) -> None:
    h = labelbot
    assert h.bot is not None
    fan = h.guild.add_member("night-owl").user
    other = h.guild.add_member("early-bird").user
    reply = await (await h.fake.slash(h.guild, h.general, fan, "profile skills", bio="Mixes", links="https://me.example")).reply(timeout=TIMEOUT)  # fmt: skip
    assert reply.ephemeral
    async with h.bot.sessionmaker.begin() as session:
        await session.execute(CollabProfile.__table__.delete())  # the seed sets the profile up fully
        for uid in (fan.id, other.id):
            await seed_member(session, h.guild.id, uid)
        await seed_member(session, ELSEWHERE, fan.id)
        session.add(MemberSettings(user_id=fan.id, timezone="Europe/Lisbon"))
        session.add(MemberSettings(user_id=other.id, timezone="America/Chicago"))

    before = await member_counts(h, fan.id, h.guild.id)
    missing = [column for column, n in before.items() if n == 0]
    assert not missing, f"the seed must put the member in every member column, so each is checked: {missing}"
    others_before = await member_counts(h, other.id)
    elsewhere_before = await member_counts(h, fan.id, ELSEWHERE)

    ix = await confirm(h, fan, "forget-me", "forget")
    await h.wait_until(lambda: "no longer keeps anything" in final_text(ix), timeout=TIMEOUT)

    after = await member_counts(h, fan.id, h.guild.id)
    assert {column: n for column, n in after.items() if n} == {}, "rows of the forgotten member are left"
    async with h.bot.sessionmaker() as session:
        nameless = await session.scalar(
            select(func.count()).select_from(AuditEntry).where(
                AuditEntry.guild_id == h.guild.id, AuditEntry.actor_id == FORGOTTEN_MEMBER_ID
            )
        )  # fmt: skip
        assert nameless == 1, "the member's audit entry stays, under nobody's id"
        assert await session.get(MemberSettings, other.id) is not None
    # Nobody else lost anything, and the member's rows in another server stay (except the global time zone).
    assert await member_counts(h, other.id) == others_before
    elsewhere_after = await member_counts(h, fan.id, ELSEWHERE)
    assert elsewhere_after == {**elsewhere_before, "member_settings.user_id": 0}


async def test_forget_me_takes_the_member_out_of_audit_values_and_cancels_jobs_meant_for_them(
    labelbot: BotHarness,
) -> None:
    h = labelbot
    assert h.bot is not None
    fan = h.guild.add_member("night-owl").user
    other = h.guild.add_member("early-bird").user
    later = datetime.now(UTC) + timedelta(days=3)
    async with h.bot.sessionmaker.begin() as session:
        session.add(AuditEntry(guild_id=h.guild.id, actor_id=h.moderator.id, action="artist.manager_add",
                               target="Nightjar", after={"artist_id": 7, "manager_user_id": fan.id}))  # fmt: skip
        session.add(AuditEntry(guild_id=h.guild.id, actor_id=h.moderator.id, action="artist.manager_add",
                               target="Nightjar", after={"artist_id": 7, "manager_user_id": other.id}))  # fmt: skip
        session.add(AuditEntry(guild_id=ELSEWHERE, actor_id=h.moderator.id, action="artist.manager_add",
                               target="Elsewhere", after={"managers": [str(fan.id)]}))  # fmt: skip
        for uid in (fan.id, other.id):
            payload = {"user_id": uid, "text": "Your release was approved."}
            await h.bot.jobs.schedule(session, "release.notify", payload, later, guild_id=h.guild.id, key=f"t:{uid}")

    ix = await confirm(h, fan, "forget-me", "forget")
    await h.wait_until(lambda: "no longer keeps anything" in final_text(ix), timeout=TIMEOUT)

    async with h.bot.sessionmaker() as session:
        entries = await session.scalars(
            select(AuditEntry).where(AuditEntry.action == "artist.manager_add").order_by(AuditEntry.id)
        )
        afters = [(entry.guild_id, entry.after) for entry in entries]
        mine = await h.bot.jobs.get(session, f"t:{fan.id}")
        theirs = await h.bot.jobs.get(session, f"t:{other.id}")
    assert afters == [
        (h.guild.id, {"artist_id": 7, "manager_user_id": FORGOTTEN_MEMBER_ID}),
        (h.guild.id, {"artist_id": 7, "manager_user_id": other.id}),
        (ELSEWHERE, {"managers": [str(fan.id)]}),  # another server's record is that server's
    ]
    assert mine is not None
    assert theirs is not None
    assert mine.status == JobStatus.CANCELLED, "nothing is sent later to a member the bot forgot"
    assert mine.payload["user_id"] == FORGOTTEN_MEMBER_ID
    assert theirs.status == JobStatus.PENDING
    assert theirs.payload["user_id"] == other.id


async def test_every_member_column_says_what_forgetting_does_to_it() -> None:
    undeclared = [f"{c.table.name}.{c.name}" for c in member_columns(Base.metadata) if policy_of(c) is None]
    assert undeclared == []
    for column in member_columns(Base.metadata):
        if policy_of(column) is MemberData.ANONYMISE:
            assert not column.primary_key, f"{column.table.name}.{column.name}: a key cannot be anonymised"


async def test_every_json_column_says_whether_member_ids_sit_inside_it() -> None:
    # Declared where the data is: forgetting walks only what may name members, and a new JSON column cannot be missed.
    declared = {MemberData.ANONYMISE, MemberData.NONE}
    undeclared = [
        f"{table.name}.{column.name}"
        for table in Base.metadata.sorted_tables
        for column in json_columns(table)
        if policy_of(column) not in declared
    ]
    assert undeclared == []
    loose = [f"{c.table.name}.{c.name}" for c in member_columns(Base.metadata) if policy_of(c) is MemberData.NONE]
    assert loose == [], "a column named for a member holds one: erase or anonymise it"
    # The jobs table says itself what becomes of a job still waiting for a forgotten member.
    assert forgotten_row_rule(ScheduledJob.__table__) is not None


# -- /profile delete ------------------------------------------------------------------------------------------------


async def test_profile_delete_removes_the_profile_skills_and_alerts_after_confirming(labelbot: BotHarness) -> None:
    h = labelbot
    assert h.bot is not None
    fan = h.guild.add_member("night-owl").user
    async with h.bot.sessionmaker.begin() as session:
        await seed_member(session, h.guild.id, fan.id)
    profile_tables = ("collab_profiles.user_id", "collab_member_skills.user_id", "collab_alerts.user_id")

    cancelled = await confirm(h, fan, "profile delete", "cancel")
    await h.wait_until(lambda: "unchanged" in final_text(cancelled), timeout=TIMEOUT)
    kept = await member_counts(h, fan.id, h.guild.id)
    assert {t: kept[t] for t in profile_tables} == dict.fromkeys(profile_tables, 1)

    ix = await confirm(h, fan, "profile delete", "delete")
    await h.wait_until(lambda: "Deleted your collab profile" in final_text(ix), timeout=TIMEOUT)
    counts = await member_counts(h, fan.id, h.guild.id)
    assert {t: counts[t] for t in profile_tables} == dict.fromkeys(profile_tables, 0)
    # The rest of the member's life in the server is not the profile.
    assert counts["gathering_rsvps.user_id"] == 1
    assert counts["collab_requests.poster_id"] == 1

    again = await (await h.fake.slash(h.guild, h.general, fan, "profile delete")).reply(timeout=TIMEOUT)
    assert again.ephemeral
    assert "no collab profile" in again.content


# -- /profile show hides links until they were shared ------------------------------------------------------------


async def test_profile_show_hides_links_from_others_until_an_introduction(labelbot: BotHarness) -> None:
    h = labelbot
    assert h.bot is not None
    fan = h.guild.add_member("night-owl").user
    viewer = h.guild.add_member("curious").user
    link = "https://night-owl.example/mixes"
    await (await h.fake.slash(h.guild, h.general, fan, "profile skills", bio="Mixes", links=link)).reply(
        timeout=TIMEOUT
    )

    async def shown(user: FakeUser) -> str:
        reply = await (await h.fake.slash(h.guild, h.general, user, "profile show", member=fan)).reply(timeout=TIMEOUT)
        assert reply.embeds, reply.content
        return str(reply.embeds)

    assert link in await shown(fan), "one's own links are shown"
    assert "Mixes" in (seen := await shown(viewer))
    assert link not in seen, "links are shared only on acceptance"

    async with h.bot.sessionmaker.begin() as session:
        request = CollabRequest(guild_id=h.guild.id, poster_id=viewer.id, title="Need a mix", needed="A mix",
                                compensation="paid", lifetime_seconds=3600)  # fmt: skip
        session.add(request)
        await session.flush()
        session.add(CollabInterest(request_id=request.id, user_id=fan.id, status=InterestStatus.ACCEPTED))
    assert link in await shown(viewer), "after an accepted introduction the two see each other's links"


# -- purging a server the bot has left ----------------------------------------------------------------------------


async def guild_rows(h: BotHarness, guild_id: int) -> dict[str, int]:
    """Rows that belong to the server, table by table (a future table is counted too)."""
    assert h.bot is not None
    found: dict[str, int] = {}
    async with h.bot.sessionmaker() as session:
        for table in Base.metadata.sorted_tables:
            assert isinstance(table, Table)
            scope = guild_scope(table, guild_id)
            if scope is not None:
                found[table.name] = int(await session.scalar(select(func.count()).select_from(table).where(scope)) or 0)
    return found


async def purge_job(h: BotHarness) -> ScheduledJob | None:
    assert h.bot is not None
    async with h.bot.sessionmaker() as session:
        return await h.bot.jobs.get(session, purge_key(h.guild.id))


async def make_due(h: BotHarness) -> bool:
    """Jump to the end of the grace period: the purge is due now."""
    assert h.bot is not None
    async with h.bot.sessionmaker.begin() as session:
        return await h.bot.jobs.reschedule(session, purge_key(h.guild.id), datetime.now(UTC))


async def test_a_server_that_removed_the_bot_is_purged_after_the_grace_period(harness: BotHarness) -> None:
    h = harness
    h.extra_env["LABELBOT_PRIVACY__GUILD_PURGE_DAYS"] = "30"
    bot = await h.start()
    fan = h.guild.add_member("night-owl").user
    await (await h.fake.slash(h.guild, h.general, fan, "profile skills", bio="Mixes")).reply(timeout=TIMEOUT)
    async with bot.sessionmaker.begin() as session:
        await session.execute(CollabProfile.__table__.delete())
        await seed_member(session, h.guild.id, fan.id)
        await seed_member(session, ELSEWHERE, fan.id)
        session.add(MemberSettings(user_id=fan.id, timezone="Europe/Lisbon"))
    elsewhere = await guild_rows(h, ELSEWHERE)

    await h.fake.remove_bot_live(h.guild)
    await h.wait_until(lambda: purge_job(h), timeout=TIMEOUT)
    job = await purge_job(h)
    assert job is not None
    assert job.status == JobStatus.PENDING
    grace = job.due_at - datetime.now(UTC)
    assert timedelta(days=29, hours=23) < grace <= timedelta(days=30)
    kept = await guild_rows(h, h.guild.id)
    assert kept["collab_profiles"] == 1, "nothing goes during the grace period"
    assert kept["artists"] == 1

    # The purge is durable: a restart in between does not lose it.
    await h.restart()
    assert await make_due(h)

    async def purged() -> bool:
        found = await purge_job(h)
        return found is not None and found.status == JobStatus.DONE

    await h.wait_until(purged, timeout=TIMEOUT)
    assert {table: n for table, n in (await guild_rows(h, h.guild.id)).items() if n} == {}
    # Other servers, and the member's own time zone, are not the removed server's data.
    assert await guild_rows(h, ELSEWHERE) == elsewhere
    assert h.bot is not None
    async with h.bot.sessionmaker() as session:
        assert await session.get(MemberSettings, fan.id) is not None


async def test_a_server_that_adds_the_bot_back_in_time_keeps_its_data(labelbot: BotHarness) -> None:
    h = labelbot
    assert h.bot is not None
    fan = h.guild.add_member("night-owl").user
    async with h.bot.sessionmaker.begin() as session:
        await seed_member(session, h.guild.id, fan.id)
    before = await guild_rows(h, h.guild.id)

    await h.fake.remove_bot_live(h.guild)
    await h.wait_until(lambda: purge_job(h), timeout=TIMEOUT)
    await h.fake.readd_bot_live(h.guild)

    async def cancelled() -> bool:
        found = await purge_job(h)
        return found is not None and found.status == JobStatus.CANCELLED

    await h.wait_until(cancelled, timeout=TIMEOUT)
    assert not await make_due(h), "a cancelled purge cannot come due"
    async with h.bot.sessionmaker() as session:
        pending = await session.scalar(
            select(func.count()).select_from(ScheduledJob).where(
                ScheduledJob.key == purge_key(h.guild.id), ScheduledJob.status == JobStatus.PENDING
            )
        )  # fmt: skip
    assert pending == 0
    assert await guild_rows(h, h.guild.id) == before
    # The bot works in the server again.
    reply = await (await h.fake.slash(h.guild, h.general, fan, "profile show")).reply(timeout=TIMEOUT)
    assert reply.embeds


async def test_a_server_that_removed_the_bot_while_it_was_offline_is_purged_too(labelbot: BotHarness) -> None:
    h = labelbot
    assert h.bot is not None
    fan = h.guild.add_member("night-owl").user
    async with h.bot.sessionmaker.begin() as session:
        await seed_member(session, h.guild.id, fan.id)
    await h.stop()
    # Kicked while the bot was down: no GUILD_DELETE ever reaches it, and READY no longer lists the server.
    h.guild._members.pop(h.fake.bot_user.id, None)
    await h.start()

    await h.wait_until(lambda: purge_job(h), timeout=TIMEOUT)
    job = await purge_job(h)
    assert job is not None
    assert job.status == JobStatus.PENDING
    first_due = job.due_at
    assert timedelta(days=29, hours=23) < first_due - datetime.now(UTC) <= timedelta(days=30)
    assert (await guild_rows(h, h.guild.id))["artists"] == 1, "nothing goes during the grace period"

    # Another restart finds the purge already scheduled and keeps its date rather than pushing it back.
    bot = await h.restart()
    assert await sweep_departed_guilds(bot) == []
    again = await purge_job(h)
    assert again is not None
    assert again.due_at == first_due
    assert again.status == JobStatus.PENDING
