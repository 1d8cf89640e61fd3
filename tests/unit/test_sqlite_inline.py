"""SQLite runs on the event loop's thread, yet a locked database never blocks the loop: the call waits elsewhere."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from sqlalchemy import event, text

from bot.db.engine import create_engine


async def test_statements_run_on_the_loop_thread(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'inline.db'}")
    threads: set[int] = set()
    event.listen(engine.sync_engine, "before_cursor_execute", lambda *_: threads.add(threading.get_ident()))
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE t (x INTEGER)"))
            await connection.execute(text("INSERT INTO t VALUES (1)"))
            assert await connection.scalar(text("SELECT count(*) FROM t")) == 1
    finally:
        await engine.dispose()
    assert threads == {threading.get_ident()}, "no statement is handed to aiosqlite's worker thread"


async def test_a_locked_database_waits_off_the_loop(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'locked.db'}"
    holder, other = create_engine(url), create_engine(url)
    try:
        async with holder.begin() as connection:
            await connection.execute(text("CREATE TABLE t (x INTEGER)"))
        ticks = 0
        holding = asyncio.Event()

        async def hold() -> None:
            async with holder.begin() as connection:
                await connection.execute(text("INSERT INTO t VALUES (1)"))
                holding.set()
                await asyncio.sleep(0.4)

        async def write() -> None:
            await holding.wait()
            async with other.begin() as connection:
                await connection.execute(text("INSERT INTO t VALUES (2)"))

        async def tick() -> None:
            nonlocal ticks
            for _ in range(8):
                await asyncio.sleep(0.05)
                ticks += 1

        await asyncio.wait_for(asyncio.gather(hold(), write(), tick()), 10)
        assert ticks == 8, "the loop kept running while the second writer waited for the lock"
        async with other.connect() as connection:
            assert await connection.scalar(text("SELECT count(*) FROM t")) == 2
            assert await connection.scalar(text("PRAGMA busy_timeout")) == 0, "back to not waiting on the loop"
    finally:
        await holder.dispose()
        await other.dispose()
