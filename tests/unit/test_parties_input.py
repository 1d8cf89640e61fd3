"""Reading what members type for a party: tracklists, notes, reminder times, capacity; the party's clock."""

# frozen clock: the party timeline is computed from the start it is given; nothing reads now.

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from labelbot.errors import InvalidInput
from labelbot.features.parties._service import (
    Track,
    attach_notes,
    countdown_moment,
    parse_capacity,
    parse_offsets,
    parse_tracklist,
)
from labelbot.models.parties import ListeningParty

START = datetime(2026, 12, 4, 18, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("line", "title", "seconds"),
    [
        ("Intro - 1:30", "Intro", 90),
        ("Intro — 0:03", "Intro", 3),
        ("1. Night Drive (3:45)", "Night Drive", 225),
        ("Long Song - 1:02:03", "Long Song", 3723),
        ("Outro 45s", "Outro", 45),
        ("Suite - 3m20s", "Suite", 200),
        ("Track: 2:00", "Track", 120),
    ],
)
def test_track_lines_read_as_title_and_minutes_seconds(line: str, title: str, seconds: int) -> None:
    assert parse_tracklist(line) == [Track(title, seconds)]


def test_a_tracklist_splits_on_lines_bars_and_semicolons() -> None:
    tracks = parse_tracklist("A - 0:03\nB - 0:04 | C - 0:05; D - 0:06")
    assert [(t.title, t.seconds) for t in tracks] == [("A", 3), ("B", 4), ("C", 5), ("D", 6)]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty"),
        ("Intro - soon", "track 1"),
        ("Good - 1:00 | Bad", "track 2"),
        ("Bad seconds - 1:75", "track 1"),
        ("Endless - 13:00:00", "12 hours"),
        ("\n".join(f"T{i} - 0:01" for i in range(61)), "at most 60"),
    ],
)
def test_unreadable_tracklists_are_refused_with_the_track_named(text: str, fragment: str) -> None:
    with pytest.raises(InvalidInput, match=fragment):
        parse_tracklist(text)


def test_member_text_in_a_refusal_cannot_ping() -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_tracklist("@everyone - soon")
    assert "@everyone" not in str(refused.value)


def test_notes_go_in_order_or_by_number() -> None:
    tracks = [Track("A", 1), Track("B", 1), Track("C", 1)]
    assert [t.note for t in attach_notes(tracks, "first\n\nsecond")] == ["first", "second", None]
    assert [t.note for t in attach_notes(tracks, "3: last\n1) first")] == ["first", None, "last"]
    assert attach_notes(tracks, "  ") == tracks
    with pytest.raises(InvalidInput, match="track 4"):
        attach_notes(tracks, "1. a\n4. d")


def test_reminder_times_read_as_seconds_ahead_and_none_turns_them_off() -> None:
    assert parse_offsets("24h, 1h, 10m") == [86_400, 3_600, 600]
    assert parse_offsets("10s;10s") == [10]
    assert parse_offsets("none") == []
    assert parse_offsets(None) is None
    with pytest.raises(InvalidInput):
        parse_offsets("whenever")
    with pytest.raises(InvalidInput, match="14 days"):
        parse_offsets("15d")
    with pytest.raises(InvalidInput, match="at most 5"):
        parse_offsets("1m,2m,3m,4m,5m,6m")


@pytest.mark.parametrize("capacity", [-1, 10_001])
def test_capacity_out_of_range_is_refused(capacity: int) -> None:
    with pytest.raises(InvalidInput, match="between 0 and 10,000"):
        parse_capacity(capacity)


def test_capacity_in_range_is_kept() -> None:
    assert [parse_capacity(c) for c in (None, 0, 10_000)] == [None, 0, 10_000]


def test_the_countdown_comes_a_minute_ahead_or_halfway_when_less_is_left() -> None:
    assert countdown_moment(START, START - timedelta(hours=1)) == START - timedelta(minutes=1)
    assert countdown_moment(START, START - timedelta(seconds=20)) == START - timedelta(seconds=10)
    assert countdown_moment(START, START - timedelta(seconds=3)) is None


def party(durations: list[int]) -> ListeningParty:
    return ListeningParty(starts_at=START, tracks=[{"title": f"T{i}", "seconds": s} for i, s in enumerate(durations)])


def test_tracks_start_at_cumulative_offsets_and_the_clock_finds_the_current_one() -> None:
    p = party([3, 4, 5])
    assert p.track_starts() == [START, START + timedelta(seconds=3), START + timedelta(seconds=7)]
    assert p.ends_at == START + timedelta(seconds=12)
    assert p.track_at(START - timedelta(seconds=1)) is None
    assert p.track_at(START) == 0
    assert p.track_at(START + timedelta(seconds=2.9)) == 0
    assert p.track_at(START + timedelta(seconds=3)) == 1
    assert p.track_at(START + timedelta(seconds=11.5)) == 2
    assert p.track_at(START + timedelta(seconds=12)) == 3
