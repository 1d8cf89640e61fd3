"""Listening parties end to end through the fake Discord: schedule, RSVPs, reminders, the live run, recap, cancel."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from labelbot.db import create_engine, create_sessionmaker
from labelbot.errors import InvalidInput
from labelbot.features.parties._service import parse_capacity
from labelbot.gatherings.models import Gathering, GatheringRsvp
from labelbot.jobs import ScheduledJob
from labelbot.models.parties import ListeningParty, PartyAttendance
from tests.fakediscord import ChannelType, FakeChannel, FakeMessage, FakeScheduledEvent, FakeUser, Permissions
from tests.faults.helpers import (
    PARTY_FEATURES,
    bot_messages,
    card_of,
    card_title,
    fan,
    field,
    is_recap,
    only_features,
    set_parties_channel,
)
from tests.harness import BotHarness, BotProcess

# Three tracks of a few seconds each: the whole party runs in the test.
TRACKLIST = "Intro - 0:03 | Night Drive - 0:03 | Outro - 0:03"
NOTES = "1. Recorded at 3am\n2. The one with the synth solo\n3. Goodbye for now"
# What the fake must never see the bot do on its own: any request Discord would reject fails the test at teardown.

SCHEDULED, ACTIVE, COMPLETED, CANCELED = 1, 2, 3, 4


@pytest.fixture
async def harness(harness: BotHarness) -> BotHarness:
    # Only the features this one builds on, so other features' work in progress cannot break these tests.
    only_features(harness, PARTY_FEATURES)
    return harness


async def slash(h: BotHarness, user: Any, command: str, /, *, where: Any = None, **options: Any) -> Any:
    from tests.fakediscord import interactions

    return await interactions.slash(h.fake, h.guild, where or h.general, user, command, options)


async def run(h: BotHarness, user: Any, command: str, /, *, where: Any = None, **options: Any) -> Any:
    return await (await slash(h, user, command, where=where, **options)).reply(timeout=15)


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
    await h.wait_until(lambda: "over" in card_title(h.fake.message(card.id)), timeout=10)
    assert h.fake.message(card.id).custom_ids == []
    await h.wait_until(lambda: h.fake.message(play.id).custom_ids == [], timeout=10)
    assert await count_rows(h, PartyAttendance) == 2


def prompts_in(h: BotHarness, channel_id: int) -> list[FakeMessage]:
    return [m for m in bot_messages(h, channel_id) if m.content.startswith("🎵")]


async def schedule_party(h: BotHarness, **options: Any) -> None:
    """The moderator schedules a party without reminders, and it is accepted."""
    reply = await run(h, h.moderator, "party schedule", **options, reminders="none")
    assert "Scheduled" in reply.content, reply.content


async def spawn_with_parties(h: BotHarness, parties: FakeChannel) -> BotProcess:
    """The bot as a child process (so a test can kill it), connected, its commands synced, parties going to `parties`."""
    process = h.spawn()
    await h.fake.wait_until_connected(timeout=30)
    await h.fake.wait_until(lambda: h.fake.synced_commands(h.guild), timeout=30, what="commands synced")
    reply = await run(h, h.moderator, "settings channel", kind="parties", channel=parties)
    assert "is now" in reply.content
    return process


async def restart_until_recap(
    h: BotHarness, first: BotProcess, parties: FakeChannel, then: Callable[[], bool] | None = None, what: str = ""
) -> tuple[BotProcess, FakeMessage]:
    """Kill the bot (SIGKILL: no cleanup at all), start it again, wait for the recap (and then for `then`).

    The new process's log must show no traceback; it is returned running, with the recap.
    """
    first.kill()
    second = h.spawn()
    try:
        recap = await h.fake.wait_for_message(parties, is_recap, timeout=60)
        if then is not None:
            await h.fake.wait_until(then, timeout=10, what=what)
    finally:
        output = second.output()
    assert "Traceback" not in output, output[-3000:]
    return second, recap


async def test_the_bot_killed_during_a_party_continues_after_restart_without_duplicates(harness: BotHarness) -> None:
    h = harness
    parties = h.guild.add_channel("listening-parties")
    first = await spawn_with_parties(h, parties)
    await schedule_party(
        h,
        title="Crash Test",
        start="in 8 seconds",
        tracklist="One - 0:04 | Two - 0:04 | Three - 0:04",
    )
    play = await h.fake.wait_for_message(parties, lambda m: "Press play now" in m.content, timeout=30)
    await h.fake.wait_until(lambda: any(t.id == play.id for t in h.guild.threads), timeout=10, what="thread")

    # Killed (SIGKILL: no cleanup at all) as track 2 starts, then started again.
    await h.fake.wait_until(lambda: len(prompts_in(h, play.id)) >= 2, timeout=20, what="track 2")
    second, recap = await restart_until_recap(h, first, parties)

    # Every track was either prompted once or, its moment gone, said to be missed once; nothing posted twice.
    prompted = [m.content.split("**")[1] for m in prompts_in(h, play.id)]
    assert len(prompted) == len(set(prompted))
    assert prompted[:2] == ["Track 1/3: One", "Track 2/3: Two"]
    said_missed = "".join(m.content for m in prompts_in(h, play.id) if "skipped the prompts" in m.content)
    missed_field = next((f["value"] for f in recap.embeds[0].get("fields", []) if f["name"] == "Missed"), "")
    if "Track 3/3: Three" not in prompted:
        # Exact sentences: a bare "3" would also match "Track 3/3" or a timestamp.
        assert missed_field == "I was offline for the prompts of track(s) 3." or (
            "-# I was offline and skipped the prompts for track(s) 3." in said_missed
        ), (missed_field, said_missed)
    else:
        assert not missed_field
    assert len([m for m in bot_messages(h, parties) if "Press play now" in m.content]) == 1
    assert len([m for m in bot_messages(h, parties) if is_recap(m)]) == 1
    (event,) = native_events(h)
    await h.fake.wait_until(lambda: h.guild.scheduled_event(event.id).status == COMPLETED, timeout=10, what="done")
    await second.terminate()


async def test_a_prompt_posted_just_before_a_crash_is_not_called_missed(harness: BotHarness) -> None:
    """The bot is killed between posting a prompt and recording it: after the restart it finds the prompt."""
    h = harness
    await h.start()
    parties = await set_parties_channel(h)
    await schedule_party(
        h, title="Lost Record", start="in 8 seconds", tracklist="One - 0:04 | Two - 0:04 | Three - 0:04"
    )
    play = await h.fake.wait_for_message(parties, lambda m: "Press play now" in m.content, timeout=30)
    await h.fake.wait_until(lambda: len(prompts_in(h, play.id)) >= 2, timeout=20, what="track 2")

    async def recorded() -> list[int]:
        engine = create_engine(h.database_url)
        try:
            async with create_sessionmaker(engine)() as session:
                return list(await session.scalar(select(ListeningParty.prompted)) or [])
        finally:
            await engine.dispose()

    async def track_2_recorded() -> bool:
        return 1 in await recorded()

    await h.wait_until(track_2_recorded, timeout=20)
    await h.stop()
    # What a kill between the post and its record leaves: track 2's prompt is in the thread, not in the row.
    engine = create_engine(h.database_url)
    try:
        async with create_sessionmaker(engine).begin() as session:
            party = await session.scalar(select(ListeningParty))
            assert party is not None
            party.prompted = [i for i in party.prompted if i != 1]
    finally:
        await engine.dispose()
    await h.start()

    recap = await h.fake.wait_for_message(parties, is_recap, timeout=60)
    missed_field = next((f["value"] for f in recap.embeds[0].get("fields", []) if f["name"] == "Missed"), "")
    # Track 3 may have passed while the bot was down (then the recap says so); track 2 was never missed.
    assert missed_field in ("", "I was offline for the prompts of track(s) 3."), missed_field
    assert not [m.content for m in prompts_in(h, play.id) if "skipped the prompts" in m.content]
    prompted = [m.content.split("**")[1] for m in prompts_in(h, play.id)]
    assert prompted.count("Track 2/3: Two") == 1
    assert sorted(await recorded())[:2] == [0, 1]


async def test_cancel_cleans_up_native_event_card_and_tells_who_answered(harness: BotHarness) -> None:
    h = harness
    await h.start()
    parties = await set_parties_channel(h)
    going, waiting, asked = fan(h, "going"), fan(h, "waiting"), fan(h, "asked")
    reply = await run(
        h,
        h.moderator,
        "party schedule",
        title="Never Happens",
        start="in 2 hours",
        tracklist=TRACKLIST,
        capacity=1,
    )
    assert "Scheduled" in reply.content
    card = card_of(h, parties)
    await click(h, going, card, "party:rsvp:going:1")
    await click(h, waiting, card, "party:rsvp:going:1")
    await click(h, asked, card, "party:rsvp:remind:1")

    reply = await run(h, h.moderator, "party cancel", party="1")
    assert "Cancelled **Never Happens**" in reply.content

    (event,) = native_events(h)
    await h.wait_until(lambda: h.guild.scheduled_event(event.id).status == CANCELED, timeout=10)
    notice = await h.fake.wait_for_message(parties, lambda m: m.content.startswith("❌"), timeout=10)
    assert mentioned_users(notice) == {going.id, waiting.id}
    await h.fake.wait_for_dm(asked, lambda m: m.content.startswith("❌"), timeout=10)
    await h.wait_until(lambda: "cancelled" in card_title(h.fake.message(card.id)), timeout=10)
    assert h.fake.message(card.id).custom_ids == []
    # Nothing of the party is left to run.
    assert h.bot is not None
    async with h.bot.sessionmaker() as session:
        pending = await session.scalars(
            select(ScheduledJob).where(ScheduledJob.key.like("party:1:%"), ScheduledJob.status == "pending")
        )
        assert list(pending) == []
    reply = await run(h, h.moderator, "party cancel", party="1")
    assert "already been cancelled" in reply.content


async def test_two_fans_pressing_going_for_the_last_seat_get_one_seat_and_one_waitlist_place(
    harness: BotHarness,
) -> None:
    h = harness
    await h.start()
    parties = await set_parties_channel(h)
    first, left, right = fan(h, "first"), fan(h, "left"), fan(h, "right")
    reply = await run(
        h, h.moderator, "party schedule", title="Last Seat", start="in 2 hours", tracklist=TRACKLIST, capacity=2
    )
    assert "Scheduled" in reply.content, reply.content
    card = card_of(h, parties)
    assert "You're going" in (await click(h, first, card, "party:rsvp:going:1")).content

    # One free seat, two presses at the same moment.
    answers = await asyncio.gather(
        click(h, left, card, "party:rsvp:going:1"), click(h, right, card, "party:rsvp:going:1")
    )
    seated = [a for a in answers if "You're going" in a.content]
    waiting = [a for a in answers if "waitlist (#1)" in a.content]
    assert (len(seated), len(waiting)) == (1, 1), [a.content for a in answers]
    assert h.bot is not None
    async with h.bot.sessionmaker() as session:
        going = list(
            await session.scalars(
                select(GatheringRsvp.user_id).where(GatheringRsvp.answer == "going", ~GatheringRsvp.waitlisted)
            )
        )
    assert len(going) == 2, going
    assert first.id in going
    await h.wait_until(lambda: field(h.fake.message(card.id), "Going") == "2 / 2 (+1 waiting)", timeout=10)


async def party_state(h: BotHarness, parties: FakeChannel) -> dict[str, Any]:
    """Everything a refused /party schedule must leave as it was."""
    assert h.bot is not None
    async with h.bot.sessionmaker() as session:
        jobs = list(await session.scalars(select(ScheduledJob.key).where(ScheduledJob.key.like("party:%"))))
    return {
        "parties": await count_rows(h, ListeningParty),
        "gatherings": await count_rows(h, Gathering),
        "rsvps": await count_rows(h, GatheringRsvp),
        "jobs": jobs,
        "native": [(e.id, e.status) for e in h.guild.scheduled_events],
        "posts": [m.id for m in h.fake.messages(parties)],
    }


@pytest.mark.parametrize(
    ("options", "sentence"),
    [
        ({"start": "2020-01-01 10:00"}, "already passed"),
        ({"tracklist": "Intro - soon | Song"}, "track 1"),
        ({"tracklist": "Intro - 0:60"}, "track 1"),
        ({"title": None}, "title"),
        ({"reminders": "whenever"}, "duration"),
    ],
)
async def test_bad_input_gets_one_sentence_and_creates_nothing(
    harness: BotHarness, options: dict[str, Any], sentence: str
) -> None:
    h = harness
    await h.start()
    parties = await set_parties_channel(h)
    before = await party_state(h, parties)
    given = {"title": "Bad Party", "start": "in 2 hours", "tracklist": TRACKLIST, **options}
    reply = await run(h, h.moderator, "party schedule", **{k: v for k, v in given.items() if v is not None})
    assert reply.ephemeral
    assert sentence in reply.content.lower() or sentence in reply.content, reply.content
    assert "reference" not in reply.content
    assert await party_state(h, parties) == before


@pytest.mark.parametrize("capacity", [-1, 10_001])
async def test_a_capacity_out_of_range_is_refused_by_the_client_and_by_the_bot(
    harness: BotHarness, capacity: int
) -> None:
    h = harness
    await h.start()
    given = {"title": "Bad Party", "start": "in 2 hours", "tracklist": TRACKLIST, "capacity": capacity}
    # Discord's client shows the range and refuses what is outside it; the bot checks again all the same.
    with pytest.raises(AssertionError, match=r"(below min_value 0|above max_value 10000)"):
        await run(h, h.moderator, "party schedule", **given)
    with pytest.raises(InvalidInput) as refused:
        parse_capacity(capacity)
    assert str(refused.value) == "Capacity has to be between 0 and 10,000 (leave it out for no limit)."


async def test_a_stage_the_bot_cannot_manage_and_a_full_event_list_are_refused(harness: BotHarness) -> None:
    h = harness
    stage = h.guild.add_channel("Stage", type=ChannelType.stage_voice)
    # The server keeps the bot from moderating this stage (no Mute Members or Move Members there).
    assert h.guild.bot_role is not None
    denied = Permissions.MUTE_MEMBERS | Permissions.MOVE_MEMBERS
    stage.permission_overwrites = [{"id": str(h.guild.bot_role.id), "type": 0, "allow": "0", "deny": str(denied)}]
    await h.start()
    parties = await set_parties_channel(h)
    before = await party_state(h, parties)
    reply = await run(
        h, h.moderator, "party schedule", title="On Stage", start="in 2 hours", tracklist=TRACKLIST, channel=stage
    )
    assert "can't manage the stage" in reply.content, reply.content
    assert await party_state(h, parties) == before

    for number in range(100):
        h.guild._events[h.fake._ids.next()] = FakeScheduledEvent(
            id=h.fake._ids.next(),
            guild_id=h.guild.id,
            name=f"Someone else's {number}",
            scheduled_start_time=(datetime.now(UTC) + timedelta(days=30)).isoformat(),
            entity_type=3,
            entity_metadata={"location": "Elsewhere"},
        )
    before = await party_state(h, parties)
    reply = await run(h, h.moderator, "party schedule", title="One Too Many", start="in 2 hours", tracklist=TRACKLIST)
    assert "100 upcoming events" in reply.content, reply.content
    assert await party_state(h, parties) == before


async def test_a_card_that_cannot_be_posted_leaves_no_orphan_native_event(harness: BotHarness) -> None:
    h = harness
    await h.start()
    parties = await set_parties_channel(h)
    before = await party_state(h, parties)
    h.fake.inject_failures(
        lambda method, path, template: method == "POST" and path.endswith(f"/channels/{parties.id}/messages"),
        status=403,
        message="Missing Access",
    )
    reply = await run(h, h.moderator, "party schedule", title="Orphan", start="in 2 hours", tracklist=TRACKLIST)
    assert "Nothing was created" in reply.content, reply.content
    # The native event was created, then deleted when the card failed.
    assert h.fake.requests_to("/guilds/{guild_id}/scheduled-events", "POST")
    assert all(e.deleted for e in h.guild._events.values())
    after = await party_state(h, parties)
    assert after == before


async def test_members_who_are_neither_moderators_nor_the_artist_cannot_schedule(harness: BotHarness) -> None:
    h = harness
    await h.start()
    parties = await set_parties_channel(h)
    before = await party_state(h, parties)
    reply = await run(h, fan(h, "eager"), "party schedule", title="Mine", start="in 2 hours", tracklist=TRACKLIST)
    assert "moderators" in reply.content.lower(), reply.content
    assert await party_state(h, parties) == before


async def test_edit_moves_everything_and_tells_who_answered_then_start_now_runs_it(harness: BotHarness) -> None:
    h = harness
    await h.start()
    parties = await set_parties_channel(h)
    going, maybe = fan(h, "going"), fan(h, "maybe")
    await run(h, h.moderator, "party schedule", title="Before", start="in 2 hours", tracklist=TRACKLIST, capacity=5)
    card = card_of(h, parties)
    await click(h, going, card, "party:rsvp:going:1")
    await click(h, maybe, card, "party:rsvp:maybe:1")
    (event,) = native_events(h)
    old_start = event.scheduled_start_time

    reply = await run(h, h.moderator, "party edit", party="1", title="After", start="in 3 hours")
    assert "Updated **After**" in reply.content, reply.content
    await h.wait_until(lambda: h.guild.scheduled_event(event.id).name == "After", timeout=10)
    assert h.guild.scheduled_event(event.id).scheduled_start_time != old_start
    notice = await h.fake.wait_for_message(parties, lambda m: m.content.startswith("📅"), timeout=10)
    assert mentioned_users(notice) == {going.id, maybe.id}
    await h.wait_until(lambda: "After" in card_title(h.fake.message(card.id)), timeout=10)
    assert h.bot is not None
    async with h.bot.sessionmaker() as session:
        start_job = await h.bot.jobs.get(session, "party:1:start")
        stored = await session.get(ListeningParty, 1)
        assert start_job is not None
        assert stored is not None
        assert start_job.due_at == stored.starts_at

    listed = await run(h, going, "party list")
    assert "After" in listed.embeds[0]["description"]
    info = await run(h, going, "party info", party="1")
    assert "going" in info.text
    assert "Before" not in info.text

    # Not the host, not a moderator: refused, nothing changes.
    refused = await run(h, going, "party start-now", party="1")
    assert "host" in refused.content
    reply = await run(h, h.moderator, "party start-now", party="1")
    assert "Starting **After** now" in reply.content
    await h.fake.wait_for_message(parties, lambda m: "Press play now" in m.content, timeout=15)
    await h.wait_until(lambda: h.guild.scheduled_event(event.id).status == ACTIVE, timeout=10)
    now = await run(h, maybe, "party now")
    assert "Now playing in **After**" in now.content or "just finished" in now.content, now.content
    refused = await run(h, h.moderator, "party edit", party="1", title="Too late")
    assert "already started" in refused.content
    await h.fake.wait_for_message(parties, is_recap, timeout=30)


@pytest.mark.fake_discord(enforce_rate_limits=True)
async def test_a_rush_of_answers_edits_the_card_a_few_times_within_the_rate_limit(harness: BotHarness) -> None:
    import asyncio

    h = harness
    await h.start()
    parties = await set_parties_channel(h)
    await run(h, h.moderator, "party schedule", title="Rush", start="in 2 hours", tracklist=TRACKLIST)
    card = card_of(h, parties)
    fans = [fan(h, f"rush{i}") for i in range(20)]
    interactions = await asyncio.gather(*(h.fake.click(h.guild, parties, f, card, "party:rsvp:going:1") for f in fans))
    await asyncio.gather(*(ix.reply(timeout=30) for ix in interactions))
    await h.wait_until(lambda: field(h.fake.message(card.id), "Going") == "20", timeout=20)
    edits = [r for r in h.fake.requests if r.method == "PATCH" and r.path.endswith(f"/messages/{card.id}")]
    assert 1 <= len(edits) <= 6, edits
    assert not [r for r in h.fake.requests if r.status == 429]


async def add_release(h: BotHarness, artist_name: str, title: str, durations: list[int | None]) -> tuple[int, int]:
    """A scheduled release with a tracklist in the catalogue (as /release create would leave it)."""
    from datetime import timedelta

    from labelbot.artists.models import Artist
    from labelbot.artists.repository import name_key
    from labelbot.catalog.models import Release, ReleaseTrack
    from labelbot.db.base import utcnow

    assert h.bot is not None
    async with h.bot.sessionmaker.begin() as session:
        artist = Artist(guild_id=h.guild.id, name=artist_name, name_key=name_key(artist_name), created_by=1)
        session.add(artist)
        await session.flush()
        release = Release(
            guild_id=h.guild.id,
            artist_id=artist.id,
            title=title,
            release_at=utcnow() + timedelta(days=3),
            zone="UTC",
            status="scheduled",
            created_by=1,
            kind="album",
        )
        session.add(release)
        await session.flush()
        for position, seconds in enumerate(durations, start=1):
            session.add(
                ReleaseTrack(
                    release_id=release.id, position=position, title=f"Song {position}", duration_seconds=seconds
                )
            )
        return artist.id, release.id


async def test_an_artist_schedules_a_party_for_their_own_release_with_its_tracklist(harness: BotHarness) -> None:
    from labelbot.artists.models import ArtistManager

    h = harness
    await h.start()
    parties = await set_parties_channel(h)
    artist_id, release_id = await add_release(h, "Nova Lights", "Midnight Tapes", [3, 4, 5])
    _, other_release = await add_release(h, "Someone Else", "Not Yours", [3])
    _, untimed = await add_release(h, "Nova Lights B-sides", "No Durations", [None, 200])
    nova = fan(h, "nova")
    assert h.bot is not None
    async with h.bot.sessionmaker.begin() as session:
        session.add(ArtistManager(artist_id=artist_id, user_id=nova.id, added_by=h.moderator.id))

    choices = await h.fake.autocomplete(
        h.guild, h.general, nova, "party schedule", focused="release", release="midnight", start="x"
    )
    assert [c["value"] for c in choices] == [str(release_id)]

    before = await party_state(h, parties)
    refused = await run(h, nova, "party schedule", release=str(other_release), start="in 2 hours")
    assert "Someone Else" in refused.content, refused.content
    refused = await run(h, h.moderator, "party schedule", release=str(untimed), start="in 2 hours")
    assert "no tracklist with durations" in refused.content, refused.content
    assert await party_state(h, parties) == before

    reply = await run(h, nova, "party schedule", release=str(release_id), start="in 2 hours")
    assert "Scheduled **Midnight Tapes**" in reply.content, reply.content
    card = card_of(h, parties)
    assert "Song 1 (0:03)" in field(card, "Tracklist")
    assert field(card, "Length") == "0:12"
    (event,) = native_events(h)
    assert event.name == "Midnight Tapes"
    # The artist's manager may change their own party.
    reply = await run(h, nova, "party cancel", party="1")
    assert "Cancelled" in reply.content


async def test_reminder_dms_respect_the_cap_and_a_closed_dm_is_recorded_and_not_retried(harness: BotHarness) -> None:
    from sqlalchemy import update

    h = harness
    # A member with closed DMs: Discord refuses the DM (403/50007); the bot must record it and go on.
    h.fake.expect_refusals("/channels/{channel_id}/messages", status=403, code=50007, count=1)
    await h.start()
    parties = await set_parties_channel(h)
    first, closed, last = fan(h, "first"), h.fake.add_user("closed", dms_closed=True), fan(h, "last")
    h.guild.add_member(closed)
    reply = await run(
        h,
        h.moderator,
        "party schedule",
        title="Quiet One",
        start="in 24 seconds",
        tracklist=TRACKLIST,
        reminders="18s, 14s",
    )
    assert "Scheduled" in reply.content
    card = card_of(h, parties)
    for member in (first, closed, last):
        assert "remind you by DM" in (await click(h, member, card, "party:rsvp:remind:1")).content
    assert h.bot is not None
    async with h.bot.sessionmaker.begin() as session:
        await session.execute(update(Gathering).values(dm_cap=2))

    def reminder_dms(user: FakeUser) -> list[FakeMessage]:
        return [m for m in h.fake.dms(user) if m.content.startswith("⏰")]

    # First reminder: the two open DMs use the cap; the closed one is recorded (and gives its slot back).
    await h.wait_until(lambda: len(reminder_dms(first)) == 1 and len(reminder_dms(last)) == 1, timeout=20)
    reminders = [m for m in bot_messages(h, parties) if m.content.startswith("⏰")]
    assert all(mentioned_users(m) == set() for m in reminders)

    async def closed_recorded() -> bool:
        async with h.bot.sessionmaker() as session:  # type: ignore[union-attr]
            row = await session.scalar(select(GatheringRsvp).where(GatheringRsvp.user_id == closed.id))
            return row is not None and row.dm_closed_at is not None

    await h.wait_until(closed_recorded, timeout=10)
    # Second reminder (its channel post comes after its DMs): the cap is used up, the closed DM is not tried again.
    await h.fake.wait_until(
        lambda: len([m for m in bot_messages(h, parties) if m.content.startswith("⏰")]) == 2,
        timeout=20,
        what="second reminder",
    )
    assert len(reminder_dms(first)) == 1
    assert len(reminder_dms(last)) == 1
    closed_channel = h.fake.dm_channel(closed)
    tries = [
        r for r in h.fake.requests if r.method == "POST" and r.path.endswith(f"/channels/{closed_channel.id}/messages")
    ]
    assert len(tries) == 1, tries
    await run(h, h.moderator, "party cancel", party="1")


async def test_while_down_reminders_are_skipped_and_passed_prompts_dropped_and_said_once(harness: BotHarness) -> None:
    from datetime import timedelta

    from labelbot.db.base import utcnow

    h = harness
    await h.start()
    parties = await set_parties_channel(h)
    member = fan(h, "member")
    reply = await run(
        h,
        h.moderator,
        "party schedule",
        title="Away",
        start="in 12 seconds",
        tracklist="A - 0:03 | B - 0:02 | C - 0:12",
        reminders="9s",
    )
    assert "Scheduled" in reply.content
    await click(h, member, card_of(h, parties), "party:rsvp:going:1")
    assert h.bot is not None
    async with h.bot.sessionmaker() as session:
        party = await session.get(ListeningParty, 1)
        assert party is not None
        starts_at = party.starts_at
    await h.stop()
    # Down through the reminder, the countdown, the start and tracks A and B; back during track C.
    await h.wait_until(lambda: utcnow() >= starts_at + timedelta(seconds=5.5), timeout=30)
    await h.start()

    play = await h.fake.wait_for_message(parties, lambda m: m.content.startswith("▶️"), timeout=20)
    assert "I was offline at the start" in play.content
    assert "track 3" in play.content
    await h.fake.wait_until(lambda: any(t.id == play.id for t in h.guild.threads), timeout=10, what="thread")
    prompt = await h.fake.wait_for_message(play.id, lambda m: m.content.startswith("🎵"), timeout=20)
    assert "Track 3/3: C" in prompt.content
    assert "skipped the prompts for track(s) 1, 2" in prompt.content
    recap = await h.fake.wait_for_message(parties, is_recap, timeout=30)
    assert "Missed" not in [f["name"] for f in recap.embeds[0].get("fields", [])]
    assert len(prompts_in(h, play.id)) == 1
    posted = [m.content for m in bot_messages(h, parties)]
    assert not [c for c in posted if c.startswith(("⏰", "⏳"))], posted
    async with h.bot.sessionmaker() as session:  # type: ignore[union-attr]
        reminder = await h.bot.jobs.get(session, "party:1:remind:9")  # type: ignore[union-attr]
        assert reminder is not None
        assert reminder.result is not None
        assert "skipped" in reminder.result


async def test_remind_me_by_dm_with_no_reminder_left_delivers_a_dm_at_the_start(harness: BotHarness) -> None:
    from sqlalchemy import update

    from labelbot.db.base import utcnow

    h = harness
    await h.start()
    parties = await set_parties_channel(h)
    asked, changed_mind, going = fan(h, "asked"), fan(h, "changed-mind"), fan(h, "going")
    # 30 seconds away: the server's reminders (minutes ahead) have all passed before anyone answers.
    reply = await run(h, h.moderator, "party schedule", title="Last Minute", start="in 30 seconds", tracklist=TRACKLIST)
    assert "Scheduled" in reply.content, reply.content
    card = card_of(h, parties)
    promised = await click(h, asked, card, "party:rsvp:remind:1")
    assert "DM you when it starts" in promised.content, promised.content
    await click(h, changed_mind, card, "party:rsvp:remind:1")
    await click(h, changed_mind, card, "party:rsvp:cant:1")
    await click(h, going, card, "party:rsvp:going:1")
    # Pressing again promises nothing twice.
    again = await click(h, asked, card, "party:rsvp:remind:1")
    assert "No change" in again.content

    # Drive the clock instead of sleeping: the party (and everything due at its start) moves to 3 s from now.
    assert h.bot is not None
    starts = utcnow() + timedelta(seconds=3)
    async with h.bot.sessionmaker.begin() as session:
        await session.execute(update(ListeningParty).values(starts_at=starts))
        await session.execute(update(Gathering).values(starts_at=starts))
        assert await h.bot.jobs.reschedule(session, "party:1:start", starts)
        assert await h.bot.jobs.reschedule(session, f"party:1:startdm:{asked.id}", starts)
        await h.bot.jobs.cancel(session, "party:1:countdown")

    await h.fake.wait_for_message(parties, lambda m: "Press play now" in m.content, timeout=15)
    await h.wait_until(lambda: len(h.fake.dms(asked)) == 1, timeout=15)
    (dm,) = h.fake.dms(asked)
    assert "Last Minute" in dm.content
    assert "starting now" in dm.content
    assert "press play" in dm.content
    assert dm.allowed_mentions is not None
    await h.fake.wait_for_message(parties, is_recap, timeout=30)
    # The one who changed their mind and the one going (no DM asked) got nothing; the fan got exactly one.
    assert h.fake.dms(changed_mind) == []
    assert h.fake.dms(going) == []
    assert len(h.fake.dms(asked)) == 1


def voice_statuses(h: BotHarness, channel: FakeChannel) -> list[str | None]:
    """What the bot set as the voice channel's status, in order (None: cleared)."""
    return [
        (r.json or {}).get("status")
        for r in h.fake.requests_to("/channels/{channel_id}/voice-status", "PUT")
        if r.status == 204 and r.params.get("channel_id") == str(channel.id)
    ]


async def test_a_voice_party_shows_now_playing_per_track_and_clears_it_across_a_restart(harness: BotHarness) -> None:
    h = harness
    parties = h.guild.add_channel("listening-parties")
    room = h.guild.add_channel("Listening Room", type=ChannelType.voice)
    first = await spawn_with_parties(h, parties)
    await schedule_party(
        h,
        title="Room Tone",
        start="in 8 seconds",
        tracklist="One - 0:04 | Night Drive - 0:04 | Three - 0:04",
        channel=room,
    )
    await h.fake.wait_until(lambda: room.voice_status == "Now playing 1/3 · One", timeout=30, what="track 1 status")
    play = await h.fake.wait_for_message(parties, lambda m: "Press play now" in m.content, timeout=10)

    # Killed as track 2 starts (its status shown, or about to be), then started again.
    await h.fake.wait_until(lambda: len(prompts_in(h, play.id)) >= 2, timeout=20, what="track 2")
    assert room.voice_status == "Now playing 2/3 · Night Drive"
    second, _ = await restart_until_recap(h, first, parties, lambda: room.voice_status is None, "status cleared")

    # Each track's status once, in order, then cleared once: a restart neither repeats one nor posts a prompt twice.
    statuses = voice_statuses(h, room)
    assert statuses[-1] is None
    shown = [s for s in statuses if s is not None]
    assert len(shown) == len(set(shown)), statuses
    assert shown[:2] == ["Now playing 1/3 · One", "Now playing 2/3 · Night Drive"]
    assert statuses.count(None) == 1
    prompted = [m.content.split("**")[1] for m in prompts_in(h, play.id)]
    assert len(prompted) == len(set(prompted))
    await second.terminate()


async def test_a_missing_voice_status_permission_is_told_to_the_host_once_and_the_party_goes_on(
    harness: BotHarness,
) -> None:
    from tests.fakediscord import Permissions

    h = harness
    h.fake.expect_refusals("/channels/{channel_id}/voice-status", status=403, code=50013, count=1)
    room = h.guild.add_channel("Listening Room", type=ChannelType.voice)
    await h.start()
    assert h.guild.bot_role is not None
    h.guild.bot_role.permissions &= ~Permissions.SET_VOICE_CHANNEL_STATUS
    parties = await set_parties_channel(h)
    await schedule_party(
        h,
        title="Quiet Room",
        start="in 6 seconds",
        tracklist=TRACKLIST,
        channel=room,
    )
    await h.fake.wait_for_message(parties, is_recap, timeout=40)
    play = next(m for m in bot_messages(h, parties) if "Press play now" in m.content)
    assert len(prompts_in(h, play.id)) == 3
    # One try (refused), never again for the later tracks or the end; one word to the host.
    assert len(h.fake.requests_to("/channels/{channel_id}/voice-status", "PUT")) == 1
    assert room.voice_status is None
    await h.wait_until(lambda: len(h.fake.dms(h.moderator.id)) == 1, timeout=10)
    (told,) = h.fake.dms(h.moderator.id)
    assert "Set Voice Channel Status" in told.content
    assert "Quiet Room" in told.content


async def test_fans_rate_tracks_during_the_party_and_the_recap_shows_averages_favourite_and_returners(
    harness: BotHarness,
) -> None:
    from labelbot.models.parties import PartyTrackRating

    h = harness
    await h.start()
    parties = await set_parties_channel(h)
    ana, ben, cleo = fan(h, "ana"), fan(h, "ben"), fan(h, "cleo")

    # A first party, where Ana and Ben showed up.
    reply = await run(
        h, h.moderator, "party schedule", title="First Spin", start="in 6 seconds", tracklist="Warmup - 0:02"
    )
    assert "Scheduled" in reply.content, reply.content
    play = await h.fake.wait_for_message(parties, lambda m: "Press play now" in m.content, timeout=20)
    for member in (ana, ben):
        await click(h, member, play, "party:here:1")
    await h.fake.wait_for_message(parties, is_recap, timeout=20)

    # The second: Ana and Cleo are here; three fans rate as the tracks play.
    reply = await run(h, h.moderator, "party schedule", title="Second Spin", start="in 6 seconds", tracklist=TRACKLIST)
    assert "Scheduled" in reply.content, reply.content
    play = await h.fake.wait_for_message(
        parties, lambda m: "Press play now" in m.content and "Second Spin" in m.content, timeout=20
    )
    for member in (ana, cleo):
        await click(h, member, play, "party:here:2")
    await h.fake.wait_until(lambda: len(prompts_in(h, play.id)) >= 1, timeout=10, what="track 1")
    track1 = prompts_in(h, play.id)[0]
    assert set(track1.custom_ids) == {f"party:rate:2:0:{stars}" for stars in range(1, 6)}
    assert "You rated **Intro** ★★★☆☆" in (await click(h, ana, track1, "party:rate:2:0:3")).content
    changed = await click(h, ana, track1, "party:rate:2:0:5")
    assert "from 3 to ★★★★★" in changed.content, changed.content
    await click(h, ben, track1, "party:rate:2:0:4")
    await h.fake.wait_until(lambda: len(prompts_in(h, play.id)) >= 2, timeout=10, what="track 2")
    track2 = prompts_in(h, play.id)[1]
    for member in (ana, ben, cleo):
        await click(h, member, track2, "party:rate:2:1:5")

    recap = await h.fake.wait_for_message(
        parties, lambda m: is_recap(m) and "Second Spin" in m.embeds[0]["title"], timeout=30
    )
    assert field(recap, "Ratings") == "1. Intro: ★ 4.5 (2)\n2. Night Drive: ★ 5.0 (3)\n3. Outro: no ratings"
    assert field(recap, "Fan favourite") == "2. Night Drive: ★ 5.0 (3 ratings)"
    assert field(recap, "Came") == "2 members pressed I'm here"
    assert field(recap, "Came back") == "1 of the 2 here were also at the last party, First Spin."

    # After the end, a rating is refused and nothing changes; one row per member per track was kept.
    late = await click(h, cleo, track1, "party:rate:2:0:1")
    assert "ratings are closed" in late.content, late.content
    assert await count_rows(h, PartyTrackRating) == 5
