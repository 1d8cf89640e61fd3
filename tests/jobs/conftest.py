"""Fixtures for the job queue tests: fast settings, a queue per test, a recording stand-in for the bot."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from labelbot.config import JobSettings
from labelbot.jobs import JobQueue


class RecordingBot:
    """Stands in for LabelBot where the queue only calls dispatch()."""

    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []

    def dispatch(self, name: str, *args: Any) -> None:
        self.events.append((name, *args))


def fast_settings(**overrides: Any) -> JobSettings:
    # A sweep far in the future: a test that needs it runs run_due() or relies on an alarm, never on the sweep.
    values: dict[str, Any] = {
        "lease_seconds": 2.0,
        "sweep_seconds": 3600.0,
        "max_attempts": 3,
        "retry_base_seconds": 0.05,
    }
    values.update(overrides)
    return JobSettings(**values)


@pytest.fixture
async def queue(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[JobQueue]:
    jobs = JobQueue(sessionmaker, fast_settings(), worker_id="test-worker")
    yield jobs
    await jobs.stop(timeout=1)
