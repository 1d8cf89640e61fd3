"""Tables of drops: vinyl, merch, ticket and bundle drops, the server's drops role, and who asked to hear."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from labelbot.db.base import Base, RowId, TimestampMixin, utcnow
from labelbot.privacy.columns import ANONYMISE, ERASE

ITEM_MAX = 200
LINK_MAX = 500
NOTE_MAX = 100


class DropKind(enum.StrEnum):
    VINYL = "vinyl"
    MERCH = "merch"
    TICKETS = "tickets"
    BUNDLE = "bundle"


class DropSettings(Base):
    """Where a server's drops are posted and the role fans take to hear about them."""

    __tablename__ = "drop_settings"

    guild_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    role_id: Mapped[int]
    channel_id: Mapped[int]


class Drop(TimestampMixin, Base):
    """One drop: announced at its minute to the drops role (and the artist's fan role when chosen), nobody else."""

    __tablename__ = "drops"

    id: Mapped[int] = mapped_column(RowId, primary_key=True)
    guild_id: Mapped[int]
    artist_id: Mapped[int] = mapped_column(ForeignKey("artists.id", ondelete="CASCADE"))
    item: Mapped[str] = mapped_column(String(ITEM_MAX))
    kind: Mapped[str] = mapped_column(String(16))
    drop_at: Mapped[datetime]
    zone: Mapped[str] = mapped_column(String(64))
    link: Mapped[str] = mapped_column(String(LINK_MAX))
    stock: Mapped[str | None] = mapped_column(String(NOTE_MAX))
    price: Mapped[str | None] = mapped_column(String(NOTE_MAX))
    image_url: Mapped[str | None] = mapped_column(String(LINK_MAX * 2))
    ping_fans: Mapped[bool] = mapped_column(default=False)
    sold_out: Mapped[bool] = mapped_column(default=False)
    channel_id: Mapped[int]
    teaser_message_id: Mapped[int | None]
    announce_message_id: Mapped[int | None]
    created_by: Mapped[int] = mapped_column(info=ANONYMISE)


class DropSignup(Base):
    """A member who pressed Notify me (and so holds the drops role)."""

    __tablename__ = "drop_signups"

    guild_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    user_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False, info=ERASE)
    signed_up_at: Mapped[datetime] = mapped_column(default=utcnow)


class DropDmWish(Base):
    """A member who asked for drop DMs, and how many a week they accept (their budget)."""

    __tablename__ = "drop_dm_wishes"

    guild_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    user_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False, info=ERASE)
    weekly_budget: Mapped[int]
    asked_at: Mapped[datetime] = mapped_column(default=utcnow)


class DropDm(Base):
    """One drop DM owed to a member: written when the drop goes out (it spends the budget), sent by its own job.

    `left_at` marks a member found gone from the server when their DM came up: nothing was sent, the row spends no
    budget, and it stays so the drop's reach can say how many had left (and a retry owes them nothing again).
    """

    __tablename__ = "drop_dms"
    __table_args__ = (
        UniqueConstraint("drop_id", "user_id"),
        Index("ix_drop_dms_guild_id_user_id_at", "guild_id", "user_id", "at"),
    )

    id: Mapped[int] = mapped_column(RowId, primary_key=True)
    guild_id: Mapped[int]
    drop_id: Mapped[int] = mapped_column(ForeignKey("drops.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(info=ERASE)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    message_id: Mapped[int | None]
    left_at: Mapped[datetime | None]
