"""Release announcements end to end: the real bot against the fake Discord, on every database backend."""

from __future__ import annotations

import asyncio
import importlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from aiohttp import web
from sqlalchemy import func, select

from labelbot.artists.models import Artist, ArtistManager
from labelbot.audit.models import AuditEntry
from labelbot.catalog.models import Release, ReleaseLink, ReleaseMessage, ReleaseStatus, ReleaseTrack
from labelbot.db import create_engine, create_sessionmaker
from labelbot.features.releases import _jobs as release_jobs
from labelbot.guilds.models import GuildSettings
from labelbot.jobs import ScheduledJob
from tests.e2e.helpers import nothing_more_happens, sweep_once, wait_jobs_settled
from tests.fakediscord import ChannelType, FakeChannel, FakeMember, FakeMessage, FakeReply, FakeRole
from tests.fakediscord.state import iter_components
from tests.harness import BotHarness

FLAG_SUPPRESS_NOTIFICATIONS = 1 << 12
LONG = 30.0

TRACKLIST = "1. Opening 3:45\n2. Night Drive 4:10\n3. @everyone Outro 2:05"
LINKS = "Bandcamp https://nova.bandcamp.com/album/afterglow\nhttps://open.spotify.com/album/xyz"


@dataclass
class Label:
    """The label server: channels, roles and two artists with one manager each."""

    h: BotHarness
    announcements: FakeChannel
    mod_log: FakeChannel
    fan_role: FakeRole
    other_fan_role: FakeRole
    all_releases: FakeRole
    nova: FakeMember  # manages Nova Lights
    rival: FakeMember  # manages Other Band

    @property
    def fake(self) -> Any:
        return self.h.fake

    async def slash(self, user: Any, command: str, **options: Any) -> Any:
        return await self.fake.slash(self.h.guild, self.h.general, user, command, **options)

    async def click(self, user: Any, message: Any, custom_id: str) -> Any:
        return await self.fake.click(self.h.guild, None, user, message, custom_id)

    def posts(self) -> list[FakeMessage]:
        return self.fake.messages(self.announcements)


async def _seed(database_url: str, label: dict[str, Any], *, approval: bool = False) -> None:
    engine = create_engine(database_url)
    try:
        async with create_sessionmaker(engine).begin() as session:
            session.add(
                GuildSettings(
                    guild_id=label["guild_id"],
                    announcements_channel_id=label["announcements"],
                    mod_log_channel_id=label["mod_log"],
                    all_releases_role_id=label["all_releases"],
                    release_approval=approval,
                )
            )
            nova = Artist(
                guild_id=label["guild_id"],
                name="Nova Lights",
                name_key="nova lights",
                fan_role_id=label["fan_role"],
                created_by=label["owner"],
            )
            other = Artist(
                guild_id=label["guild_id"],
                name="Other Band",
                name_key="other band",
                fan_role_id=label["other_fan_role"],
                created_by=label["owner"],
            )
            session.add_all([nova, other])
            await session.flush()
            session.add(ArtistManager(artist_id=nova.id, user_id=label["nova"], added_by=label["owner"]))
            session.add(ArtistManager(artist_id=other.id, user_id=label["rival"], added_by=label["owner"]))
    finally:
        await engine.dispose()


async def build_label(h: BotHarness, *, approval: bool = False) -> Label:
    guild = h.guild
    label = Label(
        h=h,
        announcements=guild.add_channel("announcements", ChannelType.news),
        mod_log=guild.add_channel("mod-log"),
        fan_role=guild.add_role("Nova Lights fans"),
        other_fan_role=guild.add_role("Other Band fans"),
        all_releases=guild.add_role("All releases"),
        nova=guild.add_member("nova"),
        rival=guild.add_member("rival"),
    )
    await _seed(
        h.database_url,
        {
            "guild_id": guild.id,
            "announcements": label.announcements.id,
            "mod_log": label.mod_log.id,
            "all_releases": label.all_releases.id,
            "fan_role": label.fan_role.id,
            "other_fan_role": label.other_fan_role.id,
            "nova": label.nova.id,
            "rival": label.rival.id,
            "owner": h.moderator.id,
        },
        approval=approval,
    )
    return label


@pytest.fixture
async def label(harness: BotHarness) -> Label:
    built = await build_label(harness)
    await harness.start()
    return built


@pytest.fixture
async def approval_label(harness: BotHarness) -> Label:
    built = await build_label(harness, approval=True)
    await harness.start()
    return built


async def _rows(h: BotHarness, model: type[Any]) -> int:
    engine = create_engine(h.database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            return int(await session.scalar(select(func.count()).select_from(model)) or 0)
    finally:
        await engine.dispose()


async def snapshot(h: BotHarness) -> dict[str, int]:
    models = (Release, ReleaseTrack, ReleaseLink, ReleaseMessage, AuditEntry, ScheduledJob)
    return {model.__tablename__: await _rows(h, model) for model in models}


async def release_row(h: BotHarness, release_id: int) -> Release:
    engine = create_engine(h.database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            release = await session.get(Release, release_id)
            assert release is not None
            return release
    finally:
        await engine.dispose()


async def jobs_of(h: BotHarness, prefix: str) -> list[ScheduledJob]:
    engine = create_engine(h.database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            rows = await session.scalars(
                select(ScheduledJob).where(ScheduledJob.key.startswith(prefix)).order_by(ScheduledJob.id)
            )
            return list(rows)
    finally:
        await engine.dispose()


def release_id_of(reply: FakeReply) -> int:
    for custom_id in reply.custom_ids:
        match = re.fullmatch(r"release:\w+:(\d+)", custom_id)
        if match:
            return int(match.group(1))
    raise AssertionError(f"no release buttons in {reply.custom_ids}")


async def create(
    label: Label,
    user: Any,
    *,
    title: str = "Afterglow",
    when: str = "in 6 seconds",
    artist: str = "Nova Lights",
    details: dict[str, str] | None = None,
    **options: Any,
) -> FakeReply:
    """Run /release create and fill in its form; return the preview the member sees."""
    ix = await label.slash(user, "release create", artist=artist, title=title, when=when, **options)
    modal = await ix.modal()
    values = {"description": "Our second EP.", "links": LINKS, "tracklist": TRACKLIST}
    values.update(details or {})
    submitted = await label.fake.submit_modal(label.h.guild, label.h.general, user, modal, values)
    return await submitted.reply(timeout=10)


async def schedule(label: Label, user: Any, preview: FakeReply) -> FakeReply:
    ix = await label.click(user, preview, f"release:schedule:{release_id_of(preview)}")
    return await ix.reply()


async def wait_posts(label: Label, count: int, timeout: float = LONG) -> list[FakeMessage]:
    await label.h.wait_until(lambda: len(label.posts()) >= count, timeout=timeout)
    return label.posts()


def pinged_roles(message: FakeMessage) -> set[int]:
    mentions = message.allowed_mentions or {}
    return {int(role) for role in mentions.get("roles", [])}


def assert_pings_only(message: FakeMessage, roles: set[int]) -> None:
    mentions = message.allowed_mentions
    assert mentions is not None, "every send passes allowed_mentions"
    assert "everyone" not in mentions.get("parse", [])
    assert "roles" not in mentions.get("parse", [])
    assert "users" not in mentions.get("parse", [])
    assert not mentions.get("users")
    assert pinged_roles(message) == roles
    assert not message.mention_everyone


def _card_displays(message: Any) -> list[str]:
    return [c["content"] for c in iter_components([message.containers()[0]]) if c.get("type") == 10]


def card_text(message: Any) -> str:
    """The text of the release card (the message's first container)."""
    return "\n".join(_card_displays(message))


def heading(message: Any) -> str:
    """The card's title line (what the embed title was)."""
    return next(line[3:] for line in card_text(message).splitlines() if line.startswith("## "))


def _card_media(message: Any) -> list[str]:
    return [
        item["media"]["url"]
        for c in iter_components([message.containers()[0]])
        if c.get("type") == 12
        for item in c["items"]
    ]


# -- the main path ------------------------------------------------------------------------------------------


async def test_artist_schedules_a_release_that_goes_out_once_exactly_as_previewed(label: Label) -> None:
    preview = await create(label, label.nova, kind="ep", cover_url="https://cdn.example.org/afterglow.png")
    assert preview.ephemeral
    release_id = release_id_of(preview)
    assert set(preview.custom_ids) >= {f"release:{a}:{release_id}" for a in ("schedule", "edit", "discard")}
    assert label.posts() == []

    answer = await schedule(label, label.nova, preview)
    assert answer.ephemeral
    assert "Scheduled" in answer.content

    posted = (await wait_posts(label, 1))[0]
    # The announcement is a Components V2 card (the fake validated it against the spec and the limits) and the
    # preview is exactly it: the same pinging line, the same card.
    assert posted.is_v2
    assert not posted.content
    assert not posted.embeds
    assert preview.is_v2
    card = posted.containers()[0]
    assert card == preview.containers()[0]
    assert posted.text_displays[0] in preview.text_displays
    assert posted.link_buttons == preview.link_buttons
    text = posted.text
    assert "## Afterglow" in text
    assert "**Nova Lights** · EP" in text
    assert posted.media_urls == ["https://cdn.example.org/afterglow.png"]
    assert re.search(r"Out <t:\d+:F> \(<t:\d+:R>\)", text)
    tracklist = next(t for t in posted.text_displays if t.startswith("**Tracklist"))
    assert "Night Drive" in tracklist
    assert "@everyone" not in tracklist  # member text is defused
    assert [label for label, _ in posted.link_buttons] == ["Bandcamp", "Spotify"]
    # The label's colour while the artist has none of its own.
    assert posted.accent_colours == [0xE95420]
    # It pings the artist's fans and the all-releases role, and nobody else.
    assert_pings_only(posted, {label.fan_role.id, label.all_releases.id})
    assert f"<@&{label.fan_role.id}>" in posted.text_displays[0]
    assert "late" not in posted.text.lower()

    # Crossposted from the announcement channel.
    await label.h.wait_until(lambda: label.posts()[0].crossposted, timeout=LONG)
    # Exactly once, whatever the sweeps do afterwards.
    await nothing_more_happens(label.h, f"release:{release_id}:announce")
    assert len(label.posts()) == 1
    row = await release_row(label.h, release_id)
    assert row.status == ReleaseStatus.ANNOUNCED
    assert not row.announced_late


async def test_a_moderator_gives_an_artist_its_own_card_colour(label: Label) -> None:
    refused = await (await label.slash(label.nova, "artist edit", artist="Nova Lights", colour="#123456")).reply()
    assert "Only moderators" in refused.content
    bad = await (await label.slash(label.h.moderator, "artist edit", artist="Nova Lights", colour="teal")).reply()
    assert "hex code" in bad.content
    done = await (await label.slash(label.h.moderator, "artist edit", artist="Nova Lights", colour="#123456")).reply()
    assert done.ephemeral
    preview = await create(label, label.nova)
    assert preview.accent_colours[0] == 0x123456
    await schedule(label, label.nova, preview)
    posted = (await wait_posts(label, 1))[0]
    assert posted.accent_colours == [0x123456]


async def test_teasers_are_silent_countdowns_and_cancel_stops_everything(label: Label) -> None:
    preview = await create(label, label.nova, when="in 75 seconds", teasers="1m")
    release_id = release_id_of(preview)
    await schedule(label, label.nova, preview)

    teaser = (await wait_posts(label, 1, timeout=LONG))[0]
    assert teaser.flags & FLAG_SUPPRESS_NOTIFICATIONS, "teasers are silent"
    assert_pings_only(teaser, set())
    assert teaser.is_v2
    assert not teaser.content
    assert "<t:" in teaser.text
    assert ":R>" in teaser.text_displays[0]  # a countdown
    assert "<@&" not in teaser.text
    assert heading(teaser) == "Afterglow"

    ix = await label.slash(label.nova, "release cancel", release=str(release_id))
    question = await ix.reply()
    assert question.ephemeral
    confirm = next(cid for cid in question.custom_ids if cid.startswith("confirm:") and cid.endswith(":yes"))
    click = await label.click(label.nova, question, confirm)
    await click.wait_callback()
    await label.h.wait_until(
        lambda: any("Cancelled" in r.content for r in ix.responses) or ix.original_edits > 0, timeout=10
    )
    await label.h.wait_until(_status_is(label, release_id, ReleaseStatus.CANCELLED), timeout=10)
    announce = await jobs_of(label.h, f"release:{release_id}:announce")
    assert [job.status for job in announce] == ["cancelled"]
    assert len(label.posts()) == 1  # only the teaser


def _thread_recorded(label: Label, release_id: int, thread_id: int) -> Any:
    async def check() -> bool:
        return (await release_row(label.h, release_id)).thread_id == thread_id

    return check


def _status_is(label: Label, release_id: int, status: ReleaseStatus) -> Any:
    async def check() -> bool:
        return (await release_row(label.h, release_id)).status == status

    return check


async def test_cancel_before_the_time_means_nothing_is_posted(label: Label) -> None:
    preview = await create(label, label.nova, when="in 6 seconds")
    release_id = release_id_of(preview)
    await schedule(label, label.nova, preview)
    ix = await label.slash(label.nova, "release cancel", release=str(release_id))
    question = await ix.reply()
    confirm = next(cid for cid in question.custom_ids if cid.startswith("confirm:") and cid.endswith(":yes"))
    await (await label.click(label.nova, question, confirm)).wait_callback()
    await label.h.wait_until(_status_is(label, release_id, ReleaseStatus.CANCELLED), timeout=10)
    # The time it was due passes, the job stays cancelled, and a sweep after it finds nothing to post.
    due_at = (await release_row(label.h, release_id)).release_at
    await label.h.wait_until(lambda: _now() > due_at, timeout=LONG)
    [announce] = await nothing_more_happens(label.h, f"release:{release_id}:announce")
    assert announce.status == "cancelled"
    assert label.posts() == []


async def test_edit_before_the_time_moves_the_announcement(label: Label) -> None:
    preview = await create(label, label.nova, when="in 6 seconds")
    release_id = release_id_of(preview)
    await schedule(label, label.nova, preview)
    old_time = (await release_row(label.h, release_id)).release_at
    ix = await label.slash(
        label.nova, "release edit", release=str(release_id), when="in 14 seconds", title="Afterglow II"
    )
    answer = await ix.reply()
    assert "rescheduled" in answer.text
    moved = await release_row(label.h, release_id)
    # The old time passes (and a sweep after it) without a post.
    await label.h.wait_until(lambda: _now() > old_time, timeout=LONG)
    await sweep_once(label.h)
    assert label.posts() == [], "the old time passed without a post"
    posted = (await wait_posts(label, 1))[0]
    assert posted.created_at >= moved.release_at, "posted before the new time"
    assert heading(posted) == "Afterglow II"
    assert f"<t:{int(moved.release_at.timestamp())}:F>" in card_text(posted)
    await nothing_more_happens(label.h, f"release:{release_id}:announce")
    assert len(label.posts()) == 1


async def test_after_the_time_edit_changes_the_post_and_cancel_marks_it(label: Label) -> None:
    preview = await create(label, label.nova, when="in 2 hours", thread=True)
    release_id = release_id_of(preview)
    await schedule(label, label.nova, preview)
    # The server's default teasers (T-7d, T-1d, T-1h): only the one still ahead is planned.
    teasers = await jobs_of(label.h, f"release:{release_id}:teaser:")
    assert [(job.key, job.status) for job in teasers] == [(f"release:{release_id}:teaser:60", "pending")]

    answer = await (await label.slash(label.nova, "release announce-now", release=str(release_id))).reply()
    assert answer.content == "Announcing **Afterglow** now."
    posted = (await wait_posts(label, 1))[0]
    assert_pings_only(posted, {label.fan_role.id, label.all_releases.id})
    # The discussion thread opens under the announcement.
    await label.h.wait_until(lambda: label.fake.message(posted.id).thread is not None, timeout=LONG)
    thread = label.fake.message(posted.id).thread
    assert thread is not None
    assert thread.name == "Afterglow"
    await label.h.wait_until(_thread_recorded(label, release_id, thread.id), timeout=10)

    await (await label.slash(label.nova, "release edit", release=str(release_id), title="Afterglow (Deluxe)")).reply()
    await label.h.wait_until(lambda: heading(label.posts()[0]) == "Afterglow (Deluxe)", timeout=LONG)
    assert len(label.posts()) == 1

    assert [job.status for job in await jobs_of(label.h, f"release:{release_id}:teaser:")] == ["cancelled"]

    refused = await (
        await label.slash(label.nova, "release edit", release=str(release_id), when="tomorrow 8pm")
    ).reply()
    assert refused.ephemeral
    assert "already announced" in refused.content

    ix = await label.slash(label.nova, "release cancel", release=str(release_id))
    question = await ix.reply()
    confirm = next(cid for cid in question.custom_ids if cid.startswith("confirm:") and cid.endswith(":yes"))
    await (await label.click(label.nova, question, confirm)).wait_callback()
    await label.h.wait_until(lambda: "cancelled" in label.posts()[0].text_displays[0].lower(), timeout=LONG)
    message = label.posts()[0]
    assert heading(message).startswith("Cancelled")
    assert message.link_buttons == []
    assert len(label.posts()) == 1


async def test_an_artist_cannot_touch_another_artists_release(label: Label) -> None:
    preview = await create(label, label.nova, when="in 2 hours")
    release_id = release_id_of(preview)
    await schedule(label, label.nova, preview)
    before = await snapshot(label.h)

    for command, options in (
        ("release edit", {"title": "Stolen"}),
        ("release announce-now", {}),
        ("release cancel", {}),
    ):
        reply = await (await label.slash(label.rival, command, release=str(release_id), **options)).reply()
        assert reply.ephemeral
        assert "Only Nova Lights's managers and moderators" in reply.content

    # Nor create for an artist they don't manage, nor see the release in their autocomplete.
    ix = await label.slash(label.rival, "release create", artist="Nova Lights", title="X", when="in 1 hour")
    refused = await ix.reply()
    assert refused.ephemeral
    assert "Only Nova Lights's managers" in refused.content
    choices = await label.fake.autocomplete(
        label.h.guild, label.h.general, label.rival, "release edit", focused="release", release=""
    )
    assert str(release_id) not in [c["value"] for c in _choices(choices)]
    assert await snapshot(label.h) == before
    assert (await release_row(label.h, release_id)).title == "Afterglow"


def _choices(result: Any) -> list[dict[str, Any]]:
    return list(result.choices if hasattr(result, "choices") else result)


async def test_the_edit_button_changes_the_draft_and_the_post_matches_the_new_preview(label: Label) -> None:
    preview = await create(label, label.nova, when="in 20 seconds")
    release_id = release_id_of(preview)
    ix = await label.click(label.nova, preview, f"release:edit:{release_id}")
    modal = await ix.modal()
    defaults = {field["custom_id"]: field.get("value") for field in modal.text_inputs}
    assert defaults["title"] == "Afterglow"
    assert "2. Night Drive 4:10" in (defaults["tracklist"] or "")
    assert "Bandcamp https://nova.bandcamp.com/album/afterglow" in (defaults["links"] or "")
    submitted = await label.fake.submit_modal(
        label.h.guild,
        label.h.general,
        label.nova,
        modal,
        {"title": "Afterglow (Edit)", "tracklist": "1. Only Song 5:00", "description": ""},
    )
    edited = await submitted.reply(timeout=10)
    assert heading(edited) == "Afterglow (Edit)"
    assert "Only Song" in card_text(edited)
    assert len(_card_displays(edited)) == 3, "heading, tracklist and footer, no description"

    bad = await label.click(label.nova, edited, f"release:edit:{release_id}")
    refused = await (
        await label.fake.submit_modal(
            label.h.guild, label.h.general, label.nova, await bad.modal(), {"tracklist": "1. Fine 3:00\nbroken line"}
        )
    ).reply()
    assert "Line 2 of the tracklist" in refused.content
    assert (await release_row(label.h, release_id)).title == "Afterglow (Edit)"

    await schedule(label, label.nova, edited)
    posted = (await wait_posts(label, 1))[0]
    assert posted.containers()[0] == edited.containers()[0]
    # the edited preview leads with a "Saved" line, then the announcement's own
    assert edited.text_displays[0].startswith("Saved")
    assert edited.text_displays[1] == posted.text_displays[0]


async def test_preview_buttons_work_after_a_restart(label: Label) -> None:
    preview = await create(label, label.nova, when="in 2 hours")
    release_id = release_id_of(preview)
    await label.h.restart()
    answer = await schedule(label, label.nova, preview)
    assert "Scheduled" in answer.content
    assert (await release_row(label.h, release_id)).status == ReleaseStatus.SCHEDULED


# -- approval -------------------------------------------------------------------------------------------------


async def test_approval_flow_approve_and_reject(approval_label: Label) -> None:
    label = approval_label
    preview = await create(label, label.nova, when="in 2 hours")
    release_id = release_id_of(preview)
    answer = await schedule(label, label.nova, preview)
    assert "approval" in answer.content

    request = await label.fake.wait_for_message(
        label.mod_log, lambda m: f"release:approve:{release_id}" in m.custom_ids, timeout=LONG
    )
    assert_pings_only(request, set())
    assert heading(request) == "Afterglow"
    assert (await release_row(label.h, release_id)).status == ReleaseStatus.AWAITING_APPROVAL

    # The artist can't approve their own release.
    own = await (await label.click(label.nova, request, f"release:approve:{release_id}")).reply()
    assert own.ephemeral
    assert "moderators" in own.content.lower()

    approved = await (await label.click(label.h.moderator, request, f"release:approve:{release_id}")).reply()
    assert "Approved" in approved.content
    assert (await release_row(label.h, release_id)).status == ReleaseStatus.SCHEDULED
    assert len(await jobs_of(label.h, f"release:{release_id}:announce")) == 1
    dm = await label.fake.wait_for_dm(label.nova.user, lambda m: "approved" in m.content, timeout=LONG)
    assert "Afterglow" in dm.content
    await label.h.wait_until(lambda: "Approved" in label.fake.message(request.id).text, timeout=10)

    # A second release, rejected with a reason.
    preview = await create(label, label.nova, title="Second Wind", when="in 3 hours")
    second = release_id_of(preview)
    await schedule(label, label.nova, preview)
    request = await label.fake.wait_for_message(
        label.mod_log, lambda m: f"release:reject:{second}" in m.custom_ids, timeout=LONG
    )
    ix = await label.click(label.h.moderator, request, f"release:reject:{second}")
    modal = await ix.modal()
    done = await label.fake.submit_modal(
        label.h.guild, label.mod_log, label.h.moderator, modal, {"reason": "The cover is missing."}
    )
    assert "Rejected" in (await done.reply()).content
    row = await release_row(label.h, second)
    assert row.status == ReleaseStatus.DRAFT
    assert row.rejection_reason == "The cover is missing."
    dm = await label.fake.wait_for_dm(label.nova.user, lambda m: "not approved" in m.content, timeout=LONG)
    assert "The cover is missing." in dm.content
    assert await jobs_of(label.h, f"release:{second}:announce") == []


async def test_editing_a_release_waiting_for_approval_sends_it_back_to_draft(approval_label: Label) -> None:
    label = approval_label
    preview = await create(label, label.nova, when="in 2 hours")
    release_id = release_id_of(preview)
    await schedule(label, label.nova, preview)
    await label.fake.wait_for_message(
        label.mod_log, lambda m: f"release:approve:{release_id}" in m.custom_ids, timeout=LONG
    )
    answer = await (
        await label.slash(label.nova, "release edit", release=str(release_id), title="Afterglow v2")
    ).reply()
    assert f"release:schedule:{release_id}" in answer.custom_ids  # to be sent again
    assert (await release_row(label.h, release_id)).status == ReleaseStatus.DRAFT
    request = next(m for m in label.fake.messages(label.mod_log) if f"release:approve:{release_id}" in m.custom_ids)
    stale = await (await label.click(label.h.moderator, request, f"release:approve:{release_id}")).reply()
    assert "not waiting for approval" in stale.content

    # Approved and scheduled, then changed by the artist: it needs approval again, so nothing goes out meanwhile.
    await schedule(label, label.nova, answer)
    request = await label.fake.wait_for_message(
        label.mod_log,
        lambda m: f"release:approve:{release_id}" in m.custom_ids and "Afterglow v2" in m.text,
        timeout=LONG,
    )
    await (await label.click(label.h.moderator, request, f"release:approve:{release_id}")).reply()
    assert (await release_row(label.h, release_id)).status == ReleaseStatus.SCHEDULED
    moderator_edit = await label.slash(label.h.moderator, "release edit", release=str(release_id), kind="album")
    assert "rescheduled" in (await moderator_edit.reply()).text  # a moderator's change needs no approval
    await (await label.slash(label.nova, "release edit", release=str(release_id), title="Afterglow v3")).reply()
    assert (await release_row(label.h, release_id)).status == ReleaseStatus.DRAFT
    assert [job.status for job in await jobs_of(label.h, f"release:{release_id}:announce")] == ["cancelled"]


# -- bad input --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "details", "expected"),
    [
        ({"when": "yesterday 8pm"}, None, "already passed"),
        ({"title": "x" * 101}, None, "at most 100 characters"),
        ({"artist": "Nobody"}, None, "no artist called"),
        ({"artist": "Other Band"}, None, "Only Other Band's managers"),
        ({}, {"links": "Bandcamp ftp://nova.example.org/a"}, "not an http or https address"),
        ({}, {"links": "\n".join(f"https://example.org/{n}" for n in range(11))}, "at most 10 links"),
        ({}, {"tracklist": "1. Opening 3:45\n2. Night Drive"}, "Line 2 of the tracklist"),
        ({"cover": ("cover.txt", b"not an image")}, None, "must be an image"),
        ({"cover_url": "https://example.org/cover.pdf"}, None, "must be an image"),
        ({"cover_url": "javascript:alert(1)"}, None, "not an http or https address"),
    ],
)
async def test_bad_input_gets_one_sentence_and_stores_nothing(
    label: Label, options: dict[str, Any], details: dict[str, str] | None, expected: str
) -> None:
    before = await snapshot(label.h)
    arguments = {"artist": "Nova Lights", "title": "Afterglow", "when": "in 2 hours", **options}
    ix = await label.slash(label.nova, "release create", **arguments)
    if details is None:
        reply = await ix.reply()
    else:
        modal = await ix.modal()
        values = {"description": "", "links": "", "tracklist": "", **details}
        reply = await (await label.fake.submit_modal(label.h.guild, label.h.general, label.nova, modal, values)).reply()
    assert reply.ephemeral
    assert expected in reply.content
    assert reply.content.count(".") <= 3  # one sentence, not a traceback
    assert await snapshot(label.h) == before
    assert label.posts() == []


async def test_member_text_never_pings(label: Label) -> None:
    preview = await create(
        label,
        label.nova,
        title="@everyone <@&1234567890123456789>",
        when="in 5 seconds",
        details={"description": f"@here <@{label.rival.id}> <@&{label.other_fan_role.id}>"},
    )
    await schedule(label, label.nova, preview)
    posted = (await wait_posts(label, 1))[0]
    assert_pings_only(posted, {label.fan_role.id, label.all_releases.id})
    assert "@everyone" not in posted.text.replace("@\u200beveryone", "")
    assert not posted.mentions
    assert set(posted.mention_roles) <= {label.fan_role.id, label.all_releases.id}


# -- list and info ---------------------------------------------------------------------------------------------


async def test_list_pages_and_info(label: Label) -> None:
    for hours in range(1, 13):
        preview = await create(label, label.nova, title=f"Single {hours:02d}", when=f"in {hours} hours")
        await schedule(label, label.nova, preview)
    ix = await label.slash(label.rival, "release list")
    first = await ix.reply()
    assert first.ephemeral
    assert "Single 01" in first.text
    assert "Single 11" not in first.text
    next_button = next(cid for cid in first.custom_ids if cid.endswith(":next"))
    turned = await label.click(label.rival, first, next_button)
    await turned.wait_callback()
    await label.h.wait_until(lambda: "Single 11" in FakeReply.of(label.fake.message(first.id)).text, timeout=10)

    bot = label.h.bot
    assert bot is not None
    async with bot.sessionmaker() as session:
        entries = await bot.features.calendar.entries(session, label.h.guild.id, _now() - timedelta(days=1))
    assert f"release-{release_id_of(preview)}@labelbot" in [entry.uid for entry in entries]
    assert next(entry.title for entry in entries if entry.kind == "release") == "Nova Lights: Single 01"

    info = await (await label.slash(label.rival, "release info", release=release_id_of(preview).__str__())).reply()
    assert "Single 12" in info.text
    assert "Scheduled for" in info.text
    assert not [cid for cid in info.custom_ids if cid.startswith("release:")]  # not theirs to edit


# -- link previews ------------------------------------------------------------------------------------------------


@pytest.fixture
async def page_server() -> AsyncIterator[str]:
    async def page(request: web.Request) -> web.Response:
        html = (
            "<html><head><title>Afterglow | Nova Lights</title>"
            '<meta property="og:title" content="Afterglow, by Nova Lights">'
            '<meta property="og:image" content="/art/afterglow.jpg"></head><body>hi</body></html>'
        )
        return web.Response(text=html, content_type="text/html")

    done = asyncio.Event()

    async def slow(request: web.Request) -> web.Response:
        # Answers only when the test is over (far past any preview's timeout), so the teardown waits for nothing.
        await done.wait()
        return web.Response(text="late")

    app = web.Application()
    app.router.add_get("/album/afterglow", page)
    app.router.add_get("/slow", slow)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        done.set()
        await runner.cleanup()


async def test_link_preview_offers_the_pages_cover(label: Label, page_server: str) -> None:
    links = f"Bandcamp {page_server}/album/afterglow\nShop {page_server}/missing"
    preview = await create(label, label.nova, when="in 2 hours", details={"links": links})
    release_id = release_id_of(preview)
    assert f"release:cover:{release_id}" in preview.custom_ids
    assert f"{page_server}/art/afterglow.jpg" in str(preview.containers()[1])
    assert _card_media(preview) == []  # offered, not taken yet

    ix = await label.click(label.nova, preview, f"release:cover:{release_id}")
    updated = await ix.reply()
    assert _card_media(updated) == [f"{page_server}/art/afterglow.jpg"]
    assert (await release_row(label.h, release_id)).cover_url == f"{page_server}/art/afterglow.jpg"


async def test_a_failing_link_preview_never_blocks_the_release(
    label: Label, page_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(label.h.bot.settings.link_previews, "timeout_seconds", 0.5)  # type: ignore[union-attr]
    links = f"Slow {page_server}/slow\nGone http://127.0.0.1:1/nothing"
    preview = await create(label, label.nova, when="in 2 hours", details={"links": links})
    release_id = release_id_of(preview)
    assert f"release:cover:{release_id}" not in preview.custom_ids
    assert f"release:schedule:{release_id}" in preview.custom_ids


# -- crossposts and downtime ----------------------------------------------------------------------------------------


async def test_a_refused_crosspost_is_retried_later_not_lost(label: Label, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(live_jobs_module(), "CROSSPOST_WAIT_SECONDS", 1.0)
    monkeypatch.setattr(live_jobs_module(), "CROSSPOST_RETRY", timedelta(seconds=1))
    fake = label.fake
    preview = await create(label, label.nova, when="in 2 hours")
    release_id = release_id_of(preview)
    await schedule(label, label.nova, preview)
    fake.ratelimiter.scale = 0.006  # Discord's 10 crossposts an hour, in about 22 seconds
    fake.enforce_rate_limits = True
    fake.ratelimiter.exhaust(
        "POST", "/channels/{channel_id}/messages/{message_id}/crosspost", str(label.announcements.id)
    )
    await (await label.slash(label.nova, "release announce-now", release=str(release_id))).reply()
    posted = (await wait_posts(label, 1))[0]
    await label.h.wait_until(lambda: len(_crossposts(label)) >= 2, timeout=LONG)
    first = (await jobs_of(label.h, f"release:{release_id}:crosspost:1"))[0]
    assert first.result is not None
    assert first.result.get("crossposted") is False
    await label.h.wait_until(lambda: fake.message(posted.id).crossposted, timeout=60)
    assert len(label.posts()) == 1


def live_jobs_module() -> Any:
    """The release jobs module the bot runs now (discord.py drops extension modules when a bot closes)."""
    return importlib.import_module("labelbot.features.releases._jobs")


def _crossposts(label: Label) -> list[Any]:
    return [r for r in label.fake.requests if r.method == "POST" and r.path.endswith("/crosspost")]


@pytest.mark.slow
async def test_killed_before_the_time_and_back_after_it_posts_once_marked_late(harness: BotHarness) -> None:
    label = await build_label(harness)
    first = harness.spawn()
    await harness.fake.wait_until_connected(timeout=30)
    await harness.wait_until(lambda: harness.fake.synced_commands(harness.guild), timeout=30)
    await asyncio.sleep(1)
    preview = await create(label, label.nova, when="in 8 seconds")
    release_id = release_id_of(preview)
    await schedule(label, label.nova, preview)
    first.kill()  # SIGKILL: no goodbye, no cleanup
    row = await release_row(harness, release_id)
    assert row.status == ReleaseStatus.SCHEDULED

    loop = asyncio.get_running_loop()
    due_in = (row.release_at - _now()).total_seconds()
    await asyncio.sleep(max(due_in, 0) + release_jobs.ANNOUNCE_LATE_AFTER.total_seconds() + 2)
    assert label.posts() == [], "nothing can be posted while the bot is down"
    started = loop.time()
    harness.spawn()
    posted = (await wait_posts(label, 1, timeout=45))[0]
    assert loop.time() - started < 45
    assert "late" in posted.text_displays[0].lower()
    assert_pings_only(posted, {label.fan_role.id, label.all_releases.id})
    # The bot runs in a child process here: wait for its job row, then one of its sweep periods.
    await wait_jobs_settled(harness, f"release:{release_id}:announce")
    await asyncio.sleep(float(harness.env()["LABELBOT_JOBS__SWEEP_SECONDS"]) + 0.5)
    assert len(label.posts()) == 1
    assert (await release_row(harness, release_id)).announced_late


def _now() -> Any:
    from labelbot.db.base import utcnow

    return utcnow()


async def test_teasers_missed_while_down_are_skipped(harness: BotHarness, monkeypatch: pytest.MonkeyPatch) -> None:
    label = await build_label(harness)
    await harness.start()
    preview = await create(label, label.nova, when="in 80 seconds", teasers="1m")
    release_id = release_id_of(preview)
    await schedule(label, label.nova, preview)
    teaser = (await jobs_of(harness, f"release:{release_id}:teaser:"))[0]
    await harness.stop()
    # The grace a teaser gets is two minutes; a second here, so the test need not wait that long.
    monkeypatch.setattr(live_jobs_module(), "TEASER_GRACE", timedelta(seconds=1))
    await asyncio.sleep(max((teaser.due_at - _now()).total_seconds(), 0) + 3)
    await harness.start()

    async def skipped() -> bool:
        job = (await jobs_of(harness, f"release:{release_id}:teaser:"))[0]
        return job.status == "done" and (job.result or {}).get("skipped") == "missed"

    await harness.wait_until(skipped, timeout=LONG)
    assert label.posts() == []
