"""Mirroring a gathering as a native Discord scheduled event (the server's Events list), one copy for every feature.

discord.py does not know `recurrence_rule`, so when there is one the request goes through the raw route.
The bot's own record stays the truth: these functions only make Discord's copy follow it.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import discord
from discord.http import Route

from labelbot.errors import BotLacksPermissions, Conflict, InvalidInput
from labelbot.gatherings.models import NativeStatus
from labelbot.text import clip

log = logging.getLogger(__name__)

# Discord's cap on a server's scheduled (not yet finished) native events.
MAX_UPCOMING_NATIVE_EVENTS = 100
NAME_MAX = 100
DESCRIPTION_MAX = 1000
LOCATION_MAX = 100

_STATUS_CODES = {
    NativeStatus.SCHEDULED: 1,
    NativeStatus.ACTIVE: 2,
    NativeStatus.COMPLETED: 3,
    NativeStatus.CANCELLED: 4,
}
_STATUS_BY_CODE = {code: status for status, code in _STATUS_CODES.items()}
# Discord answers this when a status change is not allowed from the current status.
_INVALID_TRANSITION_CODES = {180000, 180002, 50035}


@dataclass(frozen=True)
class NativePlace:
    """Where a native event happens: a stage or voice channel, or elsewhere (a text channel link, a URL)."""

    channel: discord.StageChannel | discord.VoiceChannel | None = None
    location: str | None = None

    def payload(self) -> dict[str, Any]:
        if isinstance(self.channel, discord.StageChannel):
            return {"entity_type": 1, "channel_id": str(self.channel.id), "entity_metadata": None}
        if isinstance(self.channel, discord.VoiceChannel):
            return {"entity_type": 2, "channel_id": str(self.channel.id), "entity_metadata": None}
        location = (self.location or "Discord")[:LOCATION_MAX]
        return {"entity_type": 3, "channel_id": None, "entity_metadata": {"location": location}}


def check_place(guild: discord.Guild, place: NativePlace) -> None:
    """Refuse a stage or voice channel the bot cannot run an event in, before anything is created."""
    me = guild.me
    if me is None:
        raise BotLacksPermissions("I can't see my own member in this server yet; try again in a moment.")
    channel = place.channel
    permissions = channel.permissions_for(me) if channel is not None else me.guild_permissions
    # Create Events lets the bot create events and edit or delete its own (all it ever touches); Manage Events covers
    # everyone's, so it does too.
    if not (permissions.create_events or permissions.manage_events or permissions.administrator):
        where = channel.mention if channel is not None else "this server"
        raise BotLacksPermissions(f"I need the Create Events permission in {where} to list it in the server's events.")
    if isinstance(channel, discord.StageChannel) and not (
        permissions.administrator
        or (permissions.manage_channels and permissions.mute_members and permissions.move_members)
    ):
        raise BotLacksPermissions(
            f"I can't manage the stage {channel.mention}: I need Manage Channels, Mute Members and Move Members there."
        )
    if isinstance(channel, discord.VoiceChannel) and not (permissions.view_channel and permissions.connect):
        raise BotLacksPermissions(
            f"I can't see or connect to {channel.mention}; give me View Channel and Connect there."
        )


async def ensure_room(bot: discord.Client, guild_id: int) -> None:
    """Refuse when the server already has Discord's maximum of upcoming native events."""
    events = await bot.http.get_scheduled_events(guild_id, False)
    upcoming = [event for event in events if event.get("status") in (1, 2)]
    if len(upcoming) >= MAX_UPCOMING_NATIVE_EVENTS:
        raise Conflict(
            f"This server already has {MAX_UPCOMING_NATIVE_EVENTS} upcoming events, Discord's limit; "
            "cancel or finish one first."
        )


def _times(starts_at: datetime, ends_at: datetime | None) -> dict[str, Any]:
    body: dict[str, Any] = {"scheduled_start_time": starts_at.isoformat()}
    if ends_at is not None:
        body["scheduled_end_time"] = ends_at.isoformat()
    return body


async def create_native_event(
    bot: discord.Client,
    guild_id: int,
    *,
    name: str,
    description: str,
    starts_at: datetime,
    ends_at: datetime,
    place: NativePlace,
    recurrence_rule: dict[str, Any] | None = None,
    reason: str | None = None,
) -> int:
    """Create the native event and return its id; a refusal from Discord becomes one clear sentence."""
    body: dict[str, Any] = {
        "name": clip(name, NAME_MAX),
        "description": clip(description, DESCRIPTION_MAX),
        "privacy_level": 2,
        **_times(starts_at, ends_at),
        **place.payload(),
    }
    try:
        if recurrence_rule is not None:
            route = Route("POST", "/guilds/{guild_id}/scheduled-events", guild_id=guild_id)
            data = await bot.http.request(route, json={**body, "recurrence_rule": recurrence_rule}, reason=reason)
        else:
            data = await bot.http.create_guild_scheduled_event(guild_id, reason=reason, **body)
    except discord.Forbidden:
        raise BotLacksPermissions("I need the Create Events permission to list this in the server's events.") from None
    except discord.HTTPException as error:
        if error.status == 400:
            raise InvalidInput(f"Discord refused the event: {clip(error.text or 'invalid details', 300)}") from None
        raise
    return int(data["id"])


async def edit_native_event(
    bot: discord.Client,
    guild_id: int,
    event_id: int,
    *,
    name: str | None = None,
    description: str | None = None,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    place: NativePlace | None = None,
    recurrence_rule: dict[str, Any] | None = None,
    reason: str | None = None,
) -> None:
    """Make the native event follow an edit; only what is given changes."""
    body: dict[str, Any] = {}
    if name is not None:
        body["name"] = clip(name, NAME_MAX)
    if description is not None:
        body["description"] = clip(description, DESCRIPTION_MAX)
    if starts_at is not None:
        body.update(_times(starts_at, ends_at))
    elif ends_at is not None:
        body["scheduled_end_time"] = ends_at.isoformat()
    if place is not None:
        body.update(place.payload())
    if recurrence_rule is not None:
        route = Route(
            "PATCH",
            "/guilds/{guild_id}/scheduled-events/{event_id}",
            guild_id=guild_id,
            event_id=event_id,
        )
        await bot.http.request(route, json={**body, "recurrence_rule": recurrence_rule}, reason=reason)
    elif body:
        await bot.http.edit_scheduled_event(guild_id, event_id, reason=reason, **body)


async def native_status(bot: discord.Client, guild_id: int, event_id: int) -> NativeStatus | None:
    """Where Discord's copy is now; None if it is gone."""
    try:
        data = await bot.http.get_scheduled_event(guild_id, event_id, False)
    except discord.NotFound:
        return None
    return _STATUS_BY_CODE.get(int(data.get("status", 1)))


async def set_native_status(bot: discord.Client, guild_id: int, event_id: int, target: NativeStatus) -> bool:
    """Move the native event to `target` (active, completed, cancelled); True if Discord's copy is there now.

    Safe to repeat: a retry after a crash finds the event already moved and leaves it. A scheduled event is
    started first when asked to complete, since Discord completes only active ones.
    """
    current = await native_status(bot, guild_id, event_id)
    if current is None:
        log.info("Native event %s of guild %s is gone; nothing to mark %s", event_id, guild_id, target)
        return False
    if current == target:
        return True
    if current in (NativeStatus.COMPLETED, NativeStatus.CANCELLED):
        return False
    steps = [target]
    if target == NativeStatus.COMPLETED and current == NativeStatus.SCHEDULED:
        steps = [NativeStatus.ACTIVE, NativeStatus.COMPLETED]
    if target == NativeStatus.CANCELLED and current == NativeStatus.ACTIVE:
        # Discord cancels only scheduled events; an active one is ended instead.
        steps = [NativeStatus.COMPLETED]
    try:
        for step in steps:
            await bot.http.edit_scheduled_event(guild_id, event_id, status=_STATUS_CODES[step])
    except discord.NotFound:
        return False
    except discord.HTTPException as error:
        if error.code in _INVALID_TRANSITION_CODES:
            log.warning("Discord refused moving native event %s to %s: %s", event_id, target, error)
            return False
        raise
    return True


async def delete_native_event(bot: discord.Client, guild_id: int, event_id: int) -> None:
    """Remove a native event (undoing a creation whose later steps failed); already gone is fine."""
    with contextlib.suppress(discord.NotFound):
        await bot.http.delete_scheduled_event(guild_id, event_id)
