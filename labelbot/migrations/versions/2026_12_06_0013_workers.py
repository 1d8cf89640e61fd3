"""Job workers: one row per dispatcher process with its heartbeat, so a dead one's claims come back at once.

Revision ID: 0013_workers
Revises: 0012_quotas
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import labelbot.db.base

revision: str = "0013_workers"
down_revision: str | None = "0012_quotas"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "job_workers",
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("host", sa.String(length=100), nullable=False),
        sa.Column("pid", sa.BigInteger(), nullable=False),
        sa.Column("started_at", labelbot.db.base.UTCDateTime(), nullable=False),
        sa.Column("last_beat", labelbot.db.base.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_workers")),
    )


def downgrade() -> None:
    op.drop_table("job_workers")
