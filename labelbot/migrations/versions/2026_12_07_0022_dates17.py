"""Catalogue anniversaries and label dates: the opt-in and its channel, the label's dates, and each day's posts;
the fan counts a posted role panel shows.

Revision ID: 0022_dates17
Revises: 0021_web19
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import labelbot.db.base

revision: str = "0022_dates17"
down_revision: str | None = "0021_web19"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RowId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
When = labelbot.db.base.UTCDateTime
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("guild_settings") as batch:
        batch.add_column(sa.Column("dates_channel_id", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("catalogue_anniversaries", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("fan_role_panels") as batch:
        batch.add_column(sa.Column("fan_counts", JSON, nullable=True))
    op.create_table(
        "label_dates",
        sa.Column("id", RowId, nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("name_key", sa.String(length=200), nullable=False),
        sa.Column("on_date", sa.Date(), nullable=False),
        sa.Column("yearly", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.BigInteger(), nullable=False),
        sa.Column("created_at", When(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_label_dates")),
        sa.UniqueConstraint("guild_id", "on_date", "name_key", name=op.f("uq_label_dates_guild_id_on_date_name_key")),
    )
    op.create_index(op.f("ix_label_dates_guild_id"), "label_dates", ["guild_id"], unique=False)
    op.create_table(
        "catalogue_date_posts",
        sa.Column("id", RowId, nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("key", sa.BigInteger(), nullable=False),
        sa.Column("on_date", sa.Date(), nullable=False),
        sa.Column("job_id", sa.BigInteger(), nullable=False),
        sa.Column("channel_id", sa.BigInteger(), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", When(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalogue_date_posts")),
        sa.UniqueConstraint(
            "guild_id", "kind", "key", "on_date", name=op.f("uq_catalogue_date_posts_guild_id_kind_key_on_date")
        ),
    )


def downgrade() -> None:
    op.drop_table("catalogue_date_posts")
    op.drop_index(op.f("ix_label_dates_guild_id"), table_name="label_dates")
    op.drop_table("label_dates")
    with op.batch_alter_table("fan_role_panels") as batch:
        batch.drop_column("fan_counts")
    with op.batch_alter_table("guild_settings") as batch:
        batch.drop_column("catalogue_anniversaries")
        batch.drop_column("dates_channel_id")
