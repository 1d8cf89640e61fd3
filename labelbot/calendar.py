"""The label calendar: features register sources of dated entries; the feed and listings read them all."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True)
class CalendarEntry:
    """One dated thing on the label's calendar: a release, a listening party, a community event."""

    uid: str  # stable across feeds, e.g. "release-12@labelbot"
    kind: str  # "release", "party", "event"
    title: str
    starts_at: datetime  # aware UTC
    zone: str  # the IANA zone the organiser meant
    ends_at: datetime | None = None
    description: str = ""
    location: str = ""
    url: str | None = None
    rrule: str | None = None  # RFC 5545 recurrence rule, e.g. "FREQ=WEEKLY;COUNT=10"
    exdates: tuple[datetime, ...] = field(default_factory=tuple)
    cancelled: bool = False
    updated_at: datetime | None = None
    # Set on a changed occurrence of a series: `uid` is then the series' uid, and this the slot it replaces.
    recurrence_id: datetime | None = None


# Returns the entries of one server from `since` on (sources decide how far ahead they look).
CalendarSource = Callable[[AsyncSession, int, datetime], Awaitable[list[CalendarEntry]]]


class Calendar:
    """Collects entries from every registered source, so no feature imports another."""

    def __init__(self) -> None:
        self._sources: dict[str, CalendarSource] = {}

    def add_source(self, name: str, source: CalendarSource) -> None:
        self._sources[name] = source

    def remove_source(self, name: str) -> None:
        self._sources.pop(name, None)

    async def entries(self, session: AsyncSession, guild_id: int, since: datetime) -> list[CalendarEntry]:
        """All entries of a server from `since` on, ordered by start."""
        found: list[CalendarEntry] = []
        for source in self._sources.values():
            found.extend(await source(session, guild_id, since))
        return sorted(found, key=lambda entry: (entry.starts_at, entry.uid))
