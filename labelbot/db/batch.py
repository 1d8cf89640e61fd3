"""Short writes of many interactions committed together: one transaction for a burst of clicks, not one each.

On SQLite the bot has one connection, and each statement is a round trip to the driver's thread and back through
the event loop. A click's own transaction (BEGIN, its few statements, COMMIT, the pool's reset) holds that one
connection for a dozen or more of those trips, and 200 simultaneous clicks wait behind each other's trips, so the
last member's answer came seconds late. Here a click hands its unit of work (`work(session)`: reads and writes,
never Discord) to one writer task; the writer runs whatever has queued up in one transaction, commits, and only
then resolves each click's future. So each click's outcome is durable before the click answers, and a burst costs
a few transactions.

A failing unit must not take the others down with it: when one raises, the shared transaction is rolled back and
each unit of that batch runs again in its own transaction, so every click gets its own outcome or its own error.
A unit therefore must be safe to run again after a rollback (it is: nothing of it was kept), and must not await
Discord (the guard would flag it, and every click of the batch would wait).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session, SessionTransaction

log = logging.getLogger(__name__)

T = TypeVar("T")

# At most this many units share a transaction, so one batch never holds the connection for long.
MAX_BATCH = 64
# What a transaction notes for itself in `session.info` starts with this, and goes when the transaction ends
# (committed, rolled back, or a savepoint of it released or undone): a later transaction of the same session
# holds no lock of it and must not trust what it read.
TRANSACTION_NOTE = "labelbot.tx."
# Where a batch's session keeps the hints of all its units (see `hints`).
_HINTS = TRANSACTION_NOTE + "batch_hints"
_AFTER_COMMIT = "after_commit"


def transaction_note(session: AsyncSession, name: str, factory: Callable[[], T]) -> T:
    """A note (a dict, a set) kept on `session` for the current transaction only."""
    key = TRANSACTION_NOTE + name
    found = session.info.get(key)
    if found is None:
        found = session.info[key] = factory()
    return found  # type: ignore[no-any-return]


def peek_transaction_note(session: AsyncSession, name: str) -> Any:
    """The note if this transaction made one, else None."""
    return session.info.get(TRANSACTION_NOTE + name)


@event.listens_for(Session, "after_transaction_end")
def _forget_transaction_notes(session: Session, transaction: SessionTransaction) -> None:
    # A flush runs in a subtransaction of its own, which ends too: only the real transaction or a savepoint count.
    if not session.info or (transaction.parent is not None and not transaction.nested):
        return
    for key in [key for key in session.info if isinstance(key, str) and key.startswith(TRANSACTION_NOTE)]:
        del session.info[key]


def after_commit(session: AsyncSession, callback: Callable[[], None]) -> None:
    """Call `callback` when this transaction commits, never when it is rolled back (a batch retried, say).

    For what this process remembers of a write (a job it scheduled, say): remembered only once the write is kept.
    """
    callbacks: list[Callable[[], None]] = transaction_note(session, _AFTER_COMMIT, list)
    callbacks.append(callback)


@event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    # Fires before the transaction's end clears its notes.
    for callback in session.info.get(TRANSACTION_NOTE + _AFTER_COMMIT, ()):
        callback()


def hints(session: AsyncSession) -> list[Hashable]:
    """The hints of every unit sharing this transaction (empty outside a batch).

    A unit can read ahead for its batch-mates, e.g. the RSVPs of every member in the batch in one query, instead
    of one query each.
    """
    found: list[Hashable] = session.info.get(_HINTS, [])
    return found


@dataclass(eq=False)
class _Unit(Generic[T]):
    work: Callable[[AsyncSession], Awaitable[T]]
    done: asyncio.Future[T]
    hint: Hashable | None


class WriteBatcher:
    """One writer task that commits queued units of work together (see the module's docstring)."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], *, max_batch: int = MAX_BATCH) -> None:
        self.sessionmaker = sessionmaker
        self.max_batch = max_batch
        self._queue: list[_Unit[Any]] = []
        self._ready = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None
        self._closed = False
        # Figures for benchmarks and tests: how many transactions ran for how many units.
        self.transactions = 0
        self.units = 0

    async def run(self, work: Callable[[AsyncSession], Awaitable[T]], *, hint: Hashable | None = None) -> T:
        """Run `work(session)` in a transaction shared with other queued units; return once it is committed.

        `hint` says what the unit will read, for its batch-mates to read ahead (see `hints`).
        """
        if self._closed:
            # Shutting down: the writer is gone, so the unit gets a transaction of its own, as before batching.
            async with self.sessionmaker.begin() as session:
                return await work(session)
        done: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queue.append(_Unit(work, done, hint))
        self._ready.set()
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_forever(), name="labelbot-write-batcher")
        # Shielded: a click cancelled while waiting does not cancel the batch its unit is part of.
        return await asyncio.shield(done)

    async def close(self) -> None:
        """Commit what is queued, then stop the writer; later units run on their own."""
        self._closed = True
        self._ready.set()
        if self._writer is not None:
            # Waited for, not awaited: a writer cancelled already (the loop closing) is no error here.
            await asyncio.wait([self._writer])
            self._writer = None
        # Anything queued after the writer's last look (none in practice) still gets its transaction.
        while self._queue:
            batch, self._queue = self._queue, []
            await self._write(batch)

    async def _write_forever(self) -> None:
        while True:
            if not self._queue:
                if self._closed:
                    return
                self._ready.clear()
                await self._ready.wait()
                continue
            batch = self._queue[: self.max_batch]
            del self._queue[: len(batch)]
            try:
                await self._write(batch)
            except asyncio.CancelledError:
                for unit in batch:
                    if not unit.done.done():
                        unit.done.cancel()
                for unit in self._queue:
                    unit.done.cancel()
                self._queue.clear()
                raise

    async def _write(self, batch: list[_Unit[Any]]) -> None:
        results: list[Any] = []
        try:
            async with self.sessionmaker.begin() as session:
                session.info[_HINTS] = [unit.hint for unit in batch if unit.hint is not None]
                for unit in batch:
                    results.append(await unit.work(session))
        except Exception as error:
            if len(batch) == 1:
                self._finish(batch[0], error=error)
                return
            # One unit failed and the whole transaction rolled back: each runs again alone, to its own outcome.
            for unit in batch:
                await self._write([unit])
            return
        self.transactions += 1
        self.units += len(batch)
        for unit, result in zip(batch, results, strict=True):
            self._finish(unit, result=result)

    @staticmethod
    def _finish(unit: _Unit[Any], *, result: Any = None, error: BaseException | None = None) -> None:
        if unit.done.done():
            return
        if error is not None:
            unit.done.set_exception(error)
        else:
            unit.done.set_result(result)
