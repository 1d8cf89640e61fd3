"""The calendar feed: the secret in its URL, and the iCalendar document built from the label calendar."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import icalendar
from sqlalchemy.ext.asyncio import AsyncSession

from bot.calendar import CalendarEntry
from bot.db.base import utcnow
from bot.guilds.models import GuildSettings
from bot.guilds.service import get_guild_settings

PRODUCT_ID = "-//Labelbot//Label calendar//EN"
# Entries that ended this long ago still show, so last week's release stays in people's calendars.
LOOK_BACK = timedelta(days=30)
# Without an end, an entry is a one-hour block (a release drop, say), which calendar apps show best.
DEFAULT_LENGTH = timedelta(hours=1)
SECRET_BYTES = 24


def new_secret() -> str:
    """A fresh URL-safe secret (32 characters)."""
    return secrets.token_urlsafe(SECRET_BYTES)


async def calendar_secret(session: AsyncSession, guild_id: int) -> str:
    """The server's feed secret, made (and stored) on first use."""
    settings = await get_guild_settings(session, guild_id)
    if not settings.calendar_secret:
        settings.calendar_secret = new_secret()
        await session.flush()
    return settings.calendar_secret


async def rotate_calendar_secret(session: AsyncSession, guild_id: int) -> str:
    """Replace the server's feed secret, so every URL handed out before stops working; return the new one."""
    settings = await get_guild_settings(session, guild_id)
    settings.calendar_secret = new_secret()
    await session.flush()
    return settings.calendar_secret


async def settings_for_feed(session: AsyncSession, guild_id: int, secret: str) -> GuildSettings | None:
    """The server's settings if `secret` is its feed secret, else None (whether or not the server exists)."""
    settings = await session.get(GuildSettings, guild_id)
    stored = settings.calendar_secret if settings is not None else None
    # Compare against something even when there is no secret, so timing says nothing about the server.
    if not hmac.compare_digest((stored or new_secret()).encode(), secret.encode()) or stored is None:
        return None
    return settings


def feed_url(base: str, guild_id: int, secret: str) -> str:
    return f"{base.rstrip('/')}/calendar/{guild_id}/{secret}.ics"


def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _component(entry: CalendarEntry, stamp: datetime) -> icalendar.Event:
    event = icalendar.Event()
    event.add("uid", entry.uid)
    event.add("dtstamp", stamp)
    event.add("summary", entry.title)
    ends_at = entry.ends_at if entry.ends_at is not None and entry.ends_at > entry.starts_at else None
    ends_at = ends_at or entry.starts_at + DEFAULT_LENGTH
    zone = _zone(entry.zone) if entry.rrule else None
    if zone is not None:
        # A repeating entry repeats in the zone its organiser meant: "every Friday 20:00 Berlin" stays 20:00
        # across daylight-saving changes, which a rule anchored in UTC would not.
        event.add("dtstart", entry.starts_at.astimezone(zone))
        event.add("dtend", ends_at.astimezone(zone))
    else:
        event.add("dtstart", entry.starts_at)
        event.add("dtend", ends_at)
    if entry.rrule:
        event.add("rrule", icalendar.vRecur.from_ical(entry.rrule))
        for excluded in entry.exdates:
            event.add("exdate", excluded.astimezone(zone) if zone is not None else excluded)
    if entry.description:
        event.add("description", entry.description)
    if entry.location:
        event.add("location", entry.location)
    if entry.url:
        event.add("url", entry.url)
    event.add("categories", [entry.kind])
    event.add("status", "CANCELLED" if entry.cancelled else "CONFIRMED")
    if entry.updated_at is not None:
        event.add("last-modified", entry.updated_at)
    return event


def build_feed(name: str, zone: str, entries: Iterable[CalendarEntry], *, now: datetime | None = None) -> bytes:
    """An iCalendar document of these entries; times in UTC, repeating ones in their zone, with X-WR-TIMEZONE."""
    stamp = now or utcnow()
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODUCT_ID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    calendar.add("x-wr-timezone", zone)
    calendar.add("refresh-interval", timedelta(hours=1), parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", "PT1H")
    for entry in entries:
        calendar.add_component(_component(entry, stamp))
    calendar.add_missing_timezones()
    return bytes(calendar.to_ical())
