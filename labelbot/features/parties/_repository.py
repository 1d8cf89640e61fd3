"""SQL for listening parties; takes the caller's session and never commits."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from labelbot.db.base import utcnow
from labelbot.gatherings.models import Gathering, GatheringRsvp
from labelbot.models.parties import ListeningParty, PartyAttendance, PartyStatus, PartyThreadMessage, PartyTrackRating


def _insert(session: AsyncSession) -> type[postgresql.Insert] | type[sqlite.Insert]:
    return postgresql.Insert if session.get_bind().dialect.name == "postgresql" else sqlite.Insert


async def get(session: AsyncSession, party_id: int, *, lock: bool = False) -> ListeningParty | None:
    query = select(ListeningParty).where(ListeningParty.id == party_id).execution_options(populate_existing=True)
    if lock:
        query = query.with_for_update()
    found: ListeningParty | None = await session.scalar(query)
    return found


async def get_with_gathering(
    session: AsyncSession, party_id: int, *, lock: bool = False
) -> tuple[ListeningParty, Gathering] | None:
    """The party and its gathering in one query (a click reads both; each extra query holds the connection longer)."""
    query = (
        select(ListeningParty, Gathering)
        .join(Gathering, Gathering.id == ListeningParty.gathering_id)
        .where(ListeningParty.id == party_id)
        .execution_options(populate_existing=True)
    )
    if lock:
        query = query.with_for_update(of=ListeningParty)
    row = (await session.execute(query)).one_or_none()
    return None if row is None else (row[0], row[1])


async def get_in_guild(session: AsyncSession, guild_id: int, party_id: int) -> ListeningParty | None:
    party = await get(session, party_id)
    return party if party is not None and party.guild_id == guild_id else None


async def by_gathering(session: AsyncSession, gathering_id: int) -> ListeningParty | None:
    found: ListeningParty | None = await session.scalar(
        select(ListeningParty).where(ListeningParty.gathering_id == gathering_id)
    )
    return found


async def by_thread(session: AsyncSession, thread_id: int) -> ListeningParty | None:
    found: ListeningParty | None = await session.scalar(
        select(ListeningParty).where(ListeningParty.thread_id == thread_id)
    )
    return found


async def upcoming(session: AsyncSession, guild_id: int, *, limit: int = 25) -> list[ListeningParty]:
    """Parties not over yet (scheduled or live), soonest first."""
    rows = await session.scalars(
        select(ListeningParty)
        .where(
            ListeningParty.guild_id == guild_id,
            ListeningParty.status.in_([PartyStatus.SCHEDULED, PartyStatus.LIVE]),
        )
        .order_by(ListeningParty.starts_at, ListeningParty.id)
        .limit(limit)
    )
    return list(rows)


async def search_open(session: AsyncSession, guild_id: int, text: str, *, limit: int = 25) -> list[ListeningParty]:
    query = select(ListeningParty).where(
        ListeningParty.guild_id == guild_id,
        ListeningParty.status.in_([PartyStatus.SCHEDULED, PartyStatus.LIVE]),
    )
    words = " ".join(text.split())
    if words:
        query = query.where(ListeningParty.title.icontains(words, autoescape=True))
    rows = await session.scalars(query.order_by(ListeningParty.starts_at, ListeningParty.id).limit(limit))
    return list(rows)


async def since(session: AsyncSession, guild_id: int, moment: datetime) -> list[ListeningParty]:
    """Parties (cancelled ones too) starting from `moment` on, for the calendar."""
    rows = await session.scalars(
        select(ListeningParty)
        .where(ListeningParty.guild_id == guild_id, ListeningParty.starts_at >= moment)
        .order_by(ListeningParty.starts_at, ListeningParty.id)
    )
    return list(rows)


async def record_attendance(session: AsyncSession, party_id: int, user_id: int) -> bool:
    """Mark a member as here; False if they already were."""
    result = await session.execute(
        _insert(session)(PartyAttendance)
        .values(party_id=party_id, user_id=user_id, at=utcnow())
        .on_conflict_do_nothing(index_elements=["party_id", "user_id"])
    )
    return bool(getattr(result, "rowcount", 0))


async def attendee_ids(session: AsyncSession, party_id: int) -> list[int]:
    rows = await session.scalars(
        select(PartyAttendance.user_id).where(PartyAttendance.party_id == party_id).order_by(PartyAttendance.at)
    )
    return list(rows)


async def record_thread_message(
    session: AsyncSession, *, party_id: int, message_id: int, track_index: int, author_id: int
) -> None:
    """Count a thread message once, however many times its event arrives (a resumed gateway replays)."""
    await session.execute(
        _insert(session)(PartyThreadMessage)
        .values(message_id=message_id, party_id=party_id, track_index=track_index, author_id=author_id)
        .on_conflict_do_nothing(index_elements=["message_id"])
    )


async def messages_by_track(session: AsyncSession, party_id: int) -> dict[int, int]:
    rows = await session.execute(
        select(PartyThreadMessage.track_index, func.count())
        .where(PartyThreadMessage.party_id == party_id)
        .group_by(PartyThreadMessage.track_index)
    )
    return {int(index): int(number) for index, number in rows}


async def live_threads(session: AsyncSession) -> Sequence[tuple[int, int]]:
    """(thread id, party id) of the parties running now."""
    rows = await session.execute(
        select(ListeningParty.thread_id, ListeningParty.id).where(
            ListeningParty.status == PartyStatus.LIVE, ListeningParty.thread_id.is_not(None)
        )
    )
    return [(int(thread_id or 0), int(party_id)) for thread_id, party_id in rows]


async def rating_of(session: AsyncSession, party_id: int, track_index: int, user_id: int) -> int | None:
    found: int | None = await session.scalar(
        select(PartyTrackRating.stars).where(
            PartyTrackRating.party_id == party_id,
            PartyTrackRating.track_index == track_index,
            PartyTrackRating.user_id == user_id,
        )
    )
    return found


async def rate_track(session: AsyncSession, party_id: int, track_index: int, user_id: int, stars: int) -> None:
    """Record a member's stars for a track, replacing their earlier ones (a double click stays one row)."""
    insert = _insert(session)(PartyTrackRating).values(
        party_id=party_id, track_index=track_index, user_id=user_id, stars=stars, rated_at=utcnow()
    )
    await session.execute(
        insert.on_conflict_do_update(
            index_elements=["party_id", "track_index", "user_id"],
            set_={"stars": insert.excluded.stars, "rated_at": insert.excluded.rated_at},
        )
    )


async def ratings_by_track(session: AsyncSession, party_id: int) -> dict[int, tuple[float, int]]:
    """Each rated track's average stars and how many rated it."""
    rows = await session.execute(
        select(PartyTrackRating.track_index, func.avg(PartyTrackRating.stars), func.count())
        .where(PartyTrackRating.party_id == party_id)
        .group_by(PartyTrackRating.track_index)
    )
    return {int(index): (float(average), int(number)) for index, average, number in rows}


async def previous_party(session: AsyncSession, party: ListeningParty) -> ListeningParty | None:
    """The server's last party that ran before this one (for "came back")."""
    found: ListeningParty | None = await session.scalar(
        select(ListeningParty)
        .where(
            ListeningParty.guild_id == party.guild_id,
            ListeningParty.id != party.id,
            ListeningParty.status == PartyStatus.ENDED,
            ListeningParty.starts_at < party.starts_at,
        )
        .order_by(ListeningParty.starts_at.desc(), ListeningParty.id.desc())
        .limit(1)
    )
    return found


# Past parties listed by /party list past (ten to a page).
PAST_MAX = 200


async def past(session: AsyncSession, guild_id: int, *, limit: int = PAST_MAX) -> list[ListeningParty]:
    """Parties that ran to their end, latest first."""
    rows = await session.scalars(
        select(ListeningParty)
        .where(ListeningParty.guild_id == guild_id, ListeningParty.status == PartyStatus.ENDED)
        .order_by(ListeningParty.starts_at.desc(), ListeningParty.id.desc())
        .limit(limit)
    )
    return list(rows)


async def search_past(session: AsyncSession, guild_id: int, text: str, *, limit: int = 25) -> list[ListeningParty]:
    """Ended parties whose title holds `text`, latest first (the choices of /party replay)."""
    query = select(ListeningParty).where(
        ListeningParty.guild_id == guild_id, ListeningParty.status == PartyStatus.ENDED
    )
    words = " ".join(text.split())
    if words:
        query = query.where(ListeningParty.title.icontains(words, autoescape=True))
    rows = await session.scalars(query.order_by(ListeningParty.starts_at.desc(), ListeningParty.id.desc()).limit(limit))
    return list(rows)


async def attendance_counts(session: AsyncSession, party_ids: Sequence[int]) -> dict[int, int]:
    """How many pressed "I'm here" at each party, in one query."""
    if not party_ids:
        return {}
    rows = await session.execute(
        select(PartyAttendance.party_id, func.count())
        .where(PartyAttendance.party_id.in_(list(party_ids)))
        .group_by(PartyAttendance.party_id)
    )
    return {int(party_id): int(number) for party_id, number in rows.all()}


# -- the moderators' dashboard ----------------------------------------------------------------------------------


async def parties_since(session: AsyncSession, guild_id: int, since: datetime) -> Sequence[ListeningParty]:
    """The server's parties not cancelled that start from `since` on, by start."""
    rows = await session.scalars(
        select(ListeningParty)
        .where(
            ListeningParty.guild_id == guild_id,
            ListeningParty.starts_at >= since,
            ListeningParty.status != PartyStatus.CANCELLED,
        )
        .order_by(ListeningParty.starts_at, ListeningParty.id)
    )
    return rows.all()


async def track_ratings(session: AsyncSession, party_ids: Sequence[int]) -> dict[tuple[int, int], tuple[float, int]]:
    """(party, track) -> (average stars, how many rated), for every rated track of these parties."""
    if not party_ids:
        return {}
    rows = await session.execute(
        select(
            PartyTrackRating.party_id,
            PartyTrackRating.track_index,
            func.avg(PartyTrackRating.stars),
            func.count(),
        )
        .where(PartyTrackRating.party_id.in_(party_ids))
        .group_by(PartyTrackRating.party_id, PartyTrackRating.track_index)
    )
    return {(int(p), int(t)): (float(average), int(number)) for p, t, average, number in rows}


async def answer_counts(session: AsyncSession, gathering_ids: Sequence[int]) -> dict[tuple[int, str], int]:
    """(gathering, answer) -> how many answered so, waitlist left out."""
    if not gathering_ids:
        return {}
    rows = await session.execute(
        select(GatheringRsvp.gathering_id, GatheringRsvp.answer, func.count())
        .where(GatheringRsvp.gathering_id.in_(gathering_ids), GatheringRsvp.waitlisted.is_(False))
        .group_by(GatheringRsvp.gathering_id, GatheringRsvp.answer)
    )
    return {(int(gathering_id), str(answer)): int(count) for gathering_id, answer, count in rows}
