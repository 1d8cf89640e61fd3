"""The calendar feed: /calendar link and reset, and the .ics a calendar app downloads."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import aiohttp
import icalendar
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from labelbot.calendar import CalendarEntry
from labelbot.features.calendar._service import build_feed
from labelbot.guilds.models import GuildSettings
from tests.harness import BotHarness, free_port

URL = re.compile(r"<(http://[^>]+\.ics)>")
# Two years ahead of today: the feed lists what is upcoming, and the test must not expire.
FEED_YEAR = datetime.now(UTC).year + 2
RELEASE_AT = datetime(FEED_YEAR, 3, 6, 23, 0, tzinfo=UTC)


def _second_or_third_friday_of_march(year: int) -> datetime:
    """20:00 in Berlin in winter (UTC+1) on the Friday between 11 and 17 March.

    Three weeks later is 1-7 April, after Europe's last-Sunday-of-March change to summer time.
    """
    day = datetime(year, 3, 11, 19, 0, tzinfo=UTC)
    return day + timedelta(days=(4 - day.weekday()) % 7)


# The first of a weekly series that crosses the March DST change.
SESSION_AT = _second_or_third_friday_of_march(FEED_YEAR)


async def label_entries(session: AsyncSession, guild_id: int, since: datetime) -> list[CalendarEntry]:
    return [
        CalendarEntry(
            uid=f"release-1-{guild_id}@test",
            kind="release",
            title="Night Drive EP",
            starts_at=RELEASE_AT,
            zone="Europe/Berlin",
            description="Out everywhere",
            url="https://example.com/night-drive",
        ),
        CalendarEntry(
            uid=f"event-7-{guild_id}@test",
            kind="event",
            title="Friday listening session",
            starts_at=SESSION_AT,
            ends_at=SESSION_AT + timedelta(hours=1),
            zone="Europe/Berlin",
            rrule="FREQ=WEEKLY;BYDAY=FR;COUNT=4",
            exdates=(SESSION_AT + timedelta(days=7),),
            location="Stage",
        ),
    ]


async def start_with_web(harness: BotHarness) -> int:
    port = free_port()
    harness.extra_env.update({"LABELBOT_WEB__ENABLED": "true", "LABELBOT_WEB__PORT": str(port)})
    bot = await harness.start()
    bot.features.calendar.add_source("test", label_entries)
    return port


async def feed_link(harness: BotHarness, user: object | None = None) -> str:
    ix = await harness.fake.slash(harness.guild, harness.general, user or harness.moderator, "calendar link")
    reply = await ix.reply()
    assert reply.ephemeral
    found = URL.search(reply.content)
    assert found, reply.content
    return found.group(1)


async def test_feed_has_the_entries_with_correct_times_and_rules(harness: BotHarness) -> None:
    await start_with_web(harness)
    fan = harness.guild.add_member("fan")
    url = await feed_link(harness, fan)  # any member may have the link
    assert url.startswith(f"http://127.0.0.1:{harness.bot.web.port}/calendar/{harness.guild.id}/")  # type: ignore[union-attr]

    async with aiohttp.ClientSession() as http, http.get(url) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/calendar")
        body = await response.read()

    calendar = icalendar.Calendar.from_ical(body)
    assert str(calendar["X-WR-TIMEZONE"]) == "UTC"  # the server's zone (the default)
    # Feed UIDs are the source's, made unique per install and server: "<local part>.<server id>@<install>.labelbot".
    events = {str(event["UID"]).split("@")[0]: event for event in calendar.walk("VEVENT")}
    assert all(str(uid).endswith(".labelbot") for uid in calendar.walk("VEVENT") for uid in [uid["UID"]])
    release = events[f"release-1-{harness.guild.id}.{harness.guild.id}"]
    assert release.decoded("DTSTART") == RELEASE_AT
    assert release.decoded("DTSTART").utcoffset() == timedelta(0)
    assert str(release["SUMMARY"]) == "Night Drive EP"
    assert str(release["URL"]) == "https://example.com/night-drive"

    session = events[f"event-7-{harness.guild.id}.{harness.guild.id}"]
    start = session.decoded("DTSTART")
    assert start == SESSION_AT
    assert str(start.tzinfo) == "Europe/Berlin"  # the rule repeats at 20:00 Berlin time, DST or not
    assert session["RRULE"]["FREQ"] == ["WEEKLY"]
    assert session["RRULE"]["COUNT"] == [4]
    assert session.decoded("DTEND") - start == timedelta(hours=1)
    # The calendar app's expansion: four Fridays at 20:00 Berlin, the second excluded, the DST change kept local.
    from dateutil.rrule import rrulestr

    starts = list(rrulestr(session["RRULE"].to_ical().decode(), dtstart=start))
    excluded = {value.dt for exdate in [session["EXDATE"]] for value in exdate.dts}
    shown = [moment for moment in starts if moment not in excluded]
    assert [moment.astimezone(ZoneInfo("Europe/Berlin")).hour for moment in shown] == [20, 20, 20]
    assert shown[-1].astimezone(UTC) == SESSION_AT + timedelta(days=21, hours=-1)  # summer time by then
    assert "VTIMEZONE" in body.decode()


async def test_wrong_secret_and_unknown_server_are_the_same_404(harness: BotHarness) -> None:
    port = await start_with_web(harness)
    url = await feed_link(harness)
    secret = url.rsplit("/", 1)[1].removesuffix(".ics")
    async with aiohttp.ClientSession() as http:
        async with http.get(url.replace(secret, "x" * len(secret))) as wrong:
            wrong_body = await wrong.text()
            assert wrong.status == 404
        async with http.get(f"http://127.0.0.1:{port}/calendar/12345/{secret}.ics") as unknown:
            assert unknown.status == 404
            assert await unknown.text() == wrong_body
        async with http.get(f"http://127.0.0.1:{port}/calendar/{harness.guild.id}/{secret}.ics") as right:
            assert right.status == 200


async def test_reset_rotates_the_secret_and_only_moderators_may(harness: BotHarness) -> None:
    await start_with_web(harness)
    assert harness.bot is not None
    old = await feed_link(harness)
    assert await feed_link(harness) == old  # stable until reset

    fan = harness.guild.add_member("fan")
    # Discord's client hides /calendar-admin from members; opened to them (Server Settings > Integrations), the
    # bot still refuses.
    harness.guild.open_command("calendar-admin", harness.guild.everyone)
    refused = await (await harness.fake.slash(harness.guild, harness.general, fan, "calendar-admin reset")).reply()
    assert refused.ephemeral
    assert "moderator" in refused.content.lower()
    assert await feed_link(harness) == old

    reset = await (
        await harness.fake.slash(harness.guild, harness.general, harness.moderator, "calendar-admin reset")
    ).reply()
    assert reset.ephemeral
    new = URL.search(reset.content)
    assert new
    assert new.group(1) != old
    async with aiohttp.ClientSession() as http:
        async with http.get(old) as response:
            assert response.status == 404
        async with http.get(new.group(1)) as response:
            assert response.status == 200
    async with harness.bot.sessionmaker() as session:
        stored = await session.scalar(
            select(GuildSettings.calendar_secret).where(GuildSettings.guild_id == harness.guild.id)
        )
    assert stored
    assert new.group(1).endswith(f"/{stored}.ics")


def test_one_off_entries_without_end_and_cancelled_ones() -> None:
    entry = CalendarEntry(uid="r@test", kind="release", title="Drop", starts_at=RELEASE_AT, zone="Europe/Berlin")
    cancelled = CalendarEntry(
        uid="e@test", kind="event", title="Off", starts_at=RELEASE_AT, zone="Nowhere/Invalid", cancelled=True
    )
    calendar = icalendar.Calendar.from_ical(build_feed("Label", "Europe/Berlin", [entry, cancelled]))
    events = {str(event["UID"]): event for event in calendar.walk("VEVENT")}
    assert events["r@test"].decoded("DTEND") - events["r@test"].decoded("DTSTART") == timedelta(hours=1)
    assert str(events["e@test"]["STATUS"]) == "CANCELLED"
    assert str(calendar["X-WR-TIMEZONE"]) == "Europe/Berlin"


async def test_feed_has_community_events_as_rrules_with_cancelled_dates_excluded(harness: BotHarness) -> None:
    await start_with_web(harness)
    fake = harness.fake
    ix = await fake.slash(
        harness.guild,
        harness.general,
        harness.moderator,
        "event create",
        title="Weekly session",
        start="in 3h",
        duration="90m",
        repeat="weekly",
        count=3,
        location="Studio",
    )
    assert "Scheduled" in (await ix.reply(timeout=20)).content
    [native] = harness.guild.scheduled_events
    first = datetime.fromisoformat(native.scheduled_start_time)
    ix = await fake.slash(
        harness.guild, harness.general, harness.moderator, "event cancel", event="Weekly session", scope="this"
    )
    await ix.reply(timeout=20)

    url = await feed_link(harness)
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        calendar = icalendar.Calendar.from_ical(await response.read())
    [series] = [event for event in calendar.walk("VEVENT") if str(event["SUMMARY"]) == "Weekly session"]
    assert series.decoded("DTSTART").astimezone(UTC) == first
    assert series.decoded("DTEND") - series.decoded("DTSTART") == timedelta(minutes=90)
    assert series["RRULE"]["FREQ"] == ["WEEKLY"]
    assert series["RRULE"]["COUNT"] == [3]
    assert [value.dt.astimezone(UTC) for value in series["EXDATE"].dts] == [first]
    assert str(series["SUMMARY"]) == "Weekly session"
