"""Rate this track: one rating (1-5 stars) per member per track of a listening party.

Revision ID: 0018_party_ratings
Revises: 0017_modern
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import labelbot.db.base

revision: str = "0018_party_ratings"
down_revision: str | None = "0017_modern"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "party_track_ratings",
        sa.Column("party_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("track_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("user_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("stars", sa.Integer(), nullable=False),
        sa.Column("rated_at", labelbot.db.base.UTCDateTime(), nullable=False),
        sa.CheckConstraint("stars BETWEEN 1 AND 5", name=op.f("ck_party_track_ratings_stars")),
        sa.ForeignKeyConstraint(
            ["party_id"],
            ["listening_parties.id"],
            name=op.f("fk_party_track_ratings_party_id_listening_parties"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("party_id", "track_index", "user_id", name=op.f("pk_party_track_ratings")),
    )


def downgrade() -> None:
    op.drop_table("party_track_ratings")
