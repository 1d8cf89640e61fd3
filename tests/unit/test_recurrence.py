"""Occurrence math of repeating events, and what Discord is told about it."""

# frozen clock: recurrence rules are pure date arithmetic on the dates given; nothing reads now.

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from labelbot.errors import InvalidInput
from labelbot.features.events._recurrence import (
    Rule,
    check,
    describe,
    discord_rule,
    last,
    next_after,
    occurrences,
    rrule_text,
)
from labelbot.models.events import Recurrence
from tests.fakediscord.validation import check_recurrence_rule

BERLIN = ZoneInfo("Europe/Berlin")
# Friday 13 March 2026, 20:00 in Berlin (UTC+1); Berlin moves to UTC+2 on 29 March.
FRIDAY = datetime(2026, 3, 13, 20, 0, tzinfo=BERLIN).astimezone(UTC)
HOUR = timedelta(hours=1)


def test_weekly_keeps_the_wall_clock_across_daylight_saving() -> None:
    rule = Rule(Recurrence.WEEKLY, FRIDAY, "Europe/Berlin", count=4)
    starts = occurrences(rule)
    assert [moment.astimezone(BERLIN).hour for moment in starts] == [20, 20, 20, 20]
    assert [moment.hour for moment in starts] == [19, 19, 19, 18]  # in UTC: an hour earlier after 29 March
    assert rrule_text(rule) == "FREQ=WEEKLY;BYDAY=FR;COUNT=4"
    assert last(rule) == starts[-1]


def test_every_two_weeks_and_next_after() -> None:
    rule = Rule(Recurrence.BIWEEKLY, FRIDAY, "Europe/Berlin")
    assert next_after(rule, FRIDAY) == datetime(2026, 3, 27, 19, 0, tzinfo=UTC)
    assert next_after(rule, FRIDAY - HOUR) == FRIDAY
    assert last(rule) is None  # no end


def test_monthly_by_weekday_and_by_date() -> None:
    second_friday = Rule(Recurrence.MONTHLY_WEEKDAY, FRIDAY, "Europe/Berlin", count=3)
    assert [m.astimezone(BERLIN).day for m in occurrences(second_friday)] == [13, 10, 8]  # Mar, Apr, May 2026
    assert rrule_text(second_friday) == "FREQ=MONTHLY;BYDAY=2FR;COUNT=3"
    last_friday = Rule(Recurrence.MONTHLY_WEEKDAY, datetime(2026, 1, 30, 18, tzinfo=UTC), "UTC", count=3)
    assert [m.day for m in occurrences(last_friday)] == [30, 27, 27]
    assert discord_rule(last_friday, last_friday.anchor) is None  # Discord has no "last Friday"
    on_the_13th = Rule(Recurrence.MONTHLY_DATE, FRIDAY, "Europe/Berlin", until=FRIDAY + timedelta(days=70))
    assert [m.astimezone(BERLIN).day for m in occurrences(on_the_13th)] == [13, 13, 13]
    assert discord_rule(on_the_13th, FRIDAY) is None  # Discord repeats monthly only by weekday


def test_until_is_inclusive_and_in_utc() -> None:
    rule = Rule(Recurrence.DAILY, FRIDAY, "Europe/Berlin", until=FRIDAY + timedelta(days=2))
    assert len(occurrences(rule)) == 3
    assert rrule_text(rule).endswith("UNTIL=20260315T190000Z")
    assert "until <t:" in describe(rule)


@pytest.mark.parametrize(
    ("rule", "duration", "sentence"),
    [
        (Rule(Recurrence.WEEKLY, FRIDAY, "UTC", until=FRIDAY + HOUR, count=3), HOUR, "not both"),
        (Rule(Recurrence.WEEKLY, FRIDAY, "UTC", until=FRIDAY - HOUR), HOUR, "end before"),
        (Rule(Recurrence.WEEKLY, FRIDAY, "UTC", count=0), HOUR, "from 1 to"),
        (Rule(Recurrence.MONTHLY_DATE, datetime(2026, 1, 31, 18, tzinfo=UTC), "UTC"), HOUR, "skip the months"),
        (Rule(Recurrence.DAILY, FRIDAY, "UTC"), timedelta(hours=25), "run into the next"),
        (Rule(Recurrence.WEEKLY, FRIDAY, "UTC", until=FRIDAY + timedelta(days=800)), HOUR, "two years"),
    ],
)
def test_series_the_bot_cannot_run_are_refused(rule: Rule, duration: timedelta, sentence: str) -> None:
    with pytest.raises(InvalidInput, match=sentence):
        check(rule, duration)


@pytest.mark.parametrize("recurrence", [Recurrence.DAILY, Recurrence.WEEKLY, Recurrence.BIWEEKLY])
def test_discord_rules_pass_discords_limits(recurrence: Recurrence) -> None:
    rule = Rule(recurrence, FRIDAY, "Europe/Berlin", count=5)
    body = discord_rule(rule, FRIDAY)
    assert body is not None
    assert check_recurrence_rule(body) == []
    assert body["end"] == last(rule).isoformat()  # type: ignore[union-attr]
    assert "count" not in body


def test_monthly_weekday_discord_rule() -> None:
    rule = Rule(Recurrence.MONTHLY_WEEKDAY, FRIDAY, "Europe/Berlin")
    body = discord_rule(rule, FRIDAY)
    assert body is not None
    assert body["by_n_weekday"] == [{"n": 2, "day": 4}]
    assert check_recurrence_rule(body) == []


@given(
    recurrence=st.sampled_from(list(Recurrence)),
    days=st.integers(min_value=0, max_value=365),
    minutes=st.integers(min_value=0, max_value=24 * 60 - 1),
    zone=st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata"]),
    count=st.integers(min_value=1, max_value=12),
)
def test_every_occurrence_keeps_the_local_time_and_comes_in_order(
    recurrence: Recurrence, days: int, minutes: int, zone: str, count: int
) -> None:
    local = datetime(2026, 1, 1, tzinfo=ZoneInfo(zone)) + timedelta(days=days, minutes=minutes)
    anchor = local.astimezone(UTC)
    rule = Rule(recurrence, anchor, zone, count=count)
    try:
        check(rule, HOUR)
    except InvalidInput:
        return
    starts = occurrences(rule)
    assert starts[0] == anchor
    assert len(starts) == count
    assert starts == sorted(set(starts))
    wall = anchor.astimezone(ZoneInfo(zone))
    for moment in starts:
        here = moment.astimezone(ZoneInfo(zone))
        # A wall time skipped by a DST change lands an hour off; every other one is kept exactly.
        assert abs((here.hour * 60 + here.minute) - (wall.hour * 60 + wall.minute)) in (0, 60)
    for earlier, later in itertools.pairwise(starts):
        assert next_after(rule, earlier) == later
    body = discord_rule(rule, anchor)
    if body is not None:
        assert check_recurrence_rule(body) == []
