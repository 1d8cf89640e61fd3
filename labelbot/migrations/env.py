"""Alembic environment: async engines, batch mode for SQLite, or a connection handed in by the bot."""

from __future__ import annotations

import asyncio
import os

from alembic import context
from sqlalchemy import Connection, pool
from sqlalchemy.ext.asyncio import async_engine_from_config

from labelbot.db.base import Base
from labelbot.db.registry import import_all_models

import_all_models()
config = context.config
target_metadata = Base.metadata


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
    )


def run_with_connection(connection: Connection) -> None:
    _configure(connection)
    with context.begin_transaction():
        context.run_migrations()


async def run_async_migrations() -> None:
    section = config.get_section(config.config_ini_section, {})
    section["sqlalchemy.url"] = os.environ.get("LABELBOT_DATABASE__URL", "sqlite+aiosqlite:///labelbot.db")
    engine = async_engine_from_config(section, prefix="sqlalchemy.", poolclass=pool.NullPool)
    async with engine.connect() as connection:
        await connection.run_sync(run_with_connection)
    await engine.dispose()


def run_offline() -> None:
    context.configure(
        url=os.environ.get("LABELBOT_DATABASE__URL", "sqlite+aiosqlite:///labelbot.db"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
elif (handed_in := config.attributes.get("connection")) is not None:
    run_with_connection(handed_in)
else:
    asyncio.run(run_async_migrations())
