"""Server setup: guild_settings, member_settings, audit_log, artists, artist_managers.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import labelbot.db.base

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
ACTIVE = sa.text("removed_at IS NULL")


def upgrade() -> None:
    op.create_table(
        "guild_settings",
        sa.Column("guild_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("announcements_channel_id", sa.BigInteger(), nullable=True),
        sa.Column("parties_channel_id", sa.BigInteger(), nullable=True),
        sa.Column("collab_board_channel_id", sa.BigInteger(), nullable=True),
        sa.Column("events_channel_id", sa.BigInteger(), nullable=True),
        sa.Column("mod_log_channel_id", sa.BigInteger(), nullable=True),
        sa.Column("moderator_role_id", sa.BigInteger(), nullable=True),
        sa.Column("artist_role_id", sa.BigInteger(), nullable=True),
        sa.Column("all_releases_role_id", sa.BigInteger(), nullable=True),
        sa.Column("release_approval", sa.Boolean(), nullable=False),
        sa.Column("collab_approval", sa.Boolean(), nullable=False),
        sa.Column("artists_create_events", sa.Boolean(), nullable=False),
        sa.Column("teaser_offsets_minutes", JSON, nullable=False),
        sa.Column("reminder_offsets_minutes", JSON, nullable=False),
        sa.Column("collab_expiry_days", sa.BigInteger(), nullable=False),
        sa.Column("collab_max_open", sa.BigInteger(), nullable=False),
        sa.Column("collab_daily_alerts", sa.BigInteger(), nullable=False),
        sa.Column("tier_keep_lower", sa.Boolean(), nullable=False),
        sa.Column("calendar_secret", sa.String(length=64), nullable=True),
        sa.Column("webhook_secret", sa.String(length=64), nullable=True),
        sa.Column("created_at", labelbot.db.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", labelbot.db.base.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("guild_id", name=op.f("pk_guild_settings")),
    )
    op.create_table(
        "member_settings",
        sa.Column("user_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=True),
        sa.Column("updated_at", labelbot.db.base.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_member_settings")),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", ROW_ID, autoincrement=True, nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("actor_id", sa.BigInteger(), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target", sa.String(length=200), nullable=False),
        sa.Column("before", JSON, nullable=True),
        sa.Column("after", JSON, nullable=True),
        sa.Column("created_at", labelbot.db.base.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(op.f("ix_audit_log_guild_id_created_at"), ["guild_id", "created_at"], unique=False)
    op.create_table(
        "artists",
        sa.Column("id", ROW_ID, nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("name_key", sa.String(length=200), nullable=False),
        sa.Column("bio", sa.Text(), nullable=True),
        sa.Column("genres", JSON, nullable=False),
        sa.Column("links", JSON, nullable=False),
        sa.Column("fan_role_id", sa.BigInteger(), nullable=True),
        sa.Column("fan_role_created_by_bot", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.BigInteger(), nullable=False),
        sa.Column("removed_at", labelbot.db.base.UTCDateTime(), nullable=True),
        sa.Column("created_at", labelbot.db.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", labelbot.db.base.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_artists")),
    )
    with op.batch_alter_table("artists", schema=None) as batch_op:
        # Names are unique per server among the artists still on the roster.
        batch_op.create_index(
            op.f("uq_artists_guild_id_name_key"),
            ["guild_id", "name_key"],
            unique=True,
            sqlite_where=ACTIVE,
            postgresql_where=ACTIVE,
        )
    op.create_table(
        "artist_managers",
        sa.Column("artist_id", ROW_ID, nullable=False),
        sa.Column("user_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("added_by", sa.BigInteger(), nullable=False),
        sa.Column("added_at", labelbot.db.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["artist_id"], ["artists.id"], name=op.f("fk_artist_managers_artist_id_artists"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("artist_id", "user_id", name=op.f("pk_artist_managers")),
    )
    with op.batch_alter_table("artist_managers", schema=None) as batch_op:
        batch_op.create_index(op.f("ix_artist_managers_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("artist_managers", schema=None) as batch_op:
        batch_op.drop_index(op.f("ix_artist_managers_user_id"))
    op.drop_table("artist_managers")
    with op.batch_alter_table("artists", schema=None) as batch_op:
        batch_op.drop_index(op.f("uq_artists_guild_id_name_key"), sqlite_where=ACTIVE, postgresql_where=ACTIVE)
    op.drop_table("artists")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(op.f("ix_audit_log_guild_id_created_at"))
    op.drop_table("audit_log")
    op.drop_table("member_settings")
    op.drop_table("guild_settings")
