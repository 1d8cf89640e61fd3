"""Forget a member in one server, or purge everything of a server, by walking the tables' metadata.

Features whose rows have effects outside the database (a card counting answers, a board post) register a forget
hook: it runs first, in the same transaction, and may return work to do once that transaction has committed.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import ColumnElement, Table, Text, cast, delete, or_, select, union, update
from sqlalchemy.ext.asyncio import AsyncSession

from labelbot.db.base import Base
from labelbot.db.registry import import_all_models
from labelbot.privacy.columns import (
    FORGOTTEN_MEMBER_ID,
    MemberData,
    forgotten_row_rule,
    is_member_column,
    member_json_columns,
    policy_of,
)

log = logging.getLogger(__name__)

# Discord work a hook leaves for after the commit (read, then talk to Discord, then write).
AfterCommit = Callable[[], Awaitable[None]]
# (session, guild_id, user_id) -> what to do after the commit, if anything.
ForgetHook = Callable[[AsyncSession, int, int], Awaitable[AfterCommit | None]]


class Privacy:
    """The forget hooks of the loaded features, so no feature imports another."""

    def __init__(self) -> None:
        self._hooks: dict[str, ForgetHook] = {}

    def add_forget_hook(self, name: str, hook: ForgetHook) -> None:
        self._hooks[name] = hook

    def remove_forget_hook(self, name: str) -> None:
        self._hooks.pop(name, None)

    async def forget(self, session: AsyncSession, guild_id: int, user_id: int) -> list[AfterCommit]:
        """Forget the member in the caller's transaction; return the Discord work to run once it commits."""
        after: list[AfterCommit] = []
        for name, hook in list(self._hooks.items()):
            work = await hook(session, guild_id, user_id)
            if work is not None:
                after.append(work)
            log.debug("Forget hook %s ran for a member of guild %s", name, guild_id)
        await forget_member(session, guild_id, user_id)
        return after


def guild_scope(table: Table, guild_id: int) -> ColumnElement[bool] | None:
    """The rows of `table` that belong to the server: by its guild_id, or through its parent's; None if global."""
    if "guild_id" in table.c:
        return table.c.guild_id == guild_id
    for key in sorted(table.foreign_keys, key=lambda fk: fk.parent.name):
        parent = key.column.table
        if parent is table or not isinstance(parent, Table):
            continue
        scope = guild_scope(parent, guild_id)
        if scope is not None:
            return key.parent.in_(select(key.column).where(scope))
    return None


def _tables() -> list[Table]:
    import_all_models()
    # Children before parents: a row is gone before the row it hangs off.
    return list(reversed(Base.metadata.sorted_tables))


def _without_member(value: Any, user_id: int) -> tuple[Any, bool]:
    """`value` (decoded JSON) with every occurrence of the member's id, as a number or a string, made nobody's."""
    if isinstance(value, bool):
        return value, False
    if isinstance(value, int) and value == user_id:
        return FORGOTTEN_MEMBER_ID, True
    if isinstance(value, str) and value == str(user_id):
        return str(FORGOTTEN_MEMBER_ID), True
    if isinstance(value, dict):
        changed = False
        out: dict[Any, Any] = {}
        for key, item in value.items():
            out[key], hit = _without_member(item, user_id)
            changed = changed or hit
        return out, changed
    if isinstance(value, list):
        pairs = [_without_member(item, user_id) for item in value]
        return [item for item, _ in pairs], any(hit for _, hit in pairs)
    return value, False


async def anonymise_json(session: AsyncSession, guild_id: int, user_id: int) -> int:
    """Make the member's id nobody's inside the server's JSON values that may name members (declared ANONYMISE:
    audit before/after, job payloads and results, ...), and apply the table's own rule to each such row (a job
    still waiting for the member is cancelled). Returns the rows changed.
    """
    touched = 0
    for table in _tables():
        columns = member_json_columns(table)
        scope = guild_scope(table, guild_id)
        if not columns or scope is None:
            continue
        rule = forgotten_row_rule(table)
        key = list(table.primary_key.columns)
        # Snowflakes are 17-20 digits: the text match narrows the rows, the walk below replaces exact values only.
        mentions = or_(*(cast(column, Text).like(f"%{user_id}%") for column in columns))
        for row in (await session.execute(select(table).where(scope, mentions))).all():
            values: dict[str, Any] = {}
            for column in columns:
                cleaned, hit = _without_member(row._mapping[column], user_id)
                if hit:
                    values[column.name] = cleaned
            if not values:
                continue
            if rule is not None:
                values.update(rule({column.name: row._mapping[column] for column in table.columns}))
            where = [k == row._mapping[k] for k in key]
            await session.execute(update(table).where(*where).values(values))
            touched += 1
    return touched


async def forget_member(session: AsyncSession, guild_id: int, user_id: int) -> int:
    """Erase the member's own rows in the server and anonymise their id in the server's; return rows touched.

    A table with no server (member_settings: a member's time zone is the same everywhere) is erased as a whole
    for the member: they asked the bot to forget them, and it keeps nothing of theirs it could tie to them. Their
    id inside the server's JSON values goes too (`anonymise_json`).
    """
    touched = await anonymise_json(session, guild_id, user_id)
    for table in _tables():
        scope = guild_scope(table, guild_id)
        for column in table.columns:
            if not is_member_column(column):
                continue
            policy = policy_of(column)
            if policy is None or policy is MemberData.NONE:
                raise RuntimeError(f"{table.name}.{column.name} holds a member id but declares no member_data policy")
            where = [column == user_id] + ([scope] if scope is not None else [])
            if policy is MemberData.ERASE:
                result = await session.execute(delete(table).where(*where))
            else:
                nobody = None if column.nullable else FORGOTTEN_MEMBER_ID
                result = await session.execute(update(table).where(*where).values({column.name: nobody}))
            touched += max(result.rowcount or 0, 0)  # type: ignore[attr-defined]
    return touched


async def guilds_with_data(session: AsyncSession) -> set[int]:
    """Every server that has a row of its own in any table (the servers a purge could concern)."""
    # One query, not one per table: at start-up, on PostgreSQL across a network, that was 50 round trips.
    each = [select(table.c.guild_id) for table in _tables() if "guild_id" in table.c]
    return {gid for gid in await session.scalars(union(*each)) if gid is not None}


async def purge_guild(session: AsyncSession, guild_id: int, *, keep: Callable[[Table], bool] | None = None) -> int:
    """Delete every row that belongs to the server (children first); return how many."""
    removed = 0
    for table in _tables():
        if keep is not None and keep(table):
            continue
        scope = guild_scope(table, guild_id)
        if scope is None:
            continue
        result = await session.execute(delete(table).where(scope))
        removed += max(result.rowcount or 0, 0)  # type: ignore[attr-defined]
    return removed
