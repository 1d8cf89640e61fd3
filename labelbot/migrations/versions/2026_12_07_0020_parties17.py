"""Parties: replays of a past party, the recap's message, and the stage the bot opened.

Revision ID: 0020_parties17
Revises: 0019_perf
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import labelbot.db.base

revision: str = "0020_parties17"
down_revision: str | None = "0019_perf"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("listening_parties") as batch:
        batch.add_column(sa.Column("replay_of_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True))
        batch.add_column(sa.Column("recap_message_id", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("stage_opened_at", labelbot.db.base.UTCDateTime(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_listening_parties_replay_of_id_listening_parties"),
            "listening_parties",
            ["replay_of_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("listening_parties") as batch:
        batch.drop_constraint(op.f("fk_listening_parties_replay_of_id_listening_parties"), type_="foreignkey")
        batch.drop_column("stage_opened_at")
        batch.drop_column("recap_message_id")
        batch.drop_column("replay_of_id")
