"""Fixtures shared by every test: databases on each backend, the fake Discord and the real bot."""

from __future__ import annotations

import logging
import traceback
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from labelbot.db import create_engine, create_sessionmaker
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
async def database_url(backend: str, database_factory: DatabaseFactory) -> AsyncIterator[str]:
    """A fresh, migrated database of this test's backend."""
    url = await database_factory.url(backend)
    yield url
    await database_factory.release(url)


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_sessionmaker(engine)


# Loggers of the bot's own code and of what runs it; an ERROR with a traceback there is a bug somebody hid.
BOT_LOGGERS = ("labelbot", "discord", "apscheduler")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "expect_error_log(*texts): the test provokes errors the bot logs with a traceback; each text must appear "
        "in the message or the exception of every such record",
    )


class LoggedErrors(logging.Handler):
    """Collects ERROR records with an exception from the bot's loggers."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and record.exc_info[0] is not None and record.name.split(".")[0] in BOT_LOGGERS:
            self.records.append(record)

    @staticmethod
    def text(record: logging.LogRecord) -> str:
        assert record.exc_info is not None
        return record.getMessage() + "\n" + "".join(traceback.format_exception(*record.exc_info))


@pytest.fixture(autouse=True)
def no_error_logged_with_a_traceback(request: pytest.FixtureRequest) -> Iterator[LoggedErrors]:
    """Fail the test when the bot logged an error with a traceback the test did not mark as expected."""
    collector = LoggedErrors()
    root = logging.getLogger()
    root.addHandler(collector)
    try:
        yield collector
    finally:
        root.removeHandler(collector)
    marker = request.node.get_closest_marker("expect_error_log")
    expected = [str(text) for text in (marker.args if marker else ())]
    unexpected = [
        record for record in collector.records if not any(text in collector.text(record) for text in expected)
    ]
    if unexpected:
        shown = "\n".join(f"{r.name}: {r.getMessage()}\n  ...{collector.text(r)[-1200:]}" for r in unexpected)
        pytest.fail(f"{len(unexpected)} error(s) logged with a traceback:\n{shown}", pytrace=False)


# The bad-input sweep's summary: how many probes reached each command. Here, not in tests/sweep/, because the
# xdist controller loads only this conftest; user_properties travel to it from the workers with each report.

SWEEP_PROBES: dict[str, int] = {}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    # user_properties travel from xdist workers to the controller with the report
    for name, value in report.user_properties:
        if name == "sweep_probes" and isinstance(value, dict):
            SWEEP_PROBES.update(value)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not SWEEP_PROBES:
        return
    terminalreporter.write_sep("-", f"bad-input sweep: probes that reached each command ({len(SWEEP_PROBES)} commands)")
    for command, count in sorted(SWEEP_PROBES.items()):
        terminalreporter.write_line(f"{count:4d}  {command}")
