"""Rows read at every click but rarely changed (a role panel, the server's settings), kept between interactions.

A fan-role press read its panel and the server's settings from the database each time; on SQLite's one connection
200 simultaneous presses queued behind each other's reads. A `ReadCache` keeps what was read, and forgets it when
any of its tables is written through an ORM session of this process (a flush of such a row, or an INSERT, UPDATE
or DELETE statement on the table), both when the write is flushed and when its transaction ends, so a press after
a moderator's change always reads the change. A write this process cannot see (another process, the CLI) is
picked up after `ttl` seconds at most.

Entries are tagged with the tables' write count when the read started: a read that raced a write is never served.
"""

from __future__ import annotations

import time
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Table, event
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction, UOWTransaction

V = TypeVar("V")

# Writes seen per table name, and the tables a session wrote in its current transaction.
_writes: dict[str, int] = {}
_TOUCHED = "labelbot.readcache_touched"


def _bump(names: Iterable[str]) -> None:
    for name in names:
        if name in _writes:
            _writes[name] += 1


@dataclass(frozen=True)
class _Entry(Generic[V]):
    value: V
    stamp: tuple[int, ...]
    until: float


class ReadCache(Generic[V]):
    """What was read for a key, until one of `tables` is written or `ttl` seconds pass."""

    def __init__(self, tables: Iterable[Table], *, ttl: float, max_entries: int = 10_000) -> None:
        self.tables = tuple(table.name for table in tables)
        for name in self.tables:
            _writes.setdefault(name, 0)
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: dict[Hashable, _Entry[V]] = {}

    def stamp(self) -> tuple[int, ...]:
        """The tables' write count now: take it before reading, hand it to `put` with what was read."""
        return tuple(_writes[name] for name in self.tables)

    def get(self, key: Hashable) -> V | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.stamp != self.stamp() or entry.until < time.monotonic():
            del self._entries[key]
            return None
        return entry.value

    def put(self, key: Hashable, value: V, stamp: tuple[int, ...]) -> None:
        if stamp != self.stamp():
            return
        if len(self._entries) >= self.max_entries:
            self._entries.clear()
        self._entries[key] = _Entry(value, stamp, time.monotonic() + self.ttl)

    def clear(self) -> None:
        self._entries.clear()


def _tables_of(instances: Iterable[Any]) -> set[str]:
    names: set[str] = set()
    for instance in instances:
        mapper = getattr(instance, "__mapper__", None)
        if mapper is not None:
            names.update(table.name for table in mapper.tables if table.name in _writes)
    return names


@event.listens_for(Session, "after_flush")
def _flushed(session: Session, _flush: UOWTransaction) -> None:
    if not _writes:
        return
    names = _tables_of([*session.new, *session.dirty, *session.deleted])
    if names:
        _bump(names)
        session.info.setdefault(_TOUCHED, set()).update(names)


@event.listens_for(Session, "do_orm_execute")
def _executed(state: ORMExecuteState) -> None:
    if not _writes or not (state.is_insert or state.is_update or state.is_delete):
        return
    table = getattr(state.statement, "table", None)
    name = getattr(table, "name", None)
    if name in _writes:
        _bump([name])
        state.session.info.setdefault(_TOUCHED, set()).add(name)


@event.listens_for(Session, "after_transaction_end")
def _ended(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is not None and not transaction.nested:
        return
    if not session.info:
        return
    # A savepoint's end forgets nothing of its transaction's writes: they are still open until the outer one ends.
    names = session.info.get(_TOUCHED) if transaction.nested else session.info.pop(_TOUCHED, None)
    if names:
        # Committed or rolled back: what was read while the write was open may be either, so it goes.
        _bump(names)
