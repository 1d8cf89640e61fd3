"""Several worker processes on one database, one of them killed midway: nothing lost, each job marked done once."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections import Counter, defaultdict
from pathlib import Path

import pytest
from sqlalchemy import Select, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from labelbot.db import utcnow
from labelbot.jobs import JobStatus, ScheduledJob
from tests.jobs.worker import KIND

REPO = Path(__file__).resolve().parents[2]

# Every change of status or owner, written by the database itself, so the test sees each mark exactly once.
TRANSITIONS_SQL = {
    "postgresql": [
        """CREATE TABLE job_transitions (
               id BIGSERIAL PRIMARY KEY, job_id BIGINT, old_status TEXT, new_status TEXT, claimed_by TEXT)""",
        """CREATE FUNCTION log_job_transition() RETURNS trigger AS $$
           BEGIN
               INSERT INTO job_transitions (job_id, old_status, new_status, claimed_by)
               VALUES (NEW.id, OLD.status, NEW.status, NEW.claimed_by);
               RETURN NEW;
           END $$ LANGUAGE plpgsql""",
        """CREATE TRIGGER job_transitions AFTER UPDATE ON scheduled_jobs FOR EACH ROW
           WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.claimed_by IS DISTINCT FROM NEW.claimed_by)
           EXECUTE FUNCTION log_job_transition()""",
    ],
    "sqlite": [
        """CREATE TABLE job_transitions (
               id INTEGER PRIMARY KEY, job_id INTEGER, old_status TEXT, new_status TEXT, claimed_by TEXT)""",
        """CREATE TRIGGER job_transitions AFTER UPDATE ON scheduled_jobs
           WHEN OLD.status IS NOT NEW.status OR OLD.claimed_by IS NOT NEW.claimed_by
           BEGIN
               INSERT INTO job_transitions (job_id, old_status, new_status, claimed_by)
               VALUES (NEW.id, OLD.status, NEW.status, NEW.claimed_by);
           END""",
    ],
}


async def scalar_int(engine: AsyncEngine, statement: Select[tuple[int]]) -> int:
    async with engine.connect() as connection:
        return int((await connection.execute(statement)).scalar_one())


@pytest.mark.slow
async def test_workers_share_jobs_and_a_killed_one_loses_nothing(
    backend: str, database_url: str, engine: AsyncEngine, tmp_path: Path
) -> None:
    # PostgreSQL: the deployment with shard clusters; SQLite: a second process on one file (cheap to check too).
    # Each worker claims a batch of jobs in one statement (batch claims), so the run is a few dozen claims.
    workers, jobs = (3, 2000) if backend == "postgres" else (2, 400)
    async with engine.begin() as connection:
        for statement in TRANSITIONS_SQL[engine.dialect.name]:
            await connection.execute(text(statement))
    log_path = tmp_path / "executions.log"
    names = [f"worker-{n}" for n in range(workers)]
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.jobs.worker",
            database_url,
            str(log_path),
            name,
            # Longer than any hiccup of a live worker on a busy machine (else it loses its claim mid-run, which the
            # assertions below would count as a repeat), short enough for the victim's claims to come back quickly.
            "--lease",
            "3.0",
            # The victim's handlers take a second, so it always holds claims when the test looks: with fast handlers
            # a busy machine could see it holding none until every job was done, and there was no kill to test.
            # The survivors take small batches: with the victim's second-long handlers, that leaves work for it to
            # hold whichever process a busy machine schedules first.
            *(["--handler-seconds", "1.0"] if name == names[0] else ["--concurrency", "20"]),
            cwd=REPO,
            stdout=asyncio.subprocess.PIPE,
        )
        for name in names
    ]
    victim, survivors = processes[0], processes[1:]
    done = select(func.count()).select_from(ScheduledJob).where(ScheduledJob.status == JobStatus.DONE)
    held_by_victim = (
        select(func.count())
        .select_from(ScheduledJob)
        .where(ScheduledJob.status == JobStatus.CLAIMED, ScheduledJob.claimed_by == names[0])
    )
    try:
        # The jobs come due only once every worker is up: a worker that a busy machine started late would otherwise find
        # the table already done, and a victim holding nothing leaves no kill to test.
        async with asyncio.timeout(60):
            for process in processes:
                assert process.stdout is not None
                assert await process.stdout.readline() == b"ready\n"
        async with engine.begin() as connection:
            now = utcnow()
            await connection.execute(
                insert(ScheduledJob),
                [{"kind": KIND, "payload": {"n": n}, "due_at": now, "scheduled_for": now} for n in range(jobs)],
            )
        async with asyncio.timeout(60):
            # Kill the victim while it is holding claims, some way into the run.
            while not (await scalar_int(engine, done) >= jobs // 4 and await scalar_int(engine, held_by_victim) > 0):
                await asyncio.sleep(0.01)
            victim.send_signal(signal.SIGKILL)
            await victim.wait()
            while await scalar_int(engine, done) < jobs:
                await asyncio.sleep(0.1)
    finally:
        for process in processes:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            await process.wait()
    assert [process.returncode for process in survivors] == [0] * len(survivors)

    async with engine.connect() as connection:
        statuses = Counter((await connection.execute(select(ScheduledJob.status))).scalars())
        transitions = (
            await connection.execute(
                text("SELECT job_id, old_status, new_status, claimed_by FROM job_transitions ORDER BY id")
            )
        ).all()
    executions: dict[int, list[str]] = defaultdict(list)
    for line in log_path.read_text().splitlines():
        job_id, worker = line.split()
        executions[int(job_id)].append(worker)
    marked_done: dict[int, list[str]] = defaultdict(list)
    claimed: dict[int, list[str]] = defaultdict(list)
    for job_id, _old, new, claimed_by in transitions:
        if new == JobStatus.DONE:
            marked_done[job_id].append(claimed_by)
        if new == JobStatus.CLAIMED:
            claimed[job_id].append(claimed_by)

    assert statuses == {JobStatus.DONE: jobs}
    all_ids = set(claimed)
    assert len(all_ids) == jobs
    # Zero lost, each marked done exactly once.
    assert {job_id for job_id in all_ids if executions[job_id]} == all_ids
    assert {job_id: len(by) for job_id, by in marked_done.items() if len(by) != 1} == {}
    assert set(marked_done) == all_ids
    # A job ran twice only when the killed worker started it and never finished it.
    for job_id in all_ids:
        ran = executions[job_id]
        repeats = len(ran) - 1
        killed_unfinished = names[0] in ran and marked_done[job_id] != [names[0]]
        assert repeats == int(killed_unfinished), (job_id, ran, marked_done[job_id], claimed[job_id])
    # The kill really left claims behind, and their expired leases were taken over.
    recovered = [job_id for job_id, owners in claimed.items() if names[0] in owners[:-1]]
    assert recovered
    assert all(marked_done[job_id][0] != names[0] for job_id in recovered)
