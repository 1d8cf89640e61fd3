"""The label's public page under load: requests per second and p99, cached against uncached and /livez.

Runs the real bot (web server on, a label with 40 scheduled and 40 announced releases, the public page on) and
drives it from a separate load process (keep-alive connections, a fixed number in flight), in the same run:

- `/livez`, the floor: the web server answering without the page or the database;
- the public page with its cache off (every view reads the database and renders the template): the baseline;
- the public page cached (what a label's busy homepage gets), and a conditional GET answered 304.

Goals: the cached page serves at least 3x the uncached page's requests per second, and reads the database at most
once per cache period (page builds counted by the cog). `python -m benchmarks.bench_web_pages [--quick] [--backend …]`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, update

from benchmarks.common import emit, latency_figures, quiet_logs, result
from labelbot.artists.models import Artist
from labelbot.catalog.models import Release, ReleaseStatus
from labelbot.db.base import utcnow
from tests.harness import BotHarness, free_port

GOAL_SPEEDUP = 3.0
RELEASES = 40
# The uncached baseline reads the database on every view: fewer requests keep the run short, p99 still holds.
UNCACHED_REQUESTS = 1000


async def _load(url: str, requests: int, concurrency: int, etag: str | None) -> dict[str, Any]:
    """The load process: `requests` GETs of `url`, `concurrency` at a time; latencies and throughput."""
    import aiohttp

    headers = {"If-None-Match": etag} if etag else {}
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    remaining = iter(range(requests))

    async def worker(http: aiohttp.ClientSession) -> None:
        for _ in remaining:
            began = time.perf_counter()
            async with http.get(url, headers=headers) as response:
                await response.read()
                statuses[response.status] = statuses.get(response.status, 0) + 1
            latencies.append(time.perf_counter() - began)

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as http:
        async with http.get(url) as response:  # one warm-up request
            await response.read()
        began = time.perf_counter()
        await asyncio.gather(*(worker(http) for _ in range(concurrency)))
        elapsed = time.perf_counter() - began
    return {
        "requests_per_s": round(requests / elapsed, 1),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        **latency_figures(latencies),
    }


async def _drive(url: str, requests: int, concurrency: int, etag: str | None = None) -> dict[str, Any]:
    """Run the load in its own process, so the client does not share the bot's event loop."""
    arguments = [sys.executable, "-m", "benchmarks.bench_web_pages", "load", url, str(requests), str(concurrency)]
    process = await asyncio.create_subprocess_exec(
        *arguments, *([etag] if etag else []), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    stdout, stderr = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"load process failed: {stderr.decode()[-2000:]}")
    figures: dict[str, Any] = json.loads(stdout.decode().strip().splitlines()[-1])
    return figures


async def _seed(h: BotHarness) -> None:
    from benchmarks.bench_interactions import command

    assert "Nova" in await command(h, "artist-admin add", name="Nova")
    assert "/label/" in await command(h, "settings web-page", state="on")
    assert h.bot is not None
    async with h.bot.sessionmaker.begin() as session:
        artist_id = await session.scalar(select(Artist.id).where(Artist.guild_id == h.guild.id))
        await session.execute(update(Artist).values(bio="A band from the bench."))
        now = utcnow()
        await session.execute(
            insert(Release),
            [
                {
                    "guild_id": h.guild.id,
                    "artist_id": artist_id,
                    "title": f"Release {n}",
                    "kind": "single",
                    "release_at": now + timedelta(days=1 + n) if n % 2 else now - timedelta(days=1 + n),
                    "announced_at": None if n % 2 else now - timedelta(days=1 + n),
                    "zone": "UTC",
                    "status": str(ReleaseStatus.SCHEDULED if n % 2 else ReleaseStatus.ANNOUNCED),
                    "description": "Out on every platform. <b>escaped</b> & more",
                    "created_by": h.moderator.id,
                    "created_at": now,
                    "updated_at": now,
                }
                for n in range(RELEASES * 2)
            ],
        )


async def run(backend: str, requests: int, concurrency: int, workdir: Path) -> list[dict[str, Any]]:
    from benchmarks.bench_interactions import RATE_LIMIT_SCALE
    from benchmarks.common import fake_discord, fresh_database

    port = free_port()
    async with fake_discord(rate_limit_scale=RATE_LIMIT_SCALE) as fake, fresh_database(backend, workdir) as db_url:
        h = BotHarness(fake, db_url, workdir)
        h.extra_env.update(
            {"LABELBOT_LOGGING__LEVEL": "WARNING", "LABELBOT_WEB__ENABLED": "true", "LABELBOT_WEB__PORT": str(port)}
        )
        await h.start()
        try:
            await _seed(h)
            assert h.bot is not None
            cog: Any = h.bot.get_cog("Web pages")
            base = f"http://127.0.0.1:{port}"
            page = f"{base}/label/{h.guild.id}"

            livez = await _drive(f"{base}/livez", requests, concurrency)

            cog.cache.ttl = -1.0  # every view builds the page: the baseline
            builds = cog.cache.builds
            uncached = await _drive(page, min(requests, UNCACHED_REQUESTS), concurrency)
            uncached["page_builds"] = cog.cache.builds - builds

            cog.cache.ttl = 30.0
            builds = cog.cache.builds
            cached = await _drive(page, requests, concurrency)
            cached["page_builds"] = cog.cache.builds - builds
            etag = cog.cache.get(h.guild.id, "page").etag
            not_modified = await _drive(page, requests, concurrency, etag)
            body_kib = round(len(cog.cache.get(h.guild.id, "page").body) / 1024, 1)
        finally:
            await h.stop()

    speedup = round(cached["requests_per_s"] / uncached["requests_per_s"], 2)
    notes = (
        f"{requests} GETs ({min(requests, UNCACHED_REQUESTS)} uncached), {concurrency} in flight, from a separate "
        f"process; page {body_kib} KiB with "
        f"{RELEASES} upcoming and {RELEASES} announced releases"
    )
    return [
        result(
            f"web_pages.public_page_cached.{backend}",
            {**cached, "not_modified": not_modified, "livez": livez},
            baseline={"uncached": uncached},
            ratios={
                "requests_per_s_over_uncached": speedup,
                "p99_over_uncached": round(cached["p99_ms"] / uncached["p99_ms"], 3),
            },
            goal=f"cached >= {GOAL_SPEEDUP:g}x uncached requests/s, at most 1 database read",
            passed=speedup >= GOAL_SPEEDUP and cached["page_builds"] <= 1 and cached["statuses"] == {"200": requests},
            notes=notes,
        ),
    ]


def main() -> None:
    if sys.argv[1:2] == ["load"]:
        url, requests, concurrency, *etag = sys.argv[2:]
        figures = asyncio.run(_load(url, int(requests), int(concurrency), etag[0] if etag else None))
        print(json.dumps(figures), flush=True)
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    args = parser.parse_args()
    quiet_logs()
    requests, concurrency = (400, 8) if args.quick else (3000, 16)
    with tempfile.TemporaryDirectory() as workdir:
        results = asyncio.run(run(args.backend, requests, concurrency, Path(workdir)))
    emit({"benchmark": "web_pages", "backend": args.backend, "results": results})


if __name__ == "__main__":
    main()
