"""Tables of fan-role panels, their roles, loyalty tiers and party attendance."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from labelbot.db.base import Base, JSONType, RowId, TimestampMixin, utcnow
from labelbot.privacy.columns import ANONYMISE, ERASE, NO_MEMBER_IDS

PANEL_NAME_MAX = 100
LABEL_MAX = 80
DESCRIPTION_MAX = 100
EMOJI_MAX = 100


class PanelStyle(enum.StrEnum):
    """How a panel shows its roles."""

    BUTTONS = "buttons"
    SELECT = "select"


class PanelMode(enum.StrEnum):
    """How many of a panel's roles a member may hold at once."""

    ANY = "any"
    ONE = "one"
    AT_MOST = "at_most"


class FanRolePanel(TimestampMixin, Base):
    """A set of roles fans pick from, posted as one or more messages in a channel."""

    __tablename__ = "fan_role_panels"
    __table_args__ = (
        UniqueConstraint("guild_id", "name_key"),
        CheckConstraint("style IN ('buttons', 'select')", name="style"),
        CheckConstraint("mode IN ('any', 'one', 'at_most')", name="mode"),
    )

    id: Mapped[int] = mapped_column(RowId, primary_key=True)
    guild_id: Mapped[int]
    name: Mapped[str] = mapped_column(String(PANEL_NAME_MAX))
    # Case-folded, spaces collapsed, for finding the panel by name.
    name_key: Mapped[str] = mapped_column(String(PANEL_NAME_MAX * 2))
    style: Mapped[str] = mapped_column(String(16))
    mode: Mapped[str] = mapped_column(String(16))
    # Only for mode at_most.
    max_roles: Mapped[int | None] = mapped_column(Integer)
    required_role_id: Mapped[int | None]
    channel_id: Mapped[int]
    # The messages the panel is posted as, in order; edited in place by the next post.
    message_ids: Mapped[list[int]] = mapped_column(JSONType, default=list, info=NO_MEMBER_IDS)
    # The fan count of each role as the posted panel shows it ({role id: members}); None until counted.
    fan_counts: Mapped[dict[str, int] | None] = mapped_column(JSONType, info=NO_MEMBER_IDS)
    created_by: Mapped[int] = mapped_column(info=ANONYMISE)

    entries: Mapped[list[FanRolePanelEntry]] = relationship(
        lazy="raise",
        back_populates="panel",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="FanRolePanelEntry.position",
    )


class FanRolePanelEntry(Base):
    """One role on a panel, with how its button or option looks."""

    __tablename__ = "fan_role_panel_entries"
    __table_args__ = (UniqueConstraint("panel_id", "role_id"),)

    id: Mapped[int] = mapped_column(RowId, primary_key=True)
    panel_id: Mapped[int] = mapped_column(ForeignKey("fan_role_panels.id", ondelete="CASCADE"))
    role_id: Mapped[int]
    # Set when the role was added as an artist's fan role.
    artist_id: Mapped[int | None]
    label: Mapped[str] = mapped_column(String(LABEL_MAX))
    emoji: Mapped[str | None] = mapped_column(String(EMOJI_MAX))
    description: Mapped[str | None] = mapped_column(String(DESCRIPTION_MAX))
    position: Mapped[int] = mapped_column(Integer)
    added_by: Mapped[int] = mapped_column(info=ANONYMISE)
    added_at: Mapped[datetime] = mapped_column(default=utcnow)

    panel: Mapped[FanRolePanel] = relationship(lazy="raise", back_populates="entries")


class LoyaltyTier(Base):
    """A role members earn by attending at least `threshold` listening parties."""

    __tablename__ = "loyalty_tiers"
    __table_args__ = (
        UniqueConstraint("guild_id", "role_id"),
        UniqueConstraint("guild_id", "threshold"),
        CheckConstraint("threshold >= 1", name="threshold_positive"),
    )

    id: Mapped[int] = mapped_column(RowId, primary_key=True)
    guild_id: Mapped[int]
    role_id: Mapped[int]
    threshold: Mapped[int] = mapped_column(Integer)
    created_by: Mapped[int] = mapped_column(info=ANONYMISE)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PartyAttendance(Base):
    """A member attended a party: one row per (member, party), so a repeated event counts once."""

    __tablename__ = "fan_party_attendance"
    __table_args__ = (Index("ix_fan_party_attendance_guild_id_user_id", "guild_id", "user_id"),)

    guild_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    party_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    user_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False, info=ERASE)
    attended_at: Mapped[datetime] = mapped_column(default=utcnow)


class FanRoleChange(Base):
    """A fan role picked (+1) or dropped (-1) on a panel: the dashboard's fan-role growth, counted from here on.

    Counts only, no member: nothing here to forget. Roles changed outside the panels are not seen (the bot has
    no members intent), so the figures are the panels' own.
    """

    __tablename__ = "fan_role_changes"
    __table_args__ = (
        Index("ix_fan_role_changes_guild_id_at", "guild_id", "at"),
        CheckConstraint("delta IN (-1, 1)", name="delta_one"),
    )

    id: Mapped[int] = mapped_column(RowId, primary_key=True)
    guild_id: Mapped[int]
    role_id: Mapped[int]
    delta: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(default=utcnow)
