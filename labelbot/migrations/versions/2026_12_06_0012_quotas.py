"""Quotas and held changes: collab posts a day, the announce-now cooldown, an announced release's pending change.

Revision ID: 0012_quotas
Revises: 0011_webhooks
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0012_quotas"
down_revision: str | None = "0011_webhooks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    # Servers set up before this get the defaults of a new one (guild_defaults()).
    with op.batch_alter_table("guild_settings") as batch:
        batch.add_column(sa.Column("collab_daily_posts", sa.BigInteger(), nullable=False, server_default="3"))
        batch.add_column(sa.Column("announce_cooldown_minutes", sa.BigInteger(), nullable=False, server_default="60"))
    with op.batch_alter_table("guild_settings") as batch:
        batch.alter_column("collab_daily_posts", server_default=None)
        batch.alter_column("announce_cooldown_minutes", server_default=None)
    with op.batch_alter_table("releases") as batch:
        batch.add_column(sa.Column("pending_edit", JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("releases") as batch:
        batch.drop_column("pending_edit")
    with op.batch_alter_table("guild_settings") as batch:
        batch.drop_column("announce_cooldown_minutes")
        batch.drop_column("collab_daily_posts")
