"""Supporters and drops: perks, shop orders, claim codes (hashed), grants, standings, wrong-code counts, code keys;
drops, the drops role and its sign-ups.

Revision ID: 0016_supporters
Revises: 0015_web_pages
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import labelbot.db.base

revision: str = "0016_supporters"
down_revision: str | None = "0015_web_pages"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RowId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
When = labelbot.db.base.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "supporter_perks",
        sa.Column("id", RowId, nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("name_key", sa.String(length=160), nullable=False),
        sa.Column("role_id", sa.BigInteger(), nullable=False),
        sa.Column("earned_by", sa.String(length=16), nullable=False),
        sa.Column("duration_days", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.BigInteger(), nullable=False),
        sa.Column("created_at", When(), nullable=False),
        sa.Column("updated_at", When(), nullable=False),
        sa.CheckConstraint(
            "duration_days IS NULL OR duration_days >= 1", name=op.f("ck_supporter_perks_duration_positive")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supporter_perks")),
        sa.UniqueConstraint("guild_id", "name_key", name=op.f("uq_supporter_perks_guild_id_name_key")),
    )
    op.create_table(
        "supporter_orders",
        sa.Column("id", RowId, nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("order_id", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("perk_id", RowId, nullable=False),
        sa.Column("refunded_at", When(), nullable=True),
        sa.Column("created_at", When(), nullable=False),
        sa.ForeignKeyConstraint(
            ["perk_id"],
            ["supporter_perks.id"],
            name=op.f("fk_supporter_orders_perk_id_supporter_perks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supporter_orders")),
        sa.UniqueConstraint("guild_id", "order_id", name=op.f("uq_supporter_orders_guild_id_order_id")),
    )
    op.create_table(
        "supporter_codes",
        sa.Column("id", RowId, nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("perk_id", RowId, nullable=False),
        sa.Column("code_sha256", sa.String(length=64), nullable=False),
        sa.Column("order_row_id", RowId, nullable=True),
        sa.Column("expires_at", When(), nullable=True),
        sa.Column("redeemed_by", sa.BigInteger(), nullable=True),
        sa.Column("redeemed_at", When(), nullable=True),
        sa.Column("created_by", sa.BigInteger(), nullable=False),
        sa.Column("created_at", When(), nullable=False),
        sa.ForeignKeyConstraint(
            ["perk_id"],
            ["supporter_perks.id"],
            name=op.f("fk_supporter_codes_perk_id_supporter_perks"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["order_row_id"],
            ["supporter_orders.id"],
            name=op.f("fk_supporter_codes_order_row_id_supporter_orders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supporter_codes")),
        sa.UniqueConstraint("guild_id", "code_sha256", name=op.f("uq_supporter_codes_guild_id_code_sha256")),
    )
    op.create_table(
        "supporter_grants",
        sa.Column("id", RowId, nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("perk_id", RowId, nullable=False),
        sa.Column("order_row_id", RowId, nullable=True),
        sa.Column("code_id", RowId, nullable=True),
        sa.Column("starts_at", When(), nullable=False),
        sa.Column("expires_at", When(), nullable=True),
        sa.Column("revoked_at", When(), nullable=True),
        sa.Column("created_at", When(), nullable=False),
        sa.ForeignKeyConstraint(
            ["perk_id"],
            ["supporter_perks.id"],
            name=op.f("fk_supporter_grants_perk_id_supporter_perks"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["order_row_id"],
            ["supporter_orders.id"],
            name=op.f("fk_supporter_grants_order_row_id_supporter_orders"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["code_id"],
            ["supporter_codes.id"],
            name=op.f("fk_supporter_grants_code_id_supporter_codes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supporter_grants")),
        sa.UniqueConstraint("order_row_id", name=op.f("uq_supporter_grants_order_row_id")),
        sa.UniqueConstraint("code_id", name=op.f("uq_supporter_grants_code_id")),
    )
    op.create_index(
        "ix_supporter_grants_guild_id_user_id_perk_id", "supporter_grants", ["guild_id", "user_id", "perk_id"]
    )
    op.create_table(
        "supporter_standings",
        sa.Column("perk_id", RowId, nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("role_held", sa.Boolean(), nullable=False),
        sa.Column("updated_at", When(), nullable=False),
        sa.ForeignKeyConstraint(
            ["perk_id"],
            ["supporter_perks.id"],
            name=op.f("fk_supporter_standings_perk_id_supporter_perks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("perk_id", "user_id", name=op.f("pk_supporter_standings")),
    )
    op.create_table(
        "supporter_claim_misses",
        sa.Column("id", RowId, nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("at", When(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supporter_claim_misses")),
    )
    op.create_index(
        "ix_supporter_claim_misses_guild_id_user_id_at", "supporter_claim_misses", ["guild_id", "user_id", "at"]
    )
    op.create_table(
        "supporter_keys",
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("code_key", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("guild_id", name=op.f("pk_supporter_keys")),
    )

    op.create_table(
        "drop_settings",
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("role_id", sa.BigInteger(), nullable=False),
        sa.Column("channel_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("guild_id", name=op.f("pk_drop_settings")),
    )
    op.create_table(
        "drops",
        sa.Column("id", RowId, nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("artist_id", RowId, nullable=False),
        sa.Column("item", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("drop_at", When(), nullable=False),
        sa.Column("zone", sa.String(length=64), nullable=False),
        sa.Column("link", sa.String(length=500), nullable=False),
        sa.Column("stock", sa.String(length=100), nullable=True),
        sa.Column("price", sa.String(length=100), nullable=True),
        sa.Column("image_url", sa.String(length=1000), nullable=True),
        sa.Column("ping_fans", sa.Boolean(), nullable=False),
        sa.Column("sold_out", sa.Boolean(), nullable=False),
        sa.Column("channel_id", sa.BigInteger(), nullable=False),
        sa.Column("teaser_message_id", sa.BigInteger(), nullable=True),
        sa.Column("announce_message_id", sa.BigInteger(), nullable=True),
        sa.Column("created_by", sa.BigInteger(), nullable=False),
        sa.Column("created_at", When(), nullable=False),
        sa.Column("updated_at", When(), nullable=False),
        sa.ForeignKeyConstraint(
            ["artist_id"], ["artists.id"], name=op.f("fk_drops_artist_id_artists"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_drops")),
    )
    op.create_table(
        "drop_signups",
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("signed_up_at", When(), nullable=False),
        sa.PrimaryKeyConstraint("guild_id", "user_id", name=op.f("pk_drop_signups")),
    )


def downgrade() -> None:
    op.drop_table("drop_signups")
    op.drop_table("drops")
    op.drop_table("drop_settings")
    op.drop_table("supporter_keys")
    op.drop_index("ix_supporter_claim_misses_guild_id_user_id_at", table_name="supporter_claim_misses")
    op.drop_table("supporter_claim_misses")
    op.drop_table("supporter_standings")
    op.drop_index("ix_supporter_grants_guild_id_user_id_perk_id", table_name="supporter_grants")
    op.drop_table("supporter_grants")
    op.drop_table("supporter_codes")
    op.drop_table("supporter_orders")
    op.drop_table("supporter_perks")
