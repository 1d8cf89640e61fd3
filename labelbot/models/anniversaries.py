"""Tables of catalogue anniversaries and label dates: the dates moderators keep, and what was posted for each day."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from labelbot.db.base import Base, RowId, utcnow
from labelbot.privacy.columns import ANONYMISE

LABEL_DATE_NAME_MAX = 100


class LabelDate(Base):
    """A date the label marks, such as a Bandcamp Friday: a silent reminder with the roster's links that morning."""

    __tablename__ = "label_dates"
    __table_args__ = (UniqueConstraint("guild_id", "on_date", "name_key"),)

    id: Mapped[int] = mapped_column(RowId, primary_key=True)
    guild_id: Mapped[int] = mapped_column(index=True)
    name: Mapped[str] = mapped_column(String(LABEL_DATE_NAME_MAX))
    # The name folded, so "Bandcamp Friday" and "bandcamp friday" on one date are one date.
    name_key: Mapped[str] = mapped_column(String(LABEL_DATE_NAME_MAX * 2))
    # The day it falls on; with `yearly` the same month and day every year from then on.
    on_date: Mapped[date] = mapped_column(Date)
    yearly: Mapped[bool] = mapped_column(default=False)
    created_by: Mapped[int] = mapped_column(info=ANONYMISE)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CatalogueDatePost(Base):
    """One silent post of one day: taken before posting, so a day is posted once whatever runs it again.

    `kind` is "anniversary" (key: the release id) or "label_date" (key: the label date's id); `on_date` is the day in
    the server's zone. The job that took the row posts it; another run of that day finds it taken and skips it.
    """

    __tablename__ = "catalogue_date_posts"
    __table_args__ = (UniqueConstraint("guild_id", "kind", "key", "on_date"),)

    id: Mapped[int] = mapped_column(RowId, primary_key=True)
    guild_id: Mapped[int]
    kind: Mapped[str] = mapped_column(String(16))
    key: Mapped[int]
    on_date: Mapped[date] = mapped_column(Date)
    job_id: Mapped[int]
    channel_id: Mapped[int]
    message_id: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# Days of the year, shared by the /settings dates list and the posts of each morning.


def occurs_on(label_date: LabelDate, day: date) -> bool:
    """Whether the date falls on `day` (a yearly 29 February is marked on the 28th in other years)."""
    start = label_date.on_date
    if not label_date.yearly:
        return start == day
    if day < start:
        return False
    return same_day_of_year(start, day)


def same_day_of_year(original: date, day: date) -> bool:
    if (original.month, original.day) == (day.month, day.day):
        return True
    leap_day_moved = (original.month, original.day) == (2, 29) and (day.month, day.day) == (2, 28)
    return leap_day_moved and not _is_leap(day.year)


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def next_occurrence(label_date: LabelDate, today: date) -> date | None:
    """The next day (today included) the date falls on, or None when a one-off date has passed."""
    start = label_date.on_date
    if not label_date.yearly:
        return start if start >= today else None
    if start >= today:
        return start
    for year in (today.year, today.year + 1):
        day = _in_year(start, year)
        if day >= today:
            return day
    return None


def _in_year(original: date, year: int) -> date:
    if (original.month, original.day) == (2, 29) and not _is_leap(year):
        return date(year, 2, 28)
    return original.replace(year=year)
