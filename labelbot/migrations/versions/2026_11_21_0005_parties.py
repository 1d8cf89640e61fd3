"""Listening parties and what gatherings share: gatherings, RSVPs, parties, attendance, thread talk.

Revision ID: 0005
Revises: 0003
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import labelbot.db.base

revision: str = "0005"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "gatherings",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("ref_id", sa.BigInteger(), nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("starts_at", labelbot.db.base.UTCDateTime(), nullable=False),
        sa.Column("ends_at", labelbot.db.base.UTCDateTime(), nullable=False),
        sa.Column("zone", sa.String(length=64), nullable=False),
        sa.Column("capacity", sa.BigInteger(), nullable=True),
        sa.Column("card_channel_id", sa.BigInteger(), nullable=True),
        sa.Column("card_message_id", sa.BigInteger(), nullable=True),
        sa.Column("native_event_id", sa.BigInteger(), nullable=True),
        sa.Column("native_status", sa.String(length=16), nullable=True),
        sa.Column("cancelled_at", labelbot.db.base.UTCDateTime(), nullable=True),
        sa.Column("dm_cap", sa.Integer(), nullable=False),
        sa.Column("dms_sent", sa.Integer(), nullable=False),
        sa.Column("created_at", labelbot.db.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", labelbot.db.base.UTCDateTime(), nullable=False),
        sa.CheckConstraint("capacity IS NULL OR capacity >= 0", name=op.f("ck_gatherings_capacity")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gatherings")),
        sa.UniqueConstraint("kind", "ref_id", name=op.f("uq_gatherings_kind_ref_id")),
    )
    with op.batch_alter_table("gatherings", schema=None) as batch_op:
        batch_op.create_index("ix_gatherings_guild_id_starts_at", ["guild_id", "starts_at"], unique=False)

    op.create_table(
        "gathering_rsvps",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("gathering_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("answer", sa.String(length=8), nullable=False),
        sa.Column("waitlisted", sa.Boolean(), nullable=False),
        sa.Column("wants_dm", sa.Boolean(), nullable=False),
        sa.Column("answered_at", labelbot.db.base.UTCDateTime(), nullable=False),
        sa.Column("promoted_at", labelbot.db.base.UTCDateTime(), nullable=True),
        sa.Column("dm_closed_at", labelbot.db.base.UTCDateTime(), nullable=True),
        sa.CheckConstraint("answer IN ('going', 'maybe', 'remind', 'cant')", name=op.f("ck_gathering_rsvps_answer")),
        sa.ForeignKeyConstraint(
            ["gathering_id"],
            ["gatherings.id"],
            name=op.f("fk_gathering_rsvps_gathering_id_gatherings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gathering_rsvps")),
        sa.UniqueConstraint("gathering_id", "user_id", name=op.f("uq_gathering_rsvps_gathering_id_user_id")),
    )
    with op.batch_alter_table("gathering_rsvps", schema=None) as batch_op:
        batch_op.create_index(
            "ix_gathering_rsvps_gathering_id_answer_answered_at",
            ["gathering_id", "answer", "answered_at"],
            unique=False,
        )

    op.create_table(
        "listening_parties",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("gathering_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("release_id", sa.BigInteger(), nullable=True),
        sa.Column("artist_id", sa.BigInteger(), nullable=True),
        sa.Column("host_id", sa.BigInteger(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("voice_channel_id", sa.BigInteger(), nullable=True),
        sa.Column("text_channel_id", sa.BigInteger(), nullable=False),
        sa.Column("thread_id", sa.BigInteger(), nullable=True),
        sa.Column("play_message_id", sa.BigInteger(), nullable=True),
        sa.Column("starts_at", labelbot.db.base.UTCDateTime(), nullable=False),
        sa.Column("zone", sa.String(length=64), nullable=False),
        sa.Column(
            "tracks", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column("closing_note", sa.Text(), nullable=True),
        sa.Column(
            "reminder_offsets_seconds",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("started_at", labelbot.db.base.UTCDateTime(), nullable=True),
        sa.Column("ended_at", labelbot.db.base.UTCDateTime(), nullable=True),
        sa.Column("cancelled_at", labelbot.db.base.UTCDateTime(), nullable=True),
        sa.Column(
            "prompted", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column(
            "missed", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("created_at", labelbot.db.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", labelbot.db.base.UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "status IN ('scheduled', 'live', 'ended', 'cancelled')", name=op.f("ck_listening_parties_status")
        ),
        sa.ForeignKeyConstraint(
            ["gathering_id"],
            ["gatherings.id"],
            name=op.f("fk_listening_parties_gathering_id_gatherings"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_listening_parties")),
    )
    with op.batch_alter_table("listening_parties", schema=None) as batch_op:
        batch_op.create_index(
            "ix_listening_parties_guild_id_status_starts_at", ["guild_id", "status", "starts_at"], unique=False
        )

    op.create_table(
        "party_attendance",
        sa.Column("party_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("user_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("at", labelbot.db.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["party_id"],
            ["listening_parties.id"],
            name=op.f("fk_party_attendance_party_id_listening_parties"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("party_id", "user_id", name=op.f("pk_party_attendance")),
    )
    op.create_table(
        "party_thread_messages",
        sa.Column("message_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("party_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("track_index", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["party_id"],
            ["listening_parties.id"],
            name=op.f("fk_party_thread_messages_party_id_listening_parties"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("message_id", name=op.f("pk_party_thread_messages")),
    )
    with op.batch_alter_table("party_thread_messages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_party_thread_messages_party_id_track_index", ["party_id", "track_index"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("party_thread_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_party_thread_messages_party_id_track_index")

    op.drop_table("party_thread_messages")
    op.drop_table("party_attendance")
    with op.batch_alter_table("listening_parties", schema=None) as batch_op:
        batch_op.drop_index("ix_listening_parties_guild_id_status_starts_at")

    op.drop_table("listening_parties")
    with op.batch_alter_table("gathering_rsvps", schema=None) as batch_op:
        batch_op.drop_index("ix_gathering_rsvps_gathering_id_answer_answered_at")

    op.drop_table("gathering_rsvps")
    with op.batch_alter_table("gatherings", schema=None) as batch_op:
        batch_op.drop_index("ix_gatherings_guild_id_starts_at")

    op.drop_table("gatherings")
