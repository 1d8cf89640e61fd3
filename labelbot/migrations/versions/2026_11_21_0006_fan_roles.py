"""Fan roles: role panels and their roles, loyalty tiers, party attendance.

Revision ID: 0006
Revises: 0003
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import labelbot.db.base

revision: str = "0006"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "fan_role_panels",
        sa.Column("id", ROW_ID, nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("name_key", sa.String(length=200), nullable=False),
        sa.Column("style", sa.String(length=16), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("max_roles", sa.Integer(), nullable=True),
        sa.Column("required_role_id", sa.BigInteger(), nullable=True),
        sa.Column("channel_id", sa.BigInteger(), nullable=False),
        sa.Column("message_ids", JSON, nullable=False),
        sa.Column("created_by", sa.BigInteger(), nullable=False),
        sa.Column("created_at", labelbot.db.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", labelbot.db.base.UTCDateTime(), nullable=False),
        sa.CheckConstraint("mode IN ('any', 'one', 'at_most')", name=op.f("ck_fan_role_panels_mode")),
        sa.CheckConstraint("style IN ('buttons', 'select')", name=op.f("ck_fan_role_panels_style")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fan_role_panels")),
        sa.UniqueConstraint("guild_id", "name_key", name=op.f("uq_fan_role_panels_guild_id_name_key")),
    )
    op.create_table(
        "fan_role_panel_entries",
        sa.Column("id", ROW_ID, nullable=False),
        sa.Column("panel_id", ROW_ID, nullable=False),
        sa.Column("role_id", sa.BigInteger(), nullable=False),
        sa.Column("artist_id", sa.BigInteger(), nullable=True),
        sa.Column("label", sa.String(length=80), nullable=False),
        sa.Column("emoji", sa.String(length=100), nullable=True),
        sa.Column("description", sa.String(length=100), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("added_by", sa.BigInteger(), nullable=False),
        sa.Column("added_at", labelbot.db.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["panel_id"],
            ["fan_role_panels.id"],
            name=op.f("fk_fan_role_panel_entries_panel_id_fan_role_panels"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fan_role_panel_entries")),
        sa.UniqueConstraint("panel_id", "role_id", name=op.f("uq_fan_role_panel_entries_panel_id_role_id")),
    )
    op.create_table(
        "loyalty_tiers",
        sa.Column("id", ROW_ID, nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("role_id", sa.BigInteger(), nullable=False),
        sa.Column("threshold", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.BigInteger(), nullable=False),
        sa.Column("created_at", labelbot.db.base.UTCDateTime(), nullable=False),
        sa.CheckConstraint("threshold >= 1", name=op.f("ck_loyalty_tiers_threshold_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loyalty_tiers")),
        sa.UniqueConstraint("guild_id", "role_id", name=op.f("uq_loyalty_tiers_guild_id_role_id")),
        sa.UniqueConstraint("guild_id", "threshold", name=op.f("uq_loyalty_tiers_guild_id_threshold")),
    )
    op.create_table(
        "fan_party_attendance",
        sa.Column("guild_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("party_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("user_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("attended_at", labelbot.db.base.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("guild_id", "party_id", "user_id", name=op.f("pk_fan_party_attendance")),
    )
    with op.batch_alter_table("fan_party_attendance", schema=None) as batch_op:
        batch_op.create_index("ix_fan_party_attendance_guild_id_user_id", ["guild_id", "user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("fan_party_attendance", schema=None) as batch_op:
        batch_op.drop_index("ix_fan_party_attendance_guild_id_user_id")
    op.drop_table("fan_party_attendance")
    op.drop_table("loyalty_tiers")
    op.drop_table("fan_role_panel_entries")
    op.drop_table("fan_role_panels")
