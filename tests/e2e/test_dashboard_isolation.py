"""The moderators' dashboard: one feature section that fails costs only that section, never the page."""

from __future__ import annotations

import logging
from datetime import datetime

import aiohttp
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from labelbot.dashboard import UNAVAILABLE, DashboardSection
from tests.e2e.helpers import run
from tests.harness import BotHarness, free_port


async def broken(session: AsyncSession, guild_id: int, now: datetime) -> DashboardSection | None:
    # A query that fails in the database: on PostgreSQL it would abort the page's whole transaction.
    await session.execute(text("SELECT missing_column FROM no_such_table"))
    return DashboardSection("Never shown")


async def healthy(session: AsyncSession, guild_id: int, now: datetime) -> DashboardSection | None:
    found = await session.scalar(text("SELECT 41 + 1"))
    return DashboardSection("Still here", note=f"The answer is {found}.")


@pytest.mark.expect_error_log("broken_figures")
async def test_a_failing_section_shows_a_note_and_the_other_sections_still_load(
    harness: BotHarness, caplog: pytest.LogCaptureFixture
) -> None:
    h = harness
    port = free_port()
    h.extra_env.update({"LABELBOT_WEB__ENABLED": "true", "LABELBOT_WEB__PORT": str(port)})
    bot = await h.start()
    bot.features.dashboard.add("broken_figures", broken, order=0)
    bot.features.dashboard.add("healthy", healthy, order=1)
    try:
        answer = await run(h, h.moderator, "dashboard")
        link = answer.content.split("<", 1)[1].split(">", 1)[0]
        base = f"http://127.0.0.1:{port}"
        caplog.set_level(logging.ERROR, logger="labelbot.dashboard")
        # A cookie jar that keeps cookies of an IP address, as a browser does.
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            async with http.post(link, allow_redirects=False) as signed_in:
                assert signed_in.status == 303
            async with http.get(f"{base}/dashboard/{h.guild.id}") as page:
                status, body = page.status, await page.text()
            async with http.get(f"{base}/dashboard/{h.guild.id}/releases.csv") as csv_file:
                csv_status = csv_file.status
    finally:
        bot.features.dashboard.remove("broken_figures")
        bot.features.dashboard.remove("healthy")
    assert status == 200, body
    # The failing section keeps its place with one sentence; the core's and the next feature's sections are there.
    assert "Broken figures" in body
    assert UNAVAILABLE in body
    assert "Never shown" not in body
    assert "Still here" in body
    assert "The answer is 42." in body
    assert "Releases by stage" in body
    assert body.index("Broken figures") < body.index("Still here")
    assert csv_status == 200
    failures = [record for record in caplog.records if "broken_figures" in record.getMessage()]
    assert len(failures) == 2  # once for the page, once for the CSV download: each logged once, with its cause
    assert all(record.exc_info is not None for record in failures)
