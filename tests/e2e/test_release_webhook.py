"""A label's website announces a release through the signed webhook; the bot posts it at the time, once."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select

from labelbot.catalog.models import Release
from labelbot.db.base import utcnow
from labelbot.web.hooks import rotate_webhook_secret, sign
from tests.e2e.helpers import nothing_more_happens
from tests.e2e.test_releases import Label, assert_pings_only, build_label, wait_posts
from tests.harness import BotHarness, free_port


@pytest.fixture
async def website(harness: BotHarness) -> tuple[Label, str, str]:
    """The label server with its web side on, and the secret its website signs with."""
    port = free_port()
    harness.extra_env.update({"LABELBOT_WEB__ENABLED": "true", "LABELBOT_WEB__PORT": str(port)})
    label = await build_label(harness)
    bot = await harness.start()
    async with bot.sessionmaker.begin() as session:
        secret = await rotate_webhook_secret(session, harness.guild.id)
    return label, f"http://127.0.0.1:{port}/hooks/releases", secret


_last_stamp = 0


def next_stamp() -> int:
    """Now, in unix seconds, but later than the last request signed here (an update must be signed later)."""
    global _last_stamp
    _last_stamp = max(int(time.time()), _last_stamp + 1)
    return _last_stamp


async def post(url: str, guild_id: int, secret: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    raw = json.dumps(body).encode()
    stamp = next_stamp()
    headers = {
        "Content-Type": "application/json",
        "X-Labelbot-Guild": str(guild_id),
        "X-Labelbot-Timestamp": str(stamp),
        "X-Labelbot-Signature": sign(secret, stamp, "releases", raw),
    }
    async with aiohttp.ClientSession() as http, http.post(url, data=raw, headers=headers) as response:
        return response.status, await response.json()


async def releases(label: Label) -> int:
    assert label.h.bot is not None
    async with label.h.bot.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(Release)) or 0)


def body(**changes: Any) -> dict[str, Any]:
    return {
        "id": "dist-2026-041",
        "artist": "Nova Lights",
        "title": "Night Drive",
        "kind": "single",
        "release_at": (utcnow() + timedelta(seconds=5)).isoformat(),
        "zone": "Europe/Berlin",
        "links": [{"label": "Bandcamp", "url": "https://novalights.bandcamp.com/track/night-drive"}],
        "tracks": [{"title": "Night Drive", "duration": "3:45"}],
        **changes,
    }


async def test_a_signed_release_is_announced_at_its_time_and_an_update_edits_it(
    website: tuple[Label, str, str],
) -> None:
    label, url, secret = website
    guild_id = label.h.guild.id

    status, answer = await post(url, guild_id, secret, body(title="Night Drve"))
    assert status == 200, answer
    assert label.posts() == [], "announced at once instead of at its time"
    assert answer["result"]["status"] == "scheduled"
    # The distributor corrects the title under the same id: the same release changes, no second one appears.
    status, answer = await post(url, guild_id, secret, body(title="Night Drive"))
    assert status == 200, answer
    assert await releases(label) == 1

    async with label.h.bot.sessionmaker() as session:  # type: ignore[union-attr]
        release = (await session.scalars(select(Release))).one()
    [announcement] = await wait_posts(label, 1)
    assert announcement.created_at >= release.release_at, "posted before its time"
    assert "Night Drive" in announcement.text
    assert "Night Drve" not in announcement.text
    assert_pings_only(announcement, {label.fan_role.id, label.all_releases.id})
    await nothing_more_happens(label.h, f"release:{release.id}:announce")
    assert len(label.posts()) == 1


async def test_a_bad_body_or_signature_changes_nothing(website: tuple[Label, str, str]) -> None:
    label, url, secret = website
    guild_id = label.h.guild.id

    status, answer = await post(url, guild_id, secret, body(release_at=(utcnow() - timedelta(hours=1)).isoformat()))
    assert status == 422
    assert answer["problems"] == ["release_at: that time has already passed"]

    status, answer = await post(url, guild_id, secret, body(artist="Nobody Here", id="x-2"))
    assert status == 422
    assert answer["problems"] == ["artist: there is no artist called 'Nobody Here' in this server"]

    bad_link = body(id="x-3", links=[{"label": "Shop", "url": "javascript:alert(1)"}])
    status, answer = await post(url, guild_id, secret, bad_link)
    assert status == 422
    assert answer["problems"][0].startswith("links: ")

    status, answer = await post(url, guild_id, "not-the-secret", body(id="x-4"))
    assert status == 401

    assert await releases(label) == 0
    assert label.posts() == []
