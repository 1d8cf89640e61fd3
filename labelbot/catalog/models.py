"""Tables of the release catalogue: a release, its tracks, its links and the messages it produced."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from labelbot.db.base import Base, JSONType, RowId, TimestampMixin, utcnow
from labelbot.privacy.columns import ANONYMISE, NO_MEMBER_IDS

if TYPE_CHECKING:
    from labelbot.artists.models import Artist

TITLE_MAX = 100
DESCRIPTION_MAX = 2000
TRACK_TITLE_MAX = 200
LINK_LABEL_MAX = 80
LINK_URL_MAX = 512
COVER_URL_MAX = 1000
LINKS_MAX = 10
TRACKS_MAX = 60


class ReleaseKind(enum.StrEnum):
    """What sort of drop a release is."""

    SINGLE = "single"
    EP = "ep"
    ALBUM = "album"
    MIXTAPE = "mixtape"
    REMIX = "remix"
    LIVE = "live"
    OTHER = "other"

    @property
    def label(self) -> str:
        return {"ep": "EP"}.get(self.value, self.value.capitalize())


class ReleaseStatus(enum.StrEnum):
    """Where a release is in its life."""

    DRAFT = "draft"
    AWAITING_APPROVAL = "awaiting_approval"
    SCHEDULED = "scheduled"
    ANNOUNCED = "announced"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ")


class Release(TimestampMixin, Base):
    """A drop of one artist: what it is, when it comes out (UTC + the zone meant) and how far it got."""

    __tablename__ = "releases"
    __table_args__ = (
        CheckConstraint(
            "status IN ('draft', 'awaiting_approval', 'scheduled', 'announced', 'cancelled')", name="status"
        ),
        CheckConstraint("kind IN ('single', 'ep', 'album', 'mixtape', 'remix', 'live', 'other')", name="kind"),
        # /release list and the calendar: a server's releases by time.
        Index("ix_releases_guild_id_release_at", "guild_id", "release_at"),
    )

    id: Mapped[int] = mapped_column(RowId, primary_key=True)
    guild_id: Mapped[int]
    artist_id: Mapped[int] = mapped_column(ForeignKey("artists.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    kind: Mapped[str] = mapped_column(String(16), default=ReleaseKind.SINGLE)
    release_at: Mapped[datetime]
    zone: Mapped[str] = mapped_column(String(64), default="UTC")
    description: Mapped[str | None] = mapped_column(Text)
    cover_url: Mapped[str | None] = mapped_column(String(COVER_URL_MAX))
    # A cover found on one of the links' pages (OpenGraph), offered in the preview until taken or replaced.
    suggested_cover_url: Mapped[str | None] = mapped_column(String(COVER_URL_MAX))
    suggested_title: Mapped[str | None] = mapped_column(String(300))
    # Minutes before release_at; None means the server's defaults.
    teaser_offsets_minutes: Mapped[list[int] | None] = mapped_column(JSONType, info=NO_MEMBER_IDS)
    status: Mapped[str] = mapped_column(String(24), default=ReleaseStatus.DRAFT)
    created_by: Mapped[int] = mapped_column(info=ANONYMISE)
    approved_by: Mapped[int | None] = mapped_column(info=ANONYMISE)
    rejection_reason: Mapped[str | None] = mapped_column(String(1000))
    announced_at: Mapped[datetime | None]
    announced_late: Mapped[bool] = mapped_column(default=False)
    # Open a thread under the announcement for fans to talk about the release.
    discussion_thread: Mapped[bool] = mapped_column(default=False)
    thread_id: Mapped[int | None]
    cancelled_at: Mapped[datetime | None]
    # An artist's change to an announced release, held until a moderator approves it (where the server approves
    # releases): {"changes": {field: value}, "by": user id, "token": the request's id, "at": ISO time}. The posted
    # announcement keeps showing the approved version meanwhile.
    pending_edit: Mapped[dict[str, Any] | None] = mapped_column(JSONType, info=ANONYMISE)

    artist: Mapped[Artist] = relationship(lazy="raise")
    tracks: Mapped[list[ReleaseTrack]] = relationship(
        lazy="raise",
        back_populates="release",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="ReleaseTrack.position",
    )
    links: Mapped[list[ReleaseLink]] = relationship(
        lazy="raise",
        back_populates="release",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="ReleaseLink.position",
    )
    messages: Mapped[list[ReleaseMessage]] = relationship(
        lazy="raise", back_populates="release", cascade="all, delete-orphan", passive_deletes=True
    )

    @property
    def release_kind(self) -> ReleaseKind:
        return ReleaseKind(self.kind)

    @property
    def release_status(self) -> ReleaseStatus:
        return ReleaseStatus(self.status)

    def snapshot(self) -> dict[str, Any]:
        """What the audit trail records of the release (tracks and links loaded)."""
        return {
            "id": self.id,
            "title": self.title,
            "kind": self.kind,
            "release_at": self.release_at.isoformat(),
            "zone": self.zone,
            "status": self.status,
            "cover_url": self.cover_url,
            "teaser_offsets_minutes": self.teaser_offsets_minutes,
            "links": [{"label": link.label, "url": link.url} for link in self.links],
            "tracks": len(self.tracks),
        }


class ReleaseTrack(Base):
    """One track of a release's tracklist."""

    __tablename__ = "release_tracks"

    id: Mapped[int] = mapped_column(RowId, primary_key=True)
    release_id: Mapped[int] = mapped_column(ForeignKey("releases.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(TRACK_TITLE_MAX))
    duration_seconds: Mapped[int | None] = mapped_column(Integer)

    release: Mapped[Release] = relationship(lazy="raise", back_populates="tracks")


class ReleaseLink(Base):
    """Where to listen or buy: a label ("Bandcamp") and an http(s) URL."""

    __tablename__ = "release_links"

    id: Mapped[int] = mapped_column(RowId, primary_key=True)
    release_id: Mapped[int] = mapped_column(ForeignKey("releases.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    label: Mapped[str] = mapped_column(String(LINK_LABEL_MAX))
    url: Mapped[str] = mapped_column(String(LINK_URL_MAX))

    release: Mapped[Release] = relationship(lazy="raise", back_populates="links")


class ReleaseMessage(Base):
    """A message the release produced: its announcement, a teaser, its approval request."""

    __tablename__ = "release_messages"

    release_id: Mapped[int] = mapped_column(ForeignKey("releases.id", ondelete="CASCADE"), primary_key=True)
    # "announcement", "teaser:60", "approval"
    part: Mapped[str] = mapped_column(String(40), primary_key=True)
    channel_id: Mapped[int]
    message_id: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    release: Mapped[Release] = relationship(lazy="raise", back_populates="messages")
