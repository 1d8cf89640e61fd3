"""The arithmetic of catalogue dates: which anniversaries count, leap days, label dates' next occurrence."""

# frozen clock: these functions take the day they work on and never read the clock.
from __future__ import annotations

from datetime import date

import pytest

from labelbot.artists.models import Artist
from labelbot.features.anniversaries._render import CONTENT_MAX, label_date_post
from labelbot.features.anniversaries._service import anniversary_years
from labelbot.models.anniversaries import LabelDate, next_occurrence, occurs_on


@pytest.mark.parametrize(
    ("released", "day", "expected"),
    [
        (date(2025, 12, 7), date(2026, 12, 7), 1),
        (date(2021, 12, 7), date(2026, 12, 7), 5),
        (date(2016, 12, 7), date(2026, 12, 7), 10),
        (date(2011, 12, 7), date(2026, 12, 7), 15),
        (date(2023, 12, 7), date(2026, 12, 7), None),  # 3 years: no milestone
        (date(2021, 12, 8), date(2026, 12, 7), None),  # not the day
        (date(2026, 12, 7), date(2026, 12, 7), None),  # release day itself
        (date(2020, 2, 29), date(2025, 2, 28), 5),  # a leap-day release is celebrated on the 28th
        (date(2020, 2, 29), date(2024, 2, 28), None),  # ...only when there is no 29th
    ],
)
def test_anniversary_years(released: date, day: date, expected: int | None) -> None:
    assert anniversary_years(released, day) == expected


def test_label_dates_one_off_and_yearly() -> None:
    once = LabelDate(name="Bandcamp Friday", on_date=date(2026, 12, 4), yearly=False)
    yearly = LabelDate(name="Label birthday", on_date=date(2024, 2, 29), yearly=True)
    assert occurs_on(once, date(2026, 12, 4))
    assert not occurs_on(once, date(2027, 12, 4))
    assert next_occurrence(once, date(2026, 12, 5)) is None
    assert occurs_on(yearly, date(2025, 2, 28))
    assert not occurs_on(yearly, date(2023, 2, 28)), "not before it was added"
    assert next_occurrence(yearly, date(2026, 3, 1)) == date(2027, 2, 28)
    assert next_occurrence(yearly, date(2027, 3, 1)) == date(2028, 2, 29)


def test_a_label_date_reminder_keeps_whole_artists_within_discords_limit() -> None:
    roster = [
        Artist(name=f"Artist {n}", links=[{"label": "Bandcamp", "url": f"https://a{n}.bandcamp.com/" + "x" * 60}])
        for n in range(40)
    ]
    text = label_date_post(LabelDate(name="Bandcamp Friday", on_date=date(2026, 12, 4), yearly=False), roster)
    assert len(text) <= CONTENT_MAX
    assert text.endswith(">)"), "no link is cut in half"
