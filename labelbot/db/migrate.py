"""Run Alembic migrations from inside the bot's event loop."""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncEngine

from labelbot import migrations

log = logging.getLogger(__name__)

# Any constant works; it only has to be the same for every Labelbot process on one database.
MIGRATION_LOCK_ID = 0x1ABE1B07


def alembic_config() -> Config:
    """An Alembic config pointing at the packaged migrations, independent of the working directory."""
    config = Config()
    config.set_main_option("script_location", str(Path(migrations.__file__).parent))
    return config


def head_revisions() -> set[str]:
    """The revisions the code expects the database to be at."""
    return set(ScriptDirectory.from_config(alembic_config()).get_heads())


async def current_revisions(engine: AsyncEngine) -> set[str]:
    """The revisions the database is at (empty for a new database)."""
    async with engine.connect() as connection:
        return await connection.run_sync(lambda sync: set(MigrationContext.configure(sync).get_current_heads()))


async def upgrade(engine: AsyncEngine, revision: str = "heads") -> None:
    """Upgrade the schema; on PostgreSQL several processes may call this at once."""
    async with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            # Held until this transaction ends, so a second process waits, then finds nothing to do.
            await connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": MIGRATION_LOCK_ID})
        await connection.run_sync(_upgrade, revision)


def _upgrade(connection: Connection, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


def known_revisions() -> set[str]:
    """Every revision this code has a migration for."""
    return {script.revision for script in ScriptDirectory.from_config(alembic_config()).walk_revisions()}


async def unknown_revisions(engine: AsyncEngine) -> set[str]:
    """Revisions the database is at that this code does not know: a newer version migrated it."""
    return await current_revisions(engine) - known_revisions()


async def is_up_to_date(engine: AsyncEngine) -> bool:
    """Whether the database schema is at the code's head revisions."""
    return await current_revisions(engine) == head_revisions()
