"""Tables of server settings and of members' own preferences."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from labelbot.db.base import Base, JSONType, TimestampMixin, utcnow
from labelbot.privacy.columns import ERASE, NO_MEMBER_IDS

DEFAULT_ZONE = "UTC"
DEFAULT_TEASER_OFFSETS_MINUTES = (7 * 24 * 60, 24 * 60, 60)
DEFAULT_REMINDER_OFFSETS_MINUTES = (24 * 60, 60, 10)


def guild_defaults() -> dict[str, Any]:
    """The values a server starts with, before a moderator changes anything."""
    return {
        "timezone": DEFAULT_ZONE,
        "release_approval": False,
        "collab_approval": False,
        "artists_create_events": False,
        "teaser_offsets_minutes": list(DEFAULT_TEASER_OFFSETS_MINUTES),
        "reminder_offsets_minutes": list(DEFAULT_REMINDER_OFFSETS_MINUTES),
        "collab_expiry_days": 30,
        "collab_max_open": 3,
        "collab_daily_alerts": 5,
        "collab_daily_posts": 3,
        "announce_cooldown_minutes": 60,
        "tier_keep_lower": False,
        "web_page": False,
        "catalogue_anniversaries": False,
    }


class GuildSettings(TimestampMixin, Base):
    """How one server is set up: its zone, where the bot posts, which roles mean what, feature toggles."""

    __tablename__ = "guild_settings"

    guild_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    timezone: Mapped[str] = mapped_column(String(64), default=DEFAULT_ZONE)

    announcements_channel_id: Mapped[int | None]
    parties_channel_id: Mapped[int | None]
    collab_board_channel_id: Mapped[int | None]
    events_channel_id: Mapped[int | None]
    mod_log_channel_id: Mapped[int | None]
    # Where anniversaries and label-date reminders go; unset: the announcements channel.
    dates_channel_id: Mapped[int | None]

    moderator_role_id: Mapped[int | None]
    artist_role_id: Mapped[int | None]
    all_releases_role_id: Mapped[int | None]

    release_approval: Mapped[bool] = mapped_column(default=False)
    collab_approval: Mapped[bool] = mapped_column(default=False)
    artists_create_events: Mapped[bool] = mapped_column(default=False)

    teaser_offsets_minutes: Mapped[list[int]] = mapped_column(
        JSONType, default=lambda: list(DEFAULT_TEASER_OFFSETS_MINUTES), info=NO_MEMBER_IDS
    )
    reminder_offsets_minutes: Mapped[list[int]] = mapped_column(
        JSONType, default=lambda: list(DEFAULT_REMINDER_OFFSETS_MINUTES), info=NO_MEMBER_IDS
    )
    collab_expiry_days: Mapped[int] = mapped_column(default=30)
    collab_max_open: Mapped[int] = mapped_column(default=3)
    collab_daily_alerts: Mapped[int] = mapped_column(default=5)
    # Collab requests one member may post in 24 hours, closed ones included (posting is what floods the board).
    collab_daily_posts: Mapped[int] = mapped_column(default=3)
    # Minutes between two announcements of one artist that an artist's manager may bring about with announce-now.
    announce_cooldown_minutes: Mapped[int] = mapped_column(default=60)
    tier_keep_lower: Mapped[bool] = mapped_column(default=False)
    # The label's public web page (upcoming releases, parties, events, catalogue): off until a moderator opts in.
    web_page: Mapped[bool] = mapped_column(default=False)
    # Silent posts on releases' 1st, 5th, 10th... anniversaries: off until a moderator opts in.
    catalogue_anniversaries: Mapped[bool] = mapped_column(default=False)

    calendar_secret: Mapped[str | None] = mapped_column(String(64))
    webhook_secret: Mapped[str | None] = mapped_column(String(64))
    # The secret before the last rotation, still accepted for a while so a sender is not cut off mid-deploy.
    webhook_previous_secret: Mapped[str | None] = mapped_column(String(64))
    webhook_secret_rotated_at: Mapped[datetime | None]

    def __init__(self, **values: Any) -> None:
        # Column defaults apply only at INSERT; a transient row should read like a stored one.
        super().__init__(**{**guild_defaults(), **values})


class MemberSettings(Base):
    """A member's own preferences, the same in every server the bot shares with them."""

    __tablename__ = "member_settings"

    # Erased by forget-me, though it is the same in every server: the member asked to be forgotten.
    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False, info=ERASE)
    timezone: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
