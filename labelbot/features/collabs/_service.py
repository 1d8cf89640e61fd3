"""Rules of the collab board: skills, profiles, requests, introductions, alerts and the request lifecycle."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from labelbot.db.base import utcnow
from labelbot.errors import Conflict, InvalidInput, NotAllowed, NotFound
from labelbot.features.collabs import _repository as repo
from labelbot.models.collabs import (
    ACTIVE_STATUSES,
    AlertVia,
    CollabAlert,
    CollabInterest,
    CollabProfile,
    CollabReport,
    CollabRequest,
    CollabRequestSkill,
    CollabSkill,
    InterestStatus,
    RequestStatus,
)
from labelbot.timeparse import format_dt

DEFAULT_SKILLS: tuple[str, ...] = (
    "vocalist",
    "rapper",
    "producer",
    "beatmaker",
    "mixing engineer",
    "mastering engineer",
    "songwriter",
    "guitarist",
    "bassist",
    "drummer",
    "keys",
    "strings",
    "visual artist",
    "video editor",
    "photographer",
)
# The window of the daily posting quota (GuildSettings.collab_daily_posts).
POSTING_WINDOW = timedelta(hours=24)
# A select menu holds 25 options; a server's list never outgrows one.
MAX_SKILLS = 25
SKILL_NAME_MAX = 50
TITLE_MAX = 100
NEEDED_MAX = 1000
GENRE_MAX = 200
BIO_MAX = 300
LINKS_MAX = 300
COMPENSATIONS: dict[str, str] = {
    "paid": "Paid",
    "unpaid": "Unpaid",
    "revenue_share": "Revenue share",
    "negotiable": "Negotiable",
}
# The poster is asked this long before expiry whether to extend or close; shorter lives are asked halfway.
WARNING_LEAD = timedelta(days=3)
MAX_LIFETIME = timedelta(days=365)
MIN_LIFETIME = timedelta(seconds=1)
ALERT_WINDOW = timedelta(days=1)

_SKILL_NAME = re.compile(r"^[\w][\w .&+'/-]*$")


def skill_key(name: str) -> str:
    return " ".join(name.split()).casefold()


async def skills(session: AsyncSession, guild_id: int) -> list[CollabSkill]:
    """The server's current skill list, seeding the defaults the first time it is read."""
    rows = await repo.all_skills(session, guild_id)
    if not rows:
        session.add_all(CollabSkill(guild_id=guild_id, name=name, key=skill_key(name)) for name in DEFAULT_SKILLS)
        try:
            async with session.begin_nested():
                await session.flush()
        except IntegrityError:
            pass  # another command seeded them at the same moment
        rows = await repo.all_skills(session, guild_id)
    return sorted((row for row in rows if not row.removed), key=lambda row: row.key)


def _clean_skill_name(name: str) -> str:
    cleaned = " ".join(name.split())
    if not cleaned:
        raise InvalidInput("Give the skill a name, like “sound designer”.")
    if len(cleaned) > SKILL_NAME_MAX:
        raise InvalidInput(f"A skill name can be at most {SKILL_NAME_MAX} characters.")
    if not _SKILL_NAME.match(cleaned):
        raise InvalidInput("A skill name may use letters, digits, spaces and . & + ' / - only.")
    return cleaned


async def add_skill(session: AsyncSession, guild_id: int, name: str) -> CollabSkill:
    cleaned = _clean_skill_name(name)
    current = await skills(session, guild_id)
    key = skill_key(cleaned)
    if any(skill.key == key for skill in current):
        raise Conflict(f"“{cleaned}” is already on the skill list.")
    if len(current) >= MAX_SKILLS:
        raise Conflict(f"The skill list is full ({MAX_SKILLS} skills); remove one first.")
    existing = next((row for row in await repo.all_skills(session, guild_id) if row.key == key), None)
    if existing is not None:
        existing.removed = False
        existing.name = cleaned
        await session.flush()
        return existing
    skill = CollabSkill(guild_id=guild_id, name=cleaned, key=key)
    session.add(skill)
    await session.flush()
    return skill


async def remove_skill(session: AsyncSession, guild_id: int, name: str) -> CollabSkill:
    skill = await find_skill(session, guild_id, name)
    skill.removed = True
    await session.flush()
    return skill


async def find_skill(session: AsyncSession, guild_id: int, name: str) -> CollabSkill:
    key = skill_key(name)
    for skill in await skills(session, guild_id):
        if skill.key == key:
            return skill
    raise NotFound(f"“{_short(name, 50)}” isn't on this server's skill list; see /collab skills list.")


async def resolve_skills(session: AsyncSession, guild_id: int, text: str) -> list[CollabSkill]:
    """Read "mixing engineer, mastering engineer" into the server's skills; refuse unknown or no skills."""
    names = [part for part in (" ".join(p.split()) for p in text.split(",")) if part]
    if not names:
        raise InvalidInput("Choose at least one skill the request is looking for.")
    chosen: dict[int, CollabSkill] = {}
    for name in names:
        skill = await find_skill(session, guild_id, name)
        chosen[skill.id] = skill
    return list(chosen.values())


# -- profiles -------------------------------------------------------------------------------------------------


@dataclass
class Profile:
    """A member's profile as shown: the row (None if never saved) and their current skills."""

    user_id: int
    row: CollabProfile | None
    skills: list[CollabSkill]


async def load_profile(session: AsyncSession, guild_id: int, user_id: int) -> Profile:
    row = await repo.profile(session, guild_id, user_id)
    current = {skill.id for skill in await skills(session, guild_id)}
    ids = [skill_id for skill_id in await repo.member_skill_ids(session, guild_id, user_id) if skill_id in current]
    return Profile(user_id=user_id, row=row, skills=await repo.skills_by_ids(session, ids))


def _clean_optional(text: str | None, limit: int, what: str) -> str | None:
    if text is None:
        return None
    cleaned = text.strip()
    if len(cleaned) > limit:
        raise InvalidInput(f"Your {what} can be at most {limit} characters.")
    return cleaned


async def update_profile(
    session: AsyncSession,
    guild_id: int,
    user_id: int,
    *,
    alerts: bool | None = None,
    alert_via: str | None = None,
    bio: str | None = None,
    links: str | None = None,
) -> CollabProfile:
    """Change what was given; an empty bio or links clears it. Saving also forgets a bounced DM."""
    clean_bio = _clean_optional(bio, BIO_MAX, "bio")
    clean_links = _clean_optional(links, LINKS_MAX, "links")
    if alert_via is not None and alert_via not in set(AlertVia):
        raise InvalidInput("Alerts can come in the board or by DM.")
    row = await repo.profile(session, guild_id, user_id)
    if row is None:
        row = CollabProfile(
            guild_id=guild_id, user_id=user_id, alerts=False, alert_via=AlertVia.BOARD, dms_closed=False
        )
        session.add(row)
    if alerts is not None:
        row.alerts = alerts
    if alert_via is not None:
        row.alert_via = alert_via
    if clean_bio is not None:
        row.bio = clean_bio or None
    if clean_links is not None:
        row.links = clean_links or None
    row.dms_closed = False
    row.updated_at = utcnow()
    await session.flush()
    return row


async def set_member_skills(session: AsyncSession, guild_id: int, user_id: int, skill_ids: Sequence[int]) -> None:
    known = {skill.id for skill in await skills(session, guild_id)}
    unknown = [skill_id for skill_id in skill_ids if skill_id not in known]
    if unknown:
        raise Conflict("One of those skills was just removed from the list; open /profile skills again.")
    if await repo.profile(session, guild_id, user_id) is None:
        await update_profile(session, guild_id, user_id)
    await repo.replace_member_skills(session, guild_id, user_id, skill_ids)


async def mark_dms_closed(session: AsyncSession, guild_id: int, user_id: int) -> None:
    row = await repo.profile(session, guild_id, user_id)
    if row is not None:
        row.dms_closed = True
        await session.flush()


# -- requests -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestDraft:
    """What a member filled in for a new request, checked."""

    title: str
    needed: str
    genre: str | None
    deadline_at: datetime | None
    deadline_zone: str | None
    compensation: str
    skill_ids: tuple[int, ...]
    lifetime: timedelta


def check_draft(
    *,
    title: str,
    needed: str,
    genre: str | None,
    deadline_at: datetime | None,
    deadline_zone: str | None,
    compensation: str,
    skill_ids: Sequence[int],
    lifetime: timedelta,
    now: datetime | None = None,
) -> RequestDraft:
    """Refuse empty or overlong fields, a past deadline, no skill, an unknown compensation."""
    clean_title = " ".join(title.split())
    clean_needed = needed.strip()
    clean_genre = genre.strip() if genre else None
    if not clean_title:
        raise InvalidInput("Give the request a title.")
    if len(clean_title) > TITLE_MAX:
        raise InvalidInput(f"The title can be at most {TITLE_MAX} characters.")
    if not clean_needed:
        raise InvalidInput("Say what is needed.")
    if len(clean_needed) > NEEDED_MAX:
        raise InvalidInput(f"“What is needed” can be at most {NEEDED_MAX} characters.")
    if clean_genre and len(clean_genre) > GENRE_MAX:
        raise InvalidInput(f"Genre and references can be at most {GENRE_MAX} characters.")
    if compensation not in COMPENSATIONS:
        raise InvalidInput("Compensation is one of: paid, unpaid, revenue share, negotiable.")
    if not skill_ids:
        raise InvalidInput("Choose at least one skill the request is looking for.")
    if deadline_at is not None and deadline_at <= (now or utcnow()):
        raise InvalidInput("The deadline is in the past; give a date still to come.")
    if lifetime < MIN_LIFETIME or lifetime > MAX_LIFETIME:
        raise InvalidInput("A request can stay open for at most a year.")
    return RequestDraft(
        title=clean_title,
        needed=clean_needed,
        genre=clean_genre or None,
        deadline_at=deadline_at,
        deadline_zone=deadline_zone if deadline_at is not None else None,
        compensation=compensation,
        skill_ids=tuple(dict.fromkeys(skill_ids)),
        lifetime=lifetime,
    )


async def check_may_post(
    session: AsyncSession, guild_id: int, poster_id: int, *, max_open: int, daily_posts: int
) -> None:
    """Refuse a member who has as many open requests as the server allows, or posted their day's share already.

    The daily share counts every request made in the last 24 hours, closed ones too: closing and posting again
    would otherwise ping everyone with the skill over and over.
    """
    if await repo.count_active(session, guild_id, poster_id) >= max_open:
        raise Conflict(
            f"You already have {max_open} open request{'s' if max_open != 1 else ''}; "
            "close one with /collab close first."
        )
    posted = await repo.posted_since(session, guild_id, poster_id, utcnow() - POSTING_WINDOW)
    if len(posted) >= daily_posts:
        # The oldest post that keeps the member at their share leaves the window first.
        again = posted[len(posted) - daily_posts] + POSTING_WINDOW
        raise Conflict(
            f"You have posted {len(posted)} collab request{'s' if len(posted) != 1 else ''} in the last 24 hours, "
            f"as many as this server allows a day; you can post again {format_dt(again + timedelta(seconds=1), 'R')}."
        )


async def create_request(
    session: AsyncSession,
    draft: RequestDraft,
    *,
    guild_id: int,
    poster_id: int,
    needs_approval: bool,
    origin_channel_id: int | None,
) -> CollabRequest:
    request = CollabRequest(
        guild_id=guild_id,
        poster_id=poster_id,
        title=draft.title,
        needed=draft.needed,
        genre=draft.genre,
        deadline_at=draft.deadline_at,
        deadline_zone=draft.deadline_zone,
        compensation=draft.compensation,
        status=RequestStatus.PENDING_APPROVAL if needs_approval else RequestStatus.OPEN,
        board_is_forum=False,
        origin_channel_id=origin_channel_id,
        lifetime_seconds=max(1, int(draft.lifetime.total_seconds())),
        created_at=utcnow(),
    )
    session.add(request)
    await session.flush()
    session.add_all(CollabRequestSkill(request_id=request.id, skill_id=skill_id) for skill_id in draft.skill_ids)
    await session.flush()
    return request


async def get_request(session: AsyncSession, request_id: int, guild_id: int | None = None) -> CollabRequest:
    request = await repo.request(session, request_id)
    if request is None or (guild_id is not None and request.guild_id != guild_id):
        raise NotFound("That collab request doesn't exist (any more).")
    return request


async def request_skills(session: AsyncSession, request_id: int) -> list[CollabSkill]:
    return await repo.skills_by_ids(session, await repo.request_skill_ids(session, request_id))


def warning_lead(lifetime: timedelta) -> timedelta:
    """How long before expiry the poster is asked: 3 days, or half the life of a shorter request."""
    return WARNING_LEAD if lifetime > WARNING_LEAD * 2 else lifetime / 2


def lifecycle(request: CollabRequest, start: datetime) -> tuple[datetime, datetime]:
    """(warn_at, expires_at) of a request whose life starts at `start`."""
    lifetime = timedelta(seconds=request.lifetime_seconds)
    expires_at = start + lifetime
    return expires_at - warning_lead(lifetime), expires_at


def mark_published(
    request: CollabRequest, *, board_channel_id: int, is_forum: bool, message_id: int, thread_id: int | None
) -> tuple[datetime, datetime]:
    now = utcnow()
    request.status = RequestStatus.OPEN
    request.board_channel_id = board_channel_id
    request.board_is_forum = is_forum
    request.message_id = message_id
    request.thread_id = thread_id
    request.published_at = now
    warn_at, request.expires_at = lifecycle(request, now)
    return warn_at, request.expires_at


def require_open(request: CollabRequest) -> None:
    if request.status != RequestStatus.OPEN:
        raise Conflict(f"“{_short(request.title, 80)}” is no longer open.")


def may_close(request: CollabRequest, user_id: int, is_moderator: bool) -> None:
    if request.poster_id != user_id and not is_moderator:
        raise NotAllowed("Only the member who posted the request and moderators can close it.")
    if request.status not in ACTIVE_STATUSES:
        raise Conflict(f"“{_short(request.title, 80)}” is already closed.")


def close(request: CollabRequest, *, status: RequestStatus, actor_id: int | None, filled_by: int | None) -> None:
    request.status = status
    request.closed_at = utcnow()
    request.closed_by_id = actor_id
    request.filled_by_id = filled_by


def extend(request: CollabRequest, user_id: int) -> tuple[datetime, datetime]:
    if request.poster_id != user_id:
        raise NotAllowed("Only the member who posted the request can extend it.")
    require_open(request)
    warn_at, request.expires_at = lifecycle(request, utcnow())
    return warn_at, request.expires_at


# -- introductions --------------------------------------------------------------------------------------------


async def register_interest(session: AsyncSession, request: CollabRequest, user_id: int) -> CollabInterest:
    """One answer per member and request, never on one's own, only while open."""
    if request.poster_id == user_id:
        raise NotAllowed("That's your own request; you can't answer it.")
    require_open(request)
    if await repo.interest_of(session, request.id, user_id) is not None:
        raise Conflict("You've already answered this request; the poster has your interest.")
    interest = CollabInterest(
        request_id=request.id, user_id=user_id, status=InterestStatus.PENDING, created_at=utcnow()
    )
    try:
        async with session.begin_nested():
            session.add(interest)
            await session.flush()
    except IntegrityError:
        raise Conflict("You've already answered this request; the poster has your interest.") from None
    return interest


async def pending_interest(
    session: AsyncSession, interest_id: int, user_id: int
) -> tuple[CollabInterest, CollabRequest]:
    interest = await repo.interest(session, interest_id)
    if interest is None:
        raise NotFound("That answer doesn't exist any more.")
    request = await get_request(session, interest.request_id)
    if request.poster_id != user_id:
        raise NotAllowed("Only the member who posted the request can answer this.")
    if interest.status != InterestStatus.PENDING:
        raise Conflict("You've already answered this member.")
    return interest, request


async def answer(session: AsyncSession, interest_id: int, status: InterestStatus) -> None:
    if not await repo.answer_interest(session, interest_id, status, utcnow()):
        raise Conflict("You've already answered this member.")


# -- alerts ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AlertRecipient:
    user_id: int
    via: AlertVia


async def choose_alerts(session: AsyncSession, request: CollabRequest, daily_cap: int) -> list[AlertRecipient]:
    """Opted-in members with a wanted skill, never the poster, within each one's daily cap; recorded now."""
    skill_ids = await repo.request_skill_ids(session, request.id)
    profiles = [
        p for p in await repo.matching_members(session, request.guild_id, skill_ids) if p.user_id != request.poster_id
    ]
    now = utcnow()
    counts = await repo.alerts_since(session, request.guild_id, [p.user_id for p in profiles], now - ALERT_WINDOW)
    chosen: list[AlertRecipient] = []
    for profile in profiles:
        if counts.get(profile.user_id, 0) >= daily_cap:
            continue
        if await session.get(CollabAlert, (request.id, profile.user_id)) is not None:
            continue
        via = AlertVia.DM if profile.alert_via == AlertVia.DM and not profile.dms_closed else AlertVia.BOARD
        session.add(
            CollabAlert(
                request_id=request.id, user_id=profile.user_id, guild_id=request.guild_id, via=via, created_at=now
            )
        )
        chosen.append(AlertRecipient(profile.user_id, via))
    await session.flush()
    return chosen


# -- reports --------------------------------------------------------------------------------------------------


async def add_report(session: AsyncSession, request: CollabRequest, reporter_id: int) -> None:
    if await repo.report(session, request.id, reporter_id) is not None:
        raise Conflict("You've already reported this request; the moderators have it.")
    session.add(CollabReport(request_id=request.id, reporter_id=reporter_id, created_at=utcnow()))
    await session.flush()


async def remove_report(session: AsyncSession, request_id: int, reporter_id: int) -> None:
    """Take back a report whose post to the mod log failed, so the member can report again."""
    report = await repo.report(session, request_id, reporter_id)
    if report is not None:
        await session.delete(report)


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
