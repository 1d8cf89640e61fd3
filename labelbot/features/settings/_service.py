"""The rules of /settings: what a channel or role must be, and recording each change in the audit trail."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import discord
from sqlalchemy.ext.asyncio import AsyncSession

from labelbot.audit.service import record
from labelbot.errors import BotLacksPermissions, InvalidInput
from labelbot.guilds.models import GuildSettings
from labelbot.guilds.service import CHANNEL_KINDS, ROLE_KINDS, TOGGLES, get_guild_settings, set_own_zone
from labelbot.permissions import role_refusal
from labelbot.timeparse import parse_zone

if TYPE_CHECKING:
    from labelbot.client import LabelBot

# How each setting is named to people.
CHANNEL_NAMES: dict[str, str] = {
    "announcements": "announcements",
    "parties": "listening parties",
    "collab_board": "collab board",
    "events": "community events",
    "mod_log": "mod log",
    "dates": "anniversaries and label dates",
}
ROLE_NAMES: dict[str, str] = {
    "moderator": "moderator",
    "artist": "artist",
    "all_releases": "all-releases notification",
}
TOGGLE_NAMES: dict[str, str] = {
    "release_approval": "release approval",
    "collab_approval": "collab approval",
    "artists_create_events": "artists create events",
    "tier_keep_lower": "keep lower loyalty tiers",
    "web_page": "the public web page",
    "catalogue_anniversaries": "catalogue anniversaries",
}


@dataclass(frozen=True)
class Limit:
    """A number moderators set: the column keeping it, how people call it, its unit and the values allowed."""

    column: str
    name: str
    unit: str
    low: int
    high: int


# The numbers /settings limit sets; the smallest value of each says what switches it off, where anything does.
LIMITS: dict[str, Limit] = {
    "collab_daily_posts": Limit("collab_daily_posts", "daily collab posts per member", "", 1, 100),
    "announce_cooldown_minutes": Limit(
        "announce_cooldown_minutes", "announce-now cooldown per artist", " minutes", 0, 7 * 24 * 60
    ),
}

_BASE = ("view_channel", "send_messages", "embed_links")
_THREADS = ("create_public_threads", "send_messages_in_threads", "manage_threads")
# What the bot needs in each kind of channel to do its job there.
CHANNEL_NEEDS: dict[str, tuple[str, ...]] = {
    "announcements": _BASE,
    "parties": (*_BASE, *_THREADS),
    "events": (*_BASE, *_THREADS),
    "mod_log": _BASE,
    "dates": _BASE,
    "collab_board": (*_BASE, "send_messages_in_threads", "manage_threads"),
}
# On a text collab board each request gets a thread, and each match a private one.
TEXT_COLLAB_BOARD_NEEDS = ("create_public_threads", "create_private_threads")

PERMISSION_WORDS: dict[str, str] = {
    "view_channel": "View Channel",
    "send_messages": "Send Messages",
    "embed_links": "Embed Links",
    "create_public_threads": "Create Public Threads",
    "create_private_threads": "Create Private Threads",
    "send_messages_in_threads": "Send Messages in Threads",
    "manage_threads": "Manage Threads",
    "mention_everyone": "Mention @everyone, @here and All Roles",
}


@dataclass(frozen=True)
class Change:
    """One setting before and after; `changed` is False when it already had the value."""

    before: Any
    after: Any

    @property
    def changed(self) -> bool:
        return bool(self.before != self.after)


def channel_type_refusal(kind: str, channel: discord.abc.GuildChannel) -> str | None:
    """Why this channel can't serve as the `kind` channel, by its type, or None."""
    name = CHANNEL_NAMES[kind]
    if isinstance(channel, discord.ForumChannel):
        if kind == "collab_board":
            return None
        return f"The {name} channel has to be a text or announcement channel, not a forum."
    if isinstance(channel, discord.TextChannel):
        if kind == "collab_board" and channel.is_news():
            return "The collab board has to be a text channel or a forum, not an announcement channel."
        return None
    return f"The {name} channel has to be a text or announcement channel."


def missing_channel_permissions(
    kind: str, channel: discord.abc.GuildChannel, granted: discord.Permissions
) -> list[str]:
    """The permissions the bot lacks in `channel` to serve as the `kind` channel, in Discord's words."""
    needs = CHANNEL_NEEDS[kind]
    if kind == "collab_board" and not isinstance(channel, discord.ForumChannel):
        needs = (*needs, *TEXT_COLLAB_BOARD_NEEDS)
    return [PERMISSION_WORDS[name] for name in needs if not getattr(granted, name)]


def check_channel(kind: str, channel: discord.abc.GuildChannel, me: discord.Member) -> list[str]:
    """Refuse a channel of the wrong type or one the bot can't work in; return warnings worth showing."""
    refusal = channel_type_refusal(kind, channel)
    if refusal is not None:
        raise InvalidInput(refusal)
    granted = channel.permissions_for(me)
    missing = missing_channel_permissions(kind, channel, granted)
    if missing:
        raise BotLacksPermissions(
            f"I can't use {channel.mention} as the {CHANNEL_NAMES[kind]} channel: I'm missing "
            f"{_words(missing)} there. Nothing was changed."
        )
    warnings = []
    if kind == "announcements" and not granted.mention_everyone:
        warnings.append(
            f"Without {PERMISSION_WORDS['mention_everyone']} in {channel.mention} I can ping only roles that are "
            "set to be mentionable (fan roles I create are not)."
        )
    return warnings


# The roles that give power over the bot; a role members can get from the bot must never be one of them.
POWER_ROLE_KINDS = ("moderator", "artist")


def check_role(
    kind: str, role: discord.Role, me: discord.Member, settings: GuildSettings, handed_out_as: str | None
) -> None:
    """Refuse a role that can't serve as the `kind` role.

    `handed_out_as` says how the bot gives the role to members, if it does (a panel, a loyalty tier, an artist's
    fan role): such a role can't become the moderator or artist role, or any fan could make themselves one.
    """
    if role.is_default():
        raise InvalidInput(f"@everyone can't be the {ROLE_NAMES[kind]} role.")
    if kind in POWER_ROLE_KINDS:
        if handed_out_as is None and role.id == settings.all_releases_role_id:
            handed_out_as = "the all-releases notification role"
        if handed_out_as is not None:
            raise InvalidInput(
                f"{role.mention} is {handed_out_as}, so members can get it from me; it can't be the "
                f"{ROLE_NAMES[kind]} role. Take it off there first, or pick another role."
            )
    if kind == "all_releases":
        refusal = role_refusal(role, me, settings)
        if refusal is not None:
            raise InvalidInput(refusal)


def _words(items: list[str]) -> str:
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + " and " + items[-1]


def _as_stored(value: Any) -> Any:
    return value


@dataclass(frozen=True)
class _Audited:
    """How a kind of setting goes into the audit trail: its action, the key of its value, how the stored one reads."""

    action: str
    key: str
    read: Callable[[Any], Any] = _as_stored


_TIMEZONE = _Audited("settings.timezone", "timezone")
_CHANNEL = _Audited("settings.channel", "channel_id")
_ROLE = _Audited("settings.role", "role_id")
_TOGGLE = _Audited("settings.toggle", "enabled", read=bool)
_LIMIT = _Audited("settings.limit", "value", read=int)


async def _set_setting(
    bot: LabelBot,
    session: AsyncSession,
    guild_id: int,
    actor_id: int,
    audited: _Audited,
    column: str,
    value: Any,
    target: str,
) -> Change:
    """Set one column of the server's settings; a real change is recorded as `{key: before}` -> `{key: after}`.

    Recorded after the change, so setting the mod log itself is the first entry posted there.
    """
    settings = await get_guild_settings(session, guild_id)
    change = Change(audited.read(getattr(settings, column)), value)
    if change.changed:
        setattr(settings, column, value)
        await record(
            bot,
            session,
            guild_id=guild_id,
            actor_id=actor_id,
            action=audited.action,
            target=target,
            before={audited.key: change.before},
            after={audited.key: change.after},
        )
    return change


async def set_timezone(bot: LabelBot, session: AsyncSession, guild_id: int, actor_id: int, name: str) -> Change:
    """Set the server's zone (an IANA name or a common abbreviation)."""
    zone = parse_zone(name)
    return await _set_setting(bot, session, guild_id, actor_id, _TIMEZONE, "timezone", zone, "server time zone")


async def set_channel(
    bot: LabelBot, session: AsyncSession, guild_id: int, actor_id: int, kind: str, channel_id: int | None
) -> Change:
    """Point the bot at a channel for `kind` (None: forget it); the caller checked the channel."""
    target = f"{CHANNEL_NAMES[kind]} channel"
    return await _set_setting(bot, session, guild_id, actor_id, _CHANNEL, CHANNEL_KINDS[kind], channel_id, target)


async def set_role(
    bot: LabelBot, session: AsyncSession, guild_id: int, actor_id: int, kind: str, role_id: int | None
) -> Change:
    """Set the role for `kind` (None: forget it); the caller checked the role."""
    target = f"{ROLE_NAMES[kind]} role"
    return await _set_setting(bot, session, guild_id, actor_id, _ROLE, ROLE_KINDS[kind], role_id, target)


async def set_toggle(
    bot: LabelBot, session: AsyncSession, guild_id: int, actor_id: int, name: str, enabled: bool
) -> Change:
    """Switch a feature toggle on or off."""
    return await _set_setting(bot, session, guild_id, actor_id, _TOGGLE, TOGGLES[name], enabled, TOGGLE_NAMES[name])


async def set_limit(
    bot: LabelBot, session: AsyncSession, guild_id: int, actor_id: int, name: str, value: int
) -> Change:
    """Set one of the server's numbers (quotas, cooldowns), within what makes sense for it."""
    limit = LIMITS[name]
    if not limit.low <= value <= limit.high:
        raise InvalidInput(f"The {limit.name} has to be between {limit.low} and {limit.high}{limit.unit}.")
    return await _set_setting(bot, session, guild_id, actor_id, _LIMIT, limit.column, value, limit.name)


async def set_member_zone(
    bot: LabelBot, session: AsyncSession, guild_id: int, user_id: int, name: str | None
) -> Change:
    """Set (or with None, forget) the zone a member's own times are read in.

    Recorded in the audit trail but not posted to the mod log: it is the member's own preference, and where
    someone lives is not the moderators' business unless they look it up.
    """
    zone = parse_zone(name) if name is not None else None
    before = await set_own_zone(session, user_id, zone)
    change = Change(before, zone)
    if change.changed:
        await record(
            bot,
            session,
            guild_id=guild_id,
            actor_id=user_id,
            action="settings.my_timezone",
            target="own time zone",
            before={"timezone": change.before},
            after={"timezone": change.after},
            post=False,
        )
    return change
