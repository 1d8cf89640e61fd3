"""The calendar feed: the secret in its URL, and the iCalendar document built from the label calendar."""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import icalendar
from sqlalchemy.ext.asyncio import AsyncSession

from labelbot.calendar import CalendarEntry
from labelbot.db.base import utcnow
from labelbot.db.models import BotState
from labelbot.features.calendar._render import vtimezone
from labelbot.guilds.models import GuildSettings
from labelbot.guilds.service import get_guild_settings

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


def feed_uid(uid: str, guild_id: int, install_id: str) -> str:
    """The entry's uid made unique per install and server: the same release on two servers is two events."""
    return f"{uid.split('@', 1)[0]}.{guild_id}@{install_id}.labelbot"


def _local_zone(entry: CalendarEntry) -> ZoneInfo | None:
    """The zone a repeating entry (or an override of one) is written in; one-off entries are plain UTC instants."""
    return _zone(entry.zone) if entry.rrule or entry.recurrence_id is not None else None


def _component(entry: CalendarEntry, stamp: datetime, uid: str) -> icalendar.Event:
    event = icalendar.Event()
    event.add("uid", uid)
    event.add("dtstamp", stamp)
    event.add("summary", entry.title)
    ends_at = entry.ends_at if entry.ends_at is not None and entry.ends_at > entry.starts_at else None
    ends_at = ends_at or entry.starts_at + DEFAULT_LENGTH
    zone = _local_zone(entry)
    if zone is not None:
        # A repeating entry repeats in the zone its organiser meant: "every Friday 20:00 Berlin" stays 20:00
        # across daylight-saving changes, which a rule anchored in UTC would not.
        event.add("dtstart", entry.starts_at.astimezone(zone))
        event.add("dtend", ends_at.astimezone(zone))
    else:
        event.add("dtstart", entry.starts_at)
        event.add("dtend", ends_at)
    if entry.recurrence_id is not None:
        # Same uid as the series and its slot in the series' zone: clients replace that one occurrence.
        event.add("recurrence-id", entry.recurrence_id.astimezone(zone) if zone is not None else entry.recurrence_id)
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


@functools.lru_cache(maxsize=64)
def _vtimezone(name: str, first_year: int, last_year: int) -> icalendar.Timezone:
    return vtimezone(name, first_year, last_year)


def build_feed(
    name: str,
    zone: str,
    entries: Iterable[CalendarEntry],
    *,
    now: datetime | None = None,
    uid_of: Callable[[str], str] = str,
) -> bytes:
    """An iCalendar document of these entries; times in UTC, repeating ones in their zone, with X-WR-TIMEZONE.

    No METHOD: a subscribed feed is not a scheduling message, and libical rejects METHOD:PUBLISH without an
    ORGANIZER, which a label's calendar has no address for.
    """
    stamp = now or utcnow()
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODUCT_ID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", name)
    calendar.add("x-wr-timezone", zone)
    calendar.add("refresh-interval", timedelta(hours=1), parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", "PT1H")
    years: dict[str, list[int]] = {}
    components = []
    for entry in entries:
        components.append(_component(entry, stamp, uid_of(entry.uid)))
        local = _local_zone(entry)
        if local is not None:
            moments = [entry.starts_at, *([entry.recurrence_id] if entry.recurrence_id else []), *entry.exdates]
            years.setdefault(local.key, []).extend(moment.year for moment in moments)
    # Compact rules of our own instead of icalendar's transition lists, which stop at 2038 and which vobject reads
    # an hour off in summer; the block starts a year before the earliest date so every occurrence is covered.
    for key, seen in sorted(years.items()):
        calendar.add_component(_vtimezone(key, min(seen) - 1, max(max(seen), stamp.year)))
    for component in components:
        calendar.add_component(component)
    return bytes(calendar.to_ical())


def feed_fingerprint(name: str, zone: str, entries: Iterable[CalendarEntry], uid_domain: str) -> str:
    """A digest of everything the feed shows (not of its DTSTAMPs), for the ETag and the 304."""
    digest = hashlib.sha256(f"{name}\n{zone}\n{uid_domain}\n".encode())
    for entry in entries:
        digest.update(repr(entry).encode())
    return digest.hexdigest()[:32]


INSTALL_ID_KEY = "install:id"


async def install_id(session: AsyncSession) -> str:
    """This installation's id (made on first use), so its feed UIDs never collide with another label's."""
    state = await session.get(BotState, INSTALL_ID_KEY)
    if state is None:
        state = BotState(key=INSTALL_ID_KEY, value=secrets.token_hex(8))
        session.add(state)
        await session.flush()
    return state.value


async def feed_changed_at(session: AsyncSession, guild_id: int, fingerprint: str, now: datetime) -> datetime:
    """When the server's feed last showed something different (now, if this fingerprint is new); for Last-Modified.

    Kept rather than derived from the entries' own times, so a deleted entry also moves it forward.
    """
    key = f"calendar-feed:{guild_id}"
    state = await session.get(BotState, key)
    if state is not None:
        seen, _, at = state.value.partition(" ")
        if seen == fingerprint:
            return datetime.fromisoformat(at)
        state.value = f"{fingerprint} {now.replace(microsecond=0).isoformat()}"
    else:
        session.add(BotState(key=key, value=f"{fingerprint} {now.replace(microsecond=0).isoformat()}"))
    await session.flush()
    return now.replace(microsecond=0)
