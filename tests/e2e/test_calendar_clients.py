"""The calendar feed as three independent clients read it: icalendar, recurring-ical-events and vobject.

Each must put every occurrence at the same UTC instant the organiser meant, in summer and in winter, also after
2038 (where transition lists stop); an edited occurrence replaces its slot of the series; an unchanged feed is 304.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import aiohttp
import icalendar
import recurring_ical_events
import vobject

from labelbot.calendar import CalendarEntry
from labelbot.features.calendar._service import build_feed
from tests.harness import BotHarness, free_port

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
URL = re.compile(r"<(http://[^>]+\.ics)>")


def _weekly(uid: str, zone: ZoneInfo, first_local: datetime, count: int) -> CalendarEntry:
    starts_at = first_local.replace(tzinfo=zone).astimezone(UTC)
    return CalendarEntry(
        uid=uid,
        kind="event",
        title=uid,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=1),
        zone=zone.key,
        rrule=f"FREQ=WEEKLY;COUNT={count}",
    )


def _meant(zone: ZoneInfo, first_local: datetime, count: int) -> list[datetime]:
    """Where each weekly occurrence belongs: the same wall-clock time in the zone, as a UTC instant."""
    return [(first_local + timedelta(weeks=n)).replace(tzinfo=zone).astimezone(UTC) for n in range(count)]


# Past the 32-bit end of time (2038), where transition lists stop, and never a year that has passed.
LATE_YEAR = max(2039, datetime.now(UTC).year + 2)
# Winter into summer in Berlin (the change is on the last Sunday of March), and autumn in New York (first Sunday
# of November): six and five weeks from these days always cross them.
BERLIN_SPRING = datetime(LATE_YEAR, 3, 11, 20, 0)
NEW_YORK_AUTUMN = datetime(LATE_YEAR + 1, 10, 19, 19, 30)
SERIES = [_weekly("berlin", BERLIN, BERLIN_SPRING, 6), _weekly("new-york", NEW_YORK, NEW_YORK_AUTUMN, 5)]
EXPECTED = {"berlin": _meant(BERLIN, BERLIN_SPRING, 6), "new-york": _meant(NEW_YORK, NEW_YORK_AUTUMN, 5)}
WINDOW = (datetime(LATE_YEAR, 1, 1), datetime(LATE_YEAR + 2, 12, 31))


def test_the_expectation_itself_crosses_daylight_saving() -> None:
    berlin = EXPECTED["berlin"]
    assert berlin[0].hour == 19  # UTC+1 in March
    assert berlin[-1].hour == 18  # UTC+2 from the last Sunday
    new_york = EXPECTED["new-york"]
    assert new_york[0].hour == 23  # EDT in October
    assert new_york[-1].hour == 0  # EST from the first Sunday of November


def test_icalendar_with_recurring_ical_events_puts_each_occurrence_at_its_instant() -> None:
    calendar = icalendar.Calendar.from_ical(build_feed("Label", "UTC", SERIES))
    for uid, expected in EXPECTED.items():
        found = sorted(
            occurrence.decoded("DTSTART").astimezone(UTC)
            for occurrence in recurring_ical_events.of(calendar).between(*WINDOW)
            if str(occurrence["UID"]) == uid
        )
        assert found == expected, uid


def test_vobject_reads_the_feeds_own_time_zones_right_in_summer_and_winter() -> None:
    # vobject builds its zones from the VTIMEZONE blocks in the file, not from the system's database.
    parsed = vobject.readOne(build_feed("Label", "UTC", SERIES).decode())
    for event in parsed.vevent_list:
        uid = event.uid.value
        found = sorted(moment.astimezone(UTC) for moment in event.getrruleset(addRDate=True))
        assert found == EXPECTED[uid], uid


def test_time_zone_blocks_are_rules_not_lists_and_there_is_no_method() -> None:
    text = build_feed("Label", "UTC", SERIES).decode()
    assert "METHOD:" not in text  # libical wants an ORGANIZER with METHOD:PUBLISH
    berlin = text[text.index("TZID:Europe/Berlin") :].split("END:VTIMEZONE", 1)[0]
    assert berlin.count("RRULE:FREQ=YEARLY") == 2
    assert "BYDAY=-1SU;BYMONTH=3" in berlin
    assert "BYDAY=-1SU;BYMONTH=10" in berlin
    assert "UNTIL" not in berlin  # open-ended: valid past 2038


def test_an_override_replaces_its_slot_of_the_series_in_every_client() -> None:
    series = _weekly("event-3@labelbot", BERLIN, BERLIN_SPRING, 4)
    slot = EXPECTED["berlin"][2]
    moved = slot + timedelta(hours=2)
    override = CalendarEntry(
        uid="event-3@labelbot",
        kind="event",
        title="Moved session",
        starts_at=moved,
        ends_at=moved + timedelta(hours=1),
        zone="Europe/Berlin",
        recurrence_id=slot,
    )
    body = build_feed("Label", "UTC", [series, override])
    calendar = icalendar.Calendar.from_ical(body)
    assert len({str(event["UID"]) for event in calendar.walk("VEVENT")}) == 1
    shown = sorted(
        (o.decoded("DTSTART").astimezone(UTC), str(o["SUMMARY"]))
        for o in recurring_ical_events.of(calendar).between(*WINDOW)
    )
    expected = [(moment, "event-3@labelbot") for moment in EXPECTED["berlin"][:4] if moment != slot]
    assert shown == sorted([*expected, (moved, "Moved session")])
    parsed = vobject.readOne(body.decode())
    [changed] = [event for event in parsed.vevent_list if "recurrence-id" in event.contents]
    assert changed.contents["recurrence-id"][0].value.astimezone(UTC) == slot


async def _feed(harness: BotHarness) -> str:
    port = free_port()
    harness.extra_env.update({"LABELBOT_WEB__ENABLED": "true", "LABELBOT_WEB__PORT": str(port)})
    await harness.start()
    ix = await harness.fake.slash(harness.guild, harness.general, harness.moderator, "calendar link")
    found = URL.search((await ix.reply()).content)
    assert found
    return found.group(1)


async def test_an_unchanged_feed_is_304_and_a_changed_one_200(harness: BotHarness) -> None:
    url = await _feed(harness)
    async with aiohttp.ClientSession() as http:
        async with http.get(url) as first:
            assert first.status == 200
            etag, last_modified = first.headers["ETag"], first.headers["Last-Modified"]
        async with http.get(url, headers={"If-None-Match": etag}) as again:
            assert again.status == 304
            assert await again.read() == b""
        async with http.get(url, headers={"If-Modified-Since": last_modified}) as again:
            assert again.status == 304

        ix = await harness.fake.slash(
            harness.guild, harness.general, harness.moderator, "event create", title="Listening club", start="in 3h"
        )
        await ix.reply(timeout=20)
        async with http.get(url, headers={"If-None-Match": etag}) as changed:
            assert changed.status == 200
            assert changed.headers["ETag"] != etag
            assert b"Listening club" in await changed.read()


async def test_feed_uids_differ_between_installs(harness: BotHarness) -> None:
    url = await _feed(harness)
    ix = await harness.fake.slash(
        harness.guild, harness.general, harness.moderator, "event create", title="Listening club", start="in 3h"
    )
    await ix.reply(timeout=20)
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        [event] = icalendar.Calendar.from_ical(await response.read()).walk("VEVENT")
    uid = str(event["UID"])
    assert uid.startswith("event-")
    assert f".{harness.guild.id}@" in uid
    assert uid != "event-1@labelbot"
    assert harness.bot is not None
    async with harness.bot.sessionmaker() as session:
        from labelbot.features.calendar._service import install_id

        install = await install_id(session)
    assert uid.endswith(f"@{install}.labelbot")


async def test_an_edited_occurrence_of_a_community_event_is_an_override_of_its_series(harness: BotHarness) -> None:
    url = await _feed(harness)
    fake = harness.fake
    create = await fake.slash(
        harness.guild,
        harness.general,
        harness.moderator,
        "event create",
        title="Weekly session",
        start="in 3h",
        repeat="weekly",
        count=3,
    )
    await create.reply(timeout=20)
    [native] = harness.guild.scheduled_events
    first = datetime.fromisoformat(native.scheduled_start_time)
    edit = await fake.slash(
        harness.guild,
        harness.general,
        harness.moderator,
        "event edit",
        event="Weekly session",
        scope="this",
        title="Weekly session (guest set)",
    )
    await edit.reply(timeout=20)

    async with aiohttp.ClientSession() as http, http.get(url) as response:
        calendar = icalendar.Calendar.from_ical(await response.read())
    events = list(calendar.walk("VEVENT"))
    assert len({str(event["UID"]) for event in events}) == 1  # one series, not a second event
    [override] = [event for event in events if "RECURRENCE-ID" in event]
    assert override.decoded("RECURRENCE-ID").astimezone(UTC) == first
    assert str(override["SUMMARY"]) == "Weekly session (guest set)"
    shown = sorted(
        (o.decoded("DTSTART").astimezone(UTC), str(o["SUMMARY"]))
        for o in recurring_ical_events.of(calendar).between(first - timedelta(days=1), first + timedelta(days=30))
    )
    assert [title for _, title in shown] == ["Weekly session (guest set)", "Weekly session", "Weekly session"]
