"""Reading what members type for a release: tracklists, links, covers, teaser offsets."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from labelbot.errors import InvalidInput
from labelbot.features.releases._parsing import (
    LinkInput,
    TrackInput,
    check_cover_attachment,
    check_cover_url,
    check_title,
    format_duration,
    format_tracklist,
    parse_links,
    parse_teasers,
    parse_tracklist,
)
from labelbot.links import format_links


def test_tracklist_lines_in_the_usual_shapes() -> None:
    text = "1. Opening 3:45\n\n02) Night Drive - 4:10\n3 - Long Form 1:02:03\nNo Number (2:05)"
    assert parse_tracklist(text) == [
        TrackInput("Opening", 225),
        TrackInput("Night Drive", 250),
        TrackInput("Long Form", 3723),
        TrackInput("No Number", 125),
    ]


def test_empty_tracklist_is_no_tracks() -> None:
    assert parse_tracklist("") == []
    assert parse_tracklist(None) == []
    assert parse_tracklist("\n  \n") == []


@pytest.mark.parametrize(
    ("text", "line"),
    [("1. Opening 3:45\n2. Night Drive", 2), ("1. Opening 3:75", 1), ("1. Opening 3:45\n\n3. 4:00x", 3)],
)
def test_a_bad_tracklist_line_is_named(text: str, line: int) -> None:
    with pytest.raises(InvalidInput, match=f"Line {line} of the tracklist"):
        parse_tracklist(text)


def test_a_bad_line_is_quoted_without_pinging() -> None:
    with pytest.raises(InvalidInput) as refusal:
        parse_tracklist("@everyone come listen")
    assert "@everyone" not in str(refusal.value)


def test_tracklist_round_trips_through_the_form() -> None:
    tracks = [TrackInput("Opening", 225), TrackInput("Long Form", 3723)]
    assert parse_tracklist(format_tracklist(tracks)) == tracks


@given(st.integers(min_value=1, max_value=10 * 3600))
def test_durations_format_and_read_back(seconds: int) -> None:
    assert parse_tracklist(f"1. Song {format_duration(seconds)}") == [TrackInput("Song", seconds)]


def test_links_with_and_without_labels() -> None:
    text = (
        "Bandcamp https://nova.bandcamp.com/album/a\n"
        "https://open.spotify.com/album/x\n"
        "Pre-save: https://distrokid.com/hyperfollow/x\n"
        "https://youtu.be/abc\n"
        "https://music.apple.com/album/1\n"
        "https://shop.example.org/vinyl"
    )
    assert [link.label for link in parse_links(text)] == [
        "Bandcamp",
        "Spotify",
        "Pre-save",
        "YouTube",
        "Apple Music",
        "shop.example.org",
    ]
    links = parse_links(text)
    assert parse_links(format_links(links)) == links


@pytest.mark.parametrize("url", ["ftp://example.org/a", "javascript:alert(1)", "mailto:a@b.c", "file:///etc/passwd"])
def test_only_http_links(url: str) -> None:
    with pytest.raises(InvalidInput, match="not an http or https address"):
        parse_links(f"Shop {url}")


def test_at_most_ten_links() -> None:
    assert len(parse_links("\n".join(f"https://example.org/{n}" for n in range(10)))) == 10
    with pytest.raises(InvalidInput, match="at most 10 links"):
        parse_links("\n".join(f"https://example.org/{n}" for n in range(11)))


def test_link_labels_fit_a_button() -> None:
    with pytest.raises(InvalidInput, match="at most 80 characters"):
        parse_links(f"{'x' * 81} https://example.org/")
    assert parse_links(f"{'x' * 80} https://example.org/") == [LinkInput("x" * 80, "https://example.org/")]


def test_titles() -> None:
    assert check_title("  Night   Drive ") == "Night Drive"
    assert check_title("x" * 100) == "x" * 100
    with pytest.raises(InvalidInput, match="at most 100 characters"):
        check_title("x" * 101)
    with pytest.raises(InvalidInput):
        check_title("   ")


def test_covers() -> None:
    assert check_cover_url("https://cdn.example.org/a.PNG") == "https://cdn.example.org/a.PNG"
    for bad in ("https://cdn.example.org/a.pdf", "https://cdn.example.org/"):
        with pytest.raises(InvalidInput, match="must be an image"):
            check_cover_url(bad)
    with pytest.raises(InvalidInput, match="http or https"):
        check_cover_url("ftp://cdn.example.org/a.png")
    check_cover_attachment("a.png", "image/png")
    check_cover_attachment("a.png", None)
    for filename, content_type in (("a.txt", "text/plain"), ("a.png", "application/pdf"), ("a.txt", None)):
        with pytest.raises(InvalidInput, match="must be an image"):
            check_cover_attachment(filename, content_type)


def test_teasers() -> None:
    assert parse_teasers("7d, 1d, 1h") == [7 * 24 * 60, 24 * 60, 60]
    assert parse_teasers("1h and 30m; 1h") == [60, 30]
    assert parse_teasers("none") == []
    for bad in ("soon", "10s", "90d", "1h, 2h, 3h, 4h, 5h, 6h"):
        with pytest.raises(InvalidInput):
            parse_teasers(bad)


def test_control_characters_are_dropped_or_refused() -> None:
    assert check_title("Night\x00 Drive\x07") == "Night Drive"
    assert parse_tracklist("1. Open\x00ing 3:45") == [TrackInput("Opening", 225)]
    for url in ("https://example.org/a\x00.png", "https://exa mple.org/a.png", "http://[::1/a.png"):
        with pytest.raises(InvalidInput, match="http or https"):
            check_cover_url(url)
