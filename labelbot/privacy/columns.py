"""How each column holding a member's id is treated when that member asks to be forgotten.

Every integer column whose name says it holds a member (user_id, author_id, poster_id, created_by, ...) declares
in its `info` what forgetting does to it, so the eraser needs no list of tables and a new table cannot be missed:
the meta test fails on a member column that declares nothing. Every JSON column declares the same way whether
member ids may sit inside its values (ANONYMISE: each one becomes nobody's) or never do (NO_MEMBER_IDS). A table
whose rows act later for the members they name (scheduled jobs) declares, in its own `info`, what else changes in
a row that named a forgotten member (`ON_MEMBER_FORGOTTEN`).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import JSON, Column, Integer, MetaData, Table

MEMBER_DATA = "member_data"
# What a forgotten member's id becomes where the row stays (audit entries, releases they created): nobody.
FORGOTTEN_MEMBER_ID = 0

# Names of columns that hold a Discord user id.
MEMBER_COLUMN_NAME = re.compile(
    r"^(user_id|member_id|author_id|actor_id|poster_id|reporter_id|host_id|owner_id|\w+_by|\w+_by_id)$"
)


class MemberData(enum.StrEnum):
    """What forgetting a member does to a column holding their id."""

    # The row is the member's own (an answer, a profile, attendance): it is deleted.
    ERASE = "erase"
    # The row is the server's (a release, an audit entry): it stays, with the id replaced by nobody. On a JSON
    # column: every member id inside its values is replaced by nobody.
    ANONYMISE = "anonymise"
    # A JSON column that never holds a member id (a tracklist, reminder offsets): forgetting leaves it alone.
    NONE = "none"


ERASE = {MEMBER_DATA: MemberData.ERASE}
ANONYMISE = {MEMBER_DATA: MemberData.ANONYMISE}
NO_MEMBER_IDS = {MEMBER_DATA: MemberData.NONE}

# A table's `info` key: (row that named the forgotten member) -> further values to write to it, e.g. a job still
# waiting for that member is cancelled. Called after the member's ids in its JSON were made nobody's.
ON_MEMBER_FORGOTTEN = "on_member_forgotten"
ForgottenRowRule = Callable[[Mapping[str, Any]], dict[str, Any]]


def is_member_column(column: Column[object]) -> bool:
    return MEMBER_COLUMN_NAME.match(column.name) is not None and isinstance(column.type, Integer)


def member_columns(metadata: MetaData) -> list[Column[object]]:
    """Every column of every table that holds a member's id, in dependency order (parents first)."""
    return [column for table in metadata.sorted_tables for column in table.columns if is_member_column(column)]


def policy_of(column: Column[object]) -> MemberData | None:
    value = column.info.get(MEMBER_DATA)
    return MemberData(value) if value is not None else None


def json_columns(table: Table) -> list[Column[Any]]:
    return [column for column in table.columns if isinstance(column.type, JSON)]


def member_json_columns(table: Table) -> list[Column[Any]]:
    """The JSON columns of the table whose values may name members (declared ANONYMISE)."""
    return [column for column in json_columns(table) if policy_of(column) is MemberData.ANONYMISE]


def forgotten_row_rule(table: Table) -> ForgottenRowRule | None:
    rule: ForgottenRowRule | None = table.info.get(ON_MEMBER_FORGOTTEN)
    return rule
