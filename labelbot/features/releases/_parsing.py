"""Reading what members type for a release: tracklists, links, covers, teaser offsets. No Discord, no database."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from labelbot.catalog.models import (
    COVER_URL_MAX,
    DESCRIPTION_MAX,
    LINK_LABEL_MAX,
    LINK_URL_MAX,
    LINKS_MAX,
    TITLE_MAX,
    TRACK_TITLE_MAX,
    TRACKS_MAX,
)
from labelbot.errors import InvalidInput
from labelbot.links import Link, check_http_url, quote, scrub
from labelbot.links import parse_links as read_links
from labelbot.timeparse import TimeParseError, parse_duration

# A release's link: the one kind every feature reads (labelbot.links).
LinkInput = Link

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".gif", ".webp")
IMAGE_CONTENT_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")
TEASERS_MAX = 5
# A teaser further ahead than this is more likely a typo than a plan.
TEASER_OFFSET_MAX_MINUTES = 60 * 24 * 60

# "1. Title 3:45", "01) Title - 3:45", "Title 1:02:03" (the number is optional).
_TRACK = re.compile(
    r"^\s*(?:(?P<number>\d{1,3})\s*[.)\-:]\s*)?(?P<title>.+?)\s*[-–—]?\s*\(?(?P<duration>\d{1,2}:[0-5]\d(?::[0-5]\d)?)\)?\s*$"
)


@dataclass(frozen=True)
class TrackInput:
    title: str
    duration_seconds: int | None


def parse_tracklist(text: str | None) -> list[TrackInput]:
    """Read one track per line, "1. Title 3:45"; the error names the first line that is not like that."""
    tracks: list[TrackInput] = []
    for number, line in enumerate(scrub(text or "").splitlines(), start=1):
        if not line.strip():
            continue
        match = _TRACK.match(line)
        if match is None:
            raise InvalidInput(
                f'Line {number} of the tracklist ("{quote(line)}") is not like "1. Title 3:45"; '
                "put a title and a duration on each line."
            )
        title = " ".join(match.group("title").split()).rstrip("-–— ")
        if not title:
            raise InvalidInput(f'Line {number} of the tracklist ("{quote(line)}") has no title.')
        if len(title) > TRACK_TITLE_MAX:
            raise InvalidInput(f"Line {number} of the tracklist has a title over {TRACK_TITLE_MAX} characters.")
        tracks.append(TrackInput(title=title, duration_seconds=_seconds(match.group("duration"))))
    if len(tracks) > TRACKS_MAX:
        raise InvalidInput(f"A tracklist can have at most {TRACKS_MAX} tracks; this one has {len(tracks)}.")
    return tracks


def _seconds(clock: str) -> int:
    parts = [int(part) for part in clock.split(":")]
    total = 0
    for part in parts:
        total = total * 60 + part
    return total


def format_duration(seconds: int) -> str:
    """3:45, or 1:02:03 past an hour."""
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def format_tracklist(tracks: list[TrackInput]) -> str:
    """The tracklist as the member would type it, to prefill the modal."""
    return "\n".join(
        f"{index}. {track.title}" + (f" {format_duration(track.duration_seconds)}" if track.duration_seconds else "")
        for index, track in enumerate(tracks, start=1)
    )


def parse_links(text: str | None) -> list[LinkInput]:
    """Read a release's links ("Bandcamp https://…" or a bare address, one a line; labelbot.links): at most ten."""
    return read_links(text or "", owner="A release", most=LINKS_MAX, url_max=LINK_URL_MAX, label_max=LINK_LABEL_MAX)


def check_title(title: str) -> str:
    """The title with spaces tidied, or a refusal if it is empty or too long."""
    tidy = " ".join(scrub(title).split())
    if not tidy:
        raise InvalidInput("A release needs a title.")
    if len(tidy) > TITLE_MAX:
        raise InvalidInput(f"A release title can be at most {TITLE_MAX} characters; this one has {len(tidy)}.")
    return tidy


def check_description(text: str | None) -> str | None:
    tidy = scrub(text or "").strip()
    if len(tidy) > DESCRIPTION_MAX:
        raise InvalidInput(f"A description can be at most {DESCRIPTION_MAX} characters; this one has {len(tidy)}.")
    return tidy or None


def check_cover_url(url: str) -> str:
    """A cover given as an address: http(s) and the name of an image file."""
    url = url.strip()
    check_http_url(url, "The cover")
    if len(url) > COVER_URL_MAX:
        raise InvalidInput(f"The cover address is longer than {COVER_URL_MAX} characters.")
    if not urlsplit(url).path.lower().endswith(IMAGE_EXTENSIONS):
        raise InvalidInput("The cover must be an image (a PNG, JPEG, GIF or WebP file).")
    return url


def check_cover_attachment(filename: str, content_type: str | None) -> None:
    """Refuse an uploaded cover that is not an image."""
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind not in IMAGE_CONTENT_TYPES and not (not kind and filename.lower().endswith(IMAGE_EXTENSIONS)):
        raise InvalidInput("The cover must be an image (a PNG, JPEG, GIF or WebP file).")


def parse_teasers(text: str) -> list[int]:
    """Read teaser offsets such as "7d, 1d, 1h" (or "none") into minutes before the release, largest first."""
    tidy = text.strip().lower()
    if tidy in ("none", "no", "off", "0"):
        return []
    offsets: set[int] = set()
    for part in re.split(r"[,;]|\s+and\s+", tidy):
        if not part.strip():
            continue
        try:
            duration = parse_duration(part)
        except TimeParseError as error:
            raise InvalidInput(f'Teasers are durations before the release, like "7d, 1d, 1h": {error}') from None
        minutes = int(duration.total_seconds() // 60)
        if minutes < 1 or minutes > TEASER_OFFSET_MAX_MINUTES:
            raise InvalidInput("Each teaser must be between 1 minute and 60 days before the release.")
        offsets.add(minutes)
    if len(offsets) > TEASERS_MAX:
        raise InvalidInput(f"A release can have at most {TEASERS_MAX} teasers.")
    return sorted(offsets, reverse=True)
