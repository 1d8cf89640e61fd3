"""When a repeating event happens: the rule as RFC 5545 (for the bot and calendars) and as Discord accepts it.

Occurrences are computed by dateutil's rrule on the organiser's wall clock (the anchor in its zone), so "every
Friday 20:00 Berlin" stays 20:00 in Berlin across daylight-saving changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from dateutil import rrule

from labelbot.errors import InvalidInput
from labelbot.models.events import Recurrence
from labelbot.timeparse import format_dt

# More than this many occurrences is a "forever" series; say so with no end at all instead.
MAX_COUNT = 500
# Discord keeps recurring events up to about two years ahead; beyond that the bot would be guessing too.
MAX_SPAN = timedelta(days=2 * 366)
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
ORDINALS = {1: "first", 2: "second", 3: "third", 4: "fourth", -1: "last"}
# Shortest gap between two occurrences, which an occurrence must fit in (the bot runs one at a time).
MIN_GAP = {
    Recurrence.DAILY: timedelta(days=1),
    Recurrence.WEEKLY: timedelta(days=7),
    Recurrence.BIWEEKLY: timedelta(days=14),
    Recurrence.MONTHLY_DATE: timedelta(days=28),
    Recurrence.MONTHLY_WEEKDAY: timedelta(days=28),
}
# Discord's recurrence-rule frequencies.
_DISCORD_MONTHLY, _DISCORD_WEEKLY, _DISCORD_DAILY = 1, 2, 3

RECURRENCE_LABELS: dict[Recurrence, str] = {
    Recurrence.DAILY: "daily",
    Recurrence.WEEKLY: "weekly",
    Recurrence.BIWEEKLY: "every two weeks",
    Recurrence.MONTHLY_DATE: "monthly (same date)",
    Recurrence.MONTHLY_WEEKDAY: "monthly (same weekday, e.g. 2nd Friday)",
}


@dataclass(frozen=True)
class Rule:
    """A series: how it repeats from its anchor, in the zone meant, until a moment or for a number of times."""

    recurrence: Recurrence
    anchor: datetime  # aware; the first occurrence
    zone: str
    until: datetime | None = None  # aware; the last occurrence is on or before it
    count: int | None = None

    @property
    def local_anchor(self) -> datetime:
        return self.anchor.astimezone(ZoneInfo(self.zone))

    @property
    def nth_weekday(self) -> int:
        """Which weekday of its month the anchor is: 1-4, or -1 for the last (a fifth one is always the last)."""
        nth = (self.local_anchor.day - 1) // 7 + 1
        return -1 if nth == 5 else nth


def check(rule: Rule, duration: timedelta) -> None:
    """Refuse a series the bot cannot run faithfully, in one sentence."""
    if rule.until is not None and rule.count is not None:
        raise InvalidInput("Give an end date or a number of times, not both.")
    if rule.count is not None and not 1 <= rule.count <= MAX_COUNT:
        raise InvalidInput(f"A series can repeat from 1 to {MAX_COUNT} times; leave the count empty for no end.")
    if rule.until is not None and rule.until < rule.anchor:
        raise InvalidInput("The series would end before its first occurrence; pick an end date after the start.")
    if rule.until is not None and rule.until - rule.anchor > MAX_SPAN:
        raise InvalidInput("A series can run for up to two years; pick an earlier end date.")
    if rule.recurrence == Recurrence.MONTHLY_DATE and rule.local_anchor.day > 28:
        raise InvalidInput(
            f"A monthly event on day {rule.local_anchor.day} would skip the months without one; start it on the "
            "28th or earlier, or repeat it monthly by weekday (like the last Friday)."
        )
    if duration > MIN_GAP[rule.recurrence]:
        raise InvalidInput(
            f"Each occurrence would run into the next ({RECURRENCE_LABELS[rule.recurrence]}); "
            "shorten the event or repeat it less often."
        )


def rrule_text(rule: Rule) -> str:
    """The RFC 5545 RRULE value (without DTSTART), e.g. "FREQ=WEEKLY;INTERVAL=2;BYDAY=FR;COUNT=6"."""
    local = rule.local_anchor
    weekday = WEEKDAYS[local.weekday()]
    parts: list[str]
    match rule.recurrence:
        case Recurrence.DAILY:
            parts = ["FREQ=DAILY"]
        case Recurrence.WEEKLY:
            parts = ["FREQ=WEEKLY", f"BYDAY={weekday}"]
        case Recurrence.BIWEEKLY:
            parts = ["FREQ=WEEKLY", "INTERVAL=2", f"BYDAY={weekday}"]
        case Recurrence.MONTHLY_DATE:
            parts = ["FREQ=MONTHLY", f"BYMONTHDAY={local.day}"]
        case Recurrence.MONTHLY_WEEKDAY:
            parts = ["FREQ=MONTHLY", f"BYDAY={rule.nth_weekday}{weekday}"]
    if rule.count is not None:
        parts.append(f"COUNT={rule.count}")
    if rule.until is not None:
        parts.append(f"UNTIL={rule.until.astimezone(UTC):%Y%m%dT%H%M%SZ}")
    return ";".join(parts)


def _series(rule: Rule) -> rrule.rrule:
    local = rule.local_anchor
    return rrule.rrulestr(rrule_text(rule), dtstart=local)  # type: ignore[no-any-return]


def occurrences(rule: Rule, *, limit: int = MAX_COUNT) -> list[datetime]:
    """The series' starts, in UTC (at most `limit`; a series without an end is cut there)."""
    found: list[datetime] = []
    for moment in _series(rule):
        found.append(moment.astimezone(UTC))
        if len(found) >= limit:
            break
    return found


def next_after(rule: Rule, after: datetime) -> datetime | None:
    """The first start strictly after `after`, in UTC; None when the series is over."""
    found = _series(rule).after(after.astimezone(ZoneInfo(rule.zone)), inc=False)
    return found.astimezone(UTC) if found is not None else None


def last(rule: Rule) -> datetime | None:
    """The series' last start, in UTC; None for a series without an end."""
    if rule.count is None and rule.until is None:
        return None
    found = _series(rule)[-1] if rule.count is not None else _series(rule).before(rule.until, inc=True)
    return found.astimezone(UTC) if found is not None else None


def remaining_count(rule: Rule, upto: datetime) -> int | None:
    """For a counted series, how many occurrences start at or after `upto` (to re-anchor it there)."""
    if rule.count is None:
        return None
    return sum(1 for moment in occurrences(rule) if moment >= upto)


def discord_rule(rule: Rule, start: datetime) -> dict[str, Any] | None:
    """The native event's recurrence rule from `start` on, or None where Discord cannot say it.

    Discord's limits: weekly needs exactly one weekday and an interval of 1 or 2; monthly only as the n-th weekday
    (1-5, no "last"); no "same date every month"; count cannot be sent (the end date is, instead).
    """
    local = start.astimezone(ZoneInfo(rule.zone))
    body: dict[str, Any] = {"start": start.astimezone(UTC).isoformat()}
    match rule.recurrence:
        case Recurrence.DAILY:
            body.update(frequency=_DISCORD_DAILY, interval=1)
        case Recurrence.WEEKLY:
            body.update(frequency=_DISCORD_WEEKLY, interval=1, by_weekday=[local.weekday()])
        case Recurrence.BIWEEKLY:
            body.update(frequency=_DISCORD_WEEKLY, interval=2, by_weekday=[local.weekday()])
        case Recurrence.MONTHLY_WEEKDAY:
            nth = (local.day - 1) // 7 + 1
            if rule.nth_weekday == -1 or nth > 4:
                return None
            body.update(frequency=_DISCORD_MONTHLY, interval=1, by_n_weekday=[{"n": nth, "day": local.weekday()}])
        case Recurrence.MONTHLY_DATE:
            return None
    final = last(rule)
    if final is not None:
        if final <= start:
            return None  # the last one: nothing repeats any more
        body["end"] = final.isoformat()
    return body


def describe(rule: Rule) -> str:
    """In words: "every Friday, 4 times", "on the last Friday of each month until <t:…:D>"."""
    local = rule.local_anchor
    weekday = WEEKDAY_NAMES[local.weekday()]
    match rule.recurrence:
        case Recurrence.DAILY:
            text = "every day"
        case Recurrence.WEEKLY:
            text = f"every {weekday}"
        case Recurrence.BIWEEKLY:
            text = f"every other {weekday}"
        case Recurrence.MONTHLY_DATE:
            text = f"on day {local.day} of each month"
        case Recurrence.MONTHLY_WEEKDAY:
            text = f"on the {ORDINALS[rule.nth_weekday]} {weekday} of each month"
    if rule.count is not None:
        text += f", {rule.count} time{'s' if rule.count != 1 else ''}"
    elif rule.until is not None:
        text += f" until {format_dt(rule.until, 'D')}"
    return text
