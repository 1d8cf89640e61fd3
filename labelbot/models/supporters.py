"""Tables of supporters: perks and the roles they grant, orders from the shop, claim codes, grants and standings.

No email, postal address or name from the shop is ever stored: an order is its id, its kind and its perk; the
member is a Discord id, and a claim code only its SHA-256.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from labelbot.db.base import Base, RowId, TimestampMixin, utcnow
from labelbot.privacy.columns import ANONYMISE, ERASE

PERK_NAME_MAX = 80
ORDER_ID_MAX = 200
EARLY_LINKS_MAX = 1500


class EarnedBy(enum.StrEnum):
    """What a perk is earned by (the shop's order kinds, and codes given away)."""

    PURCHASE = "purchase"
    PRE_ORDER = "pre-order"
    MERCH = "merch"
    MEMBERSHIP = "membership"
    TICKET = "ticket"
    FREE_CODE = "free-code"


class OrderKind(enum.StrEnum):
    """What the shop says an order is; a refund takes back what the order granted."""

    PURCHASE = "purchase"
    PRE_ORDER = "pre-order"
    MEMBERSHIP = "membership"
    TICKET = "ticket"
    REFUND = "refund"


class SupporterPerk(TimestampMixin, Base):
    """A perk moderators define: the role it grants, what earns it, and for how long."""

    __tablename__ = "supporter_perks"
    __table_args__ = (
        UniqueConstraint("guild_id", "name_key"),
        CheckConstraint("duration_days IS NULL OR duration_days >= 1", name="duration_positive"),
    )

    id: Mapped[int] = mapped_column(RowId, primary_key=True)
    guild_id: Mapped[int]
    name: Mapped[str] = mapped_column(String(PERK_NAME_MAX))
    # Case-folded, spaces collapsed, for finding the perk by name.
    name_key: Mapped[str] = mapped_column(String(PERK_NAME_MAX * 2))
    role_id: Mapped[int]
    earned_by: Mapped[str] = mapped_column(String(16))
    # None: kept for good; else each grant lasts this long and a renewal extends it.
    duration_days: Mapped[int | None] = mapped_column(Integer)
    # The artist the perk belongs to (a fan club, an artist's vinyl club), for /supporters stats artist; None: label.
    artist_id: Mapped[int | None] = mapped_column(ForeignKey("artists.id", ondelete="SET NULL"))
    created_by: Mapped[int] = mapped_column(info=ANONYMISE)


class SupporterOrder(Base):
    """One order the shop told us about, by the shop's own id (deliveries are idempotent by it)."""

    __tablename__ = "supporter_orders"
    __table_args__ = (UniqueConstraint("guild_id", "order_id"),)

    id: Mapped[int] = mapped_column(RowId, primary_key=True)
    guild_id: Mapped[int]
    order_id: Mapped[str] = mapped_column(String(ORDER_ID_MAX))
    kind: Mapped[str] = mapped_column(String(16))
    perk_id: Mapped[int] = mapped_column(ForeignKey("supporter_perks.id", ondelete="CASCADE"))
    refunded_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ClaimCode(Base):
    """A single-use code (a download card, an order that named no member): only its SHA-256 is kept."""

    __tablename__ = "supporter_codes"
    __table_args__ = (UniqueConstraint("guild_id", "code_sha256"),)

    id: Mapped[int] = mapped_column(RowId, primary_key=True)
    guild_id: Mapped[int]
    perk_id: Mapped[int] = mapped_column(ForeignKey("supporter_perks.id", ondelete="CASCADE"))
    code_sha256: Mapped[str] = mapped_column(String(64))
    # Set when the code stands for a shop order (its grant is that order's).
    order_row_id: Mapped[int | None] = mapped_column(ForeignKey("supporter_orders.id", ondelete="CASCADE"))
    expires_at: Mapped[datetime | None]
    redeemed_by: Mapped[int | None] = mapped_column(info=ANONYMISE)
    redeemed_at: Mapped[datetime | None]
    created_by: Mapped[int] = mapped_column(info=ANONYMISE)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SupporterGrant(Base):
    """A perk given to a member by one order or code, from `starts_at` until `expires_at` (None: for good)."""

    __tablename__ = "supporter_grants"
    __table_args__ = (Index("ix_supporter_grants_guild_id_user_id_perk_id", "guild_id", "user_id", "perk_id"),)

    id: Mapped[int] = mapped_column(RowId, primary_key=True)
    guild_id: Mapped[int]
    user_id: Mapped[int] = mapped_column(info=ERASE)
    perk_id: Mapped[int] = mapped_column(ForeignKey("supporter_perks.id", ondelete="CASCADE"))
    # One grant per order, one per code: a repeated delivery or claim cannot grant twice.
    order_row_id: Mapped[int | None] = mapped_column(ForeignKey("supporter_orders.id", ondelete="CASCADE"), unique=True)
    code_id: Mapped[int | None] = mapped_column(ForeignKey("supporter_codes.id", ondelete="CASCADE"), unique=True)
    starts_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SupporterStanding(Base):
    """Whether the bot gave a member a perk's role, so it is added and removed once, whatever retries."""

    __tablename__ = "supporter_standings"

    perk_id: Mapped[int] = mapped_column(
        ForeignKey("supporter_perks.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    user_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False, info=ERASE)
    guild_id: Mapped[int]
    role_held: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ClaimMiss(Base):
    """A wrong code typed into /claim: five within an hour and the member is throttled."""

    __tablename__ = "supporter_claim_misses"
    __table_args__ = (Index("ix_supporter_claim_misses_guild_id_user_id_at", "guild_id", "user_id", "at"),)

    id: Mapped[int] = mapped_column(RowId, primary_key=True)
    guild_id: Mapped[int]
    user_id: Mapped[int] = mapped_column(info=ERASE)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class SupporterKey(Base):
    """The server's key that shop orders' claim codes are derived from (never shown, never rotated)."""

    __tablename__ = "supporter_keys"

    guild_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    code_key: Mapped[str] = mapped_column(String(64))


class EarlyWindow(Base):
    """A release's supporters' early window: a "listen early" post in a supporters-only channel, which opens to the
    perk's role `opens_at` (hours before the public announcement) and, if asked, closes again at `closes_at`."""

    __tablename__ = "supporter_early_windows"
    __table_args__ = (UniqueConstraint("release_id", "perk_id"),)

    id: Mapped[int] = mapped_column(RowId, primary_key=True)
    guild_id: Mapped[int]
    release_id: Mapped[int] = mapped_column(ForeignKey("releases.id", ondelete="CASCADE"))
    perk_id: Mapped[int] = mapped_column(ForeignKey("supporter_perks.id", ondelete="CASCADE"))
    channel_id: Mapped[int]
    opens_at: Mapped[datetime]
    closes_at: Mapped[datetime | None]
    # Hours before the release the window opens (and after it that it closes): a postponed release moves both.
    hours_before: Mapped[int] = mapped_column(Integer)
    hours_after: Mapped[int | None] = mapped_column(Integer)
    links: Mapped[str] = mapped_column(String(EARLY_LINKS_MAX))
    opened_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    post_message_id: Mapped[int | None]
    created_by: Mapped[int] = mapped_column(info=ANONYMISE)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
