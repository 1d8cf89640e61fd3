"""The rules of /settings dates: the label's own dates (Bandcamp Fridays and the like); the caller owns the session."""

from __future__ import annotations

import unicodedata
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from labelbot.audit.service import record
from labelbot.errors import Conflict, InvalidInput, NotFound
from labelbot.models.anniversaries import LABEL_DATE_NAME_MAX, LabelDate
from labelbot.timeparse import parse_when

if TYPE_CHECKING:
    from labelbot.client import LabelBot

# Enough for every Bandcamp Friday of a year and the label's own days; a list nobody reads helps nobody.
MAX_DATES = 50


def name_key(name: str) -> str:
    return unicodedata.normalize("NFKC", name).casefold()


def check_name(name: str) -> str:
    cleaned = " ".join(name.split())
    if not cleaned:
        raise InvalidInput("Give the date a name, e.g. Bandcamp Friday.")
    if any(unicodedata.category(char) == "Cc" for char in cleaned):
        raise InvalidInput("The name can only hold printable characters.")
    if len(cleaned) > LABEL_DATE_NAME_MAX:
        raise InvalidInput(f"The name can be at most {LABEL_DATE_NAME_MAX} characters.")
    return cleaned


def local_today(zone: str, now: datetime) -> date:
    return now.astimezone(ZoneInfo(zone)).date()


def read_day(text: str, zone: str, now: datetime) -> date:
    """The calendar day a moderator meant ("2026-12-04", "friday", "tomorrow"), today or later in the server's zone."""
    parsed = parse_when(text, zone=zone, now=now, earliest=None, latest=timedelta(days=731))
    day = parsed.at.astimezone(ZoneInfo(zone)).date()
    if day < local_today(zone, now):
        raise InvalidInput("That date has passed; give today or a later date.")
    return day


async def dates_of(session: AsyncSession, guild_id: int) -> list[LabelDate]:
    rows = await session.scalars(
        select(LabelDate).where(LabelDate.guild_id == guild_id).order_by(LabelDate.on_date, LabelDate.id)
    )
    return list(rows)


async def add(
    bot: LabelBot,
    session: AsyncSession,
    guild_id: int,
    actor_id: int,
    *,
    name: str,
    day: date,
    yearly: bool,
) -> LabelDate:
    """Keep a new label date, refusing a second one of the same name on the same day."""
    key = name_key(name)
    count = await session.scalar(select(func.count()).select_from(LabelDate).where(LabelDate.guild_id == guild_id))
    if (count or 0) >= MAX_DATES:
        raise Conflict(f"This server already has {MAX_DATES} label dates; remove one first.")
    clash = await session.scalar(
        select(LabelDate.id).where(LabelDate.guild_id == guild_id, LabelDate.on_date == day, LabelDate.name_key == key)
    )
    if clash is not None:
        raise Conflict(f"{name} is already a label date on {day.isoformat()}.")
    label_date = LabelDate(guild_id=guild_id, name=name, name_key=key, on_date=day, yearly=yearly, created_by=actor_id)
    session.add(label_date)
    await session.flush()
    await record(
        bot,
        session,
        guild_id=guild_id,
        actor_id=actor_id,
        action="settings.dates_add",
        target=f"label date {name}",
        before=None,
        after={"on_date": day.isoformat(), "yearly": yearly},
    )
    return label_date


async def remove(bot: LabelBot, session: AsyncSession, guild_id: int, actor_id: int, choice: str) -> LabelDate:
    """Forget one label date, chosen by its id (from autocomplete)."""
    label_date = await session.get(LabelDate, int(choice)) if choice.isdigit() and len(choice) < 19 else None
    if label_date is None or label_date.guild_id != guild_id:
        raise NotFound("I don't know that label date; pick one from the list.")
    await session.delete(label_date)
    await record(
        bot,
        session,
        guild_id=guild_id,
        actor_id=actor_id,
        action="settings.dates_remove",
        target=f"label date {label_date.name}",
        before={"on_date": label_date.on_date.isoformat(), "yearly": label_date.yearly},
        after=None,
    )
    return label_date
