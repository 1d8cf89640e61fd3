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


# What a test could change in a database's make-up (tables, columns, functions, triggers, types, the migration
# revision); a database that still matches the template's after a test is emptied and used again.
SIGNATURE_SQL = """
    SELECT 'relation', n.nspname || '.' || c.relname || ':' || c.relkind::text
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
       AND n.nspname NOT LIKE 'pg_temp%'
    UNION ALL
    SELECT 'column', table_schema || '.' || table_name || '.' || column_name || ':' || data_type
      FROM information_schema.columns WHERE table_schema NOT IN ('pg_catalog', 'information_schema')
    UNION ALL
    SELECT 'function', n.nspname || '.' || p.proname
      FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
     WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
    UNION ALL
    SELECT 'trigger', tgname FROM pg_trigger WHERE NOT tgisinternal
    UNION ALL
    SELECT 'type', n.nspname || '.' || t.typname
      FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
     WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
    UNION ALL
    SELECT 'revision', version_num FROM alembic_version
"""
KEPT_TABLES = {"alembic_version"}  # the template's only rows


class DatabaseFactory:
    """Makes migrated databases quickly by copying a template migrated once per test session.

    A PostgreSQL database a test is done with is emptied and handed to the next test instead of dropped: on
    PostgreSQL 15 each DROP DATABASE forces a checkpoint (about a second here), which at ~600 databases a run was
    minutes of a CI run's tail. Only a database whose make-up still matches the template's is reused.
    """

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self._sqlite_template: Path | None = None
        self._pg_template: str | None = None
        self._pg_created: list[str] = []
        self._pg_from_template: set[str] = set()
        self._pg_free: list[str] = []
        self._pg_signature: list[tuple[str, str]] | None = None
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
            if self._pg_free:
                return _with_database(base, self._pg_free.pop())
        await self._admin(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        self._pg_created.insert(0, name)
        if template:
            self._pg_from_template.add(name)
        return _with_database(base, name)

    async def release(self, url: str) -> None:
        """A test is done with this database: a PostgreSQL one made from the template is emptied for the next."""
        name = make_url(url).database
        if not url.startswith("postgresql") or name not in self._pg_from_template or name in self._pg_free:
            return
        assert self._pg_template is not None
        if self._pg_signature is None:
            self._pg_signature = await self._signature(self._pg_template)
        connection = await self._connect(name)
        try:
            if not await self._empty(name, connection):
                return  # changed by the test: dropped at the end of the session like the rest
        finally:
            await connection.close()
        self._pg_free.append(name)

    async def _empty(self, name: str, connection: asyncpg.Connection) -> bool:
        """Empty the database as the template is; False when it cannot be (changed make-up, no superuser)."""
        try:
            # Whatever the test left connected (a killed bot's backend, an undisposed engine) would hold locks.
            await connection.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
                name,
            )
            if await self._signature(name, connection) != self._pg_signature:
                return False
            tables = await connection.fetch(
                "SELECT quote_ident(schemaname) || '.' || quote_ident(tablename) AS name FROM pg_tables "
                "WHERE schemaname = 'public' AND tablename <> ALL($1::text[])",
                sorted(KEPT_TABLES),
            )
            sequences = await connection.fetch(
                "SELECT quote_ident(schemaname) || '.' || quote_ident(sequencename) AS name FROM pg_sequences "
                "WHERE schemaname = 'public'"
            )
            # DELETE, not TRUNCATE: a few rows each, and TRUNCATE makes new files for every table and index.
            # Foreign keys are triggers, which the replica role skips, so the order of the tables does not matter.
            async with connection.transaction():
                await connection.execute("SET LOCAL session_replication_role = replica")
                for table in tables:
                    await connection.execute(f"DELETE FROM {table['name']}")
                for sequence in sequences:
                    await connection.execute(f"ALTER SEQUENCE {sequence['name']} RESTART")
        except asyncpg.PostgresError:
            return False
        return True

    async def _signature(self, name: str, connection: asyncpg.Connection | None = None) -> list[tuple[str, str]]:
        own = connection is None
        connection = connection or await self._connect(name)
        try:
            return sorted((row[0], row[1]) for row in await connection.fetch(SIGNATURE_SQL))
        finally:
            if own:
                await connection.close()

    async def url(self, backend: str, *, migrated: bool = True) -> str:
        if backend == "postgres":
            return await self.postgres_url(migrated=migrated)
        return await self.sqlite_url(migrated=migrated)

    async def drop_all(self) -> None:
        for name in self._pg_created:
            await self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self._pg_created.clear()

    async def _admin(self, sql: str) -> None:
        connection = await self._connect(None)
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    async def _connect(self, database: str | None) -> asyncpg.Connection:
        base = postgres_base_url()
        assert base
        url = make_url(base)
        return await asyncpg.connect(
            host=url.host,
            port=url.port or 5432,
            user=url.username,
            password=url.password,
            database=database or url.database,
        )


def _with_database(base: str, name: str) -> str:
    return make_url(base).set(database=name).render_as_string(hide_password=False)
