"""In a cluster each process claims the due jobs of its own servers first, and the others' once its own are out."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from labelbot.db import utcnow
from labelbot.jobs import ScheduledJob
from labelbot.jobs.store import JobStore


def on_shard(shard: int, n: int, count: int = 4) -> int:
    return ((1_000 + n) * count + shard) << 22


def shard_of(guild_id: int, count: int = 4) -> int:
    return (guild_id >> 22) % count


async def test_a_process_claims_its_own_servers_jobs_first_then_the_others(engine: AsyncEngine) -> None:
    now = utcnow()
    rows = []
    # The other process's jobs fell due first: without the preference they would be claimed first.
    for n, shard in enumerate([2, 3, 2, 3, 0, 1, 0]):
        rows.append(
            {"kind": "k", "payload": {}, "guild_id": on_shard(shard, n), "due_at": now - timedelta(minutes=9 - n)}
        )
    rows.append({"kind": "k", "payload": {}, "guild_id": None, "due_at": now - timedelta(seconds=1)})
    for row in rows:
        row["scheduled_for"] = row["due_at"]
    async with engine.begin() as connection:
        await connection.execute(insert(ScheduledJob), rows)
    store = JobStore(engine, "first", lease=timedelta(seconds=60), dead_after=timedelta(seconds=10), shards=(4, [0, 1]))
    first = await store.claim(["k"], 4)
    assert sorted(shard_of(claim.guild_id) for claim in first if claim.guild_id is not None) == [0, 0, 1]
    assert any(claim.guild_id is None for claim in first)
    rest = await store.claim(["k"], 10)
    assert sorted(shard_of(claim.guild_id) for claim in rest if claim.guild_id is not None) == [2, 2, 3, 3]
    # Soonest first within each group.
    assert [claim.due_at for claim in rest] == sorted(claim.due_at for claim in rest)
