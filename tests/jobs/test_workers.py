"""Heartbeats: a dead worker's claims come back at once; a live but stuck one keeps its claim until its lease ends."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import discord
import pytest
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from labelbot.db import utcnow
from labelbot.jobs import JobContext, JobQueue, JobStatus, ScheduledJob
from labelbot.jobs.models import JobWorker
from labelbot.jobs.queue import HOST
from tests.jobs.conftest import fast_settings

Sessions = async_sessionmaker[AsyncSession]
KIND = "release.announce"
# Leases far longer than any test: a claim that comes back did so because its worker was found dead.
LONG_LEASE = timedelta(minutes=10)


class Runs:
    """A handler that notes when each job ran."""

    def __init__(self) -> None:
        self.at: dict[int, datetime] = {}

    async def __call__(self, ctx: JobContext) -> None:
        self.at.setdefault(ctx.id, utcnow())


@pytest.fixture
async def beating(sessionmaker: Sessions) -> AsyncIterator[JobQueue]:
    """A queue that beats every 0.1 s and calls a worker dead after 3 silent beats."""
    queue = JobQueue(sessionmaker, fast_settings(heartbeat_seconds=0.1, dead_after_beats=3), worker_id="survivor")
    yield queue
    await queue.stop(timeout=1)


async def add_worker(
    sessionmaker: Sessions, worker_id: str, *, beat: datetime, host: str = "elsewhere", pid: int = 1
) -> None:
    async with sessionmaker.begin() as session:
        await session.execute(
            insert(JobWorker).values(id=worker_id, host=host, pid=pid, started_at=beat, last_beat=beat)
        )


async def add_claim(sessionmaker: Sessions, claimed_by: str, lease_until: datetime) -> int:
    now = utcnow()
    async with sessionmaker.begin() as session:
        job_id: int = await session.scalar(
            insert(ScheduledJob)
            .values(
                kind=KIND,
                payload={},
                due_at=now - timedelta(seconds=1),
                scheduled_for=now - timedelta(seconds=1),
                status=JobStatus.CLAIMED,
                claimed_by=claimed_by,
                lease_until=lease_until,
                attempts=1,
                created_at=now,
                updated_at=now,
            )
            .returning(ScheduledJob.id)
        )
        return job_id


async def workers(sessionmaker: Sessions) -> dict[str, JobWorker]:
    async with sessionmaker() as session:
        return {worker.id: worker for worker in await session.scalars(select(JobWorker))}


async def until(predicate: Any, timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not await predicate():
            await asyncio.sleep(0.02)


def gone_pid() -> int:
    """The pid of a process of this host that has exited."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


async def test_a_running_worker_beats_and_leaves_the_table_when_stopped(
    beating: JobQueue, sessionmaker: Sessions
) -> None:
    await beating.start()
    first = (await workers(sessionmaker))["survivor"]
    assert (first.host, first.pid) == (HOST, os.getpid())

    async def beat_again() -> bool:
        return (await workers(sessionmaker))["survivor"].last_beat > first.last_beat

    await until(beat_again, timeout=5)
    await beating.stop()
    assert "survivor" not in await workers(sessionmaker)


async def test_claims_of_a_worker_that_stopped_beating_are_taken_back_at_once(
    beating: JobQueue, sessionmaker: Sessions
) -> None:
    runs = Runs()
    beating.register(KIND, runs)
    await beating.start()
    now = utcnow()
    # Another host's worker, silent for a minute (killed), whose claim would otherwise hold for ten more.
    await add_worker(sessionmaker, "crashed", beat=now - timedelta(minutes=1))
    job_id = await add_claim(sessionmaker, "crashed", now + LONG_LEASE)

    async def ran() -> bool:
        return job_id in runs.at

    # The next heartbeat pass (0.1 s) finds it dead; the lease would have taken ten minutes.
    await until(ran, timeout=5)
    assert runs.at[job_id] - now < timedelta(seconds=5)

    async def recorded() -> bool:
        # Outcomes are written in batches, a moment after the handler returns.
        async with sessionmaker() as session:
            job = await session.get(ScheduledJob, job_id)
        return job is not None and job.status != JobStatus.CLAIMED

    await until(recorded, timeout=5)
    async with sessionmaker() as session:
        job = await session.get(ScheduledJob, job_id)
        assert job is not None
        assert (job.status, job.claimed_by, job.attempts) == (JobStatus.DONE, "survivor", 2)
    assert "crashed" not in await workers(sessionmaker)


async def test_a_live_but_stuck_worker_keeps_its_claim_until_its_lease_runs_out(
    beating: JobQueue, sessionmaker: Sessions
) -> None:
    runs = Runs()
    beating.register(KIND, runs)
    await beating.start()
    now = utcnow()
    await add_worker(sessionmaker, "stuck", beat=now)
    lease_until = now + timedelta(seconds=1.5)
    job_id = await add_claim(sessionmaker, "stuck", lease_until)

    async def keep_beating() -> None:
        # Its event loop is fine (it beats), but its handler hangs and its lease is no longer renewed.
        while True:
            async with sessionmaker.begin() as session:
                await session.execute(update(JobWorker).where(JobWorker.id == "stuck").values(last_beat=utcnow()))
            await asyncio.sleep(0.05)

    heart = asyncio.create_task(keep_beating())
    try:
        # Many heartbeat passes of the survivor go by; the stuck worker is alive, so its claim stands.
        await asyncio.sleep(0.8)
        assert job_id not in runs.at

        async def ran() -> bool:
            # The lease runs out; the sweep's wake-up claims it (the sweep is far off here, so run what is due).
            await beating.run_due()
            return job_id in runs.at

        await until(ran, timeout=10)
    finally:
        heart.cancel()
        await asyncio.gather(heart, return_exceptions=True)
    assert runs.at[job_id] >= lease_until
    assert "stuck" in await workers(sessionmaker)


async def test_a_restart_takes_back_the_claims_of_the_process_it_replaces(
    beating: JobQueue, sessionmaker: Sessions
) -> None:
    runs = Runs()
    beating.register(KIND, runs)
    now = utcnow()
    # kill -9 a moment ago: its last beat is fresh, but its pid on this host is gone.
    await add_worker(sessionmaker, "killed", beat=now, host=HOST, pid=gone_pid())
    job_id = await add_claim(sessionmaker, "killed", now + LONG_LEASE)

    await beating.start()

    async def ran() -> bool:
        return job_id in runs.at

    await until(ran, timeout=5)
    assert runs.at[job_id] - now < timedelta(seconds=5)
    assert "killed" not in await workers(sessionmaker)


async def test_a_starting_process_leaves_alone_a_live_worker_elsewhere_except_on_sqlite(
    backend: str, beating: JobQueue, sessionmaker: Sessions
) -> None:
    runs = Runs()
    beating.register(KIND, runs)
    now = utcnow()
    # Beating, on another host. On PostgreSQL that is another cluster process; on SQLite (one process per file,
    # the file is local) it can only be an earlier process of this deployment, under another host name.
    await add_worker(sessionmaker, "elsewhere", beat=now + timedelta(seconds=30))
    job_id = await add_claim(sessionmaker, "elsewhere", now + LONG_LEASE)

    await beating.start()
    await asyncio.sleep(0.5)

    async with sessionmaker() as session:
        job = await session.get(ScheduledJob, job_id)
        assert job is not None
    if backend == "sqlite":
        assert (job.status, job.claimed_by) == (JobStatus.DONE, "survivor")
    else:
        assert (job.status, job.claimed_by) == (JobStatus.CLAIMED, "elsewhere")
        assert job_id not in runs.at


# -- time limits -------------------------------------------------------------------------------------------------


async def scheduled_now(queue: JobQueue, sessionmaker: Sessions, kind: str) -> int:
    async with sessionmaker.begin() as session:
        return (await queue.schedule(session, kind, {}, utcnow())).id


async def test_a_handler_past_its_kinds_time_limit_is_abandoned_and_retried_as_a_failure(
    queue: JobQueue, sessionmaker: Sessions
) -> None:
    attempts: list[int] = []
    errors_seen_by_retry: list[str | None] = []

    async def hangs_once(ctx: JobContext) -> dict[str, Any]:
        attempts.append(ctx.attempt)
        if ctx.attempt == 1:
            await asyncio.sleep(3600)  # a REST call that never answers
        # The retry may come at once (no backoff in these settings), so the reason is read from inside it.
        async with sessionmaker() as session:
            row = await session.get(ScheduledJob, job_id)
            errors_seen_by_retry.append(row.last_error if row is not None else None)
        return {"posted": True}

    queue.register(KIND, hangs_once, time_limit=timedelta(seconds=0.2))
    job_id = await scheduled_now(queue, sessionmaker, KIND)

    async with asyncio.timeout(10):
        await queue.run_due()
        while len(attempts) < 2:
            await queue.run_due()
            await asyncio.sleep(0.05)
    # The slot was given back after the limit, and the retry ran with the reason recorded on the row.
    assert attempts == [1, 2]
    assert len(errors_seen_by_retry) == 1
    assert "time limit of 0.2 s" in (errors_seen_by_retry[0] or "")
    async with sessionmaker() as session:
        job = await session.get(ScheduledJob, job_id)
        assert job is not None
        assert (job.status, job.attempts, job.result) == (JobStatus.DONE, 2, {"posted": True})


@pytest.mark.expect_error_log("failed on its last attempt")
async def test_the_default_time_limit_fails_a_handler_that_always_hangs(sessionmaker: Sessions) -> None:
    queue = JobQueue(sessionmaker, fast_settings(time_limit_seconds=0.1, max_attempts=2), worker_id="limited")

    async def hangs(ctx: JobContext) -> None:
        await asyncio.sleep(3600)

    queue.register(KIND, hangs)
    job_id = await scheduled_now(queue, sessionmaker, KIND)
    try:
        async with asyncio.timeout(10):
            while True:
                await queue.run_due()
                async with sessionmaker() as session:
                    job = await session.get(ScheduledJob, job_id)
                    assert job is not None
                if job.status == JobStatus.FAILED:
                    break
                await asyncio.sleep(0.05)
    finally:
        await queue.stop(timeout=1)
    assert job.attempts == 2
    assert "time limit of 0.1 s" in (job.last_error or "")


async def test_a_long_rate_limit_gives_the_worker_back_and_the_job_returns_after_it(
    queue: JobQueue, sessionmaker: Sessions
) -> None:
    async def limited(ctx: JobContext) -> None:
        # What discord.py raises instead of sleeping when a 429 asks for more than max_ratelimit_timeout.
        raise discord.RateLimited(600.0)

    queue.register(KIND, limited)
    job_id = await scheduled_now(queue, sessionmaker, KIND)
    started = utcnow()
    await queue.run_due()
    async with sessionmaker() as session:
        job = await session.get(ScheduledJob, job_id)
        assert job is not None
    assert job.status == JobStatus.PENDING
    assert job.due_at >= started + timedelta(seconds=600)
