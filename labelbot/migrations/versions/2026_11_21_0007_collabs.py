"""Collaboration requests: skills, profiles, requests, interests, alerts and reports.

Revision ID: 0007
Revises: 0003
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import labelbot.db.base

revision: str = "0007"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "collab_profiles",
        sa.Column("guild_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("user_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("alerts", sa.Boolean(), nullable=False),
        sa.Column("alert_via", sa.String(length=8), nullable=False),
        sa.Column("bio", sa.String(length=300), nullable=True),
        sa.Column("links", sa.String(length=300), nullable=True),
        sa.Column("dms_closed", sa.Boolean(), nullable=False),
        sa.Column("updated_at", labelbot.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("guild_id", "user_id", name=op.f("pk_collab_profiles")),
    )
    op.create_table(
        "collab_requests",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("poster_id", sa.BigInteger(), nullable=False),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("needed", sa.Text(), nullable=False),
        sa.Column("genre", sa.String(length=200), nullable=True),
        sa.Column("deadline_at", labelbot.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("deadline_zone", sa.String(length=64), nullable=True),
        sa.Column("compensation", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("board_channel_id", sa.BigInteger(), nullable=True),
        sa.Column("board_is_forum", sa.Boolean(), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("thread_id", sa.BigInteger(), nullable=True),
        sa.Column("origin_channel_id", sa.BigInteger(), nullable=True),
        sa.Column("approval_message_id", sa.BigInteger(), nullable=True),
        sa.Column("lifetime_seconds", sa.BigInteger(), nullable=False),
        sa.Column("created_at", labelbot.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("published_at", labelbot.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("expires_at", labelbot.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_at", labelbot.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_by_id", sa.BigInteger(), nullable=True),
        sa.Column("filled_by_id", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_collab_requests")),
    )
    with op.batch_alter_table("collab_requests", schema=None) as batch_op:
        batch_op.create_index(op.f("ix_collab_requests_guild_id_poster_id"), ["guild_id", "poster_id"], unique=False)
        batch_op.create_index(op.f("ix_collab_requests_guild_id_status"), ["guild_id", "status"], unique=False)

    op.create_table(
        "collab_skills",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("key", sa.String(length=50), nullable=False),
        sa.Column("removed", sa.Boolean(), nullable=False),
        sa.Column("created_at", labelbot.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_collab_skills")),
        sa.UniqueConstraint("guild_id", "key", name=op.f("uq_collab_skills_guild_id_key")),
    )
    op.create_table(
        "collab_alerts",
        sa.Column(
            "request_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=False, nullable=False
        ),
        sa.Column("user_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("via", sa.String(length=8), nullable=False),
        sa.Column("created_at", labelbot.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["collab_requests.id"],
            name=op.f("fk_collab_alerts_request_id_collab_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("request_id", "user_id", name=op.f("pk_collab_alerts")),
    )
    with op.batch_alter_table("collab_alerts", schema=None) as batch_op:
        batch_op.create_index(
            op.f("ix_collab_alerts_guild_id_user_id_created_at"), ["guild_id", "user_id", "created_at"], unique=False
        )

    op.create_table(
        "collab_interests",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("request_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("thread_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", labelbot.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("answered_at", labelbot.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["collab_requests.id"],
            name=op.f("fk_collab_interests_request_id_collab_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_collab_interests")),
        sa.UniqueConstraint("request_id", "user_id", name=op.f("uq_collab_interests_request_id_user_id")),
    )
    op.create_table(
        "collab_member_skills",
        sa.Column("guild_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("user_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column(
            "skill_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=False, nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["skill_id"],
            ["collab_skills.id"],
            name=op.f("fk_collab_member_skills_skill_id_collab_skills"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("guild_id", "user_id", "skill_id", name=op.f("pk_collab_member_skills")),
    )
    with op.batch_alter_table("collab_member_skills", schema=None) as batch_op:
        batch_op.create_index(op.f("ix_collab_member_skills_skill_id"), ["skill_id"], unique=False)

    op.create_table(
        "collab_reports",
        sa.Column(
            "request_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=False, nullable=False
        ),
        sa.Column("reporter_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("created_at", labelbot.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["collab_requests.id"],
            name=op.f("fk_collab_reports_request_id_collab_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("request_id", "reporter_id", name=op.f("pk_collab_reports")),
    )
    op.create_table(
        "collab_request_skills",
        sa.Column(
            "request_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=False, nullable=False
        ),
        sa.Column(
            "skill_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=False, nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["collab_requests.id"],
            name=op.f("fk_collab_request_skills_request_id_collab_requests"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["skill_id"],
            ["collab_skills.id"],
            name=op.f("fk_collab_request_skills_skill_id_collab_skills"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("request_id", "skill_id", name=op.f("pk_collab_request_skills")),
    )
    with op.batch_alter_table("collab_request_skills", schema=None) as batch_op:
        batch_op.create_index(op.f("ix_collab_request_skills_skill_id"), ["skill_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("collab_request_skills", schema=None) as batch_op:
        batch_op.drop_index(op.f("ix_collab_request_skills_skill_id"))

    op.drop_table("collab_request_skills")
    op.drop_table("collab_reports")
    with op.batch_alter_table("collab_member_skills", schema=None) as batch_op:
        batch_op.drop_index(op.f("ix_collab_member_skills_skill_id"))

    op.drop_table("collab_member_skills")
    op.drop_table("collab_interests")
    with op.batch_alter_table("collab_alerts", schema=None) as batch_op:
        batch_op.drop_index(op.f("ix_collab_alerts_guild_id_user_id_created_at"))

    op.drop_table("collab_alerts")
    op.drop_table("collab_skills")
    with op.batch_alter_table("collab_requests", schema=None) as batch_op:
        batch_op.drop_index(op.f("ix_collab_requests_guild_id_status"))
        batch_op.drop_index(op.f("ix_collab_requests_guild_id_poster_id"))

    op.drop_table("collab_requests")
    op.drop_table("collab_profiles")
