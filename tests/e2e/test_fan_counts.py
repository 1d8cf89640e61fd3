"""Fan counts on role panels: counted by Discord's role member-count endpoint, refreshed once per burst of presses."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update

from labelbot.db import create_engine, create_sessionmaker
from labelbot.db.base import utcnow
from labelbot.features.fan_roles._service import COUNTS_AFTER_PRESS, COUNTS_EVERY, counts_key
from labelbot.jobs import JobStatus, ScheduledJob
from tests.e2e.helpers import jobs_with_key, sweep_once
from tests.e2e.test_fan_roles import build_panel, panel_messages, run
from tests.harness import BotHarness

COUNTS_ROUTE = "/guilds/{guild_id}/roles/member-counts"


def description(h: BotHarness) -> str:
    [message] = panel_messages(h)
    text: str = message.embeds[0]["description"]
    return text


async def come_due(h: BotHarness, key: str) -> None:
    engine = create_engine(h.database_url)
    try:
        async with create_sessionmaker(engine).begin() as session:
            await session.execute(
                update(ScheduledJob)
                .where(ScheduledJob.key == key, ScheduledJob.status == JobStatus.PENDING)
                .values(due_at=utcnow(), scheduled_for=utcnow())
            )
    finally:
        await engine.dispose()
    await sweep_once(h)


async def test_panels_show_fan_counts_and_a_burst_of_presses_costs_one_count_and_one_edit(harness: BotHarness) -> None:
    h = harness
    guild = h.guild
    indie, rock = guild.add_role("Indie"), guild.add_role("Rock")
    for n in range(3):
        guild.add_member(f"indie fan {n}", [indie])
    fans: list[Any] = [guild.add_member(f"new fan {n}") for n in range(3)]
    await h.start()
    await build_panel(h, "Genres", "buttons", "any", [indie, rock])
    answer = await run(h, "roles-admin panel post", panel="Genres")
    assert "Posted **Genres**" in answer.content
    assert f"<@&{indie.id}> **Indie** · 3 fans" in description(h)
    assert f"<@&{rock.id}> **Rock** · 0 fans" in description(h)
    counted = len(h.fake.requests_to(COUNTS_ROUTE, "GET"))

    [message] = panel_messages(h)
    rock_button = message.custom_ids[1]
    for fan in fans:
        pressed = await (await h.fake.click(guild, h.general, fan.user, message, rock_button)).reply(timeout=10)
        assert pressed.content == f"Gave you <@&{rock.id}>."

    # Three presses, no count request yet: one refresh comes within a minute for all of them. (A press asks for it
    # after its answer, so the fan never waits on it: on a busy machine the last may still be on its way.)
    async def one_refresh_soon() -> bool:
        rows = await jobs_with_key(h.database_url, counts_key(guild.id))
        return [(row.status, row.due_at <= utcnow() + COUNTS_AFTER_PRESS) for row in rows] == [
            (JobStatus.PENDING, True)
        ]

    await h.wait_until(one_refresh_soon, timeout=10)
    assert len(h.fake.requests_to(COUNTS_ROUTE, "GET")) == counted
    edits_before = message.edits

    await come_due(h, counts_key(guild.id))
    await h.wait_until(lambda: "**Rock** · 3 fans" in description(h))
    assert f"<@&{indie.id}> **Indie** · 3 fans" in description(h)
    assert len(h.fake.requests_to(COUNTS_ROUTE, "GET")) == counted + 1
    assert panel_messages(h)[0].edits == edits_before + 1
    # The buttons stay: only the embed was edited.
    assert panel_messages(h)[0].custom_ids == message.custom_ids

    # The next refresh is the periodic one; when nothing changed it counts but edits nothing.
    [periodic] = await jobs_with_key(h.database_url, counts_key(guild.id))
    assert periodic.status == JobStatus.PENDING
    assert periodic.due_at > utcnow() + COUNTS_EVERY / 2
    await come_due(h, counts_key(guild.id))
    await h.wait_until(lambda: len(h.fake.requests_to(COUNTS_ROUTE, "GET")) == counted + 2)
    await sweep_once(h)
    assert panel_messages(h)[0].edits == edits_before + 1
