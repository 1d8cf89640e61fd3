"""Dashboard: fan roles picked and dropped on panels, counted (no member kept) for the fan-role growth chart.

Revision ID: 0021_web19
Revises: 0020_parties17
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import labelbot.db.base

revision: str = "0021_web19"
down_revision: str | None = "0020_parties17"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "fan_role_changes",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("role_id", sa.BigInteger(), nullable=False),
        sa.Column("delta", sa.Integer(), nullable=False),
        sa.Column("at", labelbot.db.base.UTCDateTime(), nullable=False),
        sa.CheckConstraint("delta IN (-1, 1)", name=op.f("ck_fan_role_changes_delta_one")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fan_role_changes")),
    )
    op.create_index("ix_fan_role_changes_guild_id_at", "fan_role_changes", ["guild_id", "at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_fan_role_changes_guild_id_at", table_name="fan_role_changes")
    op.drop_table("fan_role_changes")
