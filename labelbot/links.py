"""Links members type as "Bandcamp https://…": one reader for every feature (artists' profiles, releases).

Each link is an optional label and an http(s) address, one a line (a form's text box) or separated by commas (a
one-line command option). A link without a label is named after the service it points at, else its host.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from labelbot.errors import InvalidInput

# The label a bare link gets, by the host it points at (a subdomain counts: nova.bandcamp.com is Bandcamp).
KNOWN_HOSTS: tuple[tuple[str, str], ...] = (
    ("bandcamp.com", "Bandcamp"),
    ("spotify.com", "Spotify"),
    ("music.apple.com", "Apple Music"),
    ("youtube.com", "YouTube"),
    ("youtu.be", "YouTube"),
    ("soundcloud.com", "SoundCloud"),
    ("tidal.com", "Tidal"),
    ("deezer.com", "Deezer"),
    ("distrokid.com", "Pre-save"),
    ("hypeddit.com", "Pre-save"),
    ("feature.fm", "Pre-save"),
)
EXAMPLE = "write each link like “Bandcamp https://…”, one a line or separated by commas"

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# A word that is an address (of any scheme, so "ftp://…" is refused by name rather than read as a label); a label
# ending in a colon ("Pre-save:") is not one.
_URL_LIKE = re.compile(r"[a-z][a-z0-9+.-]*:[^\s:]", re.IGNORECASE)
# Two addresses with only a comma between them.
_GLUED = re.compile(r",(?=[a-z][a-z0-9+.-]*://)", re.IGNORECASE)
_LABEL_EDGES = " \t:;|,-–—"


@dataclass(frozen=True)
class Link:
    label: str
    url: str


def scrub(text: str) -> str:
    """Drop control characters (NUL and the like), which no member means and PostgreSQL refuses to store."""
    return _CONTROL.sub("", text)


def quote(text: str, limit: int = 60) -> str:
    """Member text quoted back in a refusal: one line, short, and no pings or code spans."""
    shown = " ".join(text.split())
    shown = shown if len(shown) <= limit else shown[: limit - 1] + "…"
    return shown.replace("@", "@\u200b").replace("`", "'")


def check_http_url(url: str, what: str) -> str:
    """Return the URL if it is an absolute http(s) URL, else refuse it naming `what`."""
    acceptable = scrub(url) == url and not any(ch.isspace() for ch in url)
    try:
        parts = urlsplit(url)
        acceptable = acceptable and parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
    except ValueError:  # a malformed host, e.g. "http://[::1"
        acceptable = False
    if not acceptable:
        raise InvalidInput(f'{what} ("{quote(url)}") is not an http or https address.')
    return url


def label_for(url: str, limit: int) -> str:
    """The label a link gets when the member gave none: the service it points at, else its host."""
    host = (urlsplit(url).hostname or "").lower()
    for suffix, label in KNOWN_HOSTS:
        if host == suffix or host.endswith("." + suffix):
            return label
    return host.removeprefix("www.")[:limit] or "Link"


def _trim(url: str) -> str:
    """An address without the punctuation of the sentence around it ("…/album/x." or "(see …/x)")."""
    url = url.rstrip(".,;:!?")
    while url.endswith(")") and url.count(")") > url.count("("):
        url = url[:-1]
    return url


def parse_links(text: str, *, owner: str, most: int, url_max: int, label_max: int) -> list[Link]:
    """Read "Label https://…" links (the label optional), refusing what isn't one in a sentence.

    An address ends each link, so labels may hold spaces and commas. `owner` names what holds the links in the
    refusal ("An artist", "A release"); at most `most` links, each address at most `url_max` characters and each
    label at most `label_max`.
    """
    links: list[Link] = []
    words: list[str] = []
    for token in _GLUED.sub(", ", scrub(text)).split():
        if not _URL_LIKE.match(token):
            words.append(token)
            continue
        url = check_http_url(_trim(token), "The link")
        if len(url) > url_max:
            raise InvalidInput(f"A link can be at most {url_max} characters long.")
        label = " ".join(words).strip(_LABEL_EDGES) or label_for(url, label_max)
        if len(label) > label_max:
            raise InvalidInput(f"A link's label can be at most {label_max} characters (“{quote(label)}”).")
        links.append(Link(label=label, url=url))
        words = []
    rest = " ".join(words).strip(_LABEL_EDGES)
    if rest:
        raise InvalidInput(f"I couldn't find a web address for “{quote(rest)}”; {EXAMPLE}.")
    if len(links) > most:
        raise InvalidInput(f"{owner} can have at most {most} links; this one has {len(links)}.")
    return links


def format_links(links: list[Link]) -> str:
    """The links as the member would type them, one a line: what `parse_links` reads back the same."""
    return "\n".join(f"{link.label} {link.url}" for link in links)
