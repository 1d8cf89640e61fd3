"""A label network: two bot processes (shard_count 4) behind the REST proxy, one PostgreSQL, the fake's 5,000 servers.

    python -m benchmarks.bench_cluster [--servers 5000] [--labels 1000] [--memory-servers 1000]
        [--proxy-per-second 47] [--proxy-offset-ms 100] [--concurrency 100] [--burst-only] [--no-baseline]

Opt-in (`make bench BENCH_ARGS=--cluster`): it needs PostgreSQL (LABELBOT_TEST_POSTGRES_URL) and node with the
proxy's packages (`make proxy`), and takes a few minutes. Three figures:
- burst: one release on each of `labels` servers comes due at the same moment; the time from then to the last
  announcement, against the minimum the global limit allows for the REST requests the fake received meanwhile
  (requests / 50 per second). Goal <= 1.2x. Global 429s answered by the fake are counted too (goal 0).
  The proxy runs as deploy/compose.cluster.yaml runs it (GLOBAL_PER_SECOND 47, OFFSET_MS 100: at most 42.7
  requests/s, 1.17x the minimum) unless told otherwise; the e2e test runs it at half the limit
  (tests/e2e/test_cluster.py says why), which alone would make the burst take 2.2x its minimum.
  Where the time goes: the CPU seconds each part used during the burst (the bot processes, the proxy, and this
  process, which is the fake Discord), and `cpu_bound_seconds`, that CPU over the machine's cores: the least wall
  time the burst's work could take here even with the machine to itself.
- startup: from starting both processes to both being ready (job queues started, all four shards connected).
- memory: RSS per cached server of one process with `memory-servers` servers of 60 channels and 30 roles each
  (no member cache), against the same process with one server. Goal <= 40 KiB.
Prints one JSON document on the last line of stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

from benchmarks.common import (
    cpu_seconds,
    emit,
    fake_discord,
    fresh_database,
    quiet_logs,
    result,
    rss_kib,
    stop_bot,
)
from labelbot.db import utcnow
from tests.e2e.test_cluster import (
    JOB_CONCURRENCY,
    PROCESSES,
    SHARD_COUNT,
    add_servers,
    announcements,
    ready,
    seed_releases,
)
from tests.fakediscord import ChannelType, FakeDiscord
from tests.harness import BotHarness, BotProcess
from tests.support.restproxy import proxy_unavailable, run_proxy

BURST_GOAL = 1.2
KIB_PER_SERVER_GOAL = 40.0
GLOBAL_PER_SECOND = 50


def runqueue_wait_seconds(pid: int) -> float:
    """How long the process's threads have waited on a CPU run queue so far: runnable, but the machine busy with
    other work (Linux schedstat, second field, ns). 0 once it is gone."""
    total = 0
    for task in Path(f"/proc/{pid}/task").glob("*/schedstat"):
        with contextlib.suppress(FileNotFoundError, IndexError, ValueError):
            total += int(task.read_text().split()[1])
    return total / 1e9


def cluster_env(harness: BotHarness, api_base: str, concurrency: int) -> None:
    harness.extra_env.update(
        {
            "LABELBOT_DISCORD__API_BASE": api_base,
            "LABELBOT_DISCORD__GUILD_IDS": "[]",
            "LABELBOT_DISCORD__SHARD_COUNT": str(SHARD_COUNT),
            "LABELBOT_JOBS__LEASE_SECONDS": "60",
            "LABELBOT_JOBS__CONCURRENCY": str(concurrency),
            "LABELBOT_DATABASE__SESSION_GUARD": "off",
        }
    )


# The releases are seeded this long before they are due, so each process has armed their alarm from the table
# (the harness sweeps every second) and the claims start at the minute, as for a release scheduled ahead.
LEAD_SECONDS = 5.0


async def burst(
    servers: int,
    labels: int,
    workdir: Path,
    *,
    cluster: bool = True,
    proxy_env: dict[str, str] | None = None,
    concurrency: int = JOB_CONCURRENCY,
    ranges: list[list[int] | None] | None = None,
    lead_seconds: float = LEAD_SECONDS,
) -> dict[str, Any]:
    """The burst on the cluster, or (cluster=False, the same-run baseline) on one process talking to the fake
    directly with its own pacer, as a single bot does today."""
    async with contextlib.AsyncExitStack() as stack:
        fake = await stack.enter_async_context(fake_discord())
        url = await stack.enter_async_context(fresh_database("postgres", workdir))
        harness = BotHarness(fake, url, workdir)
        channels = [harness.guild.add_channel("announcements", type=ChannelType.text)]
        channels += add_servers(fake, servers - 1, labels=labels - 1)
        fake.enforce_rate_limits = True
        shard_ranges: list[list[int] | None] = [None]
        proxy_pid: int | None = None
        if cluster:
            proxy = await stack.enter_async_context(
                run_proxy(fake.api_base, workdir / "proxy.log", **(proxy_env or {}))
            )
            proxy_pid = proxy.process.pid
            cluster_env(harness, proxy.api_base, concurrency)
            shard_ranges = ranges if ranges is not None else list(PROCESSES)
        else:
            harness.extra_env.update(
                {
                    "LABELBOT_DISCORD__GUILD_IDS": "[]",
                    "LABELBOT_JOBS__LEASE_SECONDS": "60",
                    "LABELBOT_DATABASE__SESSION_GUARD": "off",
                }
            )
        processes: list[BotProcess] = []
        started = time.perf_counter()
        try:
            for shard_ids in shard_ranges:
                if shard_ids is not None:
                    harness.extra_env["LABELBOT_DISCORD__SHARD_IDS"] = str(shard_ids)
                processes.append(harness.spawn())
            await harness.wait_until(lambda: all(ready(p) for p in processes), timeout=300, interval=0.2)
            await fake.wait_until_connected(shards=SHARD_COUNT if cluster else 1, timeout=60)
            startup = time.perf_counter() - started
            await asyncio.sleep(2)  # let startup traffic settle out of the burst's count
            rss = [rss_kib(p.process.pid) for p in processes]
            due = utcnow() + timedelta(seconds=lead_seconds)
            await seed_releases(url, channels[:labels], harness.moderator.id, due)
            first_request = len(fake.requests)
            pids = [p.process.pid for p in processes]

            me = os.getpid()

            def cpu_now() -> dict[str, float]:
                return {
                    "bots": sum(cpu_seconds(pid) for pid in pids),
                    "proxy": cpu_seconds(proxy_pid) if proxy_pid is not None else 0.0,
                    "fake": time.process_time(),
                }

            def waits_now() -> dict[str, float]:
                return {
                    "bots": sum(runqueue_wait_seconds(pid) for pid in pids),
                    "proxy": runqueue_wait_seconds(proxy_pid) if proxy_pid is not None else 0.0,
                    "fake": runqueue_wait_seconds(me),
                }

            await asyncio.sleep(max((due - utcnow()).total_seconds(), 0))
            cpu_before, waits_before = cpu_now(), waits_now()
            await harness.wait_until(lambda: len(announcements(fake, channels)) >= labels, timeout=600, interval=0.2)
            cpu_after, waits_after = cpu_now(), waits_now()
            posted = [message.created_at for message in announcements(fake, channels)]
            first, last = min(posted), max(posted)
        finally:
            for process in processes:
                await stop_bot(process)
        burst_requests = fake.requests[first_request:]
    counted = [r for r in burst_requests if not r.path.startswith(("/api/v10/interactions/", "/api/v10/webhooks/"))]
    answered = [r for r in counted if r.status != 429]
    seconds = (last - due).total_seconds()
    minimum = len(answered) / GLOBAL_PER_SECOND
    # Requests the fake answered in each second of the burst: near 50 throughout means the cluster kept the global
    # limit busy; lower means the time went elsewhere (the processes, the database, a starved machine).
    start = min((r.time for r in answered), default=0.0)
    per_second = Counter(int(r.time - start) for r in answered)
    busy = [per_second.get(second, 0) for second in range(max(per_second, default=0) + 1)]
    cpu = {part: round(cpu_after[part] - cpu_before[part], 1) for part in cpu_before}
    waits = {part: round(waits_after[part] - waits_before[part], 1) for part in waits_before}
    cores = os.cpu_count() or 1
    return {
        "servers": servers,
        "labels": labels,
        "startup_seconds": round(startup, 1),
        "rss_mib_per_process_after_ready": [round(k / 1024, 1) for k in rss],
        "processes": len(shard_ranges),
        "job_concurrency": concurrency if cluster else "default",
        "burst_seconds": round(seconds, 2),
        "first_post_seconds": round((first - due).total_seconds(), 2),
        "burst_requests": len(answered),
        "minimum_seconds": round(minimum, 2),
        "channel_fetches": sum(1 for r in answered if r.method == "GET" and r.route == "/channels/{channel_id}"),
        "requests_per_second_median": statistics.median(busy) if busy else 0,
        "requests_per_second_max": max(busy, default=0),
        "cpu_seconds": cpu,
        "cpu_ms_per_announcement": {part: round(1000 * seconds / labels, 1) for part, seconds in cpu.items()},
        "cores": cores,
        "cpu_bound_seconds": round(sum(cpu.values()) / cores, 1),
        # Per bot process: the CPU it used and the time it spent runnable but waiting for a CPU, against the
        # burst's length. Waiting near (burst - CPU) means the machine's other load, not the bot, set the pace.
        "runqueue_wait_seconds": waits,
        "bot_process_cpu_seconds_each": round(cpu["bots"] / len(pids), 1),
        "bot_process_runqueue_wait_seconds_each": round(waits["bots"] / len(pids), 1),
        "load_average_1m": round(os.getloadavg()[0], 1),
        "global_429s": sum(1 for r in counted if r.status == 429 and (r.error or {}).get("global")),
        "route_429s": sum(1 for r in counted if r.status == 429 and not (r.error or {}).get("global")),
    }


def big_server(fake: FakeDiscord, n: int) -> None:
    guild = fake.add_guild(f"Big label {n}")
    for c in range(60):
        guild.add_channel(f"channel-{c}", type=ChannelType.text)
    for r in range(30):
        guild.add_role(f"Role {r}")


async def process_rss(servers: int, workdir: Path) -> int:
    """Median RSS (KiB) of one bot process, ready and settled, caching the harness's server plus `servers` more."""
    async with fake_discord() as fake, fresh_database("postgres", workdir) as url:
        harness = BotHarness(fake, url, workdir)
        for n in range(servers):
            big_server(fake, n)
        harness.extra_env["LABELBOT_DATABASE__SESSION_GUARD"] = "off"
        process = harness.spawn()
        try:
            await harness.wait_until(lambda: ready(process), timeout=300, interval=0.2)
            await asyncio.sleep(3)
            samples = []
            for _ in range(5):
                samples.append(rss_kib(process.process.pid))
                await asyncio.sleep(0.2)
        finally:
            await stop_bot(process)
    return int(statistics.median(samples))


def run_in(prefix: str, coroutine_factory: Any) -> Any:
    with tempfile.TemporaryDirectory(prefix=prefix) as directory:
        return asyncio.run(coroutine_factory(Path(directory)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--servers", type=int, default=5_000)
    parser.add_argument("--labels", type=int, default=1_000)
    parser.add_argument("--memory-servers", type=int, default=1_000)
    parser.add_argument("--proxy-per-second", type=int, default=47, help="the proxy's GLOBAL_PER_SECOND")
    parser.add_argument("--proxy-offset-ms", type=int, default=100, help="the proxy's OFFSET_MS")
    parser.add_argument("--burst-only", action="store_true", help="skip the memory figure")
    parser.add_argument("--no-baseline", action="store_true", help="skip the one-process burst")
    parser.add_argument("--concurrency", type=int, default=JOB_CONCURRENCY, help="jobs.concurrency of each process")
    parser.add_argument("--one-cluster-process", action="store_true", help="one process with all shards, proxied")
    parser.add_argument("--lead-seconds", type=float, default=LEAD_SECONDS, help="seeded this long before due")
    args = parser.parse_args()
    proxy_env = {"GLOBAL_PER_SECOND": str(args.proxy_per_second), "OFFSET_MS": str(args.proxy_offset_ms)}
    if not os.environ.get("LABELBOT_TEST_POSTGRES_URL"):
        sys.exit("bench_cluster needs PostgreSQL: set LABELBOT_TEST_POSTGRES_URL")
    if (reason := proxy_unavailable()) is not None:
        sys.exit(reason)
    quiet_logs()
    ranges: list[list[int] | None] = [list(range(SHARD_COUNT))] if args.one_cluster_process else list(PROCESSES)
    figures = run_in(
        "bench-cluster-",
        lambda d: burst(
            args.servers,
            args.labels,
            d,
            proxy_env=proxy_env,
            concurrency=args.concurrency,
            ranges=ranges,
            lead_seconds=args.lead_seconds,
        ),
    )
    single: dict[str, Any] = {"burst_seconds": 0.0, "minimum_seconds": 1.0, "skipped": True}
    if not args.no_baseline:
        single = run_in(
            "bench-cluster-single-",
            lambda d: burst(args.servers, args.labels, d, cluster=False, lead_seconds=args.lead_seconds),
        )
    burst_ratio = round(figures["burst_seconds"] / figures["minimum_seconds"], 3)
    emit(
        {
            "benchmark": "cluster",
            "backend": "postgres",
            "results": [
                result(
                    "cluster.burst",
                    figures,
                    baseline={
                        "minimum_seconds": figures["minimum_seconds"],
                        "note": "the minimum is requests / 50 per second; one_process is the same burst, same run, "
                        "on one process without the proxy",
                        "one_process": single,
                    },
                    ratios={
                        "burst_over_minimum": burst_ratio,
                        "one_process_over_its_minimum": round(single["burst_seconds"] / single["minimum_seconds"], 3),
                    },
                    goal=f"burst <= {BURST_GOAL}x the global limit's minimum, 0 global 429s",
                    passed=burst_ratio <= BURST_GOAL and figures["global_429s"] == 0,
                    notes=f"two processes, shard_count {SHARD_COUNT}, through deploy/proxy (OFFSET_MS "
                    f"{args.proxy_offset_ms}, GLOBAL_PER_SECOND {args.proxy_per_second}: at best "
                    f"{args.proxy_per_second / (1 + args.proxy_offset_ms / 1000):.1f} requests/s); "
                    f"startup_seconds is start to ready with {args.servers:,} servers",
                ),
            ]
            + ([] if args.burst_only else [memory(args.memory_servers)]),
        }
    )


def memory(servers: int) -> dict[str, Any]:
    small = run_in("bench-cluster-rss-", lambda d: process_rss(0, d))
    large = run_in("bench-cluster-rss-", lambda d: process_rss(servers, d))
    per_server = (large - small) / servers
    return result(
        "cluster.memory_per_server",
        {
            "servers": servers,
            "channels_per_server": 60,
            "roles_per_server": 30,
            "rss_mib": round(large / 1024, 1),
            "kib_per_server": round(per_server, 1),
        },
        baseline={"servers": 1, "rss_mib": round(small / 1024, 1)},
        ratios={"kib_per_server_over_goal": round(per_server / KIB_PER_SERVER_GOAL, 3)},
        goal=f"<= {KIB_PER_SERVER_GOAL:g} KiB per cached server (no member cache)",
        passed=per_server <= KIB_PER_SERVER_GOAL,
    )


if __name__ == "__main__":
    main()
