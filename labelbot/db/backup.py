"""`labelbot backup` and `labelbot restore`: a consistent copy of the database, taken while the bot runs."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import URL, make_url


class BackupError(Exception):
    """A backup or restore could not be done; the message is one sentence with the fix."""


def default_backup_path(url: str, now: datetime | None = None) -> Path:
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S")
    suffix = "db" if make_url(url).get_backend_name() == "sqlite" else "dump"
    return Path(f"labelbot-backup-{stamp}.{suffix}")


def backup(url: str, target: Path) -> Path:
    """Copy the database at `url` into `target` (SQLite file, or a pg_dump custom-format archive)."""
    parsed = make_url(url)
    if target.exists():
        raise BackupError(f"{target} already exists: choose another file name, or move the old backup away.")
    if parsed.get_backend_name() == "sqlite":
        _sqlite_copy(_sqlite_path(parsed), target)
        # One self-contained file (no -wal/-shm beside it) that can be copied anywhere; the bot turns WAL back on.
        with sqlite3.connect(target) as copy:
            copy.execute("PRAGMA journal_mode=DELETE")
        copy.close()
    else:
        _pg_tool("pg_dump", parsed, ["--format=custom", "--no-owner", f"--file={target}"])
    return target


def restore(url: str, source: Path) -> Path | None:
    """Replace the database at `url` with the backup in `source`; for SQLite return where the old one was kept."""
    parsed = make_url(url)
    if not source.is_file():
        raise BackupError(f"There is no backup file at {source}.")
    if parsed.get_backend_name() != "sqlite":
        _pg_tool("pg_restore", parsed, ["--clean", "--if-exists", "--no-owner", "--single-transaction", str(source)])
        return None
    database = _sqlite_path(parsed)
    _check_sqlite_backup(source)
    kept: Path | None = None
    if database.exists():
        # The database being replaced is kept beside it, so a restore of the wrong file is undone by another restore.
        kept = database.with_name(f"{database.name}.before-restore-{datetime.now(UTC):%Y%m%d-%H%M%S}")
        _sqlite_copy(database, kept)
    _sqlite_copy(source, database)
    return kept


def _sqlite_path(parsed: URL) -> Path:
    if not parsed.database or parsed.database == ":memory:":
        raise BackupError("An in-memory SQLite database has nothing to back up: set database.url to a file.")
    return Path(parsed.database)


def _sqlite_copy(source: Path, target: Path) -> None:
    """SQLite's online backup: a consistent copy even while the bot writes (WAL included)."""
    if not source.is_file():
        raise BackupError(f"There is no SQLite database at {source.resolve()}: check database.url.")
    try:
        with sqlite3.connect(f"file:{source}?mode=ro", uri=True) as src, sqlite3.connect(target) as dst:
            src.backup(dst)
        dst.close()
        src.close()
    except sqlite3.Error as error:
        raise BackupError(
            f"SQLite could not copy {source} to {target} ({error}): check both paths are writable."
        ) from None


def _check_sqlite_backup(source: Path) -> None:
    try:
        with sqlite3.connect(f"file:{source}?mode=ro", uri=True) as connection:
            found = connection.execute("SELECT 1 FROM sqlite_master WHERE name = 'alembic_version'").fetchone()
        connection.close()
    except sqlite3.DatabaseError:
        found = None
    if found is None:
        raise BackupError(f"{source} is not a Labelbot SQLite backup: pick a file made by `labelbot backup`.")


def _pg_tool(tool: str, parsed: URL, arguments: list[str]) -> None:
    executable = shutil.which(tool)
    if executable is None:
        raise BackupError(
            f"{tool} is not installed: install the PostgreSQL client tools of your server's version "
            "(Debian/Ubuntu: apt install postgresql-client) and run this again."
        )
    # The password goes through the environment, never the command line other users can read in `ps`.
    env = {**os.environ}
    if parsed.password is not None:
        env["PGPASSWORD"] = str(parsed.password)
    dsn = parsed.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    result = subprocess.run(
        [executable, f"--dbname={dsn}", *arguments], env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        detail = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise BackupError(f"{tool} failed ({detail}): check database.url and that {tool} matches the server's version.")
