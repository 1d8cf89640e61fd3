"""OpenGraph previews of release links: a title and an image, fetched carefully or not at all."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import aiohttp

from bot.config import LinkPreviewSettings

log = logging.getLogger(__name__)

MAX_REDIRECTS = 3
USER_AGENT = "Labelbot link preview (+https://github.com/labelbot)"


@dataclass(frozen=True)
class LinkPreview:
    url: str
    title: str | None
    image: str | None


class PreviewRefused(Exception):
    """The address is not one the bot fetches (not http(s), or private)."""


class _OpenGraph(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.properties: dict[str, str] = {}
        self.title_parts: list[str] = []
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name.lower(): value or "" for name, value in attrs}
        if tag == "meta":
            name = (values.get("property") or values.get("name") or "").lower()
            if name in ("og:title", "og:image", "og:image:url", "og:image:secure_url", "twitter:image"):
                self.properties.setdefault(name, values.get("content", "").strip())
        elif tag == "title":
            self._in_title = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title_parts.append(data)


def parse_open_graph(html: str, base_url: str) -> tuple[str | None, str | None]:
    """The page's OpenGraph title (else its <title>) and image, absolute; None where missing."""
    parser = _OpenGraph()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # a broken page is simply one without a preview
        log.debug("Could not parse %s", base_url, exc_info=True)
    props = parser.properties
    title = props.get("og:title") or " ".join("".join(parser.title_parts).split()) or None
    image = next(
        (props[key] for key in ("og:image:secure_url", "og:image", "og:image:url", "twitter:image") if props.get(key)),
        None,
    )
    if image is not None:
        image = urljoin(base_url, image)
        if urlsplit(image).scheme not in ("http", "https"):
            image = None
    return (title[:300] if title else None), image


async def _check_address(url: str, allow_private: bool) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PreviewRefused(f"not an http(s) address: {url}")
    if allow_private:
        return
    host = parts.hostname
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        loop = asyncio.get_running_loop()
        infos = await loop.getaddrinfo(
            host, parts.port or (443 if parts.scheme == "https" else 80), type=socket.SOCK_STREAM
        )
        addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
    for address in addresses:
        if not address.is_global or address.is_multicast:
            raise PreviewRefused(f"{host} is a private or local address")


async def fetch_preview(http: aiohttp.ClientSession, url: str, settings: LinkPreviewSettings) -> LinkPreview | None:
    """Fetch a page's OpenGraph title and image; None on any failure (a preview never blocks a release)."""
    try:
        async with asyncio.timeout(settings.timeout_seconds):
            return await _fetch(http, url, settings)
    except PreviewRefused as refusal:
        log.info("Not previewing %s: %s", url, refusal)
    except (TimeoutError, aiohttp.ClientError, OSError, UnicodeError, ValueError) as error:
        log.info("Could not preview %s: %s", url, error)
    return None


async def _fetch(http: aiohttp.ClientSession, url: str, settings: LinkPreviewSettings) -> LinkPreview | None:
    current = url
    for _ in range(MAX_REDIRECTS + 1):
        # Each hop is checked, so a public page cannot redirect the bot into the private network.
        await _check_address(current, settings.allow_private_addresses)
        async with http.get(
            current,
            allow_redirects=False,
            headers={"User-Agent": USER_AGENT, "Accept": "text/html,application/xhtml+xml"},
            timeout=aiohttp.ClientTimeout(total=settings.timeout_seconds),
        ) as response:
            if response.status in (301, 302, 303, 307, 308) and "Location" in response.headers:
                current = urljoin(current, response.headers["Location"])
                continue
            if response.status != 200 or "html" not in response.headers.get("Content-Type", "").lower():
                return None
            body = bytearray()
            async for chunk in response.content.iter_chunked(16 * 1024):
                body.extend(chunk)
                if len(body) >= settings.max_bytes:
                    del body[settings.max_bytes :]
                    break
            charset = response.charset or "utf-8"
            html = body.decode(charset, errors="replace")
        title, image = parse_open_graph(html, current)
        if title is None and image is None:
            return None
        return LinkPreview(url=url, title=title, image=image)
    return None
