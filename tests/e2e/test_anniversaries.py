"""Catalogue anniversaries and label dates end to end: silent morning posts, once per day in the server's zone."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update

from labelbot.artists.models import Artist
from labelbot.catalog.models import Release, ReleaseLink, ReleaseStatus
from labelbot.db import create_engine, create_sessionmaker
from labelbot.db.base import utcnow
from labelbot.features.anniversaries._service import DAY, day_key
from labelbot.jobs import JobStatus, ScheduledJob
from labelbot.models.anniversaries import CatalogueDatePost, LabelDate
from tests.e2e.helpers import run, running, sweep_once, wait_jobs_settled
from tests.fakediscord.state import FLAG_SUPPRESS_NOTIFICATIONS, FakeMessage
from tests.harness import BotHarness

# At any instant one of these two zones is on another calendar day than UTC (they are 25 hours apart).
AHEAD, BEHIND = "Pacific/Kiritimati", "Pacific/Pago_Pago"


def zone_off_utc() -> tuple[str, date]:
    """A zone whose today is not UTC's today, and that day: a post on UTC's day would be on the wrong one."""
    now = utcnow()
    for zone in (AHEAD, BEHIND):
        local = now.astimezone(ZoneInfo(zone)).date()
        if local != now.date():
            return zone, local
    raise AssertionError("unreachable: the two zones are 25 hours apart")


def posts(h: BotHarness, channel: Any) -> list[FakeMessage]:
    return [m for m in h.fake.messages(channel) if not m.ephemeral]


def years_before(day: date, years: int) -> date:
    return day.replace(year=day.year - years) if (day.month, day.day) != (2, 29) else date(day.year - years, 2, 28)


async def seed_catalogue(h: BotHarness, zone: str, released: dict[str, date]) -> None:
    """An artist with links, and announced releases that came out at noon (in `zone`) on the given days."""
    engine = create_engine(h.database_url)
    try:
        async with create_sessionmaker(engine).begin() as session:
            artist = Artist(
                guild_id=h.guild.id,
                name="Nova Lights",
                name_key="nova lights",
                links=[{"label": "Bandcamp", "url": "https://nova.bandcamp.com"}],
                created_by=h.moderator.id,
            )
            session.add(artist)
            await session.flush()
            for title, day in released.items():
                release = Release(
                    guild_id=h.guild.id,
                    artist_id=artist.id,
                    title=title,
                    release_at=datetime.combine(day, time(12), tzinfo=ZoneInfo(zone)),
                    zone=zone,
                    status=ReleaseStatus.ANNOUNCED,
                    created_by=h.moderator.id,
                )
                session.add(release)
                await session.flush()
                session.add(
                    ReleaseLink(release_id=release.id, position=0, label="Listen", url="https://example.org/" + title)
                )
    finally:
        await engine.dispose()


async def come_due(h: BotHarness, key: str) -> None:
    """The morning arrives (the day's job is moved to now), and the engine runs it."""
    await move_to_now(h, key)
    await sweep_once(h)
    await wait_jobs_settled(h, key)


async def move_to_now(h: BotHarness, key: str) -> None:
    engine = create_engine(h.database_url)
    try:
        async with create_sessionmaker(engine).begin() as session:
            moved = await session.execute(
                update(ScheduledJob)
                .where(ScheduledJob.key == key, ScheduledJob.status == JobStatus.PENDING)
                .values(due_at=utcnow(), scheduled_for=utcnow())
            )
            assert moved.rowcount <= 1
    finally:
        await engine.dispose()


async def job(h: BotHarness, key: str) -> ScheduledJob | None:
    async with running(h).sessionmaker() as session:
        found: ScheduledJob | None = await session.scalar(select(ScheduledJob).where(ScheduledJob.key == key))
        return found


async def test_an_anniversary_goes_out_silently_once_on_its_day_in_the_servers_zone_across_a_restart(
    harness: BotHarness,
) -> None:
    h = harness
    zone, today = zone_off_utc()
    channel = h.guild.add_channel("catalogue")
    await h.start()
    await run(h, h.moderator, "settings timezone", zone=zone)
    answer = await run(h, h.moderator, "settings channel", kind="dates", channel=channel)
    assert "anniversaries and label dates channel is now" in answer.content, answer.content
    await seed_catalogue(
        h,
        zone,
        {
            "Night Drive": years_before(today, 5),
            # Five years before UTC's day, which is not the server's: not today's anniversary there.
            "Wrong Day": years_before(utcnow().date(), 5),
            # Three years is no milestone (1, 5, 10, 15...).
            "Three Years": years_before(today, 3),
        },
    )
    # Opt-in: nothing is scheduled for a server that did not ask.
    assert await job(h, day_key(h.guild.id, today)) is None
    answer = await run(h, h.moderator, "settings toggle", name="catalogue_anniversaries", enabled=True)
    assert answer.content == "Catalogue anniversaries is now on.", answer.content

    key = day_key(h.guild.id, today)
    await h.wait_until(lambda: job(h, key))
    # Where the morning has passed already, the day's job ran when the server opted in. Otherwise the bot is down
    # when the morning comes, and posts the day's anniversary when it is back. Either way: once.
    await h.stop()
    await move_to_now(h, key)
    await h.start()
    await wait_jobs_settled(h, key)
    await sweep_once(h)
    [post] = posts(h, channel)
    assert post.flags & FLAG_SUPPRESS_NOTIFICATIONS, "an anniversary must not buzz anyone's phone"
    assert post.allowed_mentions == {"parse": []}
    assert post.content.startswith("🎂 **Night Drive** by **Nova Lights** came out 5 years ago today"), post.content
    assert "happy 5th birthday" in post.content
    assert "[Listen](<https://example.org/Night Drive>)" in post.content

    # Tomorrow's morning is on the calendar: 9:00 in the server's zone.
    tomorrow = await job(h, day_key(h.guild.id, today + timedelta(days=1)))
    assert tomorrow is not None
    assert tomorrow.status == JobStatus.PENDING
    assert tomorrow.kind == DAY
    assert tomorrow.due_at == datetime.combine(today + timedelta(days=1), time(9), tzinfo=ZoneInfo(zone))

    await h.restart()
    await sweep_once(h)
    # The day run again (a second process, an operator re-running it): the post is taken, nothing goes out twice.
    async with running(h).sessionmaker.begin() as session:
        await running(h).jobs.schedule(
            session, DAY, {"guild_id": h.guild.id, "day": today.isoformat()}, utcnow(), guild_id=h.guild.id, key=key
        )
    await sweep_once(h)
    await wait_jobs_settled(h, key)
    assert len(posts(h, channel)) == 1
    async with running(h).sessionmaker() as session:
        taken = list(await session.scalars(select(CatalogueDatePost)))
    assert [(row.kind, row.on_date, row.message_id) for row in taken] == [("anniversary", today, post.id)]


async def test_a_label_date_reminds_the_server_that_morning_with_the_rosters_links(harness: BotHarness) -> None:
    h = harness
    announcements = h.guild.add_channel("announcements")
    await h.start()
    await run(h, h.moderator, "settings channel", kind="announcements", channel=announcements)
    await seed_catalogue(h, "UTC", {})
    today = utcnow().date()
    answer = await run(h, h.moderator, "settings dates add", name="Bandcamp Friday", day=today.isoformat(), yearly=True)
    assert answer.content.startswith("**Bandcamp Friday** is a label date every year"), answer.content

    listed = await run(h, h.moderator, "settings dates list")
    assert f"**Bandcamp Friday** · {today.isoformat()} · yearly · next {today.isoformat()}" in str(listed.embeds)

    key = day_key(h.guild.id, today)
    await h.wait_until(lambda: job(h, key))
    await come_due(h, key)
    [post] = posts(h, announcements)
    assert post.flags & FLAG_SUPPRESS_NOTIFICATIONS
    assert post.content == (
        "📅 Today is **Bandcamp Friday**. Support the roster:\n**Nova Lights**: [Bandcamp](<https://nova.bandcamp.com>)"
    )

    # Removed: no more reminders for it (the list is empty).
    async with running(h).sessionmaker() as session:
        [label_date] = list(await session.scalars(select(LabelDate)))
    removed = await run(h, h.moderator, "settings dates remove", date=str(label_date.id))
    assert removed.content.startswith("**Bandcamp Friday**"), removed.content
    listed = await run(h, h.moderator, "settings dates list")
    assert "No label dates yet" in str(listed.embeds)


async def test_bad_label_dates_are_refused_with_one_sentence_and_change_nothing(harness: BotHarness) -> None:
    h = harness
    await h.start()
    cases = [
        (h.moderator, {"name": "Old day", "day": "2020-01-01"}, "That date has passed"),
        (h.moderator, {"name": "   ", "day": "tomorrow"}, "Give the date a name"),
        (h.moderator, {"name": "x" * 101, "day": "tomorrow"}, "The name can be at most 100 characters."),
        (h.moderator, {"name": "Soon", "day": "not a day"}, ""),
        (
            h.moderator,
            {"name": "Bandcamp\x00Friday", "day": "tomorrow"},
            "The name can only hold printable characters.",
        ),
    ]
    for user, options, expected in cases:
        answer = await run(h, user, "settings dates add", **options)
        assert answer.ephemeral
        assert expected in answer.content, answer.content
    answer = await run(h, h.moderator, "settings dates remove", date="12345")
    assert answer.content == "I don't know that label date; pick one from the list."
    added = await run(h, h.moderator, "settings dates add", name="Bandcamp Friday", day="tomorrow")
    # No channel is set yet: the moderator is told where to choose one.
    assert added.content.endswith(
        "Choose where they go with `/settings channel` (anniversaries and label dates, or announcements)."
    )
    again = await run(h, h.moderator, "settings dates add", name="bandcamp  friday", day="tomorrow")
    assert "already a label date" in again.content, again.content
    async with running(h).sessionmaker() as session:
        assert len(list(await session.scalars(select(LabelDate)))) == 1


async def test_a_day_the_bot_missed_entirely_is_skipped_and_the_chain_resumes_today(harness: BotHarness) -> None:
    h = harness
    zone, today = zone_off_utc()
    yesterday = today - timedelta(days=1)
    channel = h.guild.add_channel("catalogue")
    await h.start()
    await run(h, h.moderator, "settings timezone", zone=zone)
    await run(h, h.moderator, "settings channel", kind="dates", channel=channel)
    await seed_catalogue(
        h, zone, {"Yesterday's Record": years_before(yesterday, 10), "Today's Record": years_before(today, 1)}
    )
    await run(h, h.moderator, "settings toggle", name="catalogue_anniversaries", enabled=True)
    await h.wait_until(lambda: job(h, day_key(h.guild.id, today)))
    # Yesterday's morning job, run only now (the bot was down all of yesterday): its day is over.
    old_key = day_key(h.guild.id, yesterday)
    async with running(h).sessionmaker.begin() as session:
        await running(h).jobs.schedule(
            session,
            DAY,
            {"guild_id": h.guild.id, "day": yesterday.isoformat()},
            utcnow(),
            guild_id=h.guild.id,
            key=old_key,
        )
    [missed] = await wait_jobs_settled(h, old_key)
    assert missed.result == {"skipped": "the day is over"}

    # Today's morning (due at once if it has passed there already) posts today's anniversary only.
    today_key = day_key(h.guild.id, today)
    found = await job(h, today_key)
    if found is not None and found.status == JobStatus.PENDING:
        await come_due(h, today_key)
    await wait_jobs_settled(h, today_key)
    await sweep_once(h)
    [post] = posts(h, channel)
    assert post.content.startswith("🎂 **Today's Record** by **Nova Lights** came out 1 year ago today"), post.content
