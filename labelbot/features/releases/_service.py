"""The rules of releases: drafts, approval, scheduling the announcement and teasers, edits and cancellation.

The caller hands in the server's settings it read (with the member's context) and owns the transaction; every
change happens in it, records an audit entry and (re)schedules its jobs in that same
transaction, so a release is never scheduled without being saved, nor saved without its posts being planned.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from labelbot.artists.models import Artist
from labelbot.audit.service import record
from labelbot.catalog.models import Release, ReleaseKind, ReleaseLink, ReleaseStatus, ReleaseTrack
from labelbot.catalog.queries import get_release
from labelbot.db.base import utcnow
from labelbot.errors import Conflict, InvalidInput, NotAllowed, NotFound
from labelbot.features.releases import _repository as repository
from labelbot.features.releases._parsing import LinkInput, TrackInput
from labelbot.guilds.models import GuildSettings
from labelbot.timeparse import format_dt

if TYPE_CHECKING:
    from labelbot.client import LabelBot

ANNOUNCE = "release.announce"
TEASER = "release.teaser"
CROSSPOST = "release.crosspost"
APPROVAL = "release.approval"
NOTIFY = "release.notify"
REFRESH = "release.refresh"

NO_ANNOUNCEMENTS_CHANNEL = "No announcements channel is set yet; a moderator can pick one with /settings channel."
NO_MOD_LOG = (
    "Releases need a moderator's approval here, but no mod-log channel is set for the request; "
    "ask a moderator to pick one with /settings channel."
)


# What an announced release shows that a change can touch (its time and teasers are past changing), as people say it.
SHOWN_FIELDS: dict[str, str] = {
    "title": "title",
    "kind": "kind",
    "cover_url": "cover",
    "description": "description",
    "links": "links",
    "tracks": "tracklist",
}


def announce_key(release_id: int) -> str:
    return f"release:{release_id}:announce"


def teaser_prefix(release_id: int) -> str:
    return f"release:{release_id}:teaser:"


def teaser_key(release_id: int, minutes: int) -> str:
    return f"{teaser_prefix(release_id)}{minutes}"


def crosspost_key(release_id: int, attempt: int) -> str:
    return f"release:{release_id}:crosspost:{attempt}"


def approval_key(release_id: int) -> str:
    return f"release:{release_id}:approval"


def refresh_key(release_id: int) -> str:
    return f"release:{release_id}:refresh"


@dataclass
class ReleaseInput:
    """Everything a member gives for a release, already checked."""

    title: str
    kind: ReleaseKind
    release_at: datetime
    zone: str
    cover_url: str | None = None
    teaser_offsets_minutes: list[int] | None = None
    description: str | None = None
    links: list[LinkInput] = field(default_factory=list)
    tracks: list[TrackInput] = field(default_factory=list)
    discussion_thread: bool = False


@dataclass
class ReleaseChanges:
    """What /release edit changes; None leaves a value as it is."""

    title: str | None = None
    kind: ReleaseKind | None = None
    release_at: datetime | None = None
    zone: str | None = None
    cover_url: str | None = None
    teaser_offsets_minutes: list[int] | None = None
    description: str | None = None
    links: list[LinkInput] | None = None
    tracks: list[TrackInput] | None = None
    clear_description: bool = False

    def any(self) -> bool:
        return (
            any(
                value is not None
                for value in (
                    self.title,
                    self.kind,
                    self.release_at,
                    self.cover_url,
                    self.teaser_offsets_minutes,
                    self.description,
                    self.links,
                    self.tracks,
                )
            )
            or self.clear_description
        )


def _target(release: Release, artist: Artist) -> str:
    return f"{release.title} by {artist.name}"


async def _audit(
    bot: LabelBot,
    session: AsyncSession,
    release: Release,
    action: str,
    *,
    actor_id: int,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    post: bool = True,
) -> None:
    """Record a change of this release in the audit trail (and the mod log, with `post`)."""
    await record(
        bot,
        session,
        guild_id=release.guild_id,
        actor_id=actor_id,
        action=action,
        target=_target(release, release.artist),
        before=before,
        after=after,
        post=post,
    )


async def _refresh_later(bot: LabelBot, session: AsyncSession, release: Release) -> None:
    """Have the posted announcement redrawn from the release as it is now (a job, so it survives a crash)."""
    await bot.jobs.schedule(
        session, REFRESH, {"release_id": release.id}, utcnow(), guild_id=release.guild_id, key=refresh_key(release.id)
    )


async def load_release(session: AsyncSession, guild_id: int, release_id: int) -> Release:
    """The release with its artist, tracks and links, or NotFound."""
    release = await get_release(session, release_id, guild_id)
    if release is None:
        raise NotFound("There is no such release in this server.")
    return release


def parse_release_id(value: str) -> int:
    """The id an autocomplete choice carries ("12" or "#12"); a name typed by hand is refused kindly."""
    digits = value.strip().lstrip("#")
    if not digits.isdigit() or len(digits) > 18:
        raise NotFound("Pick a release from the list that appears as you type.")
    return int(digits)


def require_announcements(settings: GuildSettings) -> None:
    if settings.announcements_channel_id is None:
        raise NotAllowed(NO_ANNOUNCEMENTS_CHANNEL)


def _set_tracks(release: Release, tracks: list[TrackInput]) -> None:
    release.tracks = [
        ReleaseTrack(position=index, title=track.title, duration_seconds=track.duration_seconds)
        for index, track in enumerate(tracks, start=1)
    ]


def _set_links(release: Release, links: list[LinkInput]) -> None:
    release.links = [ReleaseLink(position=index, label=link.label, url=link.url) for index, link in enumerate(links, 1)]


async def create_draft(
    bot: LabelBot,
    session: AsyncSession,
    *,
    settings: GuildSettings,
    artist: Artist,
    actor_id: int,
    data: ReleaseInput,
    suggested_cover_url: str | None = None,
    suggested_title: str | None = None,
) -> Release:
    """Store a checked release as a draft (nothing is scheduled until the member clicks Schedule)."""
    require_announcements(settings)
    guild_id = settings.guild_id
    release = Release(
        guild_id=guild_id,
        artist_id=artist.id,
        title=data.title,
        kind=str(data.kind),
        release_at=data.release_at,
        zone=data.zone,
        description=data.description,
        cover_url=data.cover_url,
        suggested_cover_url=suggested_cover_url if data.cover_url is None else None,
        suggested_title=suggested_title[:300] if suggested_title else None,
        teaser_offsets_minutes=data.teaser_offsets_minutes,
        status=str(ReleaseStatus.DRAFT),
        created_by=actor_id,
        announced_late=False,
        discussion_thread=data.discussion_thread,
    )
    release.artist = artist
    _set_tracks(release, data.tracks)
    _set_links(release, data.links)
    session.add(release)
    await session.flush()
    await _audit(
        bot, session, release, "release.create", actor_id=actor_id, before=None, after=release.snapshot(), post=False
    )
    return release


async def schedule_posts(bot: LabelBot, session: AsyncSession, release: Release, settings: GuildSettings) -> int:
    """Plan the announcement at the release time and every teaser still ahead; return how many teasers.

    What other features tie to the release's time (supporters' early windows) follows it here, in this transaction,
    whether the release was just scheduled or moved earlier or later.
    """
    guild_id = release.guild_id
    await bot.jobs.schedule(
        session,
        ANNOUNCE,
        {"release_id": release.id},
        release.release_at,
        guild_id=guild_id,
        key=announce_key(release.id),
    )
    await bot.jobs.cancel_prefix(session, teaser_prefix(release.id))
    offsets = (
        release.teaser_offsets_minutes
        if release.teaser_offsets_minutes is not None
        else list(settings.teaser_offsets_minutes or [])
    )
    now = utcnow()
    planned = 0
    for minutes in sorted({int(m) for m in offsets}, reverse=True):
        due = release.release_at - timedelta(minutes=minutes)
        if due <= now:
            continue  # its moment has passed already; a teaser after the fact would confuse
        await bot.jobs.schedule(
            session,
            TEASER,
            {"release_id": release.id, "minutes": minutes},
            due,
            guild_id=guild_id,
            key=teaser_key(release.id, minutes),
        )
        planned += 1
    await bot.features.release_moves.moved(session, release)
    return planned


async def _unschedule(bot: LabelBot, session: AsyncSession, release_id: int) -> None:
    await bot.jobs.cancel(session, announce_key(release_id))
    await bot.jobs.cancel_prefix(session, teaser_prefix(release_id))
    await bot.jobs.cancel(session, approval_key(release_id))


async def notify(bot: LabelBot, session: AsyncSession, release: Release, text: str) -> None:
    """Tell the member who created the release something, by DM, once."""
    await bot.jobs.schedule(
        session, NOTIFY, {"user_id": release.created_by, "text": text}, utcnow(), guild_id=release.guild_id
    )


async def submit(
    bot: LabelBot,
    session: AsyncSession,
    release: Release,
    *,
    settings: GuildSettings,
    actor_id: int,
    actor_is_moderator: bool,
) -> ReleaseStatus:
    """Schedule a draft, or send it to the moderators when the server requires approval of artists' releases."""
    if release.release_status is not ReleaseStatus.DRAFT:
        raise Conflict(f"This release is already {release.release_status.label}.")
    require_announcements(settings)
    if release.release_at <= utcnow():
        raise InvalidInput("Its release time has passed; pick a new one with Edit or /release edit.")
    before = release.snapshot()
    if settings.release_approval and not actor_is_moderator:
        if settings.mod_log_channel_id is None:
            raise NotAllowed(NO_MOD_LOG)
        release.status = str(ReleaseStatus.AWAITING_APPROVAL)
        release.rejection_reason = None
        await bot.jobs.schedule(
            session,
            APPROVAL,
            {"release_id": release.id},
            utcnow(),
            guild_id=release.guild_id,
            key=approval_key(release.id),
        )
        action = "release.submit"
    else:
        release.status = str(ReleaseStatus.SCHEDULED)
        release.approved_by = actor_id if settings.release_approval else None
        release.rejection_reason = None
        await schedule_posts(bot, session, release, settings)
        action = "release.schedule"
    await session.flush()
    await _audit(bot, session, release, action, actor_id=actor_id, before=before, after=release.snapshot())
    return release.release_status


async def approve(
    bot: LabelBot, session: AsyncSession, release: Release, *, settings: GuildSettings, moderator_id: int
) -> None:
    """A moderator lets an artist's release go out; it is scheduled (now, if its time has passed meanwhile)."""
    if release.release_status is not ReleaseStatus.AWAITING_APPROVAL:
        raise Conflict(f"This release is {release.release_status.label}, not waiting for approval.")
    before = release.snapshot()
    require_announcements(settings)
    now = utcnow()
    if release.release_at <= now:
        release.release_at = now
    release.status = str(ReleaseStatus.SCHEDULED)
    release.approved_by = moderator_id
    await schedule_posts(bot, session, release, settings)
    await session.flush()
    await _audit(
        bot, session, release, "release.approve", actor_id=moderator_id, before=before, after=release.snapshot()
    )
    await notify(
        bot,
        session,
        release,
        f"Your release **{release.title}** by **{release.artist.name}** was approved; it goes out "
        f"{format_dt(release.release_at)}.",
    )


async def reject(bot: LabelBot, session: AsyncSession, release: Release, *, moderator_id: int, reason: str) -> None:
    """A moderator sends an artist's release back as a draft, saying why."""
    if release.release_status is not ReleaseStatus.AWAITING_APPROVAL:
        raise Conflict(f"This release is {release.release_status.label}, not waiting for approval.")
    reason = " ".join(reason.split())
    if not reason:
        raise InvalidInput("Say why the release is rejected, so the artist can fix it.")
    before = release.snapshot()
    release.status = str(ReleaseStatus.DRAFT)
    release.rejection_reason = reason[:1000]
    await bot.jobs.cancel(session, approval_key(release.id))
    await session.flush()
    await _audit(
        bot,
        session,
        release,
        "release.reject",
        actor_id=moderator_id,
        before=before,
        after={**release.snapshot(), "reason": reason},
    )
    await notify(
        bot,
        session,
        release,
        f"Your release **{release.title}** by **{release.artist.name}** was not approved: {reason}\n"
        "Fix it with /release edit and schedule it again.",
    )


async def edit(
    bot: LabelBot,
    session: AsyncSession,
    release: Release,
    changes: ReleaseChanges,
    *,
    settings: GuildSettings,
    actor_id: int,
    needs_approval: bool = False,
) -> bool:
    """Change a release: before its time the posts are planned again; after it, the posted message is edited.

    With `needs_approval` (the server approves artists' releases and the actor is no moderator), a scheduled
    release goes back to draft, to be sent for approval again, and a change to an announced one is held for the
    moderators while the post keeps showing what they approved: moderators approve what fans see. Returns
    whether the change was held.
    """
    status = release.release_status
    if status is ReleaseStatus.CANCELLED:
        raise Conflict("This release was cancelled, so it can't be edited.")
    if status is ReleaseStatus.ANNOUNCED and changes.release_at is not None:
        raise Conflict("This release is already announced, so its time can't change.")
    if status is ReleaseStatus.ANNOUNCED and changes.teaser_offsets_minutes is not None:
        raise Conflict("This release is already announced, so it has no teasers left to change.")
    if not changes.any():
        raise InvalidInput("Nothing to change: give at least one new value.")
    if status is ReleaseStatus.ANNOUNCED and needs_approval:
        await _hold(bot, session, release, changes, settings=settings, actor_id=actor_id)
        return True
    before = release.snapshot()
    if changes.title is not None:
        release.title = changes.title
    if changes.kind is not None:
        release.kind = str(changes.kind)
    if changes.release_at is not None:
        release.release_at = changes.release_at
        release.zone = changes.zone or release.zone
    if changes.cover_url is not None:
        release.cover_url = changes.cover_url
        release.suggested_cover_url = None
    if changes.teaser_offsets_minutes is not None:
        release.teaser_offsets_minutes = changes.teaser_offsets_minutes
    if changes.clear_description:
        release.description = None
    elif changes.description is not None:
        release.description = changes.description
    if changes.links is not None:
        _set_links(release, changes.links)
    if changes.tracks is not None:
        _set_tracks(release, changes.tracks)
    await session.flush()
    if status is ReleaseStatus.AWAITING_APPROVAL or (status is ReleaseStatus.SCHEDULED and needs_approval):
        # The moderators would approve what they saw, not this; it goes back to a draft to be sent again.
        release.status = str(ReleaseStatus.DRAFT)
        await _unschedule(bot, session, release.id)
        await session.flush()
    elif status is ReleaseStatus.SCHEDULED:
        await schedule_posts(bot, session, release, settings)
    elif status is ReleaseStatus.ANNOUNCED:
        await _refresh_later(bot, session, release)
    await _audit(bot, session, release, "release.edit", actor_id=actor_id, before=before, after=release.snapshot())
    return False


async def use_suggested_cover(
    bot: LabelBot,
    session: AsyncSession,
    release: Release,
    *,
    settings: GuildSettings,
    actor_id: int,
    needs_approval: bool = False,
) -> bool:
    """Take the cover found on the release's link as its cover (an edit like any other); return whether held."""
    if release.suggested_cover_url is None:
        raise Conflict("There is no suggested cover to use any more.")
    return await edit(
        bot,
        session,
        release,
        ReleaseChanges(cover_url=release.suggested_cover_url),
        settings=settings,
        actor_id=actor_id,
        needs_approval=needs_approval,
    )


# -- changes to an announced release, held for the moderators ----------------------------------------------------


def _shown(release: Release) -> dict[str, Any]:
    """What the posted announcement shows of a release, in the JSON form a held change is kept in."""
    return {
        "title": release.title,
        "kind": release.kind,
        "cover_url": release.cover_url,
        "description": release.description,
        "links": [[link.label, link.url] for link in release.links],
        "tracks": [[track.title, track.duration_seconds] for track in release.tracks],
    }


def _asked(changes: ReleaseChanges) -> dict[str, Any]:
    """The values an edit gives, in the form of _shown."""
    asked: dict[str, Any] = {}
    if changes.title is not None:
        asked["title"] = changes.title
    if changes.kind is not None:
        asked["kind"] = str(changes.kind)
    if changes.cover_url is not None:
        asked["cover_url"] = changes.cover_url
    if changes.clear_description:
        asked["description"] = None
    elif changes.description is not None:
        asked["description"] = changes.description
    if changes.links is not None:
        asked["links"] = [[link.label, link.url] for link in changes.links]
    if changes.tracks is not None:
        asked["tracks"] = [[track.title, track.duration_seconds] for track in changes.tracks]
    return asked


def _apply(release: Release, values: dict[str, Any]) -> None:
    """Set on the release what a held change holds."""
    if "title" in values:
        release.title = str(values["title"])
    if "kind" in values:
        release.kind = str(ReleaseKind(values["kind"]))
    if "cover_url" in values:
        release.cover_url = values["cover_url"]
        release.suggested_cover_url = None
    if "description" in values:
        release.description = values["description"]
    if "links" in values:
        _set_links(release, [LinkInput(str(label), str(url)) for label, url in values["links"]])
    if "tracks" in values:
        _set_tracks(release, [TrackInput(str(title), seconds) for title, seconds in values["tracks"]])


def held_changes(release: Release) -> dict[str, Any]:
    """The artist's change waiting for approval ({} if none)."""
    pending = release.pending_edit or {}
    changes = pending.get("changes")
    return dict(changes) if isinstance(changes, dict) else {}


def held_words(release: Release) -> str:
    """What the held change touches, as people say it: "title and cover"."""
    words = [SHOWN_FIELDS[name] for name in SHOWN_FIELDS if name in held_changes(release)]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def proposed(release: Release) -> Release:
    """The release as it would be with its held change: a copy, never stored, for previews and the request.

    Takes a release with its artist, tracks and links loaded.
    """
    copy = Release(**{column.key: getattr(release, column.key) for column in Release.__table__.columns})
    copy.artist = release.artist
    _set_tracks(copy, [TrackInput(track.title, track.duration_seconds) for track in release.tracks])
    _set_links(copy, [LinkInput(link.label, link.url) for link in release.links])
    _apply(copy, held_changes(release))
    return copy


async def _hold(
    bot: LabelBot,
    session: AsyncSession,
    release: Release,
    changes: ReleaseChanges,
    *,
    settings: GuildSettings,
    actor_id: int,
) -> None:
    """Keep an artist's change of an announced release for the moderators; the post stays as they approved it.

    A second change before they decide is added to the first, and replaces its request.
    """
    if settings.mod_log_channel_id is None:
        raise NotAllowed(NO_MOD_LOG)
    shown = _shown(release)
    held = {**held_changes(release), **_asked(changes)}
    held = {name: value for name, value in held.items() if value != shown[name]}
    if not held:
        raise InvalidInput("The posted announcement already shows exactly that, so there is nothing to approve.")
    # The token names this version of the change: a moderator's click on an older request can't approve a newer one.
    token = secrets.token_hex(4)
    release.pending_edit = {"changes": held, "by": actor_id, "token": token, "at": utcnow().isoformat()}
    await bot.jobs.schedule(
        session,
        APPROVAL,
        {"release_id": release.id, "edit": token},
        utcnow(),
        guild_id=release.guild_id,
        key=approval_key(release.id),
    )
    await session.flush()
    await _audit(
        bot,
        session,
        release,
        "release.edit_held",
        actor_id=actor_id,
        before=release.snapshot(),
        after={"held for approval": held_words(release)},
    )


def _held_for_decision(release: Release, token: str) -> dict[str, Any]:
    """The held change this request is about, or a sentence saying why it can't be decided any more."""
    pending = release.pending_edit
    if not pending:
        raise Conflict("This change was already decided, so there is nothing left to approve or reject.")
    if pending.get("token") != token:
        raise Conflict("The artist changed it again since; decide on the newer request instead.")
    if release.release_status is not ReleaseStatus.ANNOUNCED:
        raise Conflict(f"This release is {release.release_status.label} now, so the change can't be applied.")
    return held_changes(release)


async def approve_edit(
    bot: LabelBot, session: AsyncSession, release: Release, *, moderator_id: int, token: str
) -> None:
    """A moderator lets an artist's change of an announced release through: it is applied and the post redrawn."""
    held = _held_for_decision(release, token)
    before = release.snapshot()
    words = held_words(release)
    _apply(release, held)
    release.pending_edit = None
    await session.flush()
    await _refresh_later(bot, session, release)
    await _audit(
        bot, session, release, "release.approve_edit", actor_id=moderator_id, before=before, after=release.snapshot()
    )
    await notify(
        bot,
        session,
        release,
        f"Your change of the {words} of **{release.title}** by **{release.artist.name}** was approved; "
        "the announcement shows it now.",
    )


async def reject_edit(
    bot: LabelBot, session: AsyncSession, release: Release, *, moderator_id: int, token: str, reason: str
) -> None:
    """A moderator turns an artist's change of an announced release down; the post stays as it is."""
    _held_for_decision(release, token)
    reason = " ".join(reason.split())
    if not reason:
        raise InvalidInput("Say why the change is rejected, so the artist can fix it.")
    words = held_words(release)
    release.pending_edit = None
    await session.flush()
    await _audit(
        bot,
        session,
        release,
        "release.reject_edit",
        actor_id=moderator_id,
        before=release.snapshot(),
        after={"rejected": words, "reason": reason},
    )
    await notify(
        bot,
        session,
        release,
        f"Your change of the {words} of **{release.title}** by **{release.artist.name}** was not approved: "
        f"{reason}\nThe announcement stays as it was.",
    )


async def cancel(bot: LabelBot, session: AsyncSession, release: Release, *, actor_id: int) -> bool:
    """Cancel a release: its pending posts are dropped; an announcement already out is marked cancelled.

    Returns whether an announcement was out (and is being marked).
    """
    if release.release_status is ReleaseStatus.CANCELLED:
        raise Conflict("This release is already cancelled.")
    before = release.snapshot()
    announced = release.release_status is ReleaseStatus.ANNOUNCED
    await _unschedule(bot, session, release.id)
    release.status = str(ReleaseStatus.CANCELLED)
    release.cancelled_at = utcnow()
    release.pending_edit = None  # nothing left to approve on a cancelled post
    await session.flush()
    if announced:
        await _refresh_later(bot, session, release)
    await _audit(bot, session, release, "release.cancel", actor_id=actor_id, before=before, after=release.snapshot())
    return announced


async def discard(bot: LabelBot, session: AsyncSession, release: Release, *, actor_id: int) -> None:
    """Throw away a draft that was never scheduled."""
    if release.release_status is not ReleaseStatus.DRAFT:
        raise Conflict(f"This release is {release.release_status.label}; use /release cancel instead.")
    before = release.snapshot()
    await _audit(bot, session, release, "release.discard", actor_id=actor_id, before=before, after=None, post=False)
    await session.delete(release)
    await session.flush()


async def check_announce_cooldown(session: AsyncSession, release: Release, settings: GuildSettings) -> None:
    """Refuse announcing now when another announcement of the same artist is closer in time than the cooldown.

    Each announcement pings the artist's fans and the all-releases role; the cooldown keeps those pings apart.
    Both announcements already out and ones about to go out count (a scheduled one due within the cooldown).
    """
    minutes = settings.announce_cooldown_minutes
    if minutes <= 0:
        return
    cooldown = timedelta(minutes=minutes)
    # One announce-now of an artist at a time, so two at once can't both pass the check (PostgreSQL; SQLite's
    # single connection already runs one transaction at a time).
    await session.execute(select(Artist.id).where(Artist.id == release.artist_id).with_for_update())
    now = utcnow()
    close = await repository.announcements_near(session, release.artist_id, release.id, now - cooldown, now + cooldown)
    if not close:
        return
    free_at = max(
        (other.announced_at if other.announced_at is not None else max(other.release_at, now)) + cooldown
        for other in close
    )
    gap = f"{minutes} minutes" if minutes % 60 else f"{minutes // 60} hour{'s' if minutes != 60 else ''}"
    raise Conflict(
        f"Announcements of {release.artist.name} go out at least {gap} apart here, so announcing this one now is "
        f"possible again {format_dt(free_at + timedelta(seconds=1), 'R')}."
    )


async def announce_now(
    bot: LabelBot,
    session: AsyncSession,
    release: Release,
    *,
    settings: GuildSettings,
    actor_id: int,
    cooldown_applies: bool = False,
) -> None:
    """Post a scheduled release's announcement now instead of at its time; the teasers left are dropped.

    With `cooldown_applies` (an artist's manager, not a moderator) the server's announce cooldown is enforced.
    """
    if release.release_status is not ReleaseStatus.SCHEDULED:
        if release.release_status is ReleaseStatus.DRAFT:
            raise Conflict("This release is a draft; schedule it first.")
        raise Conflict(f"This release is {release.release_status.label}, so it can't be announced now.")
    if cooldown_applies:
        await check_announce_cooldown(session, release, settings)
    before = release.snapshot()
    release.release_at = utcnow()
    await bot.jobs.cancel_prefix(session, teaser_prefix(release.id))
    await bot.jobs.schedule(
        session,
        ANNOUNCE,
        {"release_id": release.id},
        release.release_at,
        guild_id=release.guild_id,
        key=announce_key(release.id),
    )
    await bot.features.release_moves.moved(session, release)
    await session.flush()
    await _audit(
        bot, session, release, "release.announce_now", actor_id=actor_id, before=before, after=release.snapshot()
    )


def info_lines(release: Release) -> dict[str, Any]:
    """Numbers /release info shows beside the preview."""
    return {"tracks": len(release.tracks), "links": len(release.links)}
