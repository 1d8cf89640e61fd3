"""Reading what a web request says, refusing what cannot be right before it reaches the database."""

from __future__ import annotations

import re

# Discord ids are positive 64-bit integers; anything longer cannot be one and would overflow the column.
MAX_SNOWFLAKE = 2**63 - 1
_DIGITS = re.compile(r"[0-9]{1,20}")


def parse_snowflake(text: str) -> int | None:
    """The Discord id written in `text`, or None when it is not one (not digits, zero, or out of range)."""
    if not _DIGITS.fullmatch(text):
        return None
    value = int(text)
    return value if 0 < value <= MAX_SNOWFLAKE else None
