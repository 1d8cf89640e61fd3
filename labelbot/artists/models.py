"""Tables of artist profiles and their managers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from labelbot.db.base import Base, JSONType, RowId, TimestampMixin, utcnow
from labelbot.privacy.columns import ANONYMISE, ERASE, NO_MEMBER_IDS

NAME_MAX = 100
BIO_MAX = 1000


class Artist(TimestampMixin, Base):
    """An artist of the label. Removing one keeps the row (and its history) with `removed_at` set."""

    __tablename__ = "artists"
    __table_args__ = (
        # Names are unique per server among the artists still on the roster, whatever their case.
        Index(
            "uq_artists_guild_id_name_key",
            "guild_id",
            "name_key",
            unique=True,
            sqlite_where=text("removed_at IS NULL"),
            postgresql_where=text("removed_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(RowId, primary_key=True)
    guild_id: Mapped[int]
    name: Mapped[str] = mapped_column(String(NAME_MAX))
    # Case-folded, spaces collapsed; folding can lengthen a name ("ß" -> "ss"), hence the room.
    name_key: Mapped[str] = mapped_column(String(NAME_MAX * 2))
    bio: Mapped[str | None] = mapped_column(Text)
    genres: Mapped[list[str]] = mapped_column(JSONType, default=list, info=NO_MEMBER_IDS)
    # [{"label": "Bandcamp", "url": "https://..."}]
    links: Mapped[list[dict[str, str]]] = mapped_column(JSONType, default=list, info=NO_MEMBER_IDS)
    fan_role_id: Mapped[int | None]
    fan_role_created_by_bot: Mapped[bool] = mapped_column(default=False)
    # The accent colour (0xRRGGBB) of the artist's release cards; None keeps the label's own.
    accent_colour: Mapped[int | None] = mapped_column(Integer)
    created_by: Mapped[int] = mapped_column(info=ANONYMISE)
    removed_at: Mapped[datetime | None]

    managers: Mapped[list[ArtistManager]] = relationship(
        lazy="raise", back_populates="artist", cascade="all, delete-orphan", passive_deletes=True
    )

    @property
    def active(self) -> bool:
        return self.removed_at is None

    def snapshot(self) -> dict[str, Any]:
        """What the audit trail records of the artist."""
        return {
            "id": self.id,
            "name": self.name,
            "bio": self.bio,
            "genres": list(self.genres),
            "links": [dict(link) for link in self.links],
            "fan_role_id": self.fan_role_id,
            "accent_colour": self.accent_colour,
        }


class ArtistManager(Base):
    """A member linked to an artist: they may act for the artist (a member may manage several)."""

    __tablename__ = "artist_managers"

    artist_id: Mapped[int] = mapped_column(ForeignKey("artists.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False, index=True, info=ERASE)
    added_by: Mapped[int] = mapped_column(info=ANONYMISE)
    added_at: Mapped[datetime] = mapped_column(default=utcnow)

    artist: Mapped[Artist] = relationship(lazy="raise", back_populates="managers")
