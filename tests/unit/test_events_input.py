"""Reading /event options: reminders, end dates, and the checks made before anything is created."""

# frozen clock: every parse takes now=NOW.

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from unittest.mock import MagicMock

import discord
import pytest

from labelbot.errors import InvalidInput
from labelbot.features.events._parsing import EventDraft, Place, check_draft, parse_reminders, parse_until
from labelbot.models.events import PlaceKind, Recurrence

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def draft(**changes: object) -> EventDraft:
    values: dict[str, object] = {
        "title": "AMA",
        "description": "",
        "starts_at": NOW + timedelta(days=1),
        "zone": "Europe/Berlin",
        "duration": timedelta(hours=1),
        "place": Place(PlaceKind.EXTERNAL, location="Here"),
        "capacity": None,
        "reminder_offsets_seconds": None,
        "ping_role_id": None,
        "recurrence": None,
        "until": None,
        "count": None,
        "open_thread": True,
        "card_channel": MagicMock(spec=discord.TextChannel),
    }
    values.update(changes)
    return EventDraft(**values)  # type: ignore[arg-type]


def test_reminders_read_as_seconds_before_the_start() -> None:
    assert parse_reminders("24h, 1h, 10m") == [86_400, 3_600, 600]
    assert parse_reminders("10m; 10 min") == [600]
    assert parse_reminders("none") == []
    assert parse_reminders(None) is None
    assert parse_reminders("  ") is None


@pytest.mark.parametrize("text", ["31d", "1m, 2m, 3m, 4m, 5m, 6m", "soon"])
def test_bad_reminders_are_refused(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_reminders(text)


def test_a_bare_end_date_means_the_end_of_that_day_in_the_zone() -> None:
    until = parse_until("2026-12-24", "Europe/Berlin", now=NOW)
    assert until == datetime(2026, 12, 24, 22, 59, 59, tzinfo=UTC)  # 23:59:59 in Berlin (UTC+1)
    assert parse_until("2026-12-24 18:00", "UTC", now=NOW) == datetime(2026, 12, 24, 18, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("changes", "sentence"),
    [
        ({"duration": timedelta(hours=25), "place": Place(PlaceKind.STAGE)}, "24 hours"),
        ({"duration": timedelta(days=8)}, "7 days"),
        ({"capacity": 10_001}, "Capacity"),
        ({"count": 3}, "repeating event"),
        ({"recurrence": Recurrence.WEEKLY, "until": NOW}, "end before"),
        ({"recurrence": Recurrence.DAILY, "duration": timedelta(hours=30)}, "run into the next"),
    ],
)
def test_drafts_the_bot_cannot_run_are_refused(changes: dict[str, object], sentence: str) -> None:
    with pytest.raises(InvalidInput, match=sentence):
        check_draft(draft(**changes))


def test_a_good_draft_passes() -> None:
    check_draft(
        draft(recurrence=Recurrence.BIWEEKLY, count=4, duration=timedelta(hours=23), place=Place(PlaceKind.STAGE))
    )
