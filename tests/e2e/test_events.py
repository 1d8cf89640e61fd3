"""Community events end to end: a weekly event with a cap, edits, cancellation, attendees, bad input."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from labelbot.gatherings.models import Gathering, GatheringRsvp
from labelbot.jobs.models import ScheduledJob
from labelbot.models.events import CommunityEvent, EventOccurrence
from tests.e2e.helpers import come_due
from tests.fakediscord import ChannelType
from tests.harness import BotHarness

TIMEOUT = 20.0
# Dates typed by members are computed from today, so the suite never outlives a hard-coded year.
NEXT_YEAR = datetime.now(UTC).year + 1


def cards(harness: BotHarness) -> list[Any]:
    """The event cards in #general, oldest first."""
    return [
        m
        for m in harness.fake.messages(harness.general)
        if m.embeds and "Event #" in ((m.embeds[0].get("footer") or {}).get("text") or "")
    ]


def card_text(message: Any) -> str:
    embed = message.embeds[0]
    fields = " ".join(f"{f['name']}: {f['value']}" for f in embed.get("fields") or [])
    return f"{embed.get('title')} | {fields} | {(embed.get('footer') or {}).get('text')}"


def custom_ids(message: Any) -> list[str]:
    found = []
    for row in message.components or []:
        for component in row.get("components", []):
            if "custom_id" in component:
                found.append(component["custom_id"])
    return found


def button(message: Any, answer: str) -> str:
    return next(cid for cid in custom_ids(message) if cid.endswith(f":{answer}") or cid.startswith(f"event:{answer}"))


async def create(harness: BotHarness, **options: Any) -> Any:
    ix = await harness.fake.slash(harness.guild, harness.general, harness.moderator, "event create", **options)
    return await ix.reply(timeout=TIMEOUT)


async def rows(harness: BotHarness) -> tuple[int, int, int, int]:
    assert harness.bot is not None
    async with harness.bot.sessionmaker() as session:
        counted = []
        for model in (CommunityEvent, EventOccurrence, Gathering, GatheringRsvp):
            counted.append(int(await session.scalar(select(func.count()).select_from(model)) or 0))
    return counted[0], counted[1], counted[2], counted[3]


async def first_occurrence(harness: BotHarness) -> int:
    assert harness.bot is not None
    async with harness.bot.sessionmaker() as session:
        found = await session.scalar(select(EventOccurrence.id).where(EventOccurrence.number == 1))
    assert found is not None
    return int(found)


async def test_weekly_event_with_a_cap_runs_and_rolls_on(labelbot: BotHarness) -> None:
    h = labelbot
    fake = h.fake
    fans = [h.guild.add_member(name) for name in ("ana", "ben", "cleo", "dev")]
    # Far enough ahead that no moment of it comes on its own: each comes due when the test has seen what precedes it
    # (a reminder racing the answers would mention whoever had not answered yet on a busy machine).
    reply = await create(
        h,
        title="Weekly listening session",
        start="in 1h",
        duration="4s",
        capacity=1,
        reminders="4s",
        repeat="weekly",
        count=3,
        location="Studio 4, Berlin",
    )
    assert reply.ephemeral
    assert "Scheduled" in reply.content, reply.content

    # The native event, repeating weekly on the start's weekday, within Discord's limits.
    await fake.wait_until(lambda: h.guild.scheduled_events, TIMEOUT, "the native event")
    [first_native] = h.guild.scheduled_events
    assert first_native.name == "Weekly listening session"
    assert first_native.entity_type == 3
    assert first_native.recurrence_rule is not None
    assert first_native.recurrence_rule["frequency"] == 2
    start = datetime.fromisoformat(first_native.scheduled_start_time)
    assert first_native.recurrence_rule["by_weekday"] == [start.weekday()]

    # The card, with the answers and the DM toggle, and its thread.
    [card] = cards(h)
    assert {cid.rsplit(":", 1)[-1] for cid in custom_ids(card) if cid.startswith("event:rsvp:")} == {
        "going",
        "maybe",
        "cant",
    }
    assert any(t.name == "Weekly listening session" for t in h.guild.threads)

    ana, ben, cleo, dev = fans
    answer = await (await fake.click(h.guild, h.general, ana, card, button(card, "going"))).reply()
    assert "You're going" in answer.content
    answer = await (await fake.click(h.guild, h.general, ben, card, button(card, "going"))).reply()
    assert "waitlist" in answer.content
    assert "number 1" in answer.content
    await (await fake.click(h.guild, h.general, cleo, card, button(card, "maybe"))).reply()
    await (await fake.click(h.guild, h.general, dev, card, button(card, "cant"))).reply()
    await fake.wait_until(
        lambda: (
            "Going **1/1**" in card_text(fake.message(card.id)) and "Waitlist **1**" in card_text(fake.message(card.id))
        ),
        TIMEOUT,
        "the live count",
    )

    # Ana can't come after all: Ben moves up from the waitlist and is told.
    await (await fake.click(h.guild, h.general, ana, card, button(card, "cant"))).reply()
    promoted = await fake.wait_for_dm(ben.user, lambda m: "place opened up" in m.content, timeout=TIMEOUT)
    assert "Weekly listening session" in promoted.content

    # The reminder mentions exactly those who answered Going or Maybe.
    occurrence = await first_occurrence(h)
    await come_due(h, f"event:{occurrence}:remind:4")
    reminder = await fake.wait_for_message(h.general, lambda m: m.content.startswith("⏰"), timeout=TIMEOUT)
    assert f"<@{ben.user.id}>" in reminder.content
    assert f"<@{cleo.user.id}>" in reminder.content
    assert f"<@{ana.user.id}>" not in reminder.content
    assert f"<@{dev.user.id}>" not in reminder.content
    assert sorted(int(u) for u in reminder.allowed_mentions["users"]) == sorted([ben.user.id, cleo.user.id])

    # The start: a post, and the native event goes live.
    await come_due(h, f"event:{occurrence}:start")
    await fake.wait_for_message(h.general, lambda m: "is starting now" in m.content, timeout=TIMEOUT)
    await fake.wait_until(lambda: first_native.status == 2, TIMEOUT, "the native event active")

    # The end: completed, the card says so, and the next occurrence comes up a week later.
    await come_due(h, f"event:{occurrence}:end")
    await fake.wait_until(lambda: first_native.status == 3, TIMEOUT, "the native event completed")
    await fake.wait_until(lambda: len(cards(h)) == 2, TIMEOUT, "the next occurrence's card")
    first_card, second_card = cards(h)
    await fake.wait_until(lambda: card_text(fake.message(first_card.id)).startswith("Ended:"), TIMEOUT, "ended card")
    assert custom_ids(fake.message(first_card.id)) == []
    assert "occurrence 2" in card_text(second_card)
    assert "Going **0/1**" in card_text(second_card)
    upcoming = [e for e in h.guild.scheduled_events if e.status == 1]
    assert len(upcoming) == 1
    assert datetime.fromisoformat(upcoming[0].scheduled_start_time) == start + timedelta(days=7)
    fake.assert_no_rejections()


async def test_edit_one_occurrence_or_the_series(labelbot: BotHarness) -> None:
    h = labelbot
    fake = h.fake
    await create(h, title="AMA", start="in 2h", duration="1h", repeat="weekly", location="Here")
    [card] = cards(h)
    [native] = h.guild.scheduled_events
    original = datetime.fromisoformat(native.scheduled_start_time)
    fan = h.guild.add_member("fan")
    await (await fake.click(h.guild, h.general, fan, card, button(card, "going"))).reply()

    # This occurrence only: a new time and title; those who answered are told.
    reply = await (
        await fake.slash(
            h.guild, h.general, h.moderator, "event edit", event="AMA", scope="this", start="in 3h", title="AMA (late)"
        )
    ).reply(timeout=TIMEOUT)
    assert "Occurrence 1" in reply.content, reply.content
    await fake.wait_until(lambda: native.name == "AMA (late)", TIMEOUT, "the native event renamed")
    assert datetime.fromisoformat(native.scheduled_start_time) > original + timedelta(minutes=50)
    moved = await fake.wait_for_message(h.general, lambda m: "moved" in m.content, timeout=TIMEOUT)
    assert f"<@{fan.user.id}>" in moved.content
    await fake.wait_until(lambda: "AMA (late)" in card_text(fake.message(card.id)), TIMEOUT, "the card updated")

    # The series: a new title for every occurrence and a smaller capacity; the changed occurrence keeps its own.
    reply = await (
        await fake.slash(
            h.guild,
            h.general,
            h.moderator,
            "event edit",
            event="AMA",
            scope="series",
            title="Label AMA",
            description="Ask the label anything.",
            capacity=5,
        )
    ).reply(timeout=TIMEOUT)
    assert "The series" in reply.content
    # What members see: the card and the native event carry the series' description and seats, and the
    # occurrence changed on its own keeps its own title.
    about = "Ask the label anything."
    await fake.wait_until(
        lambda: fake.message(card.id).embeds[0].get("description") == about, TIMEOUT, "the card's description"
    )
    shown = card_text(fake.message(card.id))
    assert "Going **1/5**" in shown, shown
    assert shown.startswith("AMA (late) |"), shown
    await fake.wait_until(lambda: native.description == about, TIMEOUT, "the native event's description")
    assert native.name == "AMA (late)"
    assert h.bot is not None
    async with h.bot.sessionmaker() as session:
        event = await session.scalar(select(CommunityEvent))
        occurrence = await session.scalar(select(EventOccurrence))
    assert event is not None
    assert occurrence is not None
    assert event.title == "Label AMA"
    assert occurrence.title == "AMA (late)"  # detached by the first edit
    assert occurrence.detached
    fake.assert_no_rejections()


async def test_cancel_an_occurrence_then_the_series(labelbot: BotHarness) -> None:
    h = labelbot
    fake = h.fake
    await create(h, title="Meetup", start="in 2h", duration="1h", repeat="daily", count=5, location="Cafe")
    [card] = cards(h)
    fan = h.guild.add_member("fan")
    await (await fake.click(h.guild, h.general, fan, card, button(card, "maybe"))).reply()
    [first_native] = h.guild.scheduled_events

    reply = await (
        await fake.slash(h.guild, h.general, h.moderator, "event cancel", event="Meetup", scope="this")
    ).reply(timeout=TIMEOUT)
    assert "the series goes on" in reply.content
    told = await fake.wait_for_message(h.general, lambda m: "cancelled" in m.content, timeout=TIMEOUT)
    assert f"<@{fan.user.id}>" in told.content
    await fake.wait_until(lambda: first_native.status == 4, TIMEOUT, "the native event cancelled")
    await fake.wait_until(lambda: len(cards(h)) == 2, TIMEOUT, "the next occurrence's card")
    await fake.wait_until(lambda: card_text(fake.message(card.id)).startswith("Cancelled:"), TIMEOUT, "card")
    second_native = next(e for e in h.guild.scheduled_events if e.status == 1)
    assert datetime.fromisoformat(second_native.scheduled_start_time) - datetime.fromisoformat(
        first_native.scheduled_start_time
    ) == timedelta(days=1)

    reply = await (
        await fake.slash(h.guild, h.general, h.moderator, "event cancel", event="Meetup", scope="series")
    ).reply(timeout=TIMEOUT)
    assert "is cancelled" in reply.content
    await fake.wait_until(lambda: second_native.status == 4, TIMEOUT, "the series' native event cancelled")
    assert not [e for e in h.guild.scheduled_events if e.status in (1, 2)]
    assert h.bot is not None
    async with h.bot.sessionmaker() as session:
        pending = await session.scalar(
            select(func.count())
            .select_from(ScheduledJob)
            .where(
                ScheduledJob.kind.in_(["event.start", "event.end", "event.remind"]), ScheduledJob.status == "pending"
            )
        )
    assert pending == 0
    listing = await (await fake.slash(h.guild, h.general, h.moderator, "event list")).reply(timeout=TIMEOUT)
    assert "No events coming up" in listing.text
    fake.assert_no_rejections()


async def test_attendees_csv_and_list_and_info(labelbot: BotHarness) -> None:
    h = labelbot
    fake = h.fake
    await create(h, title="Contest", start="in 3h", duration="30m", capacity=1, location="Online")
    [card] = cards(h)
    first, second, third = (h.guild.add_member(name) for name in ("uno", "dos", "tres"))
    second.nick = "Dos (vocals)"
    await (await fake.click(h.guild, h.general, first, card, button(card, "going"))).reply()
    await (await fake.click(h.guild, h.general, second, card, button(card, "going"))).reply()
    await (await fake.click(h.guild, h.general, third, card, button(card, "cant"))).reply()

    # Past Discord's client hint (an admin may open it to everyone in Integrations): the bot still refuses.
    h.guild.open_command("event-admin", h.guild.everyone)
    refused = await (await fake.slash(h.guild, h.general, first, "event-admin attendees", event="Contest")).reply()
    assert "moderators" in refused.content.lower()
    assert not refused.attachments

    reply = await (await fake.slash(h.guild, h.general, h.moderator, "event-admin attendees", event="Contest")).reply(
        timeout=TIMEOUT
    )
    assert reply.ephemeral
    [attachment] = reply.attachments
    assert attachment.filename.endswith(".csv")
    table = list(csv.DictReader(io.StringIO(attachment.data.decode())))
    answers = {int(row["user_id"]): (row["answer"], row["waitlisted"]) for row in table}
    assert answers == {
        first.user.id: ("going", "no"),
        second.user.id: ("going", "yes"),
        third.user.id: ("cant", "no"),
    }
    # The bot caches no members, yet the moderator's sheet names who answered.
    assert {int(row["user_id"]): row["name"] for row in table} == {
        first.user.id: "uno",
        second.user.id: "Dos (vocals)",
        third.user.id: "tres",
    }

    listing = await (await fake.slash(h.guild, h.general, first, "event list")).reply(timeout=TIMEOUT)
    assert "Contest" in listing.text
    assert "going 1/1" in listing.text
    info = await (await fake.slash(h.guild, h.general, first, "event info", event="Contest")).reply(timeout=TIMEOUT)
    assert "Contest" in info.text
    assert "Waitlist **1**" in info.text


@pytest.mark.parametrize(
    ("options", "sentence"),
    [
        ({"repeat": "monthly_date", "start": f"{NEXT_YEAR}-01-31 20:00"}, "skip the months"),
        ({"repeat": "weekly", "until": "2020-01-01"}, "before"),
        ({"repeat": "daily", "duration": "30h"}, "run into the next"),
        ({"until": f"{NEXT_YEAR}-06-01"}, "repeating event"),
        ({"duration": "25h", "stage": True}, "24 hours"),
        ({"repeat": "weekly", "count": 3, "until": f"{NEXT_YEAR}-06-01"}, "not both"),
    ],
)
async def test_bad_input_is_one_sentence_and_creates_nothing(
    labelbot: BotHarness, options: dict[str, Any], sentence: str
) -> None:
    h = labelbot
    base: dict[str, Any] = {"title": "Broken", "start": "in 3h", "duration": "1h", "location": "Here"}
    options = dict(options)  # the parameters are shared by the backends' runs
    if options.pop("stage", False):
        stage = h.guild.add_channel("Stage", type=ChannelType.stage)
        assert h.bot is not None
        bot = h.bot
        await h.wait_until(lambda: bot.get_channel(stage.id) is not None, timeout=TIMEOUT)
        base.pop("location")
        base["room"] = stage
    before = await rows(h)
    reply = await create(h, **{**base, **options})
    assert reply.ephemeral
    assert sentence in reply.content, reply.content
    assert "\n" not in reply.content
    assert await rows(h) == before
    assert h.guild.scheduled_events == []
    assert cards(h) == []


async def test_over_100_upcoming_native_events_is_refused_without_orphans(labelbot: BotHarness) -> None:
    h = labelbot
    for number in range(100):
        other = _native(h, number)
        h.guild._events[other.id] = other
    before = await rows(h)
    reply = await create(h, title="One too many", start="in 3h", duration="1h", location="Here")
    assert "100 upcoming events" in reply.content
    assert await rows(h) == before
    assert len(h.guild.scheduled_events) == 100
    assert cards(h) == []


async def test_fans_cannot_create_events(labelbot: BotHarness) -> None:
    h = labelbot
    fan = h.guild.add_member("fan")
    refused = await create_as(h, fan)
    assert "moderators" in refused.content.lower()
    assert await rows(h) == (0, 0, 0, 0)


async def create_as(h: BotHarness, member: Any, **options: Any) -> Any:
    ix = await h.fake.slash(
        h.guild, h.general, member, "event create", title="Fan meetup", start="in 3h", location="Park", **options
    )
    return await ix.reply(timeout=TIMEOUT)


def _native(h: BotHarness, number: int) -> Any:
    from tests.fakediscord.state import FakeScheduledEvent

    start = (datetime.now(UTC) + timedelta(days=1, minutes=number)).isoformat()
    return FakeScheduledEvent(
        id=h.fake._ids.next(),
        guild_id=h.guild.id,
        name=f"Other {number}",
        scheduled_start_time=start,
        scheduled_end_time=(datetime.now(UTC) + timedelta(days=2)).isoformat(),
        entity_type=3,
        entity_metadata={"location": "Elsewhere"},
    )


async def test_a_failure_after_the_native_event_leaves_no_orphan(labelbot: BotHarness) -> None:
    h = labelbot
    h.fake.inject_failures("/channels/{channel_id}/messages", status=403, message="Missing Permissions")
    reply = await create(h, title="Doomed", start="in 3h", duration="1h", location="Here")
    assert "can't post the event card" in reply.content, reply.content
    assert [e for e in h.guild.scheduled_events if e.status in (1, 2)] == []
    assert await rows(h) == (0, 0, 0, 0)
    assert cards(h) == []


async def test_artists_create_events_only_when_the_server_allows_it(labelbot: BotHarness) -> None:
    from labelbot.guilds.service import get_guild_settings

    h = labelbot
    assert h.bot is not None
    artists = h.guild.add_role("Artists")
    other = h.guild.add_role("Everyone who likes jazz")
    artist = h.guild.add_member("artist", roles=[artists])
    async with h.bot.sessionmaker.begin() as session:
        settings = await get_guild_settings(session, h.guild.id)
        settings.artist_role_id = artists.id
    refused = await create_as(h, artist)
    assert "Only moderators can create events here" in refused.content, refused.content
    assert await rows(h) == (0, 0, 0, 0)

    async with h.bot.sessionmaker.begin() as session:
        (await get_guild_settings(session, h.guild.id)).artists_create_events = True
    refused = await create_as(h, artist, ping=other)
    assert "fan role of an artist you manage" in refused.content, refused.content
    assert await rows(h) == (0, 0, 0, 0)
    created = await create_as(h, artist)
    assert "Scheduled" in created.content, created.content
    [card] = cards(h)
    assert not card.allowed_mentions or not card.allowed_mentions.get("roles")


async def test_rsvp_buttons_work_after_a_restart(labelbot: BotHarness) -> None:
    h = labelbot
    await create(h, title="Listening club", start="in 3h", duration="1h", location="Here")
    [card] = cards(h)
    await h.restart()
    fan = h.guild.add_member("fan")
    answer = await (await h.fake.click(h.guild, h.general, fan, card, button(card, "going"))).reply(timeout=TIMEOUT)
    assert "You're going" in answer.content
    dm = await (await h.fake.click(h.guild, h.general, fan, card, button(card, "dm"))).reply(timeout=TIMEOUT)
    assert "by DM" in dm.content


async def test_retiming_the_series_moves_the_rule_and_the_native_event(labelbot: BotHarness) -> None:
    h = labelbot
    fake = h.fake
    await create(h, title="Office hours", start="in 2h", duration="1h", repeat="biweekly", count=4, location="Here")
    [native] = h.guild.scheduled_events
    before = datetime.fromisoformat(native.scheduled_start_time)
    reply = await (
        await fake.slash(
            h.guild, h.general, h.moderator, "event edit", event="Office hours", scope="series", start="in 5h"
        )
    ).reply(timeout=TIMEOUT)
    assert "The series" in reply.content, reply.content
    await fake.wait_until(
        lambda: datetime.fromisoformat(native.scheduled_start_time) > before + timedelta(hours=2), TIMEOUT, "moved"
    )
    moved = datetime.fromisoformat(native.scheduled_start_time)
    assert native.recurrence_rule is not None
    assert datetime.fromisoformat(native.recurrence_rule["start"]) == moved
    assert native.recurrence_rule["interval"] == 2
    assert h.bot is not None
    async with h.bot.sessionmaker() as session:
        event = await session.scalar(select(CommunityEvent))
    assert event is not None
    assert event.anchor_at == moved
    assert event.count == 4
    fake.assert_no_rejections()


async def test_list_pages_through_many_events(labelbot: BotHarness) -> None:
    h = labelbot
    for number in range(12):
        await create(h, title=f"Session {number:02d}", start=f"in {number + 2}h", duration="30m", location="Here")
    listing = await (await h.fake.slash(h.guild, h.general, h.moderator, "event list")).reply(timeout=TIMEOUT)
    assert "Page 1 of 2" in listing.text
    assert "Session 00" in listing.text
    assert "Session 11" not in listing.text
    assert len(listing.custom_ids) == 3

    # Turning the page shows the rest, and the counter follows.
    [next_page] = [cid for cid in listing.custom_ids if cid.endswith(":next")]
    turned = await (await h.fake.click(h.guild, h.general, h.moderator, listing, next_page)).reply(timeout=TIMEOUT)
    assert "Page 2 of 2" in turned.text
    assert "Session 11" in turned.text
    assert "Session 00" not in turned.text
    assert turned.message is not None
    labels = [c.get("label") for row in turned.message.components for c in row.get("components", [])]
    assert labels == ["◀", "2 / 2", "▶"]


async def test_an_occurrence_that_ended_while_the_bot_was_down_rolls_on_after_restart(labelbot: BotHarness) -> None:
    h = labelbot
    fake = h.fake
    await create(h, title="Night shift", start="in 8s", duration="2s", repeat="daily", count=2, reminders="none")
    [native] = h.guild.scheduled_events
    start = datetime.fromisoformat(native.scheduled_start_time)
    await h.stop()
    await asyncio.sleep(max(0.0, (start + timedelta(seconds=3) - datetime.now(UTC)).total_seconds()))
    await h.start()
    await fake.wait_until(lambda: native.status == 3, TIMEOUT, "the missed occurrence completed")
    await fake.wait_until(lambda: len(cards(h)) == 2, TIMEOUT, "the next occurrence's card")
    [upcoming] = [e for e in h.guild.scheduled_events if e.status == 1]
    assert datetime.fromisoformat(upcoming.scheduled_start_time) == start + timedelta(days=1)
    # The start came and went while the bot was down: no start post for an occurrence that is over.
    assert not [m for m in fake.messages(h.general) if "is starting now" in m.content]
    fake.assert_no_rejections()
