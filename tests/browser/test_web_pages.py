"""The label's web pages in a real headless browser (Debian's chromium + chromedriver, through Selenium).

Data is made through the real bot: releases, a party and events by slash commands against the fake Discord.
Screenshots go to test-artefacts/web-pages/ (gitignored).
"""

from __future__ import annotations

import asyncio
import json
import shutil
import struct
import urllib.request
import zlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import update

from bot.db import create_engine, create_sessionmaker
from bot.models.web_pages import DashboardLink
from tests.e2e.helpers import run
from tests.e2e.test_releases import Label, build_label, create, schedule
from tests.fakediscord import ChannelType
from tests.harness import BotHarness, free_port

selenium = pytest.importorskip("selenium", reason="selenium is not installed (make install-dev)")
feedparser = pytest.importorskip("feedparser", reason="feedparser is not installed (make install-dev)")

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
ARTEFACTS = Path(__file__).resolve().parents[2] / "test-artefacts" / "web-pages"
VIEW_CHANNEL = 1 << 10
DASHBOARD_LINK = "/dashboard/open/"

pytestmark = pytest.mark.skipif(
    not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()),
    reason="no chromium/chromedriver: `make test` installs them as root (apt-get install chromium chromium-driver)",
)


def _png() -> bytes:
    """A 1x1 purple PNG, the cover the local "CDN" serves."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\x6b\x3f\xd4"))
        + chunk(b"IEND", b"")
    )


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1200,900"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


@dataclass
class Site:
    label: Label
    base: str
    host: str  # the label's own site (cover images, the iframe page)
    staff_event: str = "Staff Planning"


@pytest.fixture
async def site(harness: BotHarness) -> AsyncIterator[Site]:
    host_app = web.Application()
    host_port = free_port()
    bot_port = free_port()
    host = f"http://127.0.0.1:{host_port}"

    async def cover(request: web.Request) -> web.Response:
        return web.Response(body=_png(), content_type="image/png")

    async def embedding(request: web.Request) -> web.Response:
        frame = f'<iframe id="label" src="http://127.0.0.1:{bot_port}/label/{harness.guild.id}?embed=1" width="400" height="700"></iframe>'
        return web.Response(
            text=f'<!doctype html><title>Label site</title><link rel="icon" href="data:,">{frame}',
            content_type="text/html",
        )

    host_app.router.add_get("/afterglow.png", cover)
    host_app.router.add_get("/embed", embedding)
    runner = web.AppRunner(host_app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", host_port).start()

    harness.extra_env.update(
        {
            "LABELBOT_WEB__ENABLED": "true",
            "LABELBOT_WEB__PORT": str(bot_port),
            "LABELBOT_WEB__EMBED_ORIGINS": json.dumps([host]),
        }
    )
    staff = harness.guild.add_channel("staff-room", ChannelType.text)
    staff.permission_overwrites = [{"id": str(harness.guild.id), "type": 0, "allow": "0", "deny": str(VIEW_CHANNEL)}]
    label = await build_label(harness, approval=True)
    await harness.start()
    try:
        yield Site(label, f"http://127.0.0.1:{bot_port}", host)
    finally:
        await runner.cleanup()


async def _make_world(site: Site) -> None:
    """Through the bot: one scheduled release, one awaiting approval, a draft, a party, a public and a staff event."""
    label, h = site.label, site.label.h
    on = await run(h, h.moderator, "settings web-page", state="on")
    assert "/label/" in on.content, on.content
    preview = await create(
        label, h.moderator, title="Afterglow", when="in 3 days", cover_url=f"{site.host}/afterglow.png"
    )
    answer = await schedule(label, h.moderator, preview)
    assert "approval" not in answer.content.lower(), answer.content
    pending = await create(label, label.nova, title="Pending Heat", when="in 3 days")
    assert "approval" in (await schedule(label, label.nova, pending)).content
    await create(label, label.nova, title="Draft Demo", when="in 5 days")

    parties = h.guild.add_channel("listening-parties")
    assert "is now" in (await run(h, h.moderator, "settings channel", kind="parties", channel=parties)).content
    ix = await label.slash(h.moderator, "party schedule", title="Night Drive Party", start="in 2 days")
    modal = await ix.modal()
    submitted = await h.fake.submit_modal(
        h.guild, h.general, h.moderator, modal, {"tracklist": "Intro - 3:00\nNight Drive - 4:00"}
    )
    await submitted.reply(timeout=10)
    public = await run(h, h.moderator, "event create", title="Open Studio AMA", start="in 4 days")
    assert not public.content.startswith("Sorry"), public.content
    staff = next(c for c in h.guild.channels if c.name == "staff-room")
    private = await run(h, h.moderator, "event create", where=staff, title=site.staff_event, start="in 4 days")
    assert not private.content.startswith("Sorry"), private.content


def _console_errors(driver: Any) -> list[str]:
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def _shot(driver: Any, name: str) -> None:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(ARTEFACTS / f"{name}.png"))


async def test_public_page_shows_what_fans_see_and_nothing_private(site: Site, browser: Any) -> None:
    await _make_world(site)
    h = site.label.h
    url = f"{site.base}/label/{h.guild.id}"

    def visit() -> dict[str, Any]:
        browser.get_log("browser")  # what an earlier test left (its refused links answer 403 on purpose)
        browser.get(url)
        browser.implicitly_wait(2)
        body = browser.find_element(By.TAG_NAME, "body").text
        countdown = browser.find_element(By.CSS_SELECTOR, "#upcoming .countdown")
        first = countdown.text
        classes = countdown.get_attribute("class")
        _shot(browser, "public-page")
        return {"body": body, "countdown": first, "classes": classes, "errors": _console_errors(browser)}

    seen = await asyncio.to_thread(visit)
    body = seen["body"]
    assert "Afterglow" in body
    assert "Night Drive Party" in body
    assert "Open Studio AMA" in body
    for private in ("Pending Heat", "Draft Demo", site.staff_event, "nova", "rival"):
        assert private not in body, f"{private!r} is on the public page"
    assert "live" in seen["classes"]
    assert seen["countdown"].startswith("in 2d"), seen["countdown"]
    assert seen["errors"] == []

    # The embed fits a 400 px iframe on the label's own site (allowed by frame-ancestors).
    def embedded() -> dict[str, Any]:
        browser.get(f"{site.host}/embed")
        browser.switch_to.frame(browser.find_element(By.ID, "label"))
        width = browser.execute_script("return document.documentElement.scrollWidth")
        text = browser.find_element(By.TAG_NAME, "body").text
        browser.switch_to.default_content()
        _shot(browser, "embed-400px")
        return {"width": width, "text": text, "errors": _console_errors(browser)}

    frame = await asyncio.to_thread(embedded)
    assert "Afterglow" in frame["text"]
    assert frame["width"] <= 400
    assert frame["errors"] == []

    # The Atom feed parses, the JSON says what the page says, and a repeat view is a 304.
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{url}/releases.atom") as response:
            feed = feedparser.parse(await response.read())
        async with http.get(f"{url}/releases.json") as response:
            data = await response.json()
        async with http.get(url) as response:
            etag = response.headers["ETag"]
        async with http.get(url, headers={"If-None-Match": etag}) as response:
            assert response.status == 304
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.feed.title.endswith("releases")
    assert [r["title"] for r in data["upcoming_releases"]] == ["Afterglow"]
    assert [p["title"] for p in data["listening_parties"]] == ["Night Drive Party"]
    assert [e["title"] for e in data["events"]] == ["Open Studio AMA"]


async def test_dashboard_link_works_once_and_shows_charts_and_csv(site: Site, browser: Any) -> None:
    await _make_world(site)
    h = site.label.h
    answer = await run(h, h.moderator, "dashboard")
    assert answer.ephemeral
    link = answer.content.split("<", 1)[1].split(">", 1)[0]
    h.guild.open_command("dashboard", h.guild.everyone)  # past Discord's client hint: the bot still refuses
    refused_for_artist = await run(h, site.label.nova, "dashboard")
    assert DASHBOARD_LINK not in refused_for_artist.content

    def sign_in_twice() -> dict[str, Any]:
        browser.delete_all_cookies()
        browser.get_log("browser")  # what an earlier test left (its refused links answer 403 on purpose)
        browser.get(link)
        browser.find_element(By.ID, "open").click()
        charts = browser.find_elements(By.CSS_SELECTOR, "svg.chart")
        bars = browser.find_elements(By.CSS_SELECTOR, "svg.chart rect.bar, svg.chart polyline.line")
        sizes = [chart.size for chart in charts]
        pipeline = browser.find_element(By.ID, "table-releases").text
        csv_href = browser.find_element(By.CSS_SELECTOR, "a.csv").get_attribute("href")
        # The download link, fetched with the browser's own session cookie (HttpOnly: scripts cannot read it).
        cookie = browser.get_cookie("labelbot_dashboard")
        assert cookie["httpOnly"]
        assert cookie["sameSite"] == "Strict"
        request = urllib.request.Request(csv_href, headers={"Cookie": f"labelbot_dashboard={cookie['value']}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            csv_text = [response.status, response.read().decode("utf-8")]
        _shot(browser, "dashboard")
        errors = _console_errors(browser)
        browser.get(link)
        again = browser.find_element(By.TAG_NAME, "body").text
        return {
            "charts": sizes,
            "marks": len(bars),
            "pipeline": pipeline,
            "csv": csv_text,
            "errors": errors,
            "again": again,
        }

    seen = await asyncio.to_thread(sign_in_twice)
    assert len(seen["charts"]) >= 4
    assert all(size["width"] > 0 for size in seen["charts"])
    assert all(size["height"] > 0 for size in seen["charts"])
    assert seen["marks"] > 0
    for title in ("Afterglow", "Pending Heat", "Draft Demo"):
        assert title in seen["pipeline"]
    status, text = seen["csv"]
    assert status == 200
    assert text.lstrip("\ufeff").startswith("Release,Artist")
    assert "Pending Heat" in text
    assert seen["errors"] == []
    assert "already used or has expired" in seen["again"]

    # An expired link is refused too.
    second = await run(h, h.moderator, "dashboard")
    late = second.content.split("<", 1)[1].split(">", 1)[0]
    engine = create_engine(h.database_url)
    try:
        async with create_sessionmaker(engine).begin() as session:
            await session.execute(update(DashboardLink).values(expires_at=datetime.now(UTC) - timedelta(minutes=1)))
    finally:
        await engine.dispose()

    def expired() -> str:
        browser.delete_all_cookies()
        browser.get(late)
        text: str = browser.find_element(By.TAG_NAME, "body").text
        browser.get(f"{site.base}/dashboard/{h.guild.id}")
        return text + "\n" + browser.find_element(By.TAG_NAME, "body").text

    text = await asyncio.to_thread(expired)
    assert "already used or has expired" in text
    assert "fresh link" in text
