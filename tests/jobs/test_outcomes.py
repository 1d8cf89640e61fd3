"""A worker renewing its leases while it records outcomes: both touch the same rows, and neither waits for the other
forever (PostgreSQL would end one of them as a deadlock victim, and a job whose outcome is lost runs twice)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from labelbot.db import utcnow
from labelbot.jobs import JobStatus, ScheduledJob
from labelbot.jobs.store import JobStore

JOBS = 400


async def test_outcomes_recorded_while_the_leases_are_renewed_are_all_recorded(engine: AsyncEngine) -> None:
    now = utcnow()
    async with engine.begin() as connection:
        await connection.execute(
            insert(ScheduledJob), [{"kind": "k", "payload": {}, "due_at": now, "scheduled_for": now}] * JOBS
        )
    store = JobStore(engine, "w", lease=timedelta(seconds=60), dead_after=timedelta(seconds=10))
    claims = await store.claim(["k"], JOBS)
    assert len(claims) == JOBS
    ids = [claim.id for claim in claims]

    async def renew_all_the_while() -> None:
        for _ in range(10):
            await store.renew(ids)
            await asyncio.sleep(0)

    # Outcomes come in the order handlers finish: here the reverse of the rows' order, in batches of many rows.
    renewing = asyncio.create_task(renew_all_the_while())
    recorded = await asyncio.gather(*(store.finish(claim, JobStatus.DONE) for claim in reversed(claims)))
    await renewing
    assert all(row is not None for row in recorded)
    async with engine.connect() as connection:
        done = await connection.scalar(
            select(func.count()).select_from(ScheduledJob).where(ScheduledJob.status == JobStatus.DONE)
        )
    assert done == JOBS
