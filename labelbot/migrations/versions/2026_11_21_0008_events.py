"""Community events and their occurrences; deliveries of signed webhooks.

Revision ID: 0008
Revises: 0003
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import labelbot.db.base

revision: str = "0008"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "community_events",
        sa.Column("id", ROW_ID, autoincrement=True, nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("zone", sa.String(length=64), nullable=False),
        sa.Column("anchor_at", labelbot.db.base.UTCDateTime(), nullable=False),
        sa.Column("duration_seconds", sa.Integer(), nullable=False),
        sa.Column("place_kind", sa.String(length=16), nullable=False),
        sa.Column("place_channel_id", sa.BigInteger(), nullable=True),
        sa.Column("location", sa.String(length=100), nullable=True),
        sa.Column("capacity", sa.Integer(), nullable=True),
        sa.Column("reminder_offsets_seconds", JSON, nullable=True),
        sa.Column("ping_role_id", sa.BigInteger(), nullable=True),
        sa.Column("recurrence", sa.String(length=16), nullable=True),
        sa.Column("until", labelbot.db.base.UTCDateTime(), nullable=True),
        sa.Column("count", sa.Integer(), nullable=True),
        sa.Column("card_channel_id", sa.BigInteger(), nullable=False),
        sa.Column("open_thread", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.BigInteger(), nullable=False),
        sa.Column("cancelled_at", labelbot.db.base.UTCDateTime(), nullable=True),
        sa.Column("created_at", labelbot.db.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", labelbot.db.base.UTCDateTime(), nullable=False),
        sa.CheckConstraint("capacity IS NULL OR capacity >= 0", name=op.f("ck_community_events_capacity")),
        sa.CheckConstraint("duration_seconds > 0", name=op.f("ck_community_events_duration")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_community_events")),
    )
    with op.batch_alter_table("community_events", schema=None) as batch_op:
        batch_op.create_index("ix_community_events_guild_id_cancelled_at", ["guild_id", "cancelled_at"], unique=False)

    op.create_table(
        "event_occurrences",
        sa.Column("id", ROW_ID, autoincrement=True, nullable=False),
        sa.Column("event_id", ROW_ID, nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("slot_at", labelbot.db.base.UTCDateTime(), nullable=False),
        sa.Column("starts_at", labelbot.db.base.UTCDateTime(), nullable=False),
        sa.Column("ends_at", labelbot.db.base.UTCDateTime(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("detached", sa.Boolean(), nullable=False),
        sa.Column("title", sa.String(length=100), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("thread_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", labelbot.db.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", labelbot.db.base.UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "status IN ('scheduled', 'active', 'ended', 'cancelled')", name=op.f("ck_event_occurrences_status")
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["community_events.id"],
            name=op.f("fk_event_occurrences_event_id_community_events"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_occurrences")),
        sa.UniqueConstraint("event_id", "slot_at", name=op.f("uq_event_occurrences_event_id_slot_at")),
    )
    with op.batch_alter_table("event_occurrences", schema=None) as batch_op:
        batch_op.create_index("ix_event_occurrences_guild_id_starts_at", ["guild_id", "starts_at"], unique=False)

    op.create_table(
        "webhook_deliveries",
        sa.Column("id", ROW_ID, autoincrement=True, nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("hook", sa.String(length=64), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=False),
        sa.Column("body_sha256", sa.String(length=64), nullable=False),
        sa.Column("response", JSON, nullable=False),
        sa.Column("deliveries", sa.Integer(), nullable=False),
        sa.Column("first_received_at", labelbot.db.base.UTCDateTime(), nullable=False),
        sa.Column("last_received_at", labelbot.db.base.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
        sa.UniqueConstraint(
            "guild_id", "hook", "external_id", name=op.f("uq_webhook_deliveries_guild_id_hook_external_id")
        ),
    )


def downgrade() -> None:
    op.drop_table("webhook_deliveries")
    with op.batch_alter_table("event_occurrences", schema=None) as batch_op:
        batch_op.drop_index("ix_event_occurrences_guild_id_starts_at")
    op.drop_table("event_occurrences")
    with op.batch_alter_table("community_events", schema=None) as batch_op:
        batch_op.drop_index("ix_community_events_guild_id_cancelled_at")
    op.drop_table("community_events")
