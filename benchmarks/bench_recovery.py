"""Recovery after `kill -9`: announcements due at the embargo minute, the bot killed after the first is posted.

    python -m benchmarks.bench_recovery [--backend sqlite|postgres]

Twenty releases on ten label servers fall due in four bursts over four seconds (the scenario of
tests/e2e/test_crash.py, whose helpers this reuses). The bot runs as a child process with the production lease
(60 s); it is killed with SIGKILL after the first announcement is out and started again at once. The figure is the
time from the restarted process being ready (its job queue started) to the last announcement. The same-run
baseline is the same twenty announcements without a crash: the time from the last one's due moment to its post.
Goal: <= 5 s (before heartbeats it was 64-65 s: the dead process's claims waited for their lease). Prints one JSON
document on the last line of stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

from benchmarks.common import emit, fake_discord, fresh_database, quiet_logs, result
from labelbot.db import utcnow
from tests.e2e.test_crash import LABELS, RELEASES, _announcements, _ready, _seed_releases
from tests.fakediscord import ChannelType, FakeChannel
from tests.harness import BotHarness

GOAL_SECONDS = 5.0


async def run(backend: str, workdir: Path, *, crash: bool) -> dict[str, Any]:
    async with fake_discord() as fake, fresh_database(backend, workdir) as url:
        harness = BotHarness(fake, url, workdir)
        harness.extra_env["LABELBOT_JOBS__LEASE_SECONDS"] = "60"
        harness.extra_env["LABELBOT_LOGGING__LEVEL"] = "INFO"
        channels: list[FakeChannel] = []
        for n in range(LABELS):
            guild = harness.guild if n == 0 else fake.add_guild(f"Label {n}")
            channels.append(guild.add_channel("announcements", type=ChannelType.text))
        first = harness.spawn()
        processes = [first]
        try:
            await _ready(harness, first)
            first_due = utcnow() + timedelta(seconds=2)
            await _seed_releases(harness, channels, first_due)
            last_due = first_due + timedelta(seconds=(RELEASES - 1) // 5)
            if crash:
                await harness.wait_until(lambda: len(_announcements(harness, channels)) >= 1, timeout=30)
                first.kill()
                before_crash = len(_announcements(harness, channels))
                second = harness.spawn()
                processes.append(second)
                since = await _ready(harness, second)
            else:
                before_crash = None
                since = last_due
            await harness.wait_until(lambda: len(_announcements(harness, channels)) >= RELEASES, timeout=120)
            posted = _announcements(harness, channels)
            seconds = (max(message.created_at for message in posted) - since).total_seconds()
            titles = Counter(embed["title"] for message in posted for embed in message.embeds)
        finally:
            for process in processes:
                if process.process.returncode is None:
                    await process.terminate()
        return {
            "backend": backend,
            "announcements": RELEASES,
            "posted_before_the_kill": before_crash,
            "seconds": round(max(seconds, 0.0), 3),
            "duplicates": sum(count - 1 for count in titles.values()),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    args = parser.parse_args()
    quiet_logs()
    with tempfile.TemporaryDirectory(prefix="bench-recovery-") as directory:
        baseline = asyncio.run(run(args.backend, Path(directory), crash=False))
    with tempfile.TemporaryDirectory(prefix="bench-recovery-") as directory:
        figures = asyncio.run(run(args.backend, Path(directory), crash=True))
    emit(
        {
            "benchmark": "recovery",
            "backend": args.backend,
            "results": [
                result(
                    f"recovery.kill9.{args.backend}",
                    figures,
                    baseline={"seconds": baseline["seconds"], "note": "no crash: last due moment to its post"},
                    ratios={"seconds_over_goal": round(figures["seconds"] / GOAL_SECONDS, 3)},
                    goal=f"every announcement out <= {GOAL_SECONDS:g} s after the restart is ready; nothing twice",
                    passed=figures["seconds"] <= GOAL_SECONDS and figures["duplicates"] == 0,
                )
            ],
        }
    )


if __name__ == "__main__":
    main()
