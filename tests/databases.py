"""Fresh databases for tests: SQLite files and PostgreSQL databases, each migrated once and then copied."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from labelbot.db import create_engine
from labelbot.db.migrate import upgrade

POSTGRES_ENV = "LABELBOT_TEST_POSTGRES_URL"
RUN_ID = uuid.uuid4().hex[:8]


def postgres_base_url() -> str | None:
    """The server tests may use, from LABELBOT_TEST_POSTGRES_URL; None when unset."""
    return os.environ.get(POSTGRES_ENV) or None


def backends() -> list[str]:
    """The backends this run covers: always SQLite, PostgreSQL when configured (required with the CI switch)."""
    if os.environ.get("LABELBOT_TEST_REQUIRE_POSTGRES") == "1" and not postgres_base_url():
        raise RuntimeError(f"LABELBOT_TEST_REQUIRE_POSTGRES=1 but {POSTGRES_ENV} is not set")
    return ["sqlite", "postgres"] if postgres_base_url() else ["sqlite"]


class DatabaseFactory:
    """Makes migrated databases quickly by copying a template migrated once per test session."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self._sqlite_template: Path | None = None
        self._pg_template: str | None = None
        self._pg_created: list[str] = []
        self._lock = asyncio.Lock()

    async def sqlite_url(self, *, migrated: bool = True) -> str:
        path = self.workdir / f"labelbot-{uuid.uuid4().hex[:8]}.db"
        if migrated:
            async with self._lock:
                if self._sqlite_template is None:
                    template = self.workdir / "template.db"
                    engine = create_engine(f"sqlite+aiosqlite:///{template}")
                    await upgrade(engine)
                    await engine.dispose()
                    self._sqlite_template = template
            shutil.copyfile(self._sqlite_template, path)
        return f"sqlite+aiosqlite:///{path}"

    async def postgres_url(self, *, migrated: bool = True) -> str:
        base = postgres_base_url()
        assert base, f"{POSTGRES_ENV} is not set"
        name = f"labelbot_{RUN_ID}_{uuid.uuid4().hex[:8]}"
        template = None
        if migrated:
            async with self._lock:
                if self._pg_template is None:
                    self._pg_template = f"labelbot_{RUN_ID}_template"
                    await self._admin(f'CREATE DATABASE "{self._pg_template}"')
                    self._pg_created.append(self._pg_template)
                    engine = create_engine(_with_database(base, self._pg_template))
                    await upgrade(engine)
                    await engine.dispose()
            template = self._pg_template
        await self._admin(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        self._pg_created.insert(0, name)
        return _with_database(base, name)

    async def url(self, backend: str, *, migrated: bool = True) -> str:
        if backend == "postgres":
            return await self.postgres_url(migrated=migrated)
        return await self.sqlite_url(migrated=migrated)

    async def drop_all(self) -> None:
        for name in self._pg_created:
            await self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self._pg_created.clear()

    async def _admin(self, sql: str) -> None:
        base = postgres_base_url()
        assert base
        url = make_url(base)
        connection = await asyncpg.connect(
            host=url.host, port=url.port or 5432, user=url.username, password=url.password, database=url.database
        )
        try:
            await connection.execute(sql)
        finally:
            await connection.close()


def _with_database(base: str, name: str) -> str:
    return make_url(base).set(database=name).render_as_string(hide_password=False)
