"""OpenGraph link previews: title and image, or nothing; never private addresses, never slow, never huge."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from bot.config import LinkPreviewSettings
from cogs.releases._previews import LinkPreview, fetch_preview, parse_open_graph

PAGE = (
    "<html><head><title> Fallback  title </title>"
    '<meta property="og:title" content="Afterglow &amp; more">'
    '<meta property="og:image" content="/art/cover.jpg"></head></html>'
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

    app = web.Application()
    for path, handler in (
        ("/page", page),
        ("/huge", huge),
        ("/slow", slow),
        ("/image", image),
        ("/hop", hop),
        ("/to-ftp", to_ftp),
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


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


LOOPBACK_ALLOWED = LinkPreviewSettings(allow_private_addresses=True, timeout_seconds=1.0, max_bytes=64 * 1024)


def test_open_graph_title_and_image_made_absolute() -> None:
    title, image = parse_open_graph(PAGE, "https://nova.bandcamp.com/album/afterglow")
    assert title == "Afterglow & more"
    assert image == "https://nova.bandcamp.com/art/cover.jpg"


def test_title_falls_back_to_the_page_title_and_bad_images_are_dropped() -> None:
    html = '<title>Just a page</title><meta property="og:image" content="javascript:alert(1)">'
    assert parse_open_graph(html, "https://example.org/") == ("Just a page", None)
    assert parse_open_graph("<html", "https://example.org/") == (None, None)


async def test_fetches_the_preview(site: Site, http: aiohttp.ClientSession) -> None:
    preview = await fetch_preview(http, f"{site.base}/page", LOOPBACK_ALLOWED)
    assert preview == LinkPreview(f"{site.base}/page", "Afterglow & more", f"{site.base}/art/cover.jpg")


async def test_follows_redirects(site: Site, http: aiohttp.ClientSession) -> None:
    preview = await fetch_preview(http, f"{site.base}/hop", LOOPBACK_ALLOWED)
    assert preview is not None
    assert preview.image == f"{site.base}/art/cover.jpg"
    assert await fetch_preview(http, f"{site.base}/to-ftp", LOOPBACK_ALLOWED) is None


async def test_private_and_loopback_addresses_are_never_fetched_by_default(
    site: Site, http: aiohttp.ClientSession
) -> None:
    settings = LinkPreviewSettings(timeout_seconds=1.0)
    for url in (
        f"{site.base}/page",
        f"http://localhost:{site.base.rsplit(':', 1)[1]}/page",
        "http://10.0.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/",
        "http://192.168.1.1/",
    ):
        assert await fetch_preview(http, url, settings) is None
    assert site.hits == 0


async def test_a_public_looking_name_that_resolves_to_loopback_is_not_fetched(
    site: Site, http: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A name the label's DNS (or an attacker's) points at 127.0.0.1: the guard must judge the resolved address.
    real_getaddrinfo = socket.getaddrinfo

    def resolve(host: Any, *args: Any, **kwargs: Any) -> Any:
        return real_getaddrinfo("127.0.0.1" if host == "covers.nova-lights.example" else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    url = f"http://covers.nova-lights.example:{site.base.rsplit(':', 1)[1]}/page"
    assert await fetch_preview(http, url, LinkPreviewSettings(timeout_seconds=1.0)) is None
    assert site.hits == 0
    # The name does reach the local server when private addresses are allowed: the guard stopped it, not the network.
    assert await fetch_preview(http, url, LOOPBACK_ALLOWED) is not None
    assert site.hits == 1


async def test_only_http_and_https(http: aiohttp.ClientSession) -> None:
    for url in ("ftp://example.org/", "file:///etc/passwd", "javascript:alert(1)"):
        assert await fetch_preview(http, url, LOOPBACK_ALLOWED) is None


async def test_slow_pages_time_out(site: Site, http: aiohttp.ClientSession) -> None:
    settings = LinkPreviewSettings(allow_private_addresses=True, timeout_seconds=0.3)
    assert await fetch_preview(http, f"{site.base}/slow", settings) is None


async def test_reads_no_more_than_the_size_cap(site: Site, http: aiohttp.ClientSession) -> None:
    assert await fetch_preview(http, f"{site.base}/huge", LOOPBACK_ALLOWED) is None
    roomy = LinkPreviewSettings(allow_private_addresses=True, timeout_seconds=1.0, max_bytes=512 * 1024)
    assert await fetch_preview(http, f"{site.base}/huge", roomy) is not None


async def test_non_html_and_unreachable_pages_have_no_preview(http: aiohttp.ClientSession, site: Site) -> None:
    assert await fetch_preview(http, f"{site.base}/image", LOOPBACK_ALLOWED) is None
    assert await fetch_preview(http, f"{site.base}/missing", LOOPBACK_ALLOWED) is None
    assert await fetch_preview(http, "http://127.0.0.1:1/", LOOPBACK_ALLOWED) is None
