"""Compact VTIMEZONE blocks: each zone's current rules as yearly RRULEs, so they hold past 2038 in every client."""

from __future__ import annotations

import calendar as monthdays
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar

WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
# Years past the last one a feed shows that the rules are checked against zoneinfo (its POSIX footer covers them).
CHECKED_YEARS = 40


@dataclass(frozen=True)
class Transition:
    at: datetime  # the UTC instant
    local: datetime  # naive wall-clock time just before it (what DTSTART of an onset is, RFC 5545 3.6.5)
    offset_from: timedelta
    offset_to: timedelta
    daylight: bool
    name: str


def _offset(zone: ZoneInfo, at: datetime) -> timedelta:
    return at.astimezone(zone).utcoffset() or timedelta(0)


def transitions(zone: ZoneInfo, first_year: int, last_year: int) -> list[Transition]:
    """Every change of UTC offset in the years, to the minute (a daily scan, then a bisection within the day)."""
    found: list[Transition] = []
    day = datetime(first_year, 1, 1, tzinfo=UTC)
    end = datetime(last_year + 1, 1, 1, tzinfo=UTC)
    before = _offset(zone, day)
    while day < end:
        following = day + timedelta(days=1)
        after = _offset(zone, following)
        if after != before:
            low, high = day, following
            while high - low > timedelta(minutes=1):
                middle = low + (high - low) / 2
                if _offset(zone, middle) == before:
                    low = middle
                else:
                    high = middle
            moment = high.replace(second=0, microsecond=0)
            local_after = moment.astimezone(zone)
            found.append(
                Transition(
                    at=moment,
                    local=(moment + before).replace(tzinfo=None),
                    offset_from=before,
                    offset_to=after,
                    daylight=bool(local_after.dst()),
                    name=local_after.tzname() or zone.key,
                )
            )
        before = after
        day = following
    return found


def _yearly_rule(group: list[Transition]) -> dict[str, object] | None:
    """A yearly BYMONTH/BYDAY rule every transition of the group follows, once a year, or None."""
    first = group[0]
    years = [t.local.year for t in group]
    if years != list(range(years[0], years[0] + len(years))):
        return None
    same = {(t.local.month, t.local.weekday(), t.local.time(), t.offset_from, t.offset_to) for t in group}
    if len(same) != 1:
        return None
    weekday = WEEKDAYS[first.local.weekday()]
    if all(t.local.day > monthdays.monthrange(t.local.year, t.local.month)[1] - 7 for t in group):
        return {"FREQ": "YEARLY", "BYMONTH": first.local.month, "BYDAY": f"-1{weekday}"}
    nths = {(t.local.day - 1) // 7 + 1 for t in group}
    if len(nths) == 1:
        return {"FREQ": "YEARLY", "BYMONTH": first.local.month, "BYDAY": f"{nths.pop()}{weekday}"}
    # "The Friday before the last Sunday" (Israel): a weekday within a fixed week of days, seen on all seven of them.
    days = sorted({t.local.day for t in group})
    if days == list(range(days[0], days[0] + 7)):
        return {"FREQ": "YEARLY", "BYMONTH": first.local.month, "BYDAY": weekday, "BYMONTHDAY": days}
    return None


def _regular(tail: list[Transition]) -> dict[tuple[bool, timedelta, timedelta], list[Transition]]:
    """The changes grouped by kind and offsets (a regular zone has two groups: into and out of summer time)."""
    groups: dict[tuple[bool, timedelta, timedelta], list[Transition]] = {}
    for item in tail:
        groups.setdefault((item.daylight, item.offset_from, item.offset_to), []).append(item)
    return groups


def _onset(kind: type[icalendar.cal.Component], first: Transition) -> icalendar.cal.Component:
    onset = kind()
    onset.add("dtstart", first.local)
    onset.add("tzoffsetfrom", first.offset_from)
    onset.add("tzoffsetto", first.offset_to)
    onset.add("tzname", first.name)
    return onset


def vtimezone(name: str, first_year: int, last_year: int) -> icalendar.Timezone:
    """The zone from `first_year` on: regular onsets as open-ended yearly rules, the irregular past as RDATEs."""
    zone = ZoneInfo(name)
    found = transitions(zone, first_year, last_year + CHECKED_YEARS)
    block = icalendar.Timezone()
    block.add("tzid", name)
    if not found:
        offset = _offset(zone, datetime(first_year, 1, 1, tzinfo=UTC))
        standard = icalendar.TimezoneStandard()
        standard.add("dtstart", datetime(1970, 1, 1))  # noqa: DTZ001 - onsets are local wall-clock times
        standard.add("tzoffsetfrom", offset)
        standard.add("tzoffsetto", offset)
        standard.add("tzname", datetime(first_year, 1, 1, tzinfo=zone).tzname() or name)
        block.add_component(standard)
        return block
    # The shortest regular tail: from the first year after which both kinds of change follow one yearly rule each.
    start, groups, rules = len(found), _regular(found[len(found) :]), {}
    for index in range(len(found)):
        if found[index].local.year > last_year + 1:
            break  # a rule seen for less than CHECKED_YEARS years is a guess; every change is listed instead
        candidate = _regular(found[index:])
        found_rules = {key: _yearly_rule(group) for key, group in candidate.items()}
        if len(candidate) <= 2 and all(rule is not None for rule in found_rules.values()):
            start, groups, rules = index, candidate, found_rules
            break
    for item in found[:start]:
        kind = icalendar.TimezoneDaylight if item.daylight else icalendar.TimezoneStandard
        block.add_component(_onset(kind, item))
    for key, group in groups.items():
        kind = icalendar.TimezoneDaylight if key[0] else icalendar.TimezoneStandard
        onset = _onset(kind, group[0])
        onset.add("rrule", rules[key])
        block.add_component(onset)
    return block
