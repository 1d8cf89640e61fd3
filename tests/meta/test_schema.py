"""The models and the migrations describe the same schema, on every backend."""

from __future__ import annotations

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from labelbot.db.base import Base
from labelbot.db.migrate import current_revisions, head_revisions, upgrade
from labelbot.db.registry import import_all_models


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True, "render_as_batch": True})
    return list(compare_metadata(context, Base.metadata))


async def test_models_match_migrations(engine: AsyncEngine) -> None:
    import_all_models()
    async with engine.connect() as connection:
        differences = await connection.run_sync(_differences)
    assert differences == [], f"models and migrations disagree; write a migration: {differences}"


async def test_database_is_at_head_and_upgrade_is_idempotent(engine: AsyncEngine) -> None:
    assert await current_revisions(engine) == head_revisions()
    await upgrade(engine)  # a second run (another process starting) changes nothing
    assert await current_revisions(engine) == head_revisions()


def test_one_head() -> None:
    assert len(head_revisions()) == 1, "migrations have branched; merge the heads"


# Parametrised at collection: every model must be imported by then, or the tables of features nobody imported yet
# (cogs are loaded only by the bot) would silently not be checked.
import_all_models()
TABLES = sorted(Base.metadata.tables)


def test_every_features_tables_are_checked() -> None:
    assert {"scheduled_jobs", "releases", "listening_parties", "fan_role_panels", "community_events"} <= set(TABLES)


@pytest.mark.parametrize("table", TABLES)
def test_every_table_has_a_primary_key(table: str) -> None:
    assert Base.metadata.tables[table].primary_key.columns, f"{table} has no primary key"
