"""The label's public page over HTTP, without a browser (tests/browser drives it in Chromium).

Opt-in, only what fans see, escaped, the JSON, Atom feed and artist page agreeing with the page, and a cache that
answers conditional GETs without reading the database, yet shows a change at once.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from sqlalchemy import event

from labelbot.catalog.models import ReleaseStatus
from tests.e2e.helpers import run
from tests.e2e.test_releases import LONG, Label, build_label, create, release_id_of, release_row, schedule
from tests.harness import BotHarness, free_port

feedparser = pytest.importorskip("feedparser", reason="feedparser is not installed (make install-dev)")

EMBED_ORIGIN = "https://label.example"


@dataclass
class Site:
    label: Label
    url: str


@pytest.fixture
async def site(harness: BotHarness) -> Site:
    port = free_port()
    harness.extra_env.update(
        {
            "LABELBOT_WEB__ENABLED": "true",
            "LABELBOT_WEB__PORT": str(port),
            "LABELBOT_WEB__EMBED_ORIGINS": json.dumps([EMBED_ORIGIN]),
        }
    )
    label = await build_label(harness)
    await harness.start()
    return Site(label, f"http://127.0.0.1:{port}/label/{harness.guild.id}")


async def get(url: str, **headers: str) -> tuple[int, Mapping[str, str], str]:
    async with aiohttp.ClientSession() as http, http.get(url, headers=headers) as response:
        return response.status, response.headers.copy(), await response.text()


def upcoming_titles(page: str) -> list[str]:
    section = page.split('<section id="upcoming">', 1)[1].split("</section>", 1)[0]
    return [html.unescape(title) for title in re.findall(r"<h3>(.*?)</h3>", section)]


@contextmanager
def release_reads(h: BotHarness) -> Iterator[list[str]]:
    """The SQL statements reading the releases table while the block runs."""
    assert h.bot is not None
    engine = h.bot.engine.sync_engine
    seen: list[str] = []

    def listen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if re.search(r"\bFROM releases\b", statement):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", listen)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", listen)


async def test_the_public_page_is_opt_in_escaped_and_its_json_feed_and_artist_page_agree(site: Site) -> None:
    label, h = site.label, site.label.h
    status, _, text = await get(site.url)
    assert status == 404
    assert "no public page" in text

    assert "/label/" in (await run(h, h.moderator, "settings web-page", state="on")).content
    bio = await run(h, h.moderator, "artist edit", artist="Nova Lights", bio="Synths <i>from</i> a lighthouse.")
    assert bio.content.startswith("Updated"), bio.content
    await schedule(label, label.nova, await create(label, label.nova, title="Afterglow <b>EP</b>", when="in 3 days"))
    old = await create(label, label.nova, title="Old Light", when="in 2 hours")
    await schedule(label, label.nova, old)
    announced = await (await label.slash(label.nova, "release announce-now", release=str(release_id_of(old)))).reply()
    assert announced.content == "Announcing **Old Light** now."

    async def is_announced() -> bool:
        return (await release_row(h, release_id_of(old))).status == ReleaseStatus.ANNOUNCED

    await h.wait_until(is_announced, timeout=LONG)
    await create(label, label.nova, title="Draft Demo", when="in 5 days")

    status, headers, page = await get(site.url)
    assert status == 200
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    # Member text is escaped, never markup.
    assert "Afterglow &lt;b&gt;EP&lt;/b&gt;" in page
    assert "<b>EP</b>" not in page
    assert upcoming_titles(page) == ["Afterglow <b>EP</b>"]
    assert "Old Light" in page.split('<section id="catalogue">', 1)[1]

    _, _, body = await get(f"{site.url}/releases.json")
    data = json.loads(body)
    assert [r["title"] for r in data["upcoming_releases"]] == upcoming_titles(page)
    assert [r["title"] for r in data["announced_releases"]] == ["Old Light"]
    [artist] = [a for a in data["artists"] if a["name"] == "Nova Lights"]
    _, _, feed_body = await get(f"{site.url}/releases.atom")
    feed = feedparser.parse(feed_body)
    assert not feed.bozo, feed.get("bozo_exception")
    assert [entry.title for entry in feed.entries] == ["Nova Lights – Old Light"]
    _, _, calendar = await get(f"{site.url}/calendar.ics")
    # No draft, and no member: not their ids, nor the names of those who made the releases.
    members = [label.nova, label.rival, h.moderator]
    for private in ("Draft Demo", *(str(m.id) for m in members), *(f">{getattr(m, 'user', m).name}<" for m in members)):
        assert private not in page
        assert private not in body
        assert private not in feed_body
        assert private not in calendar

    status, _, artist_page = await get(f"{site.url}/artists/{artist['id']}")
    assert status == 200
    assert "Synths &lt;i&gt;from&lt;/i&gt; a lighthouse." in artist_page
    assert "Old Light" in artist_page
    assert "Afterglow &lt;b&gt;EP&lt;/b&gt;" in artist_page
    status, _, _ = await get(f"{site.url}/artists/{artist['id'] + 1000}")
    assert status == 404

    status, headers, embed = await get(f"{site.url}?embed=1")
    assert status == 200
    assert f"frame-ancestors {EMBED_ORIGIN}" in headers["Content-Security-Policy"]
    assert 'class="embed"' in embed
    assert 'id="catalogue"' not in embed


async def test_the_page_is_cached_answers_304_and_shows_a_change_at_once(site: Site) -> None:
    label, h = site.label, site.label.h
    assert "/label/" in (await run(h, h.moderator, "settings web-page", state="on")).content
    preview = await create(label, label.nova, title="Afterglow", when="in 3 days")
    await schedule(label, label.nova, preview)

    with release_reads(h) as reads:
        status, headers, _ = await get(site.url)
        assert status == 200
        etag, modified = headers["ETag"], headers["Last-Modified"]
        for _ in range(20):
            assert (await get(site.url))[0] == 200
        assert (await get(site.url, **{"If-None-Match": etag}))[0] == 304
        assert (await get(site.url, **{"If-Modified-Since": modified}))[0] == 304
    # 23 views, one read of the database.
    assert len(reads) == 1, reads

    edited = await (
        await label.slash(label.nova, "release edit", release=str(release_id_of(preview)), title="Afterglow (Deluxe)")
    ).reply()
    assert "Afterglow (Deluxe)" in edited.text, edited.text
    status, headers, page = await get(site.url, **{"If-None-Match": etag})
    assert status == 200
    assert headers["ETag"] != etag
    assert upcoming_titles(page) == ["Afterglow (Deluxe)"]

    assert "off" in (await run(h, h.moderator, "settings web-page", state="off")).content.lower()
    assert (await get(site.url))[0] == 404
