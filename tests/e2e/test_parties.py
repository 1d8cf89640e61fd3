"""Listening parties end to end through the fake Discord: schedule, RSVPs, reminders, the live run, recap, cancel."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.client import find_extensions
from cogs.parties._models import PartyAttendance
from tests.fakediscord import FakeChannel, FakeMessage, FakeScheduledEvent, FakeUser
from tests.harness import BotHarness

# Three tracks of a few seconds each: the whole party runs in the test.
TRACKLIST = "Intro - 0:03 | Night Drive - 0:03 | Outro - 0:03"
NOTES = "1. Recorded at 3am\n2. The one with the synth solo\n3. Goodbye for now"
# What the fake must never see the bot do on its own: any request Discord would reject fails the test at teardown.

SCHEDULED, ACTIVE, COMPLETED, CANCELED = 1, 2, 3, 4


@pytest.fixture
async def harness(harness: BotHarness) -> BotHarness:
    # Only the features this one builds on, so other features' work in progress cannot break these tests.
    mine = {"cogs.about", "cogs.settings", "cogs.artists", "cogs.parties"}
    harness.extra_env["LABELBOT_FEATURES__DISABLED"] = json.dumps(
        [e.removeprefix("cogs.") for e in find_extensions() if e not in mine]
    )
    return harness


async def slash(h: BotHarness, user: Any, command: str, /, *, where: Any = None, **options: Any) -> Any:
    from tests.fakediscord import interactions

    return await interactions.slash(h.fake, h.guild, where or h.general, user, command, options)


async def run(h: BotHarness, user: Any, command: str, /, *, where: Any = None, **options: Any) -> Any:
    return await (await slash(h, user, command, where=where, **options)).reply(timeout=15)


def fan(h: BotHarness, name: str) -> FakeUser:
    user = h.fake.add_user(name)
    h.guild.add_member(user)
    return user


async def set_parties_channel(h: BotHarness) -> FakeChannel:
    channel = h.guild.add_channel("listening-parties")
    reply = await run(h, h.moderator, "settings channel", kind="parties", channel=channel)
    assert "is now" in reply.content, reply.content
    return channel


def bot_messages(h: BotHarness, channel: FakeChannel | int) -> list[FakeMessage]:
    return [m for m in h.fake.messages(channel) if m.author_id == h.fake.bot_user.id]


def card_of(h: BotHarness, channel: FakeChannel) -> FakeMessage:
    cards = [m for m in bot_messages(h, channel) if any("party:rsvp:" in c for c in m.custom_ids) or m.embeds]
    assert cards, "no party card was posted"
    return cards[0]


def field(message: FakeMessage, name: str) -> str:
    for embed in message.embeds:
        for f in embed.get("fields", []):
            if f["name"] == name:
                return str(f["value"])
    raise AssertionError(f"no field {name!r} in {message.embeds}")


def native_events(h: BotHarness) -> list[FakeScheduledEvent]:
    return list(h.guild.scheduled_events)


async def click(h: BotHarness, user: Any, message: FakeMessage, custom_id: str) -> Any:
    ix = await h.fake.click(h.guild, message.channel_id, user, message, custom_id)
    return await ix.reply(timeout=15)


async def count_rows(h: BotHarness, model: type[Any]) -> int:
    assert h.bot is not None
    async with h.bot.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


def mentioned_users(message: FakeMessage) -> set[int]:
    allowed = message.allowed_mentions or {}
    assert not allowed.get("parse"), f"the bot asked to parse mentions: {allowed}"
    assert not allowed.get("roles")
    return {int(u) for u in allowed.get("users", [])}


async def test_a_party_runs_itself_from_rsvps_to_recap_surviving_a_gateway_drop(harness: BotHarness) -> None:
    h = harness
    await h.start()
    parties = await set_parties_channel(h)
    fans = [fan(h, f"fan{i}") for i in range(1, 6)]
    attended: list[tuple[int, int, int]] = []

    async def on_party_attended(guild_id: int, user_id: int, party_id: int) -> None:
        attended.append((guild_id, user_id, party_id))

    assert h.bot is not None
    h.bot.add_listener(on_party_attended, "on_party_attended")

    # The form: tracklist typed in, a note per track, a closing note.
    ix = await slash(
        h,
        h.moderator,
        "party schedule",
        title="Night Drive LP",
        start="in 16 seconds",
        capacity=2,
        reminders="10s",
        notes=True,
    )
    modal = await ix.modal()
    submitted = await h.fake.submit_modal(
        h.guild,
        h.general,
        h.moderator,
        modal,
        {
            "tracklist": TRACKLIST.replace(" | ", "\n"),
            "notes": NOTES,
            "closing": "Thank you for listening!",
        },
    )
    reply = await submitted.reply(timeout=15)
    assert reply.ephemeral
    assert "Scheduled **Night Drive LP**" in reply.content, reply.content

    (event,) = native_events(h)
    assert event.name == "Night Drive LP"
    assert event.status == SCHEDULED
    assert event.entity_type == 3
    card = card_of(h, parties)
    assert set(card.custom_ids) == {f"party:rsvp:{a}:1" for a in ("going", "maybe", "remind", "cant")}

    # RSVPs: two seats, the third Going waits; a freed seat goes to the first in line, who is told by DM.
    assert "You're going" in (await click(h, fans[0], card, "party:rsvp:going:1")).content
    assert "You're going" in (await click(h, fans[1], card, "party:rsvp:going:1")).content
    waiting = await click(h, fans[2], card, "party:rsvp:going:1")
    assert "waitlist (#1)" in waiting.content, waiting.content
    await click(h, fans[3], card, "party:rsvp:maybe:1")
    await click(h, fans[4], card, "party:rsvp:remind:1")
    await click(h, fans[1], card, "party:rsvp:cant:1")
    promoted = await h.fake.wait_for_dm(fans[2], lambda m: "spot opened up" in m.content, timeout=10)
    assert "Night Drive LP" in promoted.content
    await h.wait_until(lambda: field(h.fake.message(card.id), "Going") == "2 / 2", timeout=10)

    # The reminder mentions exactly the Going and Maybe members; the one who asked gets a DM.
    reminder = await h.fake.wait_for_message(parties, lambda m: m.content.startswith("⏰"), timeout=15)
    assert mentioned_users(reminder) == {fans[0].id, fans[2].id, fans[3].id}
    await h.fake.wait_for_dm(fans[4], lambda m: m.content.startswith("⏰"), timeout=10)
    assert not [m for m in h.fake.dms(fans[1]) if m.content.startswith("⏰")]

    countdown = await h.fake.wait_for_message(parties, lambda m: m.content.startswith("⏳"), timeout=15)
    assert "Night Drive LP" in countdown.content
    play = await h.fake.wait_for_message(parties, lambda m: "Press play now" in m.content, timeout=20)
    assert play.custom_ids == ["party:here:1"]
    await h.wait_until(lambda: h.guild.scheduled_event(event.id).status == ACTIVE, timeout=10)
    await h.wait_until(lambda: play.thread is not None or any(t.id == play.id for t in h.guild.threads), timeout=10)
    thread = h.guild.channel(play.id)

    # Attendance: "I'm here" during the party.
    assert "counted as here" in (await click(h, fans[0], play, "party:here:1")).content
    assert "counted as here" in (await click(h, fans[2], play, "party:here:1")).content
    assert "already counted" in (await click(h, fans[0], play, "party:here:1")).content

    def prompts() -> list[FakeMessage]:
        return [m for m in bot_messages(h, thread) if m.content.startswith("🎵")]

    await h.wait_until(lambda: len(prompts()) >= 1, timeout=10)
    await h.fake.post_user_message(h.guild, thread, fans[0], "what an intro")
    await h.wait_until(lambda: len(prompts()) >= 2, timeout=10)
    assert "Track 2/3: Night Drive" in prompts()[1].content
    assert "synth solo" in prompts()[1].content
    # The gateway drops during track 2; REST keeps going, and talk during the outage arrives with the resume.
    await h.fake.drop_gateway(hold=True)
    await h.fake.post_user_message(h.guild, thread, fans[2], "this synth!")
    await h.fake.post_user_message(h.guild, thread, fans[0], "yes!!")
    h.fake.release_gateway()
    await h.fake.wait_until_connected(timeout=15)

    late = await slash(h, fans[3], "party now", party="1")
    now_text = (await late.reply(timeout=15)).content
    assert "Now playing in **Night Drive LP**" in now_text or "just finished" in now_text, now_text

    recap = await h.fake.wait_for_message(
        parties, lambda m: any("That's a wrap" in (e.get("title") or "") for e in m.embeds), timeout=30
    )
    assert field(recap, "Came").startswith("2 members")
    assert "Night Drive" in field(recap, "Busiest track")
    assert "2 messages" in field(recap, "Busiest track")
    assert recap.embeds[0]["description"] == "Thank you for listening!"
    await h.wait_until(lambda: h.guild.scheduled_event(event.id).status == COMPLETED, timeout=10)

    # One prompt per track, in order, none lost or repeated; one press-play, one countdown, one recap.
    assert [m.content.split("**")[1] for m in prompts()] == [
        "Track 1/3: Intro",
        "Track 2/3: Night Drive",
        "Track 3/3: Outro",
    ]
    assert len([m for m in bot_messages(h, parties) if "Press play now" in m.content]) == 1
    assert len([m for m in bot_messages(h, parties) if m.content.startswith("⏳")]) == 1
    assert (
        len([m for m in bot_messages(h, parties) if any("That's a wrap" in (e.get("title") or "") for e in m.embeds)])
        == 1
    )
    await h.wait_until(lambda: len(attended) == 2, timeout=10)
    assert sorted(attended) == sorted([(h.guild.id, fans[0].id, 1), (h.guild.id, fans[2].id, 1)])
    await h.wait_until(lambda: "over" in h.fake.message(card.id).embeds[0]["title"], timeout=10)
    assert h.fake.message(card.id).custom_ids == []
    assert await count_rows(h, PartyAttendance) == 2
