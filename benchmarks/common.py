"""Shared pieces of the benchmarks: figures, results, fresh databases, the fake Discord, and the bare bot baseline.

The bare bot is the floor for any discord.py bot: a `discord.Client` with one `/ping` command that answers at
once. Every comparison runs it in the same conditions as Labelbot (same fake, same loop arrangement, same guild).
Run it as a child process (for memory) with `python -m benchmarks.common bare-bot`, configured by the same
LABELBOT_DISCORD__* environment variables as Labelbot.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import discord
from discord import app_commands

# The bare bot runs this module as a child process: it must load nothing but discord.py, so everything else is
# imported where it is used.
if TYPE_CHECKING:
    from tests.fakediscord import FakeDiscord, FakeInteraction
    from tests.harness import BotProcess

ROOT = Path(__file__).resolve().parent.parent
DISCORD_DEADLINE_S = 3.0


# ---------------------------------------------------------------------------------------------------------------
# figures
# ---------------------------------------------------------------------------------------------------------------
def percentile(values: Iterable[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def latency_figures(seconds: list[float]) -> dict[str, float]:
    """p50/p95/p99/max in milliseconds."""
    ms = [s * 1000 for s in seconds]
    return {
        "n": len(ms),
        "p50_ms": round(percentile(ms, 0.50), 2),
        "p95_ms": round(percentile(ms, 0.95), 2),
        "p99_ms": round(percentile(ms, 0.99), 2),
        "max_ms": round(max(ms), 2) if ms else float("nan"),
        "mean_ms": round(statistics.fmean(ms), 2) if ms else float("nan"),
    }


def ratio(value: float, baseline: float) -> float:
    return round(value / baseline, 3) if baseline else float("inf")


def result(
    scenario: str,
    figures: dict[str, Any],
    *,
    baseline: dict[str, Any] | None,
    ratios: dict[str, float] | None,
    goal: str,
    passed: bool,
    notes: str = "",
) -> dict[str, Any]:
    """One scenario's entry in the JSON document."""
    return {
        "scenario": scenario,
        "figures": figures,
        "baseline": baseline,
        "ratio": ratios,
        "goal": goal,
        "pass": bool(passed),
        "notes": notes,
    }


def emit(document: Any) -> None:
    """Print the one JSON document a benchmark module answers with (the runner reads the last line)."""
    print(json.dumps(document, separators=(",", ":"), default=str), flush=True)


# ---------------------------------------------------------------------------------------------------------------
# databases and the fake
# ---------------------------------------------------------------------------------------------------------------
def backends() -> list[str]:
    from tests.databases import postgres_base_url

    return ["sqlite", "postgres"] if postgres_base_url() else ["sqlite"]


@contextlib.asynccontextmanager
async def fresh_database(backend: str, workdir: Path) -> AsyncIterator[str]:
    """A migrated database only this run uses (PostgreSQL ones are dropped afterwards)."""
    from tests.databases import DatabaseFactory

    factory = DatabaseFactory(workdir)
    try:
        yield await factory.url(backend)
    finally:
        if backend == "postgres":
            await factory.drop_all()


@contextlib.asynccontextmanager
async def fake_discord(**kwargs: Any) -> AsyncIterator[FakeDiscord]:
    from tests.fakediscord import FakeDiscord
    from tests.fakediscord.pytest_plugin import discord_py_pointed_at

    fake = FakeDiscord(**kwargs)
    await fake.start()
    try:
        with discord_py_pointed_at(fake):
            yield fake
    finally:
        await fake.stop()


def quiet_logs() -> None:
    import logging

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    for name in ("apscheduler", "discord", "labelbot"):
        logging.getLogger(name).setLevel(logging.ERROR)


async def callback_latencies(interactions: list[FakeInteraction], timeout: float = 30.0) -> list[float]:
    """Seconds from the fake sending each interaction to receiving its first callback."""
    await asyncio.gather(*(ix.wait_callback(timeout) for ix in interactions))
    return [ix.ack_latency if ix.ack_latency is not None else float("inf") for ix in interactions]


def rss_kib(pid: int) -> int:
    """Resident set size of a process, in KiB (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def start_child(command: list[str], env: dict[str, str], log: IO[bytes]) -> subprocess.Popen[bytes]:
    """A bot under test as a child process, its output in `log`."""
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


async def stop_child(process: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    """SIGTERM, and SIGKILL if it does not stop in time (a figure is never lost to a slow shutdown)."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        await asyncio.to_thread(process.wait, timeout)
    except subprocess.TimeoutExpired:
        process.kill()


async def stop_bot(process: BotProcess, timeout: float = 30.0) -> None:
    """The same for a `labelbot run` child of the test harness."""
    if process.process.poll() is not None:
        return
    try:
        await process.terminate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User and system CPU time a process has used so far (Linux), 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0
    # utime and stime are fields 14 and 15 of stat; fields[0] here is field 3.
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


# ---------------------------------------------------------------------------------------------------------------
# the bare discord.py bot
# ---------------------------------------------------------------------------------------------------------------
class BareBot(discord.Client):
    """The floor: discord.py with one `/ping` that answers at once, synced to the given guilds."""

    def __init__(self, guild_ids: list[int], intents: discord.Intents | None = None) -> None:
        super().__init__(intents=intents or discord.Intents.default(), guild_ready_timeout=0.1)
        self.tree = app_commands.CommandTree(self)
        self.guild_ids = guild_ids

        @self.tree.command(name="ping", description="Answer pong.")
        async def ping(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("pong", ephemeral=True)

    async def setup_hook(self) -> None:
        for guild_id in self.guild_ids:
            guild = discord.Object(guild_id)
            self.tree.copy_global_to(guild=guild)
            await self.tree.sync(guild=guild)


def labelbot_intents() -> discord.Intents:
    from labelbot.client import intents

    return intents()


INTENTS_ENV = "BENCH_BARE_BOT_INTENTS"


async def _run_bare_bot_from_environment() -> None:
    """`python -m benchmarks.common bare-bot`: the bare bot as a child process, until SIGTERM."""
    import signal

    import yarl

    discord.http.Route.BASE = os.environ["LABELBOT_DISCORD__API_BASE"]
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(os.environ["LABELBOT_DISCORD__GATEWAY_URL"])
    guild_ids = json.loads(os.environ.get("LABELBOT_DISCORD__GUILD_IDS", "[]"))
    client = BareBot(guild_ids, discord.Intents._from_value(int(os.environ[INTENTS_ENV])))
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    task = asyncio.create_task(client.start(os.environ["LABELBOT_DISCORD__TOKEN"]))
    await stop.wait()
    await client.close()
    with contextlib.suppress(Exception):
        await task


def wall() -> float:
    return time.perf_counter()


if __name__ == "__main__":
    if sys.argv[1:] == ["bare-bot"]:
        asyncio.run(_run_bare_bot_from_environment())
    else:
        raise SystemExit("usage: python -m benchmarks.common bare-bot")
