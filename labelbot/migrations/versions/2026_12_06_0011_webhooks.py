"""Signed webhooks: the timestamp of the last delivery applied per id, and the previous secret for rotation.

Revision ID: 0011_webhooks
Revises: 0009
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import labelbot.db.base

revision: str = "0011_webhooks"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        # Deliveries stored before this revision count as signed at the epoch: any new delivery is newer.
        batch_op.add_column(sa.Column("signed_at", sa.BigInteger(), nullable=False, server_default="0"))
    with op.batch_alter_table("guild_settings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("webhook_previous_secret", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("webhook_secret_rotated_at", labelbot.db.base.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("guild_settings", schema=None) as batch_op:
        batch_op.drop_column("webhook_secret_rotated_at")
        batch_op.drop_column("webhook_previous_secret")
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.drop_column("signed_at")
