"""The morning posts: a release's anniversary with its links, and a label date's reminder with the roster's links."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from labelbot.artists.models import Artist
from labelbot.features.anniversaries._service import Anniversary
from labelbot.models.anniversaries import LabelDate
from labelbot.text import clip, plain
from labelbot.timeparse import format_dt

CONTENT_MAX = 2000


def _links(links: Iterable[tuple[str, str]]) -> str:
    # <url> keeps Discord from unfurling every link into a preview: one quiet post, not a wall of cards.
    return " · ".join(f"[{plain(label)}](<{url}>)" for label, url in links if url.startswith(("https://", "http://")))


def _ordinal(years: int) -> str:
    if years % 100 in (11, 12, 13):
        return f"{years}th"
    return f"{years}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(years % 10, 'th') }"


def anniversary_post(anniversary: Anniversary) -> str:
    release = anniversary.release
    years = anniversary.years
    age = "1 year" if years == 1 else f"{years} years"
    lines = [
        f"🎂 **{plain(release.title)}** by **{plain(release.artist.name)}** came out {age} ago today "
        f"({format_dt(release.release_at, 'D')}): happy {_ordinal(years)} birthday!"
    ]
    links = _links((link.label, link.url) for link in sorted(release.links, key=lambda link: link.position))
    if links:
        lines.append(f"Listen again: {links}")
    return clip("\n".join(lines), CONTENT_MAX)


def label_date_post(label_date: LabelDate, roster: list[Artist]) -> str:
    lines = [f"📅 Today is **{plain(label_date.name)}**. Support the roster:"]
    size = len(lines[0])
    for artist in roster:
        links = _links(_pairs(artist.links))
        line = f"**{plain(artist.name)}**: {links}"
        # Whole artists only: a link cut in half is worse than an artist left for the next date.
        if not links or size + 1 + len(line) > CONTENT_MAX:
            continue
        lines.append(line)
        size += 1 + len(line)
    if len(lines) == 1:
        lines[0] = f"📅 Today is **{plain(label_date.name)}**: support the label's artists!"
    return clip("\n".join(lines), CONTENT_MAX)


def _pairs(links: Iterable[Mapping[str, str]]) -> list[tuple[str, str]]:
    return [(str(link.get("label", "Link")), str(link.get("url", ""))) for link in links]
