"""The write batcher (a burst's units of work in one transaction) and per-transaction notes, on both backends."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from labelbot.db.batch import WriteBatcher, after_commit, hints, peek_transaction_note, transaction_note
from labelbot.db.models import BotState
from labelbot.errors import Conflict


async def stored(sessionmaker: async_sessionmaker[AsyncSession]) -> dict[str, str]:
    async with sessionmaker() as session:
        return {row.key: row.value for row in await session.scalars(select(BotState))}


def writer(key: str, *, fail: bool = False):  # type: ignore[no-untyped-def]
    async def work(session: AsyncSession) -> str:
        session.add(BotState(key=key, value="v"))
        await session.flush()
        if fail:
            raise Conflict(f"{key} refused")
        return key

    return work


async def test_a_burst_shares_a_transaction_and_each_unit_is_written_when_it_returns(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    batcher = WriteBatcher(sessionmaker)
    seen: dict[str, bool] = {}

    async def click(n: int) -> None:
        key = await batcher.run(writer(f"k{n}"), hint=("test", n))
        # Durable before the caller goes on: another session reads it.
        seen[key] = key in await stored(sessionmaker)

    await asyncio.gather(*(click(n) for n in range(20)))
    await batcher.close()
    assert seen == {f"k{n}": True for n in range(20)}
    assert batcher.units == 20
    assert batcher.transactions < 20


async def test_a_failing_unit_gets_its_own_error_and_the_others_are_kept(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    batcher = WriteBatcher(sessionmaker)
    outcomes = await asyncio.gather(
        *(batcher.run(writer(f"k{n}", fail=n == 2)) for n in range(5)), return_exceptions=True
    )
    await batcher.close()
    assert outcomes[:2] == ["k0", "k1"]
    assert isinstance(outcomes[2], Conflict)
    assert str(outcomes[2]) == "k2 refused"
    assert outcomes[3:] == ["k3", "k4"]
    assert set(await stored(sessionmaker)) == {"k0", "k1", "k3", "k4"}


async def test_units_see_their_batch_mates_hints(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    batcher = WriteBatcher(sessionmaker)

    async def look(session: AsyncSession) -> list[object]:
        return list(hints(session))

    seen = await asyncio.gather(*(batcher.run(look, hint=n) for n in range(3)))
    await batcher.close()
    assert seen == [[0, 1, 2]] * 3


async def test_a_closed_batcher_still_runs_each_unit_in_its_own_transaction(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    batcher = WriteBatcher(sessionmaker)
    await batcher.close()
    assert await batcher.run(writer("late")) == "late"
    with pytest.raises(Conflict):
        await batcher.run(writer("refused", fail=True))
    assert set(await stored(sessionmaker)) == {"late"}


async def test_a_transaction_note_lasts_until_the_transaction_ends_not_a_flush(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with sessionmaker() as session:
        async with session.begin():
            transaction_note(session, "seen", set).add(1)
            session.add(BotState(key="a", value="v"))
            await session.flush()
            assert peek_transaction_note(session, "seen") == {1}
            async with session.begin_nested():
                transaction_note(session, "seen", set).add(2)
            # A savepoint's end forgets: what was read or locked inside it may have been undone.
            assert peek_transaction_note(session, "seen") is None
            transaction_note(session, "seen", set).add(3)
        assert peek_transaction_note(session, "seen") is None
        async with session.begin():
            assert transaction_note(session, "seen", set) == set()


async def test_what_a_unit_remembers_after_commit_is_remembered_once_and_only_for_the_kept_run(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    # A unit of a failed batch is rolled back and runs again alone: only the run that is committed counts.
    batcher = WriteBatcher(sessionmaker)
    remembered: list[str] = []

    def remembering(key: str, *, fail: bool = False):  # type: ignore[no-untyped-def]
        write = writer(key, fail=fail)

        async def work(session: AsyncSession) -> str:
            after_commit(session, lambda: remembered.append(key))
            return await write(session)

        return work

    await asyncio.gather(*(batcher.run(remembering(f"k{n}", fail=n == 1)) for n in range(3)), return_exceptions=True)
    await batcher.close()
    assert sorted(remembered) == ["k0", "k2"]
