"""Memory: resident set size of the bot connected to a server of 100,000 members, against the bare bot.

    python -m benchmarks.bench_memory [--quick] [--backend sqlite|postgres]

Each bot runs as its own child process (`python -m labelbot run`, and `python -m benchmarks.common bare-bot` with
the same intents as Labelbot) against the same fake Discord, connected to a server whose member_count is
100,000 (the members themselves are not sent: a large guild). RSS is read from /proc once the bot is ready and
has settled, as the median of a few samples. The same is measured with a 10-member server, so the figures show
both what the bot costs at all and what a large server adds. Goal: Labelbot within 1.3x of the bare bot.
Prints one JSON document on the last line of stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.common import (
    INTENTS_ENV,
    emit,
    fake_discord,
    fresh_database,
    labelbot_intents,
    quiet_logs,
    ratio,
    result,
    rss_kib,
    start_child,
    stop_child,
)
from tests.harness import BotHarness

GOAL = 1.3
LARGE = 100_000


async def measure(kind: str, member_count: int, backend: str, workdir: Path, settle: float) -> dict[str, Any]:
    async with fake_discord() as fake, fresh_database(backend, workdir) as url:
        h = BotHarness(fake, url, workdir)
        h.guild.member_count = member_count
        env = {
            **os.environ,
            **h.env(),
            "LABELBOT_LOGGING__LEVEL": "WARNING",
            INTENTS_ENV: str(labelbot_intents().value),
        }
        command = [sys.executable, "-m", "labelbot", "run"] if kind == "labelbot" else [
            sys.executable, "-m", "benchmarks.common", "bare-bot",
        ]  # fmt: skip
        log = (workdir / f"{kind}.log").open("wb")
        process = start_child(command, env, log)
        try:
            await fake.wait_until_connected(timeout=60)
            await fake.wait_until(lambda: fake.synced_commands(h.guild), 60, "commands synced")
            await asyncio.sleep(settle)
            samples = []
            for _ in range(5):
                samples.append(rss_kib(process.pid))
                await asyncio.sleep(0.2)
        finally:
            await stop_child(process)
            log.close()
        return {"member_count": member_count, "rss_mib": round(statistics.median(samples) / 1024, 1)}


def run(kind: str, member_count: int, backend: str, settle: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix=f"bench-memory-{kind}-") as directory:
        return asyncio.run(measure(kind, member_count, backend, Path(directory), settle))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    args = parser.parse_args()
    quiet_logs()
    settle = 1.0 if args.quick else 3.0
    figures = {
        kind: {size: run(kind, size, args.backend, settle) for size in (10, LARGE)} for kind in ("bare", "labelbot")
    }
    bot_large, bare_large = figures["labelbot"][LARGE]["rss_mib"], figures["bare"][LARGE]["rss_mib"]
    bot_added = round(bot_large - figures["labelbot"][10]["rss_mib"], 1)
    bare_added = round(bare_large - figures["bare"][10]["rss_mib"], 1)
    r = ratio(bot_large, bare_large)
    emit(
        {
            "benchmark": "memory",
            "backend": args.backend,
            "results": [
                result(
                    "memory.large_guild",
                    {
                        "rss_mib": bot_large,
                        "rss_mib_small_guild": figures["labelbot"][10]["rss_mib"],
                        "added_by_large_guild_mib": bot_added,
                    },
                    baseline={
                        "rss_mib": bare_large,
                        "rss_mib_small_guild": figures["bare"][10]["rss_mib"],
                        "added_by_large_guild_mib": bare_added,
                    },
                    ratios={"rss": r},
                    goal=f"RSS <= {GOAL}x the bare discord.py bot, both connected to a {LARGE:,}-member server",
                    passed=r <= GOAL,
                    notes="the bare bot imports only discord.py; Labelbot also loads SQLAlchemy, APScheduler, "
                    "aiohttp's server, dateparser, icalendar and prometheus-client",
                )
            ],
        }
    )


if __name__ == "__main__":
    main()
