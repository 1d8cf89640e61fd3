"""Turn a database that cannot be reached or written into one sentence an operator can act on."""

from __future__ import annotations

import errno
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy.engine import make_url


def _chain(error: BaseException) -> Iterator[BaseException]:
    """The error, what SQLAlchemy wrapped (`orig`), and its causes, each once."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop(0)
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        pending.extend([getattr(current, "orig", None), current.__cause__, current.__context__])


def _where(url: str) -> str:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return str(Path(parsed.database or "").resolve())
    return f"{parsed.host or 'localhost'}:{parsed.port or 5432}"


def describe_database_failure(error: BaseException, url: str) -> str | None:
    """One sentence with the fix for a database that cannot be used, or None when `error` is something else."""
    parsed = make_url(url)
    where = _where(url)
    for link in _chain(error):
        name = type(link).__name__
        text = str(link).strip().splitlines()[0] if str(link).strip() else name
        if isinstance(link, sqlite3.OperationalError) or (
            parsed.get_backend_name() == "sqlite" and name == "OperationalError"
        ):
            lowered = text.lower()
            if "readonly" in lowered or "read-only" in lowered:
                return (
                    f"The SQLite database {where} is read-only for this user: "
                    "give the user running Labelbot write access to the file and its directory, "
                    "or point database.url elsewhere."
                )
            if "unable to open" in lowered:
                return (
                    f"The SQLite database {where} cannot be opened or created: make sure the directory "
                    f"{Path(where).parent} exists and the user running Labelbot may write to it, "
                    "or point database.url elsewhere."
                )
            if "locked" in lowered:
                return (
                    f"The SQLite database {where} is locked by another program: stop the other Labelbot "
                    "(or the tool holding it) and try again."
                )
        if name == "InvalidCatalogNameError":
            return (
                f'The PostgreSQL database "{parsed.database}" does not exist on {where}: '
                f"create it (createdb {parsed.database}) or fix the name in database.url."
            )
        if name in {"InvalidPasswordError", "InvalidAuthorizationSpecificationError"}:
            return (
                f'PostgreSQL on {where} refused the user "{parsed.username}": '
                "check the user and password in database.url."
            )
        if isinstance(link, ConnectionRefusedError) or (
            isinstance(link, OSError) and link.errno in {errno.ECONNREFUSED, errno.EHOSTUNREACH, errno.ENETUNREACH}
        ):
            return (
                f"Nothing answers at {where} (connection refused): start PostgreSQL there, "
                "or fix the host and port in database.url."
            )
        if isinstance(link, OSError) and link.errno is None and "connect call failed" in text.lower():
            return (
                f"Nothing answers at {where} ({text}): start PostgreSQL there, "
                "or fix the host and port in database.url."
            )
        if isinstance(link, TimeoutError):
            return f"The database at {where} did not answer in time: check that it runs and that database.url is right."
        if isinstance(link, OSError) and link.errno in {errno.EACCES, errno.EROFS, errno.ENOENT}:
            return f"The database at {where} cannot be used ({text}): check the path and permissions in database.url."
    return None


def sqlite_preflight(url: str) -> str | None:
    """The sentence for a SQLite file that cannot be opened for writing, found before connecting.

    Checked up front because a connect that fails inside aiosqlite's thread can report after the event loop closed,
    which prints a traceback of its own however the failure is caught.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    if parsed.database.startswith("file:"):
        return None  # a URI filename (mode=ro, say) is the operator's own choice; its errors are described after
    path = Path(parsed.database).resolve()
    if not path.parent.is_dir() or not os.access(path.parent, os.W_OK | os.X_OK):
        return (
            f"The SQLite database {path} cannot be opened or created: make sure the directory {path.parent} exists "
            "and the user running Labelbot may write to it, or point database.url elsewhere."
        )
    if path.exists() and not os.access(path, os.W_OK):
        return (
            f"The SQLite database {path} is read-only for this user: give the user running Labelbot write access "
            "to the file and its directory, or point database.url elsewhere."
        )
    return None
