"""Telling a database outage (unreachable, timed out) from a bug in a query: the first is waited out, not reported."""

from __future__ import annotations

import logging
import sys

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

# asyncpg's errors for a connection lost mid-statement, which SQLAlchemy hands on as a plain DBAPIError.
_LOST_CONNECTION = {"ConnectionDoesNotExistError", "ConnectionFailureError", "CannotConnectNowError"}


def is_database_outage(error: BaseException) -> bool:
    """Whether the error means the database is unreachable (not that a query is wrong)."""
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    if isinstance(error, OperationalError | InterfaceError | PoolTimeoutError | ConnectionError | TimeoutError):
        return True
    if isinstance(error, DBAPIError):
        cause: BaseException | None = error.__cause__
        while cause is not None:
            if isinstance(cause, ConnectionError | TimeoutError) or type(cause).__name__ in _LOST_CONNECTION:
                return True
            cause = cause.__cause__
    return False


# PostgreSQL's "try the transaction again" answers: a deadlock victim and a serialization failure.
_TRY_AGAIN_SQLSTATES = {"40P01", "40001"}


def is_worth_retrying(error: BaseException) -> bool:
    """Whether the database refused this transaction only for now (deadlock victim, serialization failure)."""
    cause: BaseException | None = error
    while cause is not None:
        if getattr(cause, "sqlstate", None) in _TRY_AGAIN_SQLSTATES or getattr(cause, "pgcode", None) in (
            _TRY_AGAIN_SQLSTATES
        ):
            return True
        cause = cause.__cause__ or getattr(cause, "orig", None)
    return False


def log_failure(log: logging.Logger, message: str, *args: object) -> None:
    """Log the exception being handled: a warning without traceback when the database is away, else an error.

    Background loops (heartbeat, sweep, claims) meet an outage on every pass until it ends; a traceback for each
    pass would bury the one line that matters, and the next pass tries again anyway.
    """
    error = sys.exc_info()[1]
    if error is not None and is_database_outage(error):
        log.warning("%s (the database is unreachable: %s)", message % args if args else message, error)
    else:
        log.error(message, *args, exc_info=True)  # noqa: LOG014 (always called from an except block)
