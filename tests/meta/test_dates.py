"""No test depends on today's date: a date literal in this year or later is a time bomb.

A test that runs against the real clock and types "2027-01-31" starts failing on the day that date passes.
Such tests compute their dates from now. A module whose code under test never reads the clock (every function
takes `now`, or works on the dates it is given) says so with a line starting `# frozen clock:` and the reason.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent
FROZEN = "# frozen clock:"
# The last day of the calendar is a deliberate out-of-range input, not a date that will pass.
END_OF_TIME = 9999
# "2027-01-31" in any string, and datetime(2027, ...) / date(2027, ...) calls.
DATE_LITERALS = (
    re.compile(r"(?<![\w-])(?P<year>\d{4})-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])(?![\d])"),
    re.compile(r"\b(?:datetime|date)\(\s*(?P<year>\d{4})\s*,"),
)


def future_dates(source: str, this_year: int) -> list[tuple[int, str]]:
    """(line number, line) of every date literal in `this_year` or later."""
    found = []
    for number, line in enumerate(source.splitlines(), start=1):
        code = line.split("#", 1)[0] if not line.lstrip().startswith(("'", '"')) else line
        if any(
            this_year <= int(m.group("year")) < END_OF_TIME for pattern in DATE_LITERALS for m in pattern.finditer(code)
        ):
            found.append((number, line.strip()))
    return found


def is_frozen(source: str) -> bool:
    return any(line.startswith(FROZEN) and len(line) > len(FROZEN) + 10 for line in source.splitlines())


def test_the_detector_sees_the_shapes_of_a_time_bomb() -> None:
    bombs = '{"start": "2027-01-31 20:00"}\nSTART = datetime(2031, 3, 6, 23, 0, tzinfo=UTC)\nd = date(2027, 6, 1)\n'
    assert [n for n, _ in future_dates(bombs, 2026)] == [1, 2, 3]
    harmless = '{"until": "2020-01-01"}\n"id": "dist-2026-041"\nx = f"{NEXT_YEAR}-01-31"\n# due 2030-01-01\n'
    assert future_dates(harmless, 2026) == []


def test_no_test_hard_codes_a_date_this_year_or_later() -> None:
    this_year = datetime.now(UTC).year
    bombs = []
    for path in sorted(TESTS.rglob("*.py")):
        source = path.read_text()
        if path == Path(__file__) or is_frozen(source):
            continue
        bombs += [f"{path.relative_to(TESTS)}:{n}: {line}" for n, line in future_dates(source, this_year)]
    assert not bombs, "dates that will pass one day; compute them from now:\n" + "\n".join(bombs)
