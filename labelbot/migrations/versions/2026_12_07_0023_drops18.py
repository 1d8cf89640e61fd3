"""Supporters and drops, the rest of issue 18: a perk's artist, releases' supporters' early windows, drop DMs
within a weekly budget.

Revision ID: 0023_drops18
Revises: 0022_dates17
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import labelbot.db.base

revision: str = "0023_drops18"
down_revision: str | None = "0022_dates17"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RowId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
When = labelbot.db.base.UTCDateTime


def upgrade() -> None:
    with op.batch_alter_table("supporter_perks") as batch:
        batch.add_column(sa.Column("artist_id", RowId, nullable=True))
        batch.create_foreign_key(
            op.f("fk_supporter_perks_artist_id_artists"), "artists", ["artist_id"], ["id"], ondelete="SET NULL"
        )
    op.create_table(
        "supporter_early_windows",
        sa.Column("id", RowId, nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("release_id", RowId, nullable=False),
        sa.Column("perk_id", RowId, nullable=False),
        sa.Column("channel_id", sa.BigInteger(), nullable=False),
        sa.Column("opens_at", When(), nullable=False),
        sa.Column("closes_at", When(), nullable=True),
        sa.Column("hours_before", sa.Integer(), nullable=False),
        sa.Column("hours_after", sa.Integer(), nullable=True),
        sa.Column("links", sa.String(length=1500), nullable=False),
        sa.Column("opened_at", When(), nullable=True),
        sa.Column("closed_at", When(), nullable=True),
        sa.Column("post_message_id", sa.BigInteger(), nullable=True),
        sa.Column("created_by", sa.BigInteger(), nullable=False),
        sa.Column("created_at", When(), nullable=False),
        sa.ForeignKeyConstraint(
            ["release_id"],
            ["releases.id"],
            name=op.f("fk_supporter_early_windows_release_id_releases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["perk_id"],
            ["supporter_perks.id"],
            name=op.f("fk_supporter_early_windows_perk_id_supporter_perks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supporter_early_windows")),
        sa.UniqueConstraint("release_id", "perk_id", name=op.f("uq_supporter_early_windows_release_id_perk_id")),
    )
    op.create_table(
        "drop_dm_wishes",
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("weekly_budget", sa.BigInteger(), nullable=False),
        sa.Column("asked_at", When(), nullable=False),
        sa.PrimaryKeyConstraint("guild_id", "user_id", name=op.f("pk_drop_dm_wishes")),
    )
    op.create_table(
        "drop_dms",
        sa.Column("id", RowId, nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("drop_id", RowId, nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("at", When(), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["drop_id"], ["drops.id"], name=op.f("fk_drop_dms_drop_id_drops"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_drop_dms")),
        sa.UniqueConstraint("drop_id", "user_id", name=op.f("uq_drop_dms_drop_id_user_id")),
    )
    op.create_index("ix_drop_dms_guild_id_user_id_at", "drop_dms", ["guild_id", "user_id", "at"])


def downgrade() -> None:
    op.drop_index("ix_drop_dms_guild_id_user_id_at", table_name="drop_dms")
    op.drop_table("drop_dms")
    op.drop_table("drop_dm_wishes")
    op.drop_table("supporter_early_windows")
    with op.batch_alter_table("supporter_perks") as batch:
        batch.drop_constraint(op.f("fk_supporter_perks_artist_id_artists"), type_="foreignkey")
        batch.drop_column("artist_id")
