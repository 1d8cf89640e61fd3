"""Database: the database part of each benchmarked command, on SQLite and PostgreSQL, 100,000 rows in its table.

    python -m benchmarks.bench_database [--quick] [--backend sqlite|postgres ...]

The repositories and services are called directly, one user action per transaction, as the commands do:
- `/release list`: `upcoming_releases` (a page of 10) with 100,000 releases, 10,000 of them in the server;
- RSVP click: `rsvp.answer` + `rsvp.counts` in one transaction, with 100,000 RSVPs over 20 parties of 5,000;
- fan-role click: `panel_by_id` (the panel with its entries) among 100,000 panel entries;
- `/about` does no database work.
Goal: p99 under 10 ms. Prints one JSON document on the last line of stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from benchmarks.common import backends, emit, fresh_database, latency_figures, quiet_logs, result
from labelbot.artists.models import Artist
from labelbot.catalog.models import Release, ReleaseStatus
from labelbot.catalog.queries import upcoming_releases
from labelbot.db import create_engine, create_sessionmaker, utcnow
from labelbot.features.fan_roles import _repository as fan_roles
from labelbot.gatherings import rsvp
from labelbot.gatherings.models import Answer, Gathering, GatheringRsvp
from labelbot.models.fan_roles import FanRolePanel, FanRolePanelEntry

GOAL_P99_MS = 10.0
GUILD = 4242
CHUNK = 5000


async def bulk(sessions: async_sessionmaker[AsyncSession], table: Any, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), CHUNK):
        async with sessions.begin() as session:
            await session.execute(insert(table), rows[start : start + CHUNK])


async def seed(sessions: async_sessionmaker[AsyncSession], rows: int) -> dict[str, int]:
    now = utcnow()
    guilds = 10
    async with sessions.begin() as session:
        artists = [Artist(guild_id=GUILD + g, name="Nova", name_key="nova", created_by=1) for g in range(guilds)]
        session.add_all(artists)
        gatherings = [
            Gathering(
                kind="party",
                ref_id=n + 1,
                guild_id=GUILD,
                title=f"Party {n}",
                starts_at=now + timedelta(days=2),
                ends_at=now + timedelta(days=2, hours=1),
            )
            for n in range(20)
        ]
        session.add_all(gatherings)
        panels = [
            FanRolePanel(
                guild_id=GUILD, name=f"P{n}", name_key=f"p{n}", style="buttons", mode="any", channel_id=1, created_by=1
            )
            for n in range(rows // 20)
        ]
        session.add_all(panels)
        await session.flush()
        artist_ids = [a.id for a in artists]
        gathering_ids = [g.id for g in gatherings]
        panel_ids = [p.id for p in panels]
    await bulk(
        sessions,
        Release,
        [
            {
                "guild_id": GUILD + n % guilds,
                "artist_id": artist_ids[n % guilds],
                "title": f"Release {n}",
                "kind": "single",
                "release_at": now + timedelta(hours=1, minutes=n),
                "zone": "UTC",
                "status": str(ReleaseStatus.SCHEDULED if n % 3 else ReleaseStatus.ANNOUNCED),
                "created_by": 1,
                "created_at": now,
                "updated_at": now,
            }
            for n in range(rows)
        ],
    )
    await bulk(
        sessions,
        GatheringRsvp,
        [
            {
                "gathering_id": gathering_ids[n % 20],
                "user_id": 10**15 + n,
                "answer": ("going", "maybe", "remind", "cant")[n % 4],
                "waitlisted": False,
                "wants_dm": False,
                "answered_at": now,
            }
            for n in range(rows)
        ],
    )
    await bulk(
        sessions,
        FanRolePanelEntry,
        [
            {
                "panel_id": panel_ids[n % len(panel_ids)],
                "role_id": 10**15 + n,
                "position": n // len(panel_ids),
                "label": f"Role {n}",
                "added_by": 1,
            }
            for n in range(rows)
        ],
    )
    return {"gathering_id": gathering_ids[7], "panel_id": panel_ids[len(panel_ids) // 2]}


async def timed(n: int, action: Callable[[int], Awaitable[None]]) -> list[float]:
    for i in range(min(20, n)):  # warm the pool and the caches
        await action(-1 - i)
    out = []
    for i in range(n):
        started = time.perf_counter()
        await action(i)
        out.append(time.perf_counter() - started)
    return out


async def measure(backend: str, rows: int, iterations: int, workdir: Path) -> dict[str, Any]:
    async with fresh_database(backend, workdir) as url:
        engine = create_engine(url)
        sessions = create_sessionmaker(engine)
        try:
            began = time.perf_counter()
            ids = await seed(sessions, rows)
            seeded_s = time.perf_counter() - began
            if backend == "postgres":
                # What autovacuum does on a live server once a table has grown (PostgreSQL 13+ vacuums after
                # inserts too). Filled in one go and measured at once, the tables had no statistics, so the planner
                # sorted the server's 10,000 releases for a page of 10 (4.2 ms a query instead of 0.09), and no
                # visibility map, so counting a party's 5,000 answers read 962 table pages instead of the index.
                async with engine.connect() as connection:
                    autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
                    await autocommit.execute(text("VACUUM ANALYZE"))
            # As the bot does once started (labelbot/client.py): what was built so far is kept out of the collector.
            gc.collect()
            gc.freeze()

            async def release_list(i: int) -> None:
                async with sessions() as session:
                    page = await upcoming_releases(session, GUILD, limit=10)
                assert len(page) == 10

            async def rsvp_click(i: int) -> None:
                async with sessions.begin() as session:
                    await rsvp.answer(session, ids["gathering_id"], 2 * 10**15 + i, Answer.GOING)
                    await rsvp.counts(session, ids["gathering_id"])

            async def fan_role_click(i: int) -> None:
                async with sessions() as session:
                    panel = await fan_roles.panel_by_id(session, GUILD, ids["panel_id"])
                assert panel is not None

            figures = {
                "release_list": latency_figures(await timed(iterations, release_list)),
                "rsvp_click": latency_figures(await timed(iterations, rsvp_click)),
                "fan_role_click": latency_figures(await timed(iterations, fan_role_click)),
            }
            async with sessions() as session:
                sizes = {
                    "releases": len((await session.execute(select(Release.id))).all()),
                    "gathering_rsvps": len((await session.execute(select(GatheringRsvp.id))).all()),
                    "fan_role_panel_entries": len((await session.execute(select(FanRolePanelEntry.id))).all()),
                }
            return {"rows": sizes, "seed_s": round(seeded_s, 1), "figures": figures}
        finally:
            await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--backend", action="append", choices=["sqlite", "postgres"])
    args = parser.parse_args()
    quiet_logs()
    rows, iterations = (20_000, 200) if args.quick else (100_000, 1000)
    results = []
    for backend in args.backend or backends():
        with tempfile.TemporaryDirectory(prefix=f"bench-db-{backend}-") as directory:
            measured = asyncio.run(measure(backend, rows, iterations, Path(directory)))
        for command, figures in measured["figures"].items():
            results.append(
                result(
                    f"database.{command}.{backend}",
                    {**figures, "table_rows": measured["rows"]},
                    baseline=None,
                    ratios={"p99_over_goal": round(figures["p99_ms"] / GOAL_P99_MS, 3)},
                    goal=f"p99 < {GOAL_P99_MS:g} ms",
                    passed=figures["p99_ms"] < GOAL_P99_MS,
                    notes="absolute goal (no baseline): the database part alone",
                )
            )
    emit({"benchmark": "database", "results": results})


if __name__ == "__main__":
    main()
