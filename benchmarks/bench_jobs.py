"""Job queue figures: how late jobs fire, and how long startup takes with a large backlog.

    python -m benchmarks.bench_jobs [--backend sqlite|postgres] [--jobs 1000] [--window 60] [--rows 10000]

Prints one JSON document. Goals: lateness p99 < 250 ms, startup < 2 s on SQLite. PostgreSQL uses a database
created on LABELBOT_TEST_POSTGRES_URL for the run and dropped afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import delete, insert
from sqlalchemy.engine import make_url

from labelbot.config import JobSettings
from labelbot.db import create_engine, create_sessionmaker, utcnow
from labelbot.db.migrate import upgrade
from labelbot.jobs import JobContext, JobQueue, ScheduledJob

GOAL_P99_MS = 250.0
GOAL_STARTUP_MS = 2000.0


@contextlib.asynccontextmanager
async def temporary_database(backend: str) -> AsyncIterator[str]:
    """A migrated database that exists only for this run."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="bench-jobs-") as directory:
            url = f"sqlite+aiosqlite:///{Path(directory) / 'bench.db'}"
            await _migrate(url)
            yield url
        return
    base = os.environ.get("LABELBOT_TEST_POSTGRES_URL")
    if not base:
        raise SystemExit("--backend postgres needs LABELBOT_TEST_POSTGRES_URL")
    name = f"labelbot_bench_{uuid.uuid4().hex[:10]}"
    await _admin(base, f'CREATE DATABASE "{name}"')
    try:
        url = make_url(base).set(database=name).render_as_string(hide_password=False)
        await _migrate(url)
        yield url
    finally:
        await _admin(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _migrate(url: str) -> None:
    engine = create_engine(url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()


async def _admin(base: str, sql: str) -> None:
    url = make_url(base)
    connection = await asyncpg.connect(
        host=url.host, port=url.port or 5432, user=url.username, password=url.password, database=url.database
    )
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


def _percentile(sorted_values: list[float], fraction: float) -> float:
    index = min(len(sorted_values) - 1, max(0, round(fraction * (len(sorted_values) - 1))))
    return sorted_values[index]


async def measure_lateness(url: str, jobs: int, window: float) -> dict[str, Any]:
    """Schedule `jobs` no-op jobs due at random moments within `window` seconds; return fire-minus-due figures."""
    engine = create_engine(url)
    sessionmaker = create_sessionmaker(engine)
    # Default settings: the sweep (every 15 s) must not be what fires jobs on time; the alarms must.
    queue = JobQueue(sessionmaker, JobSettings())
    lateness_ms: list[float] = []
    all_ran = asyncio.Event()

    async def no_op(ctx: JobContext) -> None:
        lateness_ms.append((utcnow() - ctx.due_at).total_seconds() * 1000)
        if len(lateness_ms) == jobs:
            all_ran.set()

    queue.register("bench.noop", no_op)
    await queue.start()
    try:
        # Far enough ahead that all jobs are scheduled before the first comes due: this measures firing, not a
        # burst of inserts racing the alarms.
        start = utcnow() + timedelta(seconds=max(3.0, jobs * 0.006))
        began = time.perf_counter()
        # Commands schedule a few jobs each; batches of 20 per transaction stand in for that.
        for batch in range(0, jobs, 20):
            async with sessionmaker.begin() as session:
                for _ in range(min(20, jobs - batch)):
                    due = start + timedelta(seconds=random.uniform(0, window))
                    await queue.schedule(session, "bench.noop", {}, due)
        scheduling_ms = (time.perf_counter() - began) * 1000
        if utcnow() > start:
            print("warning: scheduling overran the start of the window", file=sys.stderr)
        await asyncio.wait_for(all_ran.wait(), timeout=window + 60)
    finally:
        await queue.stop()
        await engine.dispose()
    ordered = sorted(lateness_ms)
    return {
        "jobs": jobs,
        "window_s": window,
        "p50_ms": round(_percentile(ordered, 0.50), 1),
        "p95_ms": round(_percentile(ordered, 0.95), 1),
        "p99_ms": round(_percentile(ordered, 0.99), 1),
        "max_ms": round(ordered[-1], 1),
        "mean_ms": round(statistics.fmean(ordered), 1),
        "schedule_ms_per_job": round(scheduling_ms / jobs, 2),
    }


async def measure_startup(url: str, rows: int, spread: timedelta) -> dict[str, Any]:
    """Time JobQueue.start() (from call until alarms are armed) with `rows` pending jobs due within `spread`."""
    engine = create_engine(url)
    now = utcnow()
    async with engine.begin() as connection:
        await connection.execute(delete(ScheduledJob))
        for chunk in range(0, rows, 2000):
            batch = []
            for _ in range(min(2000, rows - chunk)):
                due = now + timedelta(seconds=60) + spread * random.random()
                batch.append({"kind": "bench.noop", "payload": {"release_id": 1}, "due_at": due, "scheduled_for": due})
            await connection.execute(insert(ScheduledJob), batch)
    await engine.dispose()

    # A fresh engine and queue, as after a restart.
    engine = create_engine(url)
    queue = JobQueue(create_sessionmaker(engine), JobSettings())
    queue.register("bench.noop", _never_runs)
    began = time.perf_counter()
    await queue.start()
    elapsed_ms = (time.perf_counter() - began) * 1000
    armed = len(queue.alarm_times())
    await queue.stop()
    await engine.dispose()
    return {
        "pending_rows": rows,
        "due_within_h": spread.total_seconds() / 3600,
        "armed": armed,
        "ms": round(elapsed_ms),
    }


async def _never_runs(ctx: JobContext) -> None:
    raise AssertionError("startup benchmark jobs are never due")


async def run(backend: str, jobs: int, window: float, rows: int) -> dict[str, Any]:
    async with temporary_database(backend) as url:
        lateness = await measure_lateness(url, jobs, window)
        startup = await measure_startup(url, rows, timedelta(hours=24))
        startup_dense = await measure_startup(url, rows, timedelta(hours=1))
    return {
        "benchmark": "jobs",
        "backend": backend,
        "python": sys.version.split()[0],
        "lateness": lateness,
        "startup": startup,
        "startup_all_within_an_hour": startup_dense,
        "goals": {"lateness_p99_ms": GOAL_P99_MS, "startup_ms": GOAL_STARTUP_MS},
        "met": lateness["p99_ms"] < GOAL_P99_MS and max(startup["ms"], startup_dense["ms"]) < GOAL_STARTUP_MS,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--window", type=float, default=60.0, help="seconds over which the jobs come due")
    parser.add_argument("--rows", type=int, default=10_000, help="pending rows for the startup measurement")
    arguments = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    # APScheduler logs every alarm at INFO.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    figures = asyncio.run(run(arguments.backend, arguments.jobs, arguments.window, arguments.rows))
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
