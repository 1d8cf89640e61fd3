"""Reading what a moderator typed for an event: title, description, length, place, capacity, repeats, reminders."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

import discord

from labelbot.errors import InvalidInput
from labelbot.features.events import _recurrence
from labelbot.gatherings import native
from labelbot.models.events import (
    DESCRIPTION_MAX,
    TITLE_MAX,
    PlaceKind,
    Recurrence,
)
from labelbot.timeparse import parse_duration, parse_when

CAPACITY_MAX = 10_000
STAGE_MAX = timedelta(hours=24)
DURATION_MAX = timedelta(days=7)
REMINDERS_MAX = 5
REMINDER_MAX = timedelta(days=30)


@dataclass(frozen=True)
class Place:
    """Where an event happens: a stage or voice channel, or a place/URL outside Discord."""

    kind: PlaceKind
    channel: discord.StageChannel | discord.VoiceChannel | None = None
    location: str | None = None

    def native(self) -> native.NativePlace:
        return native.NativePlace(channel=self.channel, location=self.location)


@dataclass(frozen=True)
class EventDraft:
    """What a moderator asked for, read and checked, before anything is written."""

    title: str
    description: str
    starts_at: datetime
    zone: str
    duration: timedelta
    place: Place
    capacity: int | None
    reminder_offsets_seconds: list[int] | None
    ping_role_id: int | None
    recurrence: Recurrence | None
    until: datetime | None
    count: int | None
    open_thread: bool
    card_channel: discord.TextChannel


@dataclass(frozen=True)
class Changes:
    """An edit: only what is not None changes."""

    title: str | None = None
    description: str | None = None
    starts_at: datetime | None = None
    duration: timedelta | None = None
    capacity: int | None = None
    clear_capacity: bool = False


def clean_title(text: str) -> str:
    title = " ".join(text.split())
    if not title:
        raise InvalidInput("The event needs a title.")
    if len(title) > TITLE_MAX:
        raise InvalidInput(f"A title can be at most {TITLE_MAX} characters (Discord's limit for events).")
    return title


def clean_description(text: str | None) -> str:
    description = (text or "").strip()
    if len(description) > DESCRIPTION_MAX:
        raise InvalidInput(f"A description can be at most {DESCRIPTION_MAX} characters (Discord's limit for events).")
    return description


def check_duration(duration: timedelta, place_kind: PlaceKind) -> None:
    if place_kind == PlaceKind.STAGE and duration > STAGE_MAX:
        raise InvalidInput("A stage event can last at most 24 hours; shorten it or hold it somewhere else.")
    if duration > DURATION_MAX:
        raise InvalidInput("An event can last at most 7 days.")


def check_capacity(capacity: int | None) -> None:
    if capacity is not None and not 0 <= capacity <= CAPACITY_MAX:
        raise InvalidInput(f"Capacity goes from 0 to {CAPACITY_MAX:,}; leave it empty for no limit.")


def check_draft(draft: EventDraft) -> None:
    """Everything about a new event that can be refused without asking Discord."""
    check_duration(draft.duration, draft.place.kind)
    check_capacity(draft.capacity)
    if draft.recurrence is None:
        if draft.until is not None or draft.count is not None:
            raise InvalidInput("An end date or a number of times only makes sense for a repeating event.")
        return
    rule = _recurrence.Rule(draft.recurrence, draft.starts_at, draft.zone, draft.until, draft.count)
    _recurrence.check(rule, draft.duration)


NO_REMINDERS = {"none", "off", "no", "0"}


def parse_reminders(text: str | None) -> list[int] | None:
    """ "24h, 1h, 10m" -> seconds before the start; None keeps the server's defaults; "none" means no reminders."""
    if text is None or not text.strip():
        return None
    if text.strip().casefold() in NO_REMINDERS:
        return []
    offsets: set[int] = set()
    for part in (piece.strip() for piece in re.split(r"[,;]", text)):
        if not part:
            continue
        offset = parse_duration(part)
        if offset > REMINDER_MAX:
            raise InvalidInput("A reminder can be at most 30 days before the start.")
        offsets.add(int(offset.total_seconds()))
    if len(offsets) > REMINDERS_MAX:
        raise InvalidInput(f"Up to {REMINDERS_MAX} reminders per event, please.")
    return sorted(offsets, reverse=True)


def parse_until(text: str, zone: str, *, now: datetime | None = None) -> datetime:
    """An end date: a bare date means the end of that day, in the member's zone."""
    parsed = parse_when(text, zone=zone, now=now, earliest=None)
    local = parsed.local()
    if (local.hour, local.minute, local.second) == (0, 0, 0):
        return (local + timedelta(days=1) - timedelta(seconds=1)).astimezone(parsed.at.tzinfo)
    return parsed.at
