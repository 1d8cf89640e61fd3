"""Releases: releases, release_tracks, release_links, release_messages.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import labelbot.db.base

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "releases",
        sa.Column("id", ROW_ID, nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("artist_id", ROW_ID, nullable=False),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("release_at", labelbot.db.base.UTCDateTime(), nullable=False),
        sa.Column("zone", sa.String(length=64), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("cover_url", sa.String(length=1000), nullable=True),
        sa.Column("suggested_cover_url", sa.String(length=1000), nullable=True),
        sa.Column("suggested_title", sa.String(length=300), nullable=True),
        sa.Column("teaser_offsets_minutes", JSON, nullable=True),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("created_by", sa.BigInteger(), nullable=False),
        sa.Column("approved_by", sa.BigInteger(), nullable=True),
        sa.Column("rejection_reason", sa.String(length=1000), nullable=True),
        sa.Column("announced_at", labelbot.db.base.UTCDateTime(), nullable=True),
        sa.Column("announced_late", sa.Boolean(), nullable=False),
        sa.Column("discussion_thread", sa.Boolean(), nullable=False),
        sa.Column("thread_id", sa.BigInteger(), nullable=True),
        sa.Column("cancelled_at", labelbot.db.base.UTCDateTime(), nullable=True),
        sa.Column("created_at", labelbot.db.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", labelbot.db.base.UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('single', 'ep', 'album', 'mixtape', 'remix', 'live', 'other')", name=op.f("ck_releases_kind")
        ),
        sa.CheckConstraint(
            "status IN ('draft', 'awaiting_approval', 'scheduled', 'announced', 'cancelled')",
            name=op.f("ck_releases_status"),
        ),
        sa.ForeignKeyConstraint(
            ["artist_id"], ["artists.id"], name=op.f("fk_releases_artist_id_artists"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_releases")),
    )
    with op.batch_alter_table("releases", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_releases_artist_id"), ["artist_id"], unique=False)
        batch_op.create_index("ix_releases_guild_id_release_at", ["guild_id", "release_at"], unique=False)

    op.create_table(
        "release_links",
        sa.Column("id", ROW_ID, nullable=False),
        sa.Column("release_id", ROW_ID, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=80), nullable=False),
        sa.Column("url", sa.String(length=512), nullable=False),
        sa.ForeignKeyConstraint(
            ["release_id"], ["releases.id"], name=op.f("fk_release_links_release_id_releases"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_release_links")),
    )
    with op.batch_alter_table("release_links", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_release_links_release_id"), ["release_id"], unique=False)

    op.create_table(
        "release_messages",
        sa.Column("release_id", ROW_ID, nullable=False),
        sa.Column("part", sa.String(length=40), nullable=False),
        sa.Column("channel_id", sa.BigInteger(), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", labelbot.db.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["release_id"], ["releases.id"], name=op.f("fk_release_messages_release_id_releases"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("release_id", "part", name=op.f("pk_release_messages")),
    )

    op.create_table(
        "release_tracks",
        sa.Column("id", ROW_ID, nullable=False),
        sa.Column("release_id", ROW_ID, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("duration_seconds", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["release_id"], ["releases.id"], name=op.f("fk_release_tracks_release_id_releases"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_release_tracks")),
    )
    with op.batch_alter_table("release_tracks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_release_tracks_release_id"), ["release_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("release_tracks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_release_tracks_release_id"))
    op.drop_table("release_tracks")
    op.drop_table("release_messages")
    with op.batch_alter_table("release_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_release_links_release_id"))
    op.drop_table("release_links")
    with op.batch_alter_table("releases", schema=None) as batch_op:
        batch_op.drop_index("ix_releases_guild_id_release_at")
        batch_op.drop_index(batch_op.f("ix_releases_artist_id"))
    op.drop_table("releases")
