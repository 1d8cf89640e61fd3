"""Drop DMs of members who left the server: marked, not sent, and not spent against the weekly budget; a live
party's card pinned by the bot (so its end unpins only what the bot pinned).

Revision ID: 0024_mend
Revises: 0023_drops18
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import labelbot.db.base

revision: str = "0024_mend"
down_revision: str | None = "0023_drops18"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("drop_dms") as batch:
        batch.add_column(sa.Column("left_at", labelbot.db.base.UTCDateTime(), nullable=True))
    with op.batch_alter_table("listening_parties") as batch:
        batch.add_column(sa.Column("card_pinned_at", labelbot.db.base.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("listening_parties") as batch:
        batch.drop_column("card_pinned_at")
    with op.batch_alter_table("drop_dms") as batch:
        batch.drop_column("left_at")
