"""Tables of listening parties: the party and its tracklist, who showed up, and the talk in its thread."""

from __future__ import annotations

import enum
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from labelbot.db.base import Base, JSONType, RowId, TimestampMixin, utcnow
from labelbot.privacy.columns import ANONYMISE, ERASE, NO_MEMBER_IDS

TITLE_MAX = 100
DESCRIPTION_MAX = 1000
NOTE_MAX = 500
CLOSING_NOTE_MAX = 1000


class PartyStatus(enum.StrEnum):
    """Where a party is in its life."""

    SCHEDULED = "scheduled"
    LIVE = "live"
    ENDED = "ended"
    CANCELLED = "cancelled"


class ListeningParty(TimestampMixin, Base):
    """A listening party: one start time, a tracklist played in order, the artist's notes track by track."""

    __tablename__ = "listening_parties"
    __table_args__ = (
        Index("ix_listening_parties_guild_id_status_starts_at", "guild_id", "status", "starts_at"),
        CheckConstraint("status IN ('scheduled', 'live', 'ended', 'cancelled')", name="status"),
    )

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    guild_id: Mapped[int]
    gathering_id: Mapped[int | None] = mapped_column(ForeignKey("gatherings.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    # The catalogue release it plays, when it is for one (no foreign key: the catalogue is another feature's).
    release_id: Mapped[int | None]
    artist_id: Mapped[int | None]
    host_id: Mapped[int] = mapped_column(info=ANONYMISE)
    description: Mapped[str | None] = mapped_column(Text)
    # A stage or voice channel to listen together in, if any.
    voice_channel_id: Mapped[int | None]
    # Where the card, countdown, "press play" and recap go (the parties channel).
    text_channel_id: Mapped[int]
    thread_id: Mapped[int | None]
    play_message_id: Mapped[int | None]
    starts_at: Mapped[datetime]
    zone: Mapped[str] = mapped_column(String(64), default="UTC")
    # [{"title": str, "seconds": int, "note": str | None}], in play order.
    tracks: Mapped[list[Any]] = mapped_column(JSONType, default=list, info=NO_MEMBER_IDS)
    closing_note: Mapped[str | None] = mapped_column(Text)
    # Seconds ahead of the start; None means the server's defaults.
    reminder_offsets_seconds: Mapped[list[Any] | None] = mapped_column(JSONType, info=NO_MEMBER_IDS)
    status: Mapped[str] = mapped_column(String(16), default=PartyStatus.SCHEDULED)
    started_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    # Indexes of tracks whose prompt was posted, and of those whose moment passed while the bot was away.
    prompted: Mapped[list[Any]] = mapped_column(JSONType, default=list, info=NO_MEMBER_IDS)
    missed: Mapped[list[Any]] = mapped_column(JSONType, default=list, info=NO_MEMBER_IDS)
    # Bumped on each /party edit, so each edit's notice is its own.
    revision: Mapped[int] = mapped_column(Integer, default=0)
    # The past party this one replays (/party replay), if any.
    replay_of_id: Mapped[int | None] = mapped_column(
        RowId, ForeignKey("listening_parties.id", ondelete="SET NULL"), nullable=True
    )
    # The recap's message, for links from /party list past and from a replay's recap.
    recap_message_id: Mapped[int | None]
    # Set before the bot asks Discord to open a stage for the party, so the end closes only a stage it opened.
    stage_opened_at: Mapped[datetime | None]
    # Set before the bot asks Discord to pin the party's card as it starts, so the end unpins only a card it pinned.
    card_pinned_at: Mapped[datetime | None]

    @property
    def durations(self) -> list[int]:
        return [int(track["seconds"]) for track in self.tracks]

    @property
    def length(self) -> timedelta:
        return timedelta(seconds=sum(self.durations))

    @property
    def ends_at(self) -> datetime:
        return self.starts_at + self.length

    def track_starts(self) -> list[datetime]:
        """When each track starts: the party's start plus the durations before it."""
        starts = []
        offset = 0
        for seconds in self.durations:
            starts.append(self.starts_at + timedelta(seconds=offset))
            offset += seconds
        return starts

    def track_at(self, moment: datetime) -> int | None:
        """The index of the track playing at `moment`; None before the start; len(tracks) after the end."""
        if moment < self.starts_at:
            return None
        elapsed = (moment - self.starts_at).total_seconds()
        offset = 0
        for index, seconds in enumerate(self.durations):
            offset += seconds
            if elapsed < offset:
                return index
        return len(self.tracks)

    @property
    def is_open(self) -> bool:
        return self.status in (PartyStatus.SCHEDULED, PartyStatus.LIVE)


class PartyAttendance(Base):
    """A member who pressed "I'm here" during the party."""

    __tablename__ = "party_attendance"

    party_id: Mapped[int] = mapped_column(ForeignKey("listening_parties.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False, info=ERASE)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class PartyThreadMessage(Base):
    """A member's message in the party's thread, by the track playing when it was posted (for the recap)."""

    __tablename__ = "party_thread_messages"
    __table_args__ = (Index("ix_party_thread_messages_party_id_track_index", "party_id", "track_index"),)

    message_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    party_id: Mapped[int] = mapped_column(ForeignKey("listening_parties.id", ondelete="CASCADE"))
    track_index: Mapped[int] = mapped_column(Integer)
    author_id: Mapped[int] = mapped_column(info=ERASE)


class PartyTrackRating(Base):
    """A member's stars (1-5) for one track of a party; changeable while the party runs, one per member per track."""

    __tablename__ = "party_track_ratings"
    __table_args__ = (CheckConstraint("stars BETWEEN 1 AND 5", name="stars"),)

    party_id: Mapped[int] = mapped_column(ForeignKey("listening_parties.id", ondelete="CASCADE"), primary_key=True)
    track_index: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    user_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False, info=ERASE)
    stars: Mapped[int] = mapped_column(Integer)
    rated_at: Mapped[datetime] = mapped_column(default=utcnow)
