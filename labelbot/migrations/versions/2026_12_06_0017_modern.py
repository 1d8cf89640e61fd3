"""Today's Discord: an accent colour per artist for its Components V2 cards.

Revision ID: 0017_modern
Revises: 0016_supporters
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017_modern"
down_revision: str | None = "0016_supporters"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("artists") as batch:
        batch.add_column(sa.Column("accent_colour", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("artists") as batch:
        batch.drop_column("accent_colour")
