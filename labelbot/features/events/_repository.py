"""Queries over community events and their occurrences; takes the caller's session, never commits."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from labelbot.artists.models import Artist
from labelbot.gatherings.models import Gathering
from labelbot.models.events import CommunityEvent, EventOccurrence, OccurrenceStatus

KIND = "event"
OPEN_STATUSES = (OccurrenceStatus.SCHEDULED, OccurrenceStatus.ACTIVE)


async def get_event(session: AsyncSession, guild_id: int, event_id: int) -> CommunityEvent | None:
    event = await session.get(CommunityEvent, event_id)
    return event if event is not None and event.guild_id == guild_id else None


async def gathering_of(session: AsyncSession, occurrence_id: int) -> Gathering | None:
    found: Gathering | None = await session.scalar(
        select(Gathering).where(Gathering.kind == KIND, Gathering.ref_id == occurrence_id)
    )
    return found


async def answerable_gathering(
    session: AsyncSession, gathering_id: int, guild_id: int, now: datetime
) -> tuple[Gathering | None, bool]:
    """The event gathering a card button names if it belongs to this server, and whether it still takes answers.

    A button's id comes from the member's client, so it may name a party, another server's event or one that
    is over; (None, False) when it isn't an event of this server.
    """
    row = (
        await session.execute(
            select(Gathering, EventOccurrence.status)
            .join(EventOccurrence, EventOccurrence.id == Gathering.ref_id)
            .where(Gathering.id == gathering_id, Gathering.kind == KIND, Gathering.guild_id == guild_id)
        )
    ).first()
    if row is None:
        return None, False
    gathering, status = row
    return gathering, not gathering.cancelled and status in OPEN_STATUSES and now < gathering.ends_at


async def current_occurrence(session: AsyncSession, event_id: int) -> EventOccurrence | None:
    """The occurrence the series is on now: the one running, else the next one (the bot holds one at a time)."""
    found: EventOccurrence | None = await session.scalar(
        select(EventOccurrence)
        .where(EventOccurrence.event_id == event_id, EventOccurrence.status.in_([str(s) for s in OPEN_STATUSES]))
        .order_by(EventOccurrence.starts_at, EventOccurrence.id)
        .limit(1)
    )
    return found


async def occurrence_at(session: AsyncSession, event_id: int, slot_at: datetime) -> EventOccurrence | None:
    found: EventOccurrence | None = await session.scalar(
        select(EventOccurrence).where(EventOccurrence.event_id == event_id, EventOccurrence.slot_at == slot_at)
    )
    return found


async def latest_occurrence(session: AsyncSession, event_id: int) -> EventOccurrence | None:
    found: EventOccurrence | None = await session.scalar(
        select(EventOccurrence)
        .where(EventOccurrence.event_id == event_id)
        .order_by(EventOccurrence.slot_at.desc(), EventOccurrence.id.desc())
        .limit(1)
    )
    return found


async def occurrences_of(session: AsyncSession, event_id: int) -> list[EventOccurrence]:
    rows = await session.scalars(
        select(EventOccurrence).where(EventOccurrence.event_id == event_id).order_by(EventOccurrence.slot_at)
    )
    return list(rows)


async def upcoming(session: AsyncSession, guild_id: int, now: datetime, limit: int = 500) -> list[EventOccurrence]:
    """Occurrences not over and not cancelled, soonest first."""
    rows = await session.scalars(
        select(EventOccurrence)
        .where(
            EventOccurrence.guild_id == guild_id,
            EventOccurrence.status.in_([str(s) for s in OPEN_STATUSES]),
            EventOccurrence.ends_at > now,
        )
        .order_by(EventOccurrence.starts_at, EventOccurrence.id)
        .limit(limit)
    )
    return list(rows)


async def events_by_id(session: AsyncSession, ids: list[int]) -> dict[int, CommunityEvent]:
    if not ids:
        return {}
    rows = await session.scalars(select(CommunityEvent).where(CommunityEvent.id.in_(ids)))
    return {event.id: event for event in rows}


async def search_open(session: AsyncSession, guild_id: int, text: str, limit: int = 25) -> list[CommunityEvent]:
    """Series not cancelled whose title contains `text` (autocomplete), newest first."""
    query = select(CommunityEvent).where(CommunityEvent.guild_id == guild_id, CommunityEvent.cancelled_at.is_(None))
    if text.strip():
        query = query.where(CommunityEvent.title.ilike(f"%{text.strip()}%"))
    rows = await session.scalars(query.order_by(CommunityEvent.anchor_at.desc()).limit(limit))
    return list(rows)


async def series_for_calendar(session: AsyncSession, guild_id: int) -> list[CommunityEvent]:
    rows = await session.scalars(select(CommunityEvent).where(CommunityEvent.guild_id == guild_id))
    return list(rows)


async def occurrences_for_guild(session: AsyncSession, guild_id: int) -> list[EventOccurrence]:
    rows = await session.scalars(select(EventOccurrence).where(EventOccurrence.guild_id == guild_id))
    return list(rows)


async def fan_roles_of(session: AsyncSession, artist_ids: Collection[int]) -> set[int]:
    """The fan roles of these artists (those that have one)."""
    if not artist_ids:
        return set()
    rows = await session.scalars(
        select(Artist.fan_role_id).where(Artist.id.in_(artist_ids), Artist.fan_role_id.is_not(None))
    )
    return {role_id for role_id in rows if role_id is not None}
