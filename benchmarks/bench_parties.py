"""Listening-party prompt lateness: how long after its moment each "press play" and track prompt was posted.

Runs the real bot against the fake Discord: a few parties with short tracks start together, and for every start
and track job the time the fake received the prompt (from its message id's timestamp) is compared with the
moment the job was due. Goal: p99 under 500 ms. `python -m benchmarks.bench_parties [--quick] [--backend …]`.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from benchmarks.bench_interactions import Arrangement, Bench, command, labelbot
from benchmarks.common import emit, latency_figures, quiet_logs, result
from labelbot.jobs import JobStatus, ScheduledJob
from tests.fakediscord.state import snowflake_time

GOAL_P99_MS = 500.0
PROMPT_KINDS = ("party.start", "party.track")
TRACK_SECONDS = 2


async def posted_lateness(bench: Bench) -> list[float]:
    """Seconds from each prompt job's moment to its message reaching Discord."""
    async with bench.sessions() as session:
        jobs = await session.scalars(
            select(ScheduledJob).where(ScheduledJob.kind.in_(PROMPT_KINDS), ScheduledJob.status == JobStatus.DONE)
        )
        found: list[tuple[datetime, list[int]]] = [
            (job.scheduled_for, [int(i) for i in ((job.result or {}).get("messages") or {}).values()]) for job in jobs
        ]
    return [
        (snowflake_time(message_id) - due).total_seconds() for due, message_ids in found for message_id in message_ids
    ]


async def run(backend: str, parties: int, tracks: int, workdir: Path) -> dict[str, Any]:
    async with labelbot(Arrangement(child=False, backend=backend, workdir=workdir)) as bench:
        h = bench.h
        await command(h, "settings channel", kind="parties", channel=h.general)
        tracklist = " | ".join(f"Track {n:02d} - 0:{TRACK_SECONDS:02d}" for n in range(1, tracks + 1))
        for number in range(parties):
            answer = await command(
                h,
                "party schedule",
                start="in 12s",
                title=f"Bench party {number}",
                tracklist=tracklist,
                reminders="none",
            )
            assert "Bench party" in answer or "scheduled" in answer.lower(), answer
        expected = parties * (tracks + 1)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 12 + tracks * TRACK_SECONDS + 30
        while len(seconds := await posted_lateness(bench)) < expected and loop.time() < deadline:
            await asyncio.sleep(0.5)
        return {"prompts": len(seconds), "expected": expected, **latency_figures(seconds)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    args = parser.parse_args()
    quiet_logs()
    parties, tracks = (2, 4) if args.quick else (3, 10)
    with tempfile.TemporaryDirectory() as workdir:
        figures = asyncio.run(run(args.backend, parties, tracks, Path(workdir)))
    passed = figures["prompts"] == figures["expected"] and figures["p99_ms"] < GOAL_P99_MS
    emit(
        {
            "benchmark": "parties",
            "backend": args.backend,
            "results": [
                result(
                    f"parties.prompt_lateness.{args.backend}",
                    figures,
                    baseline=None,
                    ratios={"p99_over_goal": round(figures["p99_ms"] / GOAL_P99_MS, 3)},
                    goal=f"p99 < {GOAL_P99_MS:g} ms, every prompt posted",
                    passed=passed,
                    notes=f"{parties} parties of {tracks} tracks of {TRACK_SECONDS} s, started together",
                )
            ],
        }
    )


if __name__ == "__main__":
    main()
