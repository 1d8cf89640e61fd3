"""Fixtures shared by every test: databases on each backend, the fake Discord and the real bot."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.db import create_engine, create_sessionmaker
from tests.databases import DatabaseFactory, backends

pytest_plugins = ["tests.fakediscord.pytest_plugin", "tests.harness"]


@pytest.fixture(scope="session")
def database_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseFactory]:
    factory = DatabaseFactory(Path(tmp_path_factory.mktemp("databases")))
    yield factory
    # Session teardown runs outside any event loop fixture, so drop the PostgreSQL databases on a fresh loop.
    import asyncio

    asyncio.run(factory.drop_all())


@pytest.fixture(params=backends())
def backend(request: pytest.FixtureRequest) -> str:
    """Each test that uses a database runs once per backend (SQLite, and PostgreSQL when configured)."""
    return str(request.param)


@pytest.fixture
async def database_url(backend: str, database_factory: DatabaseFactory) -> str:
    """A fresh, migrated database of this test's backend."""
    return await database_factory.url(backend)


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_sessionmaker(engine)
