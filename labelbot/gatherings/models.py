"""Tables shared by every kind of gathering: the gathering's common record and the members' answers."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from labelbot.db.base import Base, RowId, TimestampMixin, utcnow
from labelbot.privacy.columns import ERASE

TITLE_MAX = 100
# DMs one gathering may send in all its reminders, unless the feature asks for another cap.
DEFAULT_DM_CAP = 250


class Answer(enum.StrEnum):
    """What a member answered to a gathering."""

    GOING = "going"
    MAYBE = "maybe"
    # "Remind me by DM": interested, and wants the reminders in their DMs.
    REMIND = "remind"
    CANT = "cant"


class NativeStatus(enum.StrEnum):
    """Where the mirrored native Discord event is, as far as the bot made it go."""

    SCHEDULED = "scheduled"
    ACTIVE = "active"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class Gathering(TimestampMixin, Base):
    """The part of a party or event that RSVPs, reminders, the card and the native event work on.

    (kind, ref_id) names the feature's own row, e.g. ("party", 12); the feature keeps the rest.
    """

    __tablename__ = "gatherings"
    __table_args__ = (
        UniqueConstraint("kind", "ref_id"),
        Index("ix_gatherings_guild_id_starts_at", "guild_id", "starts_at"),
        CheckConstraint("capacity IS NULL OR capacity >= 0", name="capacity"),
    )

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))
    ref_id: Mapped[int]
    guild_id: Mapped[int]
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    zone: Mapped[str] = mapped_column(String(64), default="UTC")
    # None: no limit. 0 is allowed and means only the waitlist (e.g. while the venue is unsure).
    capacity: Mapped[int | None]
    card_channel_id: Mapped[int | None]
    card_message_id: Mapped[int | None]
    native_event_id: Mapped[int | None]
    native_status: Mapped[str | None] = mapped_column(String(16))
    cancelled_at: Mapped[datetime | None]
    dm_cap: Mapped[int] = mapped_column(Integer, default=DEFAULT_DM_CAP)
    dms_sent: Mapped[int] = mapped_column(Integer, default=0)

    @property
    def cancelled(self) -> bool:
        return self.cancelled_at is not None


class GatheringRsvp(Base):
    """One member's answer to one gathering; a Going answer over capacity waits in line (by `answered_at`)."""

    __tablename__ = "gathering_rsvps"
    __table_args__ = (
        UniqueConstraint("gathering_id", "user_id"),
        Index("ix_gathering_rsvps_gathering_id_answer_answered_at", "gathering_id", "answer", "answered_at"),
        # Counts by answer and seat straight from the index (migration 0018_perf).
        Index("ix_gathering_rsvps_gathering_id_answer_waitlisted", "gathering_id", "answer", "waitlisted"),
        CheckConstraint("answer IN ('going', 'maybe', 'remind', 'cant')", name="answer"),
    )

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    gathering_id: Mapped[int] = mapped_column(ForeignKey("gatherings.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(info=ERASE)
    answer: Mapped[str] = mapped_column(String(8))
    waitlisted: Mapped[bool] = mapped_column(default=False)
    wants_dm: Mapped[bool] = mapped_column(default=False)
    # When the answer last changed: the waitlist's order.
    answered_at: Mapped[datetime] = mapped_column(default=utcnow)
    promoted_at: Mapped[datetime | None]
    # Discord refused a DM (closed DMs, blocked): never tried again for this gathering.
    dm_closed_at: Mapped[datetime | None]
