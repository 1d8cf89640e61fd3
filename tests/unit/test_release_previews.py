"""OpenGraph link previews: title and image, or nothing; never private addresses, never slow, never huge."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from labelbot.config import LinkPreviewSettings
from labelbot.features.releases import _previews
from labelbot.features.releases._previews import LinkPreview, fetch_preview, is_public_address, parse_open_graph

PAGE = (
    "<html><head><title> Fallback  title </title>"
    '<meta property="og:title" content="Afterglow &amp; more">'
    '<meta property="og:image" content="/art/cover.jpg"></head></html>'
)

CYRILLIC_PAGE = (
    '<html><head><meta charset="windows-1251"><title>Кино</title>'
    '<meta property="og:title" content="Группа крови"></head></html>'
)


class Site:
    def __init__(self, base: str) -> None:
        self.base = base
        self.hits = 0


@pytest.fixture
async def site() -> AsyncIterator[Site]:
    state = Site("")

    def counted(handler):  # type: ignore[no-untyped-def]
        async def wrapper(request: web.Request) -> web.StreamResponse:
            state.hits += 1
            return await handler(request)

        return wrapper

    async def page(request: web.Request) -> web.Response:
        return web.Response(text=PAGE, content_type="text/html")

    async def huge(request: web.Request) -> web.Response:
        padding = "<!-- " + "x" * 100_000 + " -->"
        return web.Response(text=f"<html><head>{padding}{PAGE}</head></html>", content_type="text/html")

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(3)
        return web.Response(text=PAGE, content_type="text/html")

    async def image(request: web.Request) -> web.Response:
        return web.Response(body=b"\x89PNG", content_type="image/png")

    async def hop(request: web.Request) -> web.Response:
        raise web.HTTPFound("/page")

    async def to_ftp(request: web.Request) -> web.Response:
        raise web.HTTPFound("ftp://example.org/")

    async def cyrillic(request: web.Request) -> web.Response:
        # Many older shop and label pages: the charset only in the page, the header says just text/html.
        return web.Response(body=CYRILLIC_PAGE.encode("windows-1251"), headers={"Content-Type": "text/html"})

    app = web.Application()
    for path, handler in (
        ("/page", page),
        ("/huge", huge),
        ("/slow", slow),
        ("/image", image),
        ("/hop", hop),
        ("/to-ftp", to_ftp),
        ("/cyrillic", cyrillic),
    ):
        app.router.add_get(path, counted(handler))
    runner = web.AppRunner(app)
    await runner.setup()
    tcp = web.TCPSite(runner, "127.0.0.1", 0)
    await tcp.start()
    state.base = f"http://127.0.0.1:{tcp._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
    try:
        yield state
    finally:
        await runner.cleanup()


LOOPBACK_ALLOWED = LinkPreviewSettings(allow_private_addresses=True, timeout_seconds=1.0, max_bytes=64 * 1024)


def test_open_graph_title_and_image_made_absolute() -> None:
    title, image = parse_open_graph(PAGE, "https://nova.bandcamp.com/album/afterglow")
    assert title == "Afterglow & more"
    assert image == "https://nova.bandcamp.com/art/cover.jpg"


def test_title_falls_back_to_the_page_title_and_bad_images_are_dropped() -> None:
    html = '<title>Just a page</title><meta property="og:image" content="javascript:alert(1)">'
    assert parse_open_graph(html, "https://example.org/") == ("Just a page", None)
    assert parse_open_graph("<html", "https://example.org/") == (None, None)


async def test_the_page_s_own_charset_is_read_when_the_header_names_none(site: Site) -> None:
    preview = await fetch_preview(f"{site.base}/cyrillic", LOOPBACK_ALLOWED)
    assert preview is not None
    assert preview.title == "Группа крови"


@pytest.mark.parametrize(
    ("body", "header", "text"),
    [
        # <meta charset>, and the older http-equiv form.
        ('<meta charset="iso-8859-1"><title>Café</title>'.encode("latin-1"), None, "Café"),
        (
            '<meta http-equiv="Content-Type" content="text/html; charset=koi8-r"><title>Кино</title>'.encode("koi8-r"),
            None,
            "Кино",
        ),
        # The HTTP header wins over the page, a byte order mark over both, as in browsers.
        ('<meta charset="windows-1251"><title>Кино</title>'.encode("koi8-r"), "koi8-r", "Кино"),
        (b"\xef\xbb\xbf" + "<title>Café</title>".encode(), "latin-1", "Café"),
        # Nothing declared: UTF-8; a name Python doesn't know is passed over.
        ("<title>Café ✓</title>".encode(), None, "Café ✓"),
        ('<meta charset="no-such-charset"><title>Café</title>'.encode(), "also-unknown", "Café"),
        # A page cut at the size cap in the middle of a character keeps its encoding.
        ("<title>Café</title><p>é".encode()[:-1], None, "Café"),
    ],
)
def test_pages_are_decoded_as_a_browser_would(body: bytes, header: str | None, text: str) -> None:
    title, _ = parse_open_graph(_previews.decode_page(body, header), "https://example.org/")
    assert title == text


async def test_fetches_the_preview(site: Site) -> None:
    preview = await fetch_preview(f"{site.base}/page", LOOPBACK_ALLOWED)
    assert preview == LinkPreview(f"{site.base}/page", "Afterglow & more", f"{site.base}/art/cover.jpg")


async def test_follows_redirects(site: Site) -> None:
    preview = await fetch_preview(f"{site.base}/hop", LOOPBACK_ALLOWED)
    assert preview is not None
    assert preview.image == f"{site.base}/art/cover.jpg"
    assert await fetch_preview(f"{site.base}/to-ftp", LOOPBACK_ALLOWED) is None


async def test_private_and_loopback_addresses_are_never_fetched_by_default(site: Site) -> None:
    settings = LinkPreviewSettings(timeout_seconds=1.0)
    for url in (
        f"{site.base}/page",
        f"http://localhost:{site.base.rsplit(':', 1)[1]}/page",
        "http://10.0.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/",
        "http://192.168.1.1/",
    ):
        assert await fetch_preview(url, settings) is None
    assert site.hits == 0


async def test_a_public_looking_name_that_resolves_to_loopback_is_not_fetched(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A name the label's DNS (or an attacker's) points at 127.0.0.1: the guard must judge the resolved address.
    real_getaddrinfo = socket.getaddrinfo

    def resolve(host: Any, *args: Any, **kwargs: Any) -> Any:
        return real_getaddrinfo("127.0.0.1" if host == "covers.nova-lights.example" else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    url = f"http://covers.nova-lights.example:{site.base.rsplit(':', 1)[1]}/page"
    assert await fetch_preview(url, LinkPreviewSettings(timeout_seconds=1.0)) is None
    assert site.hits == 0
    # The name does reach the local server when private addresses are allowed: the guard stopped it, not the network.
    assert await fetch_preview(url, LOOPBACK_ALLOWED) is not None
    assert site.hits == 1


async def test_only_http_and_https() -> None:
    for url in ("ftp://example.org/", "file:///etc/passwd", "javascript:alert(1)"):
        assert await fetch_preview(url, LOOPBACK_ALLOWED) is None


async def test_slow_pages_time_out(site: Site) -> None:
    settings = LinkPreviewSettings(allow_private_addresses=True, timeout_seconds=0.3)
    assert await fetch_preview(f"{site.base}/slow", settings) is None


async def test_reads_no_more_than_the_size_cap(site: Site) -> None:
    assert await fetch_preview(f"{site.base}/huge", LOOPBACK_ALLOWED) is None
    roomy = LinkPreviewSettings(allow_private_addresses=True, timeout_seconds=1.0, max_bytes=512 * 1024)
    assert await fetch_preview(f"{site.base}/huge", roomy) is not None


async def test_non_html_and_unreachable_pages_have_no_preview(site: Site) -> None:
    assert await fetch_preview(f"{site.base}/image", LOOPBACK_ALLOWED) is None
    assert await fetch_preview(f"{site.base}/missing", LOOPBACK_ALLOWED) is None
    assert await fetch_preview("http://127.0.0.1:1/", LOOPBACK_ALLOWED) is None


# A public address (one of example.org's) for answers that must pass the check; the tests never need it to answer.
PUBLIC = "93.184.215.14"


def _answers(address: str, port: int) -> list[tuple[Any, ...]]:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sockaddr: tuple[Any, ...] = (address, port, 0, 0) if family == socket.AF_INET6 else (address, port)
    return [(family, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", sockaddr)]


def _patch_dns(monkeypatch: pytest.MonkeyPatch, *answers: str) -> list[str]:
    """The event loop's resolver answers each name lookup with the next address (the last one from then on)."""
    loop = asyncio.get_running_loop()
    asked: list[str] = []

    async def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> list[tuple[Any, ...]]:
        asked.append(str(host))
        return _answers(answers[min(len(asked), len(answers)) - 1], int(port or 0))

    monkeypatch.setattr(loop, "getaddrinfo", getaddrinfo)
    return asked


async def test_a_name_rebinding_to_loopback_between_check_and_connect_is_never_fetched(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The rebinding attack: public when the bot looks, loopback when it connects.
    asked = _patch_dns(monkeypatch, PUBLIC, "127.0.0.1")
    port = site.base.rsplit(":", 1)[1]
    settings = LinkPreviewSettings(timeout_seconds=1.0)
    assert await fetch_preview(f"http://releases.rebind.test:{port}/page", settings) is None
    assert site.hits == 0
    assert asked, "the name must have been resolved"


async def test_a_name_resolving_to_loopback_is_never_fetched(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    _patch_dns(monkeypatch, "127.0.0.1")
    port = site.base.rsplit(":", 1)[1]
    assert await fetch_preview(f"http://cover.loop.test:{port}/page", LinkPreviewSettings(timeout_seconds=1.0)) is None
    assert site.hits == 0


async def test_a_redirect_to_a_name_resolving_to_loopback_is_never_followed(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The redirector listens on 127.0.0.2 and stands in for a public host; its redirect points at a name that
    # resolves to the loopback site. The connection for that hop must be refused like the first one would be.
    port = site.base.rsplit(":", 1)[1]
    names = {"redirector.test": "127.0.0.2", "inward.test": "127.0.0.1"}
    loop = asyncio.get_running_loop()

    async def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> list[tuple[Any, ...]]:
        return _answers(names[str(host)], int(port or 0))

    monkeypatch.setattr(loop, "getaddrinfo", getaddrinfo)
    public = _previews.is_public_address
    monkeypatch.setattr(_previews, "is_public_address", lambda address: str(address) == "127.0.0.2" or public(address))

    async def to_inward(request: web.Request) -> web.Response:
        raise web.HTTPFound(f"http://inward.test:{port}/page")

    app = web.Application()
    app.router.add_get("/", to_inward)
    runner = web.AppRunner(app)
    await runner.setup()
    tcp = web.TCPSite(runner, "127.0.0.2", 0)
    await tcp.start()
    try:
        redirector = tcp._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        settings = LinkPreviewSettings(timeout_seconds=1.0)
        assert await fetch_preview(f"http://redirector.test:{redirector}/", settings) is None
    finally:
        await runner.cleanup()
    assert site.hits == 0


@pytest.mark.parametrize(
    "address",
    [
        "2002:7f00:1::1",  # 6to4 wrapping 127.0.0.1
        "2002:a00:1::1",  # 6to4 wrapping 10.0.0.1
        "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
        "64:ff9b:1::a00:1",  # local-use NAT64
        "::ffff:127.0.0.1",  # IPv4-mapped
        "100.64.0.1",  # carrier-grade NAT
        "fe80::1",  # link-local
        "fc00::1",  # unique local
        "224.0.0.1",  # multicast
        "240.0.0.1",  # reserved
        "0.0.0.0",
    ],
)
def test_addresses_that_reach_inward_are_not_public(address: str) -> None:
    assert not is_public_address(ipaddress.ip_address(address))


def test_public_addresses_are_public() -> None:
    for address in (PUBLIC, "1.1.1.1", "2606:4700:4700::1111"):
        assert is_public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["2002:7f00:1::1", "64:ff9b::7f00:1", "64:ff9b:1::7f00:1"])
async def test_6to4_and_nat64_answers_are_refused(
    address: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    asked = _patch_dns(monkeypatch, address)
    with caplog.at_level(logging.INFO, logger=_previews.__name__):
        assert (
            await fetch_preview("http://cover.translated.test/page", LinkPreviewSettings(timeout_seconds=1.0)) is None
        )
    assert asked
    assert "Not previewing" in caplog.text, caplog.text
    assert "private or local" in caplog.text, caplog.text


@pytest.mark.parametrize("address", ["2002:7f00:1::1", "64:ff9b::7f00:1"])
async def test_6to4_and_nat64_literals_are_refused(address: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger=_previews.__name__):
        assert await fetch_preview(f"http://[{address}]/page", LinkPreviewSettings(timeout_seconds=1.0)) is None
    assert "Not previewing" in caplog.text, caplog.text
    assert "private or local" in caplog.text, caplog.text
