"""The rules of catalogue dates: which mornings are scheduled, and what a day brings (anniversaries, label dates).

Each server that opted in has one job per day, keyed by the day in the server's zone and due at 9:00 there; the
job posts the day and schedules the next morning. A day is posted once: the job key makes one job per day, and each
post is taken in catalogue_date_posts before it is sent, so a re-run or a second process finds it taken.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from labelbot.catalog.models import Release
from labelbot.db.base import utcnow
from labelbot.models.anniversaries import LabelDate, occurs_on, same_day_of_year

if TYPE_CHECKING:
    from labelbot.client import LabelBot

DAY = "dates.day"
ANNIVERSARY = "anniversary"
LABEL_DATE = "label_date"
# The local time of the morning posts.
MORNING = time(9, 0)


def day_key(guild_id: int, day: date) -> str:
    return f"dates:{guild_id}:{day.isoformat()}"


def local_day(zone: str, now: datetime) -> date:
    return now.astimezone(ZoneInfo(zone)).date()


def morning_of(day: date, zone: str) -> datetime:
    """9:00 of `day` in the zone, as an aware instant (a skipped or doubled hour resolves as zoneinfo does)."""
    return datetime.combine(day, MORNING, tzinfo=ZoneInfo(zone))


def anniversary_years(released: date, day: date) -> int | None:
    """The release's age on `day` when it is a 1st, 5th, 10th, 15th... anniversary, else None."""
    years = day.year - released.year
    if years < 1 or not (years == 1 or years % 5 == 0):
        return None
    return years if same_day_of_year(released, day) else None


def release_day(release: Release) -> date:
    """The day the release came out, in the zone it was scheduled in (its own calendar day)."""
    return release.release_at.astimezone(ZoneInfo(release.zone)).date()


@dataclass(frozen=True)
class Anniversary:
    release: Release
    years: int


def anniversaries_on(releases: list[Release], day: date) -> list[Anniversary]:
    found = []
    for release in releases:
        years = anniversary_years(release_day(release), day)
        if years is not None:
            found.append(Anniversary(release, years))
    return found


def label_dates_on(label_dates: list[LabelDate], day: date) -> list[LabelDate]:
    return [label_date for label_date in label_dates if occurs_on(label_date, day)]


async def ensure_today(bot: LabelBot, session: AsyncSession, guild_id: int, zone: str, now: datetime) -> None:
    """Make sure the server's day job for today exists: due at 9:00, or now when the morning has passed."""
    today = local_day(zone, now)
    key = day_key(guild_id, today)
    if await bot.jobs.get(session, key) is not None:
        return
    due = max(morning_of(today, zone), now)
    await bot.jobs.schedule(
        session, DAY, {"guild_id": guild_id, "day": today.isoformat()}, due, guild_id=guild_id, key=key
    )


async def schedule_next(bot: LabelBot, session: AsyncSession, guild_id: int, zone: str, after: date) -> None:
    """Schedule the morning after `after` (untouched if it is already there or ran); a passed morning is due now."""
    day = after + timedelta(days=1)
    key = day_key(guild_id, day)
    if await bot.jobs.get(session, key) is not None:
        return
    await bot.jobs.schedule(
        session,
        DAY,
        {"guild_id": guild_id, "day": day.isoformat()},
        max(morning_of(day, zone), utcnow()),
        guild_id=guild_id,
        key=key,
        replace_done=False,
    )
