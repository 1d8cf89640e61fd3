"""OpenGraph previews of release links: a title and an image, fetched carefully or not at all."""

from __future__ import annotations

import asyncio
import codecs
import ipaddress
import logging
import socket
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver
from bs4 import BeautifulSoup
from bs4.dammit import EncodingDetector
from bs4.filter import SoupStrainer

from labelbot.config import LinkPreviewSettings

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


# The tags that hold a preview; only these are kept while parsing, so a big page builds no big tree.
_PREVIEW_TAGS = SoupStrainer(["meta", "title"])
_IMAGE_KEYS = ("og:image:secure_url", "og:image", "og:image:url", "twitter:image")


def decode_page(body: bytes, http_charset: str | None) -> str:
    """The page as text, in the encoding a browser would pick (the WHATWG sniffing order).

    A byte order mark, else the charset of the Content-Type header, else the page's own declaration
    (`<meta charset>` or `<meta http-equiv="Content-Type">`, found by Beautiful Soup's prescan), else UTF-8. A name
    Python doesn't know is passed over; bytes that don't fit (a page cut at the size cap) become U+FFFD.
    """
    stripped, bom = EncodingDetector.strip_byte_order_mark(body)
    declared = EncodingDetector.find_declared_encoding(stripped, is_html=True)
    for name in (bom, http_charset, declared):
        if not name:
            continue
        try:
            codec = codecs.lookup(name).name
        except LookupError:
            continue
        # A page can't really be in UTF-16 if its <meta> was readable as ASCII: browsers read it as UTF-8 then.
        if name is declared and codec.startswith("utf-16"):
            codec = "utf-8"
        return stripped.decode(codec, errors="replace")
    return stripped.decode("utf-8", errors="replace")


def parse_open_graph(html: str, base_url: str) -> tuple[str | None, str | None]:
    """The page's OpenGraph title (else its <title>) and image, absolute; None where missing."""
    props: dict[str, str] = {}
    title_text = ""
    try:
        soup = BeautifulSoup(html, "html.parser", parse_only=_PREVIEW_TAGS)
    except Exception:  # a broken page is simply one without a preview
        log.debug("Could not parse %s", base_url, exc_info=True)
        return None, None
    for meta in soup.find_all("meta"):
        name = str(meta.get("property") or meta.get("name") or "").lower()
        if name in ("og:title", *_IMAGE_KEYS):
            props.setdefault(name, str(meta.get("content") or "").strip())
    if soup.title is not None:
        title_text = " ".join(soup.title.get_text().split())
    title = props.get("og:title") or title_text or None
    image = next((props[key] for key in _IMAGE_KEYS if props.get(key)), None)
    if image is not None:
        image = urljoin(base_url, image)
        if urlsplit(image).scheme not in ("http", "https"):
            image = None
    return (title[:300] if title else None), image


# Python counts these as global, yet each one reaches an IPv4 address chosen by whoever wrote the address: 6to4
# (2002::/16) and NAT64 (64:ff9b::/96, local-use 64:ff9b:1::/48) translate to the embedded IPv4 on the way.
_TRANSLATED_NETWORKS = tuple(
    ipaddress.ip_network(network) for network in ("2002::/16", "64:ff9b::/96", "64:ff9b:1::/48", "::/96")
)


def is_public_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """True for addresses on the public internet; False for private, loopback, link-local, CGNAT, reserved,
    multicast, and the IPv6 forms that smuggle an IPv4 address (mapped, 6to4, NAT64)."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return is_public_address(address.ipv4_mapped)
        if any(address in network for network in _TRANSLATED_NETWORKS):
            return False
    return address.is_global and not address.is_multicast


class AddressRefused(OSError):
    """The name resolves to an address the bot does not connect to; aiohttp reports it as a connection error."""


class PublicAddressResolver(AbstractResolver):
    """Resolves a name once and hands aiohttp only public addresses, so the connection goes where the check looked.

    Checking a name and then letting aiohttp resolve it again would let a DNS server answer a public address to
    the check and a private one to the connection (DNS rebinding).
    """

    def __init__(self) -> None:
        self._resolver = ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        answers = await self._resolver.resolve(host, port, family)
        for answer in answers:
            address = ipaddress.ip_address(answer["host"].split("%", 1)[0])
            if not is_public_address(address):
                # One private answer refuses the name: a public page has no reason to point inward too.
                raise AddressRefused(f"{host} resolves to a private or local address")
        return answers

    async def close(self) -> None:
        await self._resolver.close()


def _check_address(url: str, allow_private: bool) -> None:
    """Refuse what is not http(s), and private address literals (aiohttp skips the resolver for those)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PreviewRefused(f"not an http(s) address: {url}")
    if allow_private:
        return
    try:
        literal = ipaddress.ip_address(parts.hostname)
    except ValueError:
        return  # a name: the connector's resolver checks what it resolves to
    if not is_public_address(literal):
        raise PreviewRefused(f"{parts.hostname} is a private or local address")


def preview_session(settings: LinkPreviewSettings) -> aiohttp.ClientSession:
    """A session whose every connection, redirects included, goes only to public addresses (unless allowed)."""
    connector = aiohttp.TCPConnector(
        resolver=None if settings.allow_private_addresses else PublicAddressResolver(),
        use_dns_cache=False,
        limit=4,
    )
    return aiohttp.ClientSession(
        connector=connector, timeout=aiohttp.ClientTimeout(total=settings.timeout_seconds), trust_env=False
    )


async def fetch_preview(url: str, settings: LinkPreviewSettings) -> LinkPreview | None:
    """Fetch a page's OpenGraph title and image; None on any failure (a preview never blocks a release)."""
    try:
        async with asyncio.timeout(settings.timeout_seconds), preview_session(settings) as http:
            return await _fetch(http, url, settings)
    except PreviewRefused as refusal:
        log.info("Not previewing %s: %s", url, refusal)
    except aiohttp.ClientConnectorError as error:
        if isinstance(error.os_error, AddressRefused):
            log.info("Not previewing %s: %s", url, error.os_error)
        else:
            log.info("Could not preview %s: %s", url, error)
    except (TimeoutError, aiohttp.ClientError, OSError, UnicodeError, ValueError) as error:
        log.info("Could not preview %s: %s", url, error)
    return None


async def _fetch(http: aiohttp.ClientSession, url: str, settings: LinkPreviewSettings) -> LinkPreview | None:
    current = url
    for _ in range(MAX_REDIRECTS + 1):
        # Each hop is checked, so a public page cannot redirect the bot into the private network.
        _check_address(current, settings.allow_private_addresses)
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
            html = decode_page(bytes(body), response.charset)
        title, image = parse_open_graph(html, current)
        if title is None and image is None:
            return None
        return LinkPreview(url=url, title=title, image=image)
    return None
