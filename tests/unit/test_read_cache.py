"""The read cache of rarely written rows: forgotten at any write of its tables, through the ORM or a statement."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from labelbot.db.models import BotState
from labelbot.db.readcache import ReadCache


async def test_a_write_of_its_table_forgets_what_was_read(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    cache: ReadCache[str] = ReadCache([BotState.__table__], ttl=60)  # type: ignore[list-item]
    cache.put("k", "old", cache.stamp())
    assert cache.get("k") == "old"

    async with sessionmaker.begin() as session:
        session.add(BotState(key="k", value="new"))
    assert cache.get("k") is None

    cache.put("k", "new", cache.stamp())
    async with sessionmaker.begin() as session:
        await session.execute(update(BotState).values(value="newer"))
    assert cache.get("k") is None


async def test_a_read_that_raced_a_write_is_not_kept(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    cache: ReadCache[str] = ReadCache([BotState.__table__], ttl=60)  # type: ignore[list-item]
    stamp = cache.stamp()
    async with sessionmaker() as session:
        session.add(BotState(key="k", value="v"))
        await session.flush()
        # Read before the write commits: it may be the old row, so it is not served later.
        cache.put("k", "maybe old", stamp)
        assert cache.get("k") is None
        in_between = cache.stamp()
        await session.commit()
    cache.put("k", "read before the commit", in_between)
    assert cache.get("k") is None


def test_what_was_read_expires() -> None:
    cache: ReadCache[str] = ReadCache([BotState.__table__], ttl=-1)  # type: ignore[list-item]
    cache.put("k", "v", cache.stamp())
    assert cache.get("k") is None
