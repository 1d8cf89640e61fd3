"""Interaction latency: from the fake sending INTERACTION_CREATE to receiving the bot's callback.

    python -m benchmarks.bench_interactions [--quick] [--backend sqlite|postgres] [--target NAME ...] [--same-process]

Targets: `bare` (a bare discord.py bot answering /ping: the baseline, the floor for any discord.py bot),
`about`, `release_list` (10,000 releases in the database), `rsvp_click` (a party with 5,000 RSVPs) and
`fan_role_click` (a role-panel button). Each target runs in a fresh event loop with a fresh fake Discord and a
fresh database: 500 interactions one at a time (each waits for its answer before the next), then 200 at once.
`callback` is what Discord's 3-second deadline applies to; `answer` is when the member sees the final reply
(for deferred commands, the edit of the "thinking" message).

Each bot runs in a child process of its own (`labelbot run`, `benchmarks.common bare-bot`), as it would in
production, where Discord does not share its CPU: the fake's own work (its checks of every body against the
OpenAPI spec, its gateway) is then not charged to the bot. It is measured once its start-up chores are done, and
the CPU time it spent per interaction is read from /proc. `--same-process` runs each bot beside the fake instead.

Goals: Labelbot's callback p50 within 1.5x and p99 within 2x of the bare bot's; no interaction past 3 s.
Prints one JSON document on the last line of stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import discord
from sqlalchemy import event, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from benchmarks.common import (
    DISCORD_DEADLINE_S,
    INTENTS_ENV,
    BareBot,
    cpu_seconds,
    emit,
    fake_discord,
    fresh_database,
    latency_figures,
    quiet_logs,
    ratio,
    result,
    start_child,
    stop_bot,
    stop_child,
)
from labelbot.artists.models import Artist
from labelbot.catalog.models import Release, ReleaseStatus
from labelbot.db import utcnow
from labelbot.db.engine import create_engine, create_sessionmaker
from labelbot.gatherings.models import Gathering, GatheringRsvp
from tests.fakediscord import FakeDiscord, FakeGuild, FakeInteraction, FakeMessage, FakeUser
from tests.fakediscord.clientrun import running
from tests.harness import BotHarness

TARGETS = ["bare", "about", "release_list", "rsvp_click", "fan_role_click"]
# Rate-limit windows shrunk so role and card-edit buckets never hold the answers up: this measures the bot.
RATE_LIMIT_SCALE = 0.001
GOAL_P50 = 1.5
GOAL_P99 = 2.0
# What the member sees: the final answer of 200 simultaneous clicks (not only the acknowledgement), on SQLite.
ANSWER_TARGETS = ("rsvp_click", "fan_role_click")
GOAL_ANSWER_P99_MS = 1500.0
# How long the bot must have run no database statement before it is measured (start-up chores done).
SETTLE_SECONDS = 0.3
PRODUCTION_SETTINGS = {
    "LABELBOT_DATABASE__SESSION_GUARD": "warn",
    "LABELBOT_JOBS__SWEEP_SECONDS": "15",
    "LABELBOT_JOBS__LEASE_SECONDS": "60",
    "LABELBOT_JOBS__RETRY_BASE_SECONDS": "5",
}


@dataclass
class Sizes:
    sequential: int
    concurrent: int
    releases: int
    rsvps: int

    @classmethod
    def of(cls, quick: bool) -> Sizes:
        return cls(100, 50, 1000, 500) if quick else cls(500, 200, 10_000, 5_000)


Send = Callable[[int], Awaitable[FakeInteraction]]


async def measure(fake: FakeDiscord, send: Send, sizes: Sizes, pid: int | None = None) -> dict[str, Any]:
    """Sequential then concurrent rounds; callback and answer latencies, and the count past the deadline.

    With the bot in a child process (`pid`), also the CPU time it spent per interaction in each round.
    """
    out: dict[str, Any] = {}
    late = 0
    offset = 0
    for mode, count in (("sequential", sizes.sequential), ("concurrent", sizes.concurrent)):
        interactions: list[FakeInteraction] = []
        answers: list[float] = []

        async def one(ix: FakeInteraction, answers: list[float] = answers) -> None:
            await ix.reply(timeout=60)
            answers.append(time.monotonic() - ix.sent_at)

        cpu_before = cpu_seconds(pid) if pid is not None else 0.0
        if mode == "sequential":
            for i in range(count):
                ix = await send(offset + i)
                interactions.append(ix)
                await one(ix)
        else:
            interactions = list(await asyncio.gather(*(send(offset + i) for i in range(count))))
            await asyncio.gather(*(one(ix) for ix in interactions))
        offset += count
        callbacks = [ix.ack_latency if ix.ack_latency is not None else float("inf") for ix in interactions]
        late += sum(1 for ix in interactions if ix.late_callbacks or (ix.ack_latency or 99) > DISCORD_DEADLINE_S)
        out[mode] = {"callback": latency_figures(callbacks), "answer": latency_figures(answers)}
        if pid is not None:
            out[mode]["cpu_ms_per_interaction"] = round((cpu_seconds(pid) - cpu_before) * 1000 / count, 3)
    out["past_deadline"] = late
    out["rejected_requests"] = len(fake.rejected_requests)
    return out


def members(guild: FakeGuild, prefix: str, count: int) -> list[FakeUser]:
    return [guild.add_member(f"{prefix}{i}").user for i in range(count)]


# ---------------------------------------------------------------------------------------------------------------
# targets
# ---------------------------------------------------------------------------------------------------------------
@dataclass
class Arrangement:
    """Where the bot under test runs: a child process of its own (the default), or this process beside the fake."""

    child: bool
    backend: str
    workdir: Path


async def run_bare(sizes: Sizes, where: Arrangement) -> dict[str, Any]:
    async with fake_discord(rate_limit_scale=RATE_LIMIT_SCALE) as fake:
        guild = fake.add_guild("Midnight Tapes Records")
        channel = guild.add_channel("general")

        def ping(_: int) -> Awaitable[FakeInteraction]:
            return fake.slash(guild, channel, guild.owner, "ping")

        if where.child:
            env = {
                **os.environ,
                "LABELBOT_DISCORD__TOKEN": fake.token,
                "LABELBOT_DISCORD__API_BASE": fake.api_base,
                "LABELBOT_DISCORD__GATEWAY_URL": fake.gateway_url,
                "LABELBOT_DISCORD__GUILD_IDS": f"[{guild.id}]",
                INTENTS_ENV: str(discord.Intents.default().value),
            }
            command = [sys.executable, "-m", "benchmarks.common", "bare-bot"]
            with (where.workdir / "bare.log").open("wb") as log:
                process = start_child(command, env, log)
                try:
                    await fake.wait_until(lambda: fake.synced_commands(guild), 30, "the bare bot's commands")
                    await process_settled(process.pid)
                    return await measure(fake, ping, sizes, process.pid)
                finally:
                    await stop_child(process)
        client = BareBot([guild.id])
        async with running(fake, client):
            await fake.wait_until(lambda: fake.synced_commands(guild), 15, "the bare bot's commands")
            await asyncio.sleep(SETTLE_SECONDS)  # as long as Labelbot is given to settle, at least
            return await measure(fake, ping, sizes)


@dataclass
class Bench:
    """The fake with its label server, the bot pointed at it, and sessions on the bot's database for seeding."""

    h: BotHarness
    sessions: async_sessionmaker[AsyncSession]
    pid: int | None  # the bot's child process, if it runs in one


@contextlib.asynccontextmanager
async def labelbot(where: Arrangement) -> AsyncIterator[Bench]:
    async with (
        fake_discord(rate_limit_scale=RATE_LIMIT_SCALE) as fake,
        fresh_database(where.backend, where.workdir) as url,
    ):
        h = BotHarness(fake, url, where.workdir)
        h.extra_env["LABELBOT_LOGGING__LEVEL"] = "WARNING"
        # The bot paces to the same scaled global window as the fake (as bench_fan_roles does): unscaled, 200 role
        # changes wait out Discord's 50/s for 4 s whatever the bot does, which is Discord's floor, not the bot.
        h.extra_env["LABELBOT_DISCORD__GLOBAL_REQUESTS_PER_SECOND"] = str(round(50 / RATE_LIMIT_SCALE))
        # The bot as it runs in production, not as the tests tune it: the tests' 1 s job sweeps and 5 s leases, and
        # the strict session guard's stack of every session, are test machinery the bot would be charged for.
        h.extra_env.update(PRODUCTION_SETTINGS)
        if where.child:
            process = h.spawn()
            engine = create_engine(url)
            try:
                await fake.wait_until(lambda: fake.synced_commands(h.guild), 60, "Labelbot's commands")
                await process_settled(process.process.pid)
                yield Bench(h, create_sessionmaker(engine), process.process.pid)
            finally:
                await engine.dispose()
                await stop_bot(process)
            return
        await h.start()
        try:
            await settled(h)
            assert h.bot is not None
            yield Bench(h, h.bot.sessionmaker, None)
        finally:
            await h.stop()


async def process_settled(pid: int, quiet_for: float = SETTLE_SECONDS, timeout: float = 30.0) -> None:
    """Wait until the child has used next to no CPU for `quiet_for` seconds: its start-up chores are done.

    Right after READY Labelbot starts its job queue and looks for servers that removed it while it was down; the
    bare bot has no such chores, so measuring through them would charge Labelbot's start-up to its steady state.
    """
    deadline = time.monotonic() + timeout
    before = cpu_seconds(pid)
    while time.monotonic() < deadline:
        await asyncio.sleep(quiet_for)
        now = cpu_seconds(pid)
        if now - before < quiet_for * 0.05:
            return
        before = now
    raise TimeoutError(f"process {pid} was still busy after {timeout:g} s")


async def settled(h: BotHarness, quiet_for: float = SETTLE_SECONDS, timeout: float = 15.0) -> None:
    """In this process: wait until the job queue runs and the bot has run no database statement for a while.

    The in-process twin of `process_settled` (in one run, 85 of the first 500 `/about`s overlapped the start-up).
    """
    assert h.bot is not None
    bot = h.bot
    last = time.monotonic()

    def statement(*_args: Any) -> None:
        nonlocal last
        last = time.monotonic()

    event.listen(bot.engine.sync_engine, "before_cursor_execute", statement)
    try:
        await h.fake.wait_until(lambda: bot.jobs.running, timeout, "the job queue running")
        await h.fake.wait_until(lambda: time.monotonic() - last >= quiet_for, timeout, "the start-up chores done")
    finally:
        event.remove(bot.engine.sync_engine, "before_cursor_execute", statement)


async def command(h: BotHarness, path: str, /, **options: Any) -> str:
    from tests.fakediscord import interactions

    ix = await interactions.slash(h.fake, h.guild, h.general, h.moderator, path, options)
    reply = await ix.reply(timeout=30)
    return reply.text


async def run_about(sizes: Sizes, where: Arrangement) -> dict[str, Any]:
    async with labelbot(where) as bench:
        h = bench.h
        return await measure(h.fake, lambda i: h.fake.slash(h.guild, h.general, h.moderator, "about"), sizes, bench.pid)


async def seed_releases(bench: Bench, count: int) -> None:
    h = bench.h
    answer = await command(h, "artist-admin add", name="Nova")
    assert "Nova" in answer, answer
    async with bench.sessions.begin() as session:
        artist_id = await session.scalar(select(Artist.id).where(Artist.guild_id == h.guild.id))
        now = utcnow()
        rows = [
            {
                "guild_id": h.guild.id,
                "artist_id": artist_id,
                "title": f"Release {n}",
                "kind": "single",
                "release_at": now + timedelta(days=1, minutes=n),
                "zone": "UTC",
                "status": str(ReleaseStatus.SCHEDULED),
                "created_by": h.moderator.id,
                "created_at": now,
                "updated_at": now,
            }
            for n in range(count)
        ]
        for start in range(0, count, 2000):
            await session.execute(insert(Release), rows[start : start + 2000])


async def run_release_list(sizes: Sizes, where: Arrangement) -> dict[str, Any]:
    async with labelbot(where) as bench:
        h = bench.h
        await seed_releases(bench, sizes.releases)
        assert "Release 0" in await command(h, "release list")
        return await measure(
            h.fake, lambda i: h.fake.slash(h.guild, h.general, h.moderator, "release list"), sizes, bench.pid
        )


async def run_rsvp_click(sizes: Sizes, where: Arrangement) -> dict[str, Any]:
    async with labelbot(where) as bench:
        h = bench.h
        parties = h.guild.add_channel("listening-parties")
        await command(h, "settings channel", kind="parties", channel=parties)
        answer = await command(h, "party schedule", title="Bench", start="in 2 days", tracklist="A - 3:00")
        assert "Scheduled" in answer, answer
        card = next(m for m in h.fake.messages(parties) if any("party:rsvp:" in c for c in m.custom_ids))
        async with bench.sessions.begin() as session:
            gathering_id = await session.scalar(select(Gathering.id))
            now = utcnow()
            rows = [
                {"gathering_id": gathering_id, "user_id": 10**15 + n, "answer": "going" if n % 3 else "maybe"}
                | {"answered_at": now, "waitlisted": False, "wants_dm": False}
                for n in range(sizes.rsvps)
            ]
            for start in range(0, len(rows), 2000):
                await session.execute(insert(GatheringRsvp), rows[start : start + 2000])
        fans = members(h.guild, "fan", sizes.sequential + sizes.concurrent)
        custom_id = next(c for c in card.custom_ids if c.startswith("party:rsvp:going"))
        return await measure(
            h.fake, lambda i: h.fake.click(h.guild, parties, fans[i], card, custom_id), sizes, bench.pid
        )


async def run_fan_role_click(sizes: Sizes, where: Arrangement) -> dict[str, Any]:
    async with labelbot(where) as bench:
        h = bench.h
        role = h.guild.add_role("Nova fans")
        await command(h, "roles-admin panel create", name="Fans", style="buttons", mode="any")
        await command(h, "roles-admin panel add", panel="Fans", role=role)
        answer = await command(h, "roles-admin panel post", panel="Fans")
        assert "Posted" in answer, answer
        panel: FakeMessage = next(
            m for m in h.fake.messages(h.general) if any(c.startswith("fan_roles:toggle") for c in m.custom_ids)
        )
        # Fans press it in turn; each press gives or takes the role.
        fans = members(h.guild, "fan", 50)
        return await measure(
            h.fake,
            lambda i: h.fake.click(h.guild, h.general, fans[i % 50], panel, panel.custom_ids[0]),
            sizes,
            bench.pid,
        )


RUNNERS: dict[str, Callable[[Sizes, Arrangement], Coroutine[Any, Any, dict[str, Any]]]] = {
    "bare": run_bare,
    "about": run_about,
    "release_list": run_release_list,
    "rsvp_click": run_rsvp_click,
    "fan_role_click": run_fan_role_click,
}


def run_target(target: str, sizes: Sizes, backend: str, *, child: bool) -> dict[str, Any]:
    """One target in a fresh event loop and a fresh working directory."""
    with tempfile.TemporaryDirectory(prefix=f"bench-ix-{target}-") as directory:
        return asyncio.run(RUNNERS[target](sizes, Arrangement(child, backend, Path(directory))))


def compare(figures: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    base = figures["bare"]
    out = []
    for target, measured in figures.items():
        if target == "bare":
            continue
        ratios: dict[str, float] = {}
        passed = measured["past_deadline"] == 0 and measured["rejected_requests"] == 0
        for mode in ("sequential", "concurrent"):
            for q in ("p50_ms", "p99_ms"):
                r = ratio(measured[mode]["callback"][q], base[mode]["callback"][q])
                ratios[f"{mode}_callback_{q.removesuffix('_ms')}"] = r
                passed = passed and r <= (GOAL_P50 if q == "p50_ms" else GOAL_P99)
            ratios[f"{mode}_answer_p50"] = ratio(measured[mode]["answer"]["p50_ms"], base[mode]["answer"]["p50_ms"])
        out.append(
            result(
                f"interactions.{target}",
                measured,
                baseline=base,
                ratios=ratios,
                goal=f"callback p50 <= {GOAL_P50}x and p99 <= {GOAL_P99}x the bare bot; 0 past 3 s",
                passed=passed,
            )
        )
        if target in ANSWER_TARGETS:
            answer = measured["concurrent"]["answer"]
            out.append(
                result(
                    f"interactions.{target}.answer",
                    {**answer, "past_deadline": measured["past_deadline"]},
                    baseline=None,
                    ratios={"p99_over_goal": round(answer["p99_ms"] / GOAL_ANSWER_P99_MS, 3)},
                    goal=f"final answer of {answer['n']} simultaneous clicks: p99 < {GOAL_ANSWER_P99_MS:g} ms; 0 past 3 s",
                    passed=answer["p99_ms"] < GOAL_ANSWER_P99_MS and measured["past_deadline"] == 0,
                    notes="absolute goal: from the click to the member's final answer",
                )
            )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--target", action="append", choices=TARGETS)
    parser.add_argument(
        "--same-process",
        action="store_true",
        help="run each bot in the benchmark's process, beside the fake, instead of in a child process of its own",
    )
    args = parser.parse_args()
    quiet_logs()
    sizes = Sizes.of(args.quick)
    targets = args.target or TARGETS
    if "bare" not in targets:
        targets = ["bare", *targets]
    child = not args.same_process
    figures = {target: run_target(target, sizes, args.backend, child=child) for target in targets}
    arrangement = "each bot in a child process" if child else "each bot beside the fake, in one process"
    emit(
        {
            "benchmark": "interactions",
            "backend": args.backend,
            "arrangement": arrangement,
            "sizes": sizes.__dict__,
            "results": compare(figures),
        }
    )


if __name__ == "__main__":
    main()
