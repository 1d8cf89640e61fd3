"""Community events: the series a moderator scheduled, and each of its occurrences.

Every occurrence is also a shared `Gathering` (kind "event", ref_id = the occurrence's id), which carries its
RSVPs, capacity and waitlist, card and native event; the rows here keep what only events have.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from labelbot.db.base import Base, JSONType, RowId, TimestampMixin
from labelbot.privacy.columns import ANONYMISE, NO_MEMBER_IDS

TITLE_MAX = 100
DESCRIPTION_MAX = 1000
LOCATION_MAX = 100


class Recurrence(enum.StrEnum):
    """How an event repeats."""

    DAILY = "daily"
    WEEKLY = "weekly"
    BIWEEKLY = "biweekly"
    MONTHLY_DATE = "monthly_date"
    MONTHLY_WEEKDAY = "monthly_weekday"


class PlaceKind(enum.StrEnum):
    STAGE = "stage"
    VOICE = "voice"
    EXTERNAL = "external"


class OccurrenceStatus(enum.StrEnum):
    SCHEDULED = "scheduled"
    ACTIVE = "active"
    ENDED = "ended"
    CANCELLED = "cancelled"


class CommunityEvent(TimestampMixin, Base):
    """An event series (one occurrence when it does not repeat); the rule and defaults every occurrence follows."""

    __tablename__ = "community_events"
    __table_args__ = (
        Index("ix_community_events_guild_id_cancelled_at", "guild_id", "cancelled_at"),
        CheckConstraint("duration_seconds > 0", name="duration"),
        CheckConstraint("capacity IS NULL OR capacity >= 0", name="capacity"),
    )

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    guild_id: Mapped[int]
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    description: Mapped[str] = mapped_column(Text, default="")
    zone: Mapped[str] = mapped_column(String(64))
    # The first occurrence of the rule as it stands (moved when the series is re-timed).
    anchor_at: Mapped[datetime]
    duration_seconds: Mapped[int] = mapped_column(Integer)
    place_kind: Mapped[str] = mapped_column(String(16))
    place_channel_id: Mapped[int | None]
    location: Mapped[str | None] = mapped_column(String(LOCATION_MAX))
    capacity: Mapped[int | None] = mapped_column(Integer)
    # None: the server's defaults.
    # Seconds before each start; None: the server's defaults.
    reminder_offsets_seconds: Mapped[list[int] | None] = mapped_column(JSONType, default=None, info=NO_MEMBER_IDS)
    ping_role_id: Mapped[int | None]
    recurrence: Mapped[str | None] = mapped_column(String(16))
    # The series ends at the last occurrence on or before `until`, or after `count` occurrences from the anchor.
    until: Mapped[datetime | None]
    count: Mapped[int | None] = mapped_column(Integer)
    card_channel_id: Mapped[int]
    open_thread: Mapped[bool] = mapped_column(default=True)
    created_by: Mapped[int] = mapped_column(info=ANONYMISE)
    cancelled_at: Mapped[datetime | None]

    @property
    def cancelled(self) -> bool:
        return self.cancelled_at is not None


class EventOccurrence(TimestampMixin, Base):
    """One time an event happens; `slot_at` is where the rule put it, `starts_at` where it really is."""

    __tablename__ = "event_occurrences"
    __table_args__ = (
        UniqueConstraint("event_id", "slot_at"),
        Index("ix_event_occurrences_guild_id_starts_at", "guild_id", "starts_at"),
        CheckConstraint("status IN ('scheduled', 'active', 'ended', 'cancelled')", name="status"),
    )

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("community_events.id", ondelete="CASCADE"))
    guild_id: Mapped[int]
    number: Mapped[int] = mapped_column(Integer)
    slot_at: Mapped[datetime]
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), default=OccurrenceStatus.SCHEDULED)
    # Set when this occurrence alone was edited: it no longer follows the series' title/description/time.
    detached: Mapped[bool] = mapped_column(default=False)
    title: Mapped[str | None] = mapped_column(String(TITLE_MAX))
    description: Mapped[str | None] = mapped_column(Text)
    thread_id: Mapped[int | None]
