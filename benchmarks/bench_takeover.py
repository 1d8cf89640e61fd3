"""Takeover between processes: two workers on one PostgreSQL, one killed, the survivor runs the dead one's jobs.

    python -m benchmarks.bench_takeover [--backend postgres|sqlite] [--jobs 400]

Two worker processes (tests/jobs/worker.py: the real JobQueue, production lease 60 s, sweep 15 s, heartbeat
every 2 s, dead after 5 silent beats) share jobs falling due 10 a second, each handler taking a second. One is killed
with SIGKILL while it holds claims. The figure is the time from the kill to the last of the jobs it held being
marked done by the survivor. Two cases: the processes on one host (the survivor sees the dead pid at its next
beat) and on two hosts (simulated: each names a host of its own, so only the silent heartbeat tells). The
baseline is the lease, which is what those claims waited before heartbeats. Goal: <= 15 s in both cases, each
job marked done once. Prints one JSON document on the last line of stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select

from benchmarks.common import ROOT, emit, fresh_database, quiet_logs, result
from labelbot.db import create_engine, utcnow
from labelbot.jobs import JobStatus, ScheduledJob
from tests.jobs.worker import KIND

GOAL_SECONDS = 15.0
LEASE_SECONDS = 60.0
SWEEP_SECONDS = 15.0
HANDLER_SECONDS = 1.0
# Jobs fall due at this pace, well within what one worker runs (20 at once, a second each): the figure is the
# takeover, not a backlog the survivor would have anyway.
JOBS_PER_SECOND = 10


async def run(backend: str, workdir: Path, jobs: int, *, two_hosts: bool) -> dict[str, Any]:
    async with fresh_database(backend, workdir) as url:
        engine = create_engine(url)
        now = utcnow()
        async with engine.begin() as connection:
            await connection.execute(
                insert(ScheduledJob),
                [
                    {"kind": KIND, "payload": {"n": n}, "due_at": due, "scheduled_for": due}
                    for n in range(jobs)
                    for due in [now + timedelta(seconds=n / JOBS_PER_SECOND)]
                ],
            )
        log_path = workdir / f"executions-{two_hosts}.log"
        names = ["victim", "survivor"]
        processes = []
        for name in names:
            host = ["--host", f"{name}-machine"] if two_hosts else []
            processes.append(
                await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    "tests.jobs.worker",
                    url,
                    str(log_path),
                    name,
                    "--lease",
                    str(LEASE_SECONDS),
                    "--sweep",
                    str(SWEEP_SECONDS),
                    "--handler-seconds",
                    str(HANDLER_SECONDS),
                    "--concurrency",
                    "20",
                    *host,
                    cwd=ROOT,
                    stdout=asyncio.subprocess.PIPE,
                )
            )
        victim = processes[0]
        held = select(ScheduledJob.id).where(
            ScheduledJob.status == JobStatus.CLAIMED, ScheduledJob.claimed_by == names[0]
        )
        try:
            async with asyncio.timeout(120):
                # Kill the victim while it holds claims, a few of its batches into the run.
                while True:
                    async with engine.connect() as connection:
                        victim_claims = set((await connection.execute(held)).scalars())
                        done = (
                            await connection.execute(select(func.count()).where(ScheduledJob.status == JobStatus.DONE))
                        ).scalar_one()
                    if victim_claims and done >= 40:
                        break
                    await asyncio.sleep(0.05)
                victim.send_signal(signal.SIGKILL)
                killed_at = time.perf_counter()
                await victim.wait()
                # What it held a moment before the kill; a claim taken in between shows up as a row it still holds.
                async with engine.connect() as connection:
                    victim_claims |= set((await connection.execute(held)).scalars())
                pending = select(func.count()).where(
                    ScheduledJob.id.in_(victim_claims), ScheduledJob.status != JobStatus.DONE
                )
                while True:
                    async with engine.connect() as connection:
                        if not (await connection.execute(pending)).scalar_one():
                            break
                    await asyncio.sleep(0.05)
                seconds = time.perf_counter() - killed_at
        finally:
            for process in processes:
                if process.returncode is None:
                    process.send_signal(signal.SIGTERM)
            for process in processes:
                await process.wait()
        async with engine.connect() as connection:
            finished_by = dict(
                (
                    await connection.execute(
                        select(ScheduledJob.id, ScheduledJob.claimed_by).where(ScheduledJob.id.in_(victim_claims))
                    )
                ).all()
            )
        await engine.dispose()
        runs: dict[int, list[str]] = {}
        for line in log_path.read_text().splitlines():
            job_id, worker = line.split()
            runs.setdefault(int(job_id), []).append(worker)
        return {
            "backend": backend,
            "hosts": 2 if two_hosts else 1,
            "jobs": jobs,
            "held_by_the_killed_one": len(victim_claims),
            "seconds": round(seconds, 2),
            "finished_by_the_survivor": sum(1 for worker in finished_by.values() if worker == names[1]),
            "run_by_the_survivor": sum(1 for job_id in victim_claims if names[1] in runs.get(job_id, [])),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="postgres")
    parser.add_argument("--jobs", type=int, default=300)
    args = parser.parse_args()
    quiet_logs()
    results = []
    for two_hosts in (False, True):
        with tempfile.TemporaryDirectory(prefix="bench-takeover-") as directory:
            figures = asyncio.run(run(args.backend, Path(directory), args.jobs, two_hosts=two_hosts))
        where = "two-hosts" if two_hosts else "one-host"
        results.append(
            result(
                f"takeover.{where}.{args.backend}",
                figures,
                baseline={"seconds": LEASE_SECONDS, "note": "the lease: what a dead worker's claims waited before"},
                ratios={"seconds_over_goal": round(figures["seconds"] / GOAL_SECONDS, 3)},
                goal=f"the killed worker's jobs done by the survivor <= {GOAL_SECONDS:g} s after the kill",
                passed=figures["seconds"] <= GOAL_SECONDS
                and figures["finished_by_the_survivor"] == figures["held_by_the_killed_one"],
            )
        )
    emit({"benchmark": "takeover", "backend": args.backend, "results": results})


if __name__ == "__main__":
    main()
