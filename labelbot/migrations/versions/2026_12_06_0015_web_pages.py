"""Web pages: the public page's opt-in, and the dashboard's sign-in links and sessions.

Revision ID: 0015_web_pages
Revises: 0013_workers
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import labelbot.db.base

revision: str = "0015_web_pages"
down_revision: str | None = "0013_workers"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("guild_settings") as batch:
        batch.add_column(sa.Column("web_page", sa.Boolean(), nullable=False, server_default=sa.false()))
    for table in ("dashboard_links", "dashboard_sessions"):
        columns = [
            sa.Column("token_digest", sa.String(length=64), nullable=False),
            sa.Column("guild_id", sa.BigInteger(), nullable=False),
            sa.Column("user_id", sa.BigInteger(), nullable=False),
            sa.Column("created_at", labelbot.db.base.UTCDateTime(), nullable=False),
            sa.Column("expires_at", labelbot.db.base.UTCDateTime(), nullable=False),
        ]
        if table == "dashboard_links":
            columns.append(sa.Column("used_at", labelbot.db.base.UTCDateTime(), nullable=True))
        op.create_table(table, *columns, sa.PrimaryKeyConstraint("token_digest", name=op.f(f"pk_{table}")))
        op.create_index(op.f(f"ix_{table}_expires_at"), table, ["expires_at"], unique=False)


def downgrade() -> None:
    for table in ("dashboard_sessions", "dashboard_links"):
        op.drop_index(op.f(f"ix_{table}_expires_at"), table_name=table)
        op.drop_table(table)
    with op.batch_alter_table("guild_settings") as batch:
        batch.drop_column("web_page")
