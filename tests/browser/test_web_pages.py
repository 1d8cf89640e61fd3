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
from sqlalchemy import select, update

from labelbot.db import create_engine, create_sessionmaker
from labelbot.models.collabs import CollabRequest
from labelbot.models.fan_roles import FanRoleChange
from labelbot.models.fan_roles import PartyAttendance as FanPartyAttendance
from labelbot.models.parties import ListeningParty, PartyAttendance, PartyTrackRating
from labelbot.models.web_pages import DashboardLink
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
    # Hidden from @everyone; the bot's own role is let in, as a label's admins would do for a staff channel.
    assert harness.guild.bot_role is not None
    staff.permission_overwrites = [
        {"id": str(harness.guild.id), "type": 0, "allow": "0", "deny": str(VIEW_CHANNEL)},
        {"id": str(harness.guild.bot_role.id), "type": 0, "allow": str(VIEW_CHANNEL), "deny": "0"},
    ]
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


async def _make_history(site: Site) -> None:
    """What the dashboard charts over time: a fan-role pick on a panel, a loyalty tier reached, a supporter perk
    (all through the bot), and what a past party and the collab board left behind (seeded: running a party to its
    ratings takes minutes of fake time and is covered by the parties' own tests).
    """
    label, h = site.label, site.label.h
    guild = h.guild
    fan, other = guild.add_member("fan"), guild.add_member("other fan")
    indie, regular, backer = guild.add_role("Indie"), guild.add_role("Regular"), guild.add_role("Backer")
    assert (
        "Created the role panel"
        in (await run(h, h.moderator, "roles-admin panel create", name="Genres", style="buttons", mode="any")).content
    )
    assert "Added" in (await run(h, h.moderator, "roles-admin panel add", panel="Genres", role=indie)).content
    assert "Posted" in (await run(h, h.moderator, "roles-admin panel post", panel="Genres")).content
    panel = next(m for m in h.fake.messages(h.general) if any(c.startswith("fan_roles:") for c in m.custom_ids))
    for member in (fan, other):
        picked = await (await h.fake.click(guild, h.general, member.user, panel, panel.custom_ids[0])).reply(timeout=10)
        assert picked.content.startswith("Gave you"), picked.content
    assert (
        "earned at 2 parties" in (await run(h, h.moderator, "roles-admin tiers set", role=regular, threshold=2)).content
    )
    assert h.bot is not None
    for party_id in (901, 902):
        h.bot.dispatch("party_attended", guild.id, fan.id, party_id)

    async def attended() -> bool:
        assert h.bot is not None
        async with h.bot.sessionmaker() as session:
            picks = len((await session.scalars(select(FanRoleChange))).all())  # counted just after the answer
            return picks == 2 and len((await session.scalars(select(FanPartyAttendance))).all()) == 2

    await h.wait_until(attended)
    made = await run(h, h.moderator, "supporters perk create", name="Backers", role=backer, earned_by="purchase")
    assert made.content.startswith("Created the perk"), made.content

    now = datetime.now(UTC)
    # Through the bot's own pool: on SQLite that is the one connection, so the seed waits its turn.
    async with h.bot.sessionmaker.begin() as session:
        party = await session.scalar(select(ListeningParty).where(ListeningParty.title == "Night Drive Party"))
        assert party is not None
        session.add_all(
            [
                PartyAttendance(party_id=party.id, user_id=fan.id),
                PartyTrackRating(party_id=party.id, track_index=0, user_id=fan.id, stars=5),
                PartyTrackRating(party_id=party.id, track_index=0, user_id=other.id, stars=4),
                PartyTrackRating(party_id=party.id, track_index=1, user_id=fan.id, stars=3),
            ]
        )
        for status, closed in (("filled", now - timedelta(days=2)), ("open", None)):
            session.add(
                CollabRequest(
                    guild_id=guild.id,
                    poster_id=label.nova.id,
                    title=f"Need a mixer ({status})",
                    needed="mixing",
                    compensation="paid",
                    status=status,
                    lifetime_seconds=86400 * 14,
                    created_at=now - timedelta(days=9),
                    closed_at=closed,
                )
            )


def _png_colours(png: bytes) -> int:
    """How many different colours a PNG screenshot has (8-bit RGB/RGBA, as Chromium writes them)."""
    width, height, depth, colour = struct.unpack(">IIBB", png[16:26])
    assert depth == 8, depth
    assert colour in (2, 6), colour
    data, position = b"", 8
    while position < len(png):
        (length,) = struct.unpack(">I", png[position : position + 4])
        kind = png[position + 4 : position + 8]
        if kind == b"IDAT":
            data += png[position + 8 : position + 8 + length]
        position += 12 + length
    raw = zlib.decompress(data)
    size = 4 if colour == 6 else 3
    stride = width * size
    previous = bytearray(stride)
    colours: set[bytes] = set()
    for row in range(height):
        start = row * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            left = line[i - size] if i >= size else 0
            up = previous[i]
            corner = previous[i - size] if i >= size else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                guess = left + up - corner
                pa, pb, pc = abs(guess - left), abs(guess - up), abs(guess - corner)
                line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 0xFF
        colours.update(bytes(line[i : i + 3]) for i in range(0, stride, size))
        previous = line
    return len(colours)


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
    await _make_history(site)
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
        titles = [chart.find_element(By.TAG_NAME, "title").get_attribute("textContent") for chart in charts]
        # Every chart drawn: its marks (bars, lines), and its image has more than background and axes in it.
        marks = {
            title: len(chart.find_elements(By.CSS_SELECTOR, "rect.bar, polyline.line"))
            for title, chart in zip(titles, charts, strict=True)
        }
        colours = {}
        for title, chart in zip(titles, charts, strict=True):
            browser.execute_script("arguments[0].scrollIntoView()", chart)
            colours[title] = _png_colours(chart.screenshot_as_png)
        tables = {
            name: browser.find_element(By.ID, f"table-{name}").text
            for name in ("releases", "parties", "ratings", "fanroles", "tiers", "collabs", "supporters")
        }
        headings = [h2.text for h2 in browser.find_elements(By.TAG_NAME, "h2")]
        hrefs = {a.get_attribute("href").rsplit("/", 1)[1] for a in browser.find_elements(By.CSS_SELECTOR, "a.csv")}
        lines = {
            title: chart.find_element(By.CSS_SELECTOR, "polyline.line").get_attribute("points")
            for title, chart in zip(titles, charts, strict=True)
            if chart.find_elements(By.CSS_SELECTOR, "polyline.line")
        }
        # The download links, fetched with the browser's own session cookie (HttpOnly: scripts cannot read it).
        cookie = browser.get_cookie("labelbot_dashboard")
        assert cookie["httpOnly"]
        assert cookie["sameSite"] == "Strict"
        downloads = {}
        for name in ("releases", "ratings"):
            request = urllib.request.Request(
                f"{site.base}/dashboard/{h.guild.id}/{name}.csv",
                headers={"Cookie": f"labelbot_dashboard={cookie['value']}"},
            )
            with urllib.request.urlopen(request, timeout=10) as response:
                downloads[name] = (response.status, response.headers["Content-Disposition"], response.read().decode())
        browser.set_window_size(1200, 5000)
        browser.execute_script("window.scrollTo(0, 0)")
        _shot(browser, "dashboard")
        # On a phone: charts shrink to the screen and wide tables scroll inside their box, not the page.
        browser.set_window_size(390, 844)
        phone = browser.execute_script(
            "return [document.documentElement.scrollWidth, window.innerWidth,"
            " Math.max(...[...document.querySelectorAll('svg.chart')].map(c => c.getBoundingClientRect().right))]"
        )
        _shot(browser, "dashboard-phone")
        browser.set_window_size(1200, 900)
        errors = _console_errors(browser)
        browser.get(link)
        again = browser.find_element(By.TAG_NAME, "body").text
        return {
            "titles": titles,
            "marks": marks,
            "colours": colours,
            "tables": tables,
            "headings": headings,
            "hrefs": hrefs,
            "lines": lines,
            "downloads": downloads,
            "errors": errors,
            "again": again,
            "phone": phone,
        }

    seen = await asyncio.to_thread(sign_in_twice)
    for heading in (
        "Release pipeline",
        "Scheduled work",
        "Parties and events",
        "Listening parties",
        "Fan roles and loyalty tiers",
        "Collab requests",
        "Supporters",
    ):
        assert heading in seen["headings"]
    for title in (
        "Parties: RSVP → check-in (last 90 days)",
        "Best-rated tracks (average stars)",
        "Fan roles held (picked on panels), by week",
        "Fans and loyalty tiers, by week",
        "Collab requests opened and filled, per week",
        "Active supporters by perk",
    ):
        assert title in seen["titles"], seen["titles"]
    assert all(count > 0 for count in seen["marks"].values()), seen["marks"]
    assert all(count >= 3 for count in seen["colours"].values()), seen["colours"]
    tables = seen["tables"]
    for title in ("Afterglow", "Pending Heat", "Draft Demo"):
        assert title in tables["releases"]
    assert "Night Drive Party" in tables["parties"]
    assert "Intro 2 4.50" in tables["ratings"]  # two fans: 5 and 4 stars
    assert "Night Drive 1 3.00" in tables["ratings"]
    assert "Indie" in tables["fanroles"].splitlines()[0]
    assert tables["fanroles"].splitlines()[-1].endswith(" 2 2")  # both fans hold Indie this week
    assert tables["tiers"].splitlines()[0].endswith("tier 2+")
    assert tables["tiers"].splitlines()[-1].endswith(" 1 1")
    assert "Backers 0 0 0 0 0" in tables["supporters"]
    week_of_fill = [row for row in tables["collabs"].splitlines()[1:] if row.endswith(" 1")]
    assert week_of_fill, tables["collabs"]  # the filled request shows in its week
    assert {f"{name}.csv" for name in tables} <= seen["hrefs"]
    # The fan-role line climbs: its last point is higher on the page (smaller y) than its first.
    points = seen["lines"]["Fan roles held (picked on panels), by week"].split()
    assert float(points[-1].split(",")[1]) < float(points[0].split(",")[1])
    status, disposition, text = seen["downloads"]["releases"]
    assert status == 200
    assert disposition.startswith("attachment;")
    assert text.lstrip("\ufeff").startswith("Release,Artist")
    assert "Pending Heat" in text
    status, _, ratings = seen["downloads"]["ratings"]
    assert status == 200
    assert ratings.lstrip("\ufeff").splitlines()[0] == "Party,Track #,Track,Ratings,Average stars"
    assert "Night Drive Party,1,Intro,2,4.50" in ratings
    assert seen["errors"] == []
    page_width, screen_width, chart_right = seen["phone"]
    assert page_width <= screen_width
    assert chart_right <= screen_width
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
