"""A slow Discord route stalls nobody else: no transaction waits on Discord (read, then talk to Discord, then write).

While a moderator schedules a listening party and Discord takes 6 s to answer the scheduled-event route (and then
fails), a release due in that window still goes out on time, fans pressing a role panel get their answers at once,
and the failed party leaves nothing behind.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import func, select

from labelbot.db.base import utcnow
from labelbot.db.engine import create_engine, create_sessionmaker
from labelbot.gatherings.models import Gathering
from labelbot.models.parties import ListeningParty
from tests.e2e.test_fan_roles import build_panel, panel_messages, role_ids
from tests.e2e.test_fan_roles import run as roles_run
from tests.e2e.test_releases import build_label, create, release_id_of, release_row, schedule, wait_posts
from tests.harness import BotHarness

SLOW = 6.0
# Generous against scheduling noise on a busy machine, and still far below the 6 s a held transaction costs.
LATE_MAX = 1.5
EVENT_ROUTE = "/guilds/{guild_id}/scheduled-events"


async def count(h: BotHarness, model: Any) -> int:
    assert h.bot is not None
    async with h.bot.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_a_slow_scheduled_event_route_stalls_no_release_no_fan_and_leaves_no_half_party(
    harness: BotHarness,
) -> None:
    h = harness
    label = await build_label(h)
    parties = h.guild.add_channel("listening-parties")
    night_owls = h.guild.add_role("Night owls")
    fans = [h.guild.add_member(f"fan{number}") for number in range(8)]
    await h.start()
    answer = await roles_run(h, "settings channel", kind="parties", channel=parties)
    assert "is now" in answer.content, answer.content
    await build_panel(h, "Owls", "buttons", "any", [night_owls])
    await roles_run(h, "roles-admin panel post", panel="Owls")
    [panel] = panel_messages(h)
    preview = await create(label, label.nova, when="in 20 seconds")
    answer = await schedule(label, label.nova, preview)
    assert "Scheduled" in answer.content, answer.content
    due = (await release_row(h, release_id_of(preview))).release_at
    loop = asyncio.get_running_loop()

    # The party is scheduled 2 s before the release is due, so the release comes due while Discord "thinks".
    await asyncio.sleep(max(0.0, (due - utcnow()).total_seconds() - 2.0))
    slow = h.fake.slow_route(lambda method, _path, template: method == "POST" and template == EVENT_ROUTE, SLOW)
    h.fake.inject_failures(lambda method, _path, template: method == "POST" and template == EVENT_ROUTE, status=503)
    party = await h.fake.slash(
        h.guild,
        h.general,
        h.moderator,
        "party schedule",
        title="Slow Night",
        start="in 2 hours",
        tracklist="Intro - 1:00 | Outro - 1:00",
    )
    await h.wait_until(lambda: bool(slow.arrived), timeout=10)

    # (b) Eight fans press the panel one after another; each gets the final answer (and the role) at once.
    waits = []
    for fan in fans:
        pressed = loop.time()
        ix = await h.fake.click(h.guild, h.general, fan.user, panel, panel.custom_ids[0])
        reply = await ix.reply(timeout=10)
        waits.append(loop.time() - pressed)
        assert waits[-1] < LATE_MAX, f"fan {len(waits)} waited {waits[-1]:.2f} s for the answer"
        assert reply.content == f"Gave you <@&{night_owls.id}>.", reply.text
        assert night_owls.id in role_ids(h.guild, fan)
    assert loop.time() - slow.arrived[0] < SLOW, "the presses must happen while the route is still slow"

    # (a) The release due in the slow window is announced on time.
    [posted] = await wait_posts(label, 1, timeout=15)
    late = (posted.created_at - due).total_seconds()
    assert late < LATE_MAX, f"the release went out {late:.2f} s late"

    # (c) The party command finishes with one sentence, and nothing of the party remains.
    reply = await party.reply(timeout=3 * SLOW)
    assert reply.ephemeral
    assert "Scheduled" not in reply.content
    assert not [m for m in h.fake.messages(parties) if m.author_id == h.fake.bot_user.id]
    assert list(h.guild.scheduled_events) == []
    assert await count(h, ListeningParty) == 0
    assert await count(h, Gathering) == 0


async def test_a_party_being_scheduled_when_the_bot_is_told_to_stop_is_finished_not_cut_in_half(
    harness: BotHarness,
) -> None:
    """SIGTERM while Discord is slow to answer a moderator: the bot finishes the command before it goes."""
    h = harness
    parties = h.guild.add_channel("listening-parties")
    await h.start()
    answer = await roles_run(h, "settings channel", kind="parties", channel=parties)
    assert "is now" in answer.content, answer.content
    slow = h.fake.slow_route(lambda method, _path, template: method == "POST" and template == EVENT_ROUTE, 2.0)
    party = await h.fake.slash(
        h.guild,
        h.general,
        h.moderator,
        "party schedule",
        title="Last Call",
        start="in 2 hours",
        tracklist="Intro - 1:00 | Outro - 1:00",
    )
    await h.wait_until(lambda: bool(slow.arrived), timeout=10)
    await h.stop()

    reply = await party.reply(timeout=5)
    assert "Scheduled" in reply.content, reply.content
    [event] = h.guild.scheduled_events
    assert event.name == "Last Call"
    engine = create_engine(h.database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            [row] = (await session.scalars(select(ListeningParty))).all()
            assert row.title == "Last Call"
    finally:
        await engine.dispose()
