"""The fake's world: users, guilds, channels, roles, members, messages, scheduled events.

Plain dataclasses with ``to_json()`` methods that produce the payload shapes Discord sends
(https://discord.com/developers/docs/resources/...), so REST answers and gateway events are
built from one place. Ids are time-based snowflakes serialised as strings.
"""

from __future__ import annotations

import itertools
import threading
import time
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import IntEnum
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

if TYPE_CHECKING:
    from .fake import FakeDiscord

DISCORD_EPOCH_MS = 1420070400000


class SnowflakeGenerator:
    """Real-looking snowflakes: (ms since 2015 << 22) | worker << 17 | process << 12 | increment.

    https://discord.com/developers/docs/reference#snowflakes. Ids made "now" are strictly
    increasing (message order == id order, as on Discord); ``at_ms`` makes an id for another
    moment (guilds created in the past), unique through the per-millisecond increment.
    """

    def __init__(self, worker: int = 1, process: int = 0) -> None:
        self._lock = threading.Lock()
        self._last = 0
        self._low = (worker & 0x1F) << 17 | (process & 0x1F) << 12
        self._increments: dict[int, int] = {}

    def next(self, at_ms: int | None = None) -> int:
        with self._lock:
            if at_ms is not None:
                inc = self._increments.get(at_ms, 0)
                self._increments[at_ms] = inc + 1
                return ((at_ms - DISCORD_EPOCH_MS) << 22) | self._low | (inc & 0xFFF)
            ms = int(time.time() * 1000)
            candidate = ((ms - DISCORD_EPOCH_MS) << 22) | self._low
            if candidate <= self._last:
                candidate = self._last + 1
            self._last = candidate
            return candidate


def snowflake_time(snowflake: int) -> datetime:
    return datetime.fromtimestamp(((snowflake >> 22) + DISCORD_EPOCH_MS) / 1000, UTC)


def iso(dt: datetime | None) -> str | None:
    if dt is None:
        return None
    return dt.astimezone(UTC).isoformat(timespec="microseconds")


def now() -> datetime:
    return datetime.now(UTC)


class ChannelType(IntEnum):
    """https://discord.com/developers/docs/resources/channel#channel-object-channel-types"""

    text = 0
    dm = 1
    voice = 2
    group = 3
    category = 4
    news = 5
    news_thread = 10
    public_thread = 11
    private_thread = 12
    stage = 13
    directory = 14
    forum = 15
    media = 16
    # aliases
    announcement = 5
    stage_voice = 13
    announcement_thread = 10


THREAD_TYPES = {ChannelType.news_thread, ChannelType.public_thread, ChannelType.private_thread}


class Permissions:
    """Bit values from https://discord.com/developers/docs/topics/permissions#permissions-bitwise-permission-flags"""

    CREATE_INSTANT_INVITE = 1 << 0
    KICK_MEMBERS = 1 << 1
    BAN_MEMBERS = 1 << 2
    ADMINISTRATOR = 1 << 3
    MANAGE_CHANNELS = 1 << 4
    MANAGE_GUILD = 1 << 5
    ADD_REACTIONS = 1 << 6
    VIEW_AUDIT_LOG = 1 << 7
    VIEW_CHANNEL = 1 << 10
    SEND_MESSAGES = 1 << 11
    MANAGE_MESSAGES = 1 << 13
    EMBED_LINKS = 1 << 14
    ATTACH_FILES = 1 << 15
    READ_MESSAGE_HISTORY = 1 << 16
    MENTION_EVERYONE = 1 << 17
    USE_EXTERNAL_EMOJIS = 1 << 18
    CONNECT = 1 << 20
    SPEAK = 1 << 21
    MUTE_MEMBERS = 1 << 22
    MOVE_MEMBERS = 1 << 24
    CHANGE_NICKNAME = 1 << 26
    MANAGE_NICKNAMES = 1 << 27
    MANAGE_ROLES = 1 << 28
    MANAGE_WEBHOOKS = 1 << 29
    USE_APPLICATION_COMMANDS = 1 << 31
    MANAGE_EVENTS = 1 << 33
    MANAGE_THREADS = 1 << 34
    CREATE_PUBLIC_THREADS = 1 << 35
    CREATE_PRIVATE_THREADS = 1 << 36
    SEND_MESSAGES_IN_THREADS = 1 << 38
    MODERATE_MEMBERS = 1 << 40
    CREATE_EVENTS = 1 << 44
    SET_VOICE_CHANNEL_STATUS = 1 << 48
    SEND_POLLS = 1 << 49
    # Since 2026-02-23 pinning and unpinning need their own permission; Manage Messages no longer grants it.
    PIN_MESSAGES = 1 << 51
    ALL = (1 << 52) - 1

    # What a typical bot invite grants: no administrator, no @everyone mentions.
    BOT_DEFAULT = (
        VIEW_CHANNEL
        | SEND_MESSAGES
        | SEND_MESSAGES_IN_THREADS
        | EMBED_LINKS
        | ATTACH_FILES
        | READ_MESSAGE_HISTORY
        | ADD_REACTIONS
        | USE_EXTERNAL_EMOJIS
        | MANAGE_MESSAGES
        | MANAGE_ROLES
        | MANAGE_CHANNELS
        | MANAGE_EVENTS
        | CREATE_EVENTS
        | MANAGE_THREADS
        | CREATE_PUBLIC_THREADS
        | CREATE_PRIVATE_THREADS
        | USE_APPLICATION_COMMANDS
        | CHANGE_NICKNAME
        | SET_VOICE_CHANNEL_STATUS
        | PIN_MESSAGES
        | MUTE_MEMBERS
        | MOVE_MEMBERS
    )
    # @everyone's permissions in a new server (roughly Discord's default set).
    EVERYONE_DEFAULT = (
        CREATE_INSTANT_INVITE
        | ADD_REACTIONS
        | VIEW_CHANNEL
        | SEND_MESSAGES
        | EMBED_LINKS
        | ATTACH_FILES
        | READ_MESSAGE_HISTORY
        | USE_EXTERNAL_EMOJIS
        | CONNECT
        | SPEAK
        | CHANGE_NICKNAME
        | USE_APPLICATION_COMMANDS
        | CREATE_PUBLIC_THREADS
        | SEND_MESSAGES_IN_THREADS
    )


# ---------------------------------------------------------------------------------------------


@dataclass(eq=False)
class FakeUser:
    id: int
    name: str
    bot: bool = False
    global_name: str | None = None
    dms_closed: bool = False
    avatar: str | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(self.id),
            "username": self.name,
            "discriminator": "0",
            "global_name": self.global_name if self.global_name is not None else (None if self.bot else self.name),
            "avatar": self.avatar,
            "public_flags": 0,
            "flags": 0,
            "primary_guild": None,
            "avatar_decoration_data": None,
            "collectibles": None,
            "banner": None,
            "accent_color": None,
        }
        if self.bot:
            data["bot"] = True
        return data

    @property
    def mention(self) -> str:
        return f"<@{self.id}>"

    def __repr__(self) -> str:
        return f"<FakeUser id={self.id} name={self.name!r}{' bot' if self.bot else ''}>"


@dataclass(eq=False)
class FakeRole:
    id: int
    guild_id: int
    name: str
    permissions: int = 0
    position: int = 0
    color: int = 0
    hoist: bool = False
    managed: bool = False
    mentionable: bool = False
    bot_id: int | None = None
    icon: str | None = None
    unicode_emoji: str | None = None
    deleted: bool = False

    def to_json(self) -> dict[str, Any]:
        tags: dict[str, Any] = {}
        if self.bot_id is not None:
            tags["bot_id"] = str(self.bot_id)
        data: dict[str, Any] = {
            "id": str(self.id),
            "name": self.name,
            "description": None,
            "permissions": str(self.permissions),
            "position": self.position,
            "color": self.color,
            "colors": {"primary_color": self.color, "secondary_color": None, "tertiary_color": None},
            "hoist": self.hoist,
            "managed": self.managed,
            "mentionable": self.mentionable,
            "icon": self.icon,
            "unicode_emoji": self.unicode_emoji,
            "flags": 0,
        }
        if tags:
            data["tags"] = tags
        return data

    @property
    def mention(self) -> str:
        return f"<@&{self.id}>"

    def __repr__(self) -> str:
        return f"<FakeRole id={self.id} name={self.name!r} position={self.position}>"


@dataclass(eq=False)
class FakeMember:
    guild: FakeGuild
    user: FakeUser
    role_ids: list[int] = field(default_factory=list)
    nick: str | None = None
    joined_at: datetime = field(default_factory=now)
    communication_disabled_until: str | None = None
    deaf: bool = False
    mute: bool = False
    pending: bool = False

    @property
    def id(self) -> int:
        return self.user.id

    @property
    def roles(self) -> list[FakeRole]:
        """The member's assigned roles (without @everyone), lowest position first."""
        roles = [self.guild._roles[r] for r in self.role_ids if r in self.guild._roles]
        return sorted(roles, key=lambda r: (r.position, r.id))

    @property
    def top_position(self) -> int:
        return max((r.position for r in self.roles), default=0)

    @property
    def permissions(self) -> int:
        return self.guild.permissions_for(self)

    def has_role(self, role: FakeRole | int) -> bool:
        rid = role.id if isinstance(role, FakeRole) else int(role)
        return rid in self.role_ids

    def to_json(self, *, with_user: bool = True, with_permissions: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "roles": [str(r) for r in self.role_ids],
            "nick": self.nick,
            "avatar": None,
            "banner": None,
            "joined_at": iso(self.joined_at),
            "premium_since": None,
            "deaf": self.deaf,
            "mute": self.mute,
            "flags": 0,
            "pending": self.pending,
            "communication_disabled_until": self.communication_disabled_until,
        }
        if with_user:
            data["user"] = self.user.to_json()
        if with_permissions:
            data["permissions"] = str(self.permissions)
        return data

    def __repr__(self) -> str:
        return f"<FakeMember {self.user.name!r} roles={[r.name for r in self.roles]}>"


@dataclass(eq=False)
class FakeChannel:
    id: int
    type: ChannelType
    name: str | None = None
    guild_id: int | None = None
    position: int = 0
    topic: str | None = None
    parent_id: int | None = None
    nsfw: bool = False
    rate_limit_per_user: int = 0
    bitrate: int = 64000
    user_limit: int = 0
    permission_overwrites: list[dict[str, Any]] = field(default_factory=list)
    available_tags: list[dict[str, Any]] = field(default_factory=list)
    default_auto_archive_duration: int = 4320
    flags: int = 0
    # threads
    owner_id: int | None = None
    archived: bool = False
    locked: bool = False
    auto_archive_duration: int = 4320
    archive_timestamp: datetime | None = None
    invitable: bool = True
    applied_tags: list[int] = field(default_factory=list)
    thread_member_ids: set[int] = field(default_factory=set)
    message_count: int = 0
    total_message_sent: int = 0
    # DMs
    recipients: list[FakeUser] = field(default_factory=list)
    last_message_id: int | None = None
    # voice and stage channels: the status line ("Now playing ...") set through PUT /channels/{id}/voice-status
    voice_status: str | None = None
    # stage channels: the live stage instance opened through POST /stage-instances, as Discord returns it
    stage_instance: dict[str, Any] | None = None
    deleted: bool = False
    created_at: datetime = field(default_factory=now)

    @property
    def is_thread(self) -> bool:
        return self.type in THREAD_TYPES

    @property
    def mention(self) -> str:
        return f"<#{self.id}>"

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(self.id),
            "type": int(self.type),
            "flags": self.flags,
            "last_message_id": str(self.last_message_id) if self.last_message_id else None,
        }
        if self.type == ChannelType.dm:
            data["recipients"] = [u.to_json() for u in self.recipients]
            return data
        data.update(
            {
                "guild_id": str(self.guild_id),
                "name": self.name,
                "parent_id": str(self.parent_id) if self.parent_id else None,
                "nsfw": self.nsfw,
                "rate_limit_per_user": self.rate_limit_per_user,
            }
        )
        if self.is_thread:
            data.update(
                {
                    "owner_id": str(self.owner_id) if self.owner_id else None,
                    "message_count": self.message_count,
                    "total_message_sent": self.total_message_sent,
                    "member_count": len(self.thread_member_ids),
                    "applied_tags": [str(t) for t in self.applied_tags],
                    "thread_metadata": {
                        "archived": self.archived,
                        "locked": self.locked,
                        "auto_archive_duration": self.auto_archive_duration,
                        "archive_timestamp": iso(self.archive_timestamp or self.created_at),
                        "create_timestamp": iso(self.created_at),
                        "invitable": self.invitable,
                    },
                }
            )
            return data
        data.update(
            {
                "position": self.position,
                "permission_overwrites": list(self.permission_overwrites),
            }
        )
        if self.type in (ChannelType.text, ChannelType.news, ChannelType.forum, ChannelType.media):
            data["topic"] = self.topic
            data["default_auto_archive_duration"] = self.default_auto_archive_duration
        if self.type in (ChannelType.voice, ChannelType.stage):
            data.update({"bitrate": self.bitrate, "user_limit": self.user_limit, "rtc_region": None})
        if self.type in (ChannelType.forum, ChannelType.media):
            data.update(
                {
                    "available_tags": [dict(t) for t in self.available_tags],
                    "default_reaction_emoji": None,
                    "default_thread_rate_limit_per_user": 0,
                    "default_sort_order": None,
                    "default_forum_layout": 0,
                }
            )
        return data

    def __repr__(self) -> str:
        return f"<FakeChannel id={self.id} name={self.name!r} type={self.type.name}>"


@dataclass(eq=False)
class FakeAttachment:
    id: int
    filename: str
    data: bytes = b""
    description: str | None = None
    content_type: str | None = None
    channel_id: int = 0
    ephemeral: bool = False
    # Where the fake serves the file (an attachment a member uploads as a command option), instead of Discord's CDN.
    cdn_base: str | None = None

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def url(self) -> str:
        if self.cdn_base is None:
            return f"https://cdn.discordapp.com/attachments/{self.channel_id}/{self.id}/{self.filename}"
        # Discord's URLs never let a filename leave its path segment ("../x" included).
        return f"{self.cdn_base}/attachments/{self.channel_id}/{self.id}/{quote(self.filename, safe='')}"

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(self.id),
            "filename": self.filename,
            "size": self.size,
            "url": self.url,
            "proxy_url": self.url.replace("cdn.discordapp.com", "media.discordapp.net"),
            "content_type": self.content_type,
        }
        if self.description is not None:
            data["description"] = self.description
        if self.ephemeral:
            data["ephemeral"] = True
        return data


# https://discord.com/developers/docs/resources/message#message-object-message-flags
FLAG_CROSSPOSTED = 1 << 0
FLAG_HAS_THREAD = 1 << 5
FLAG_EPHEMERAL = 1 << 6
FLAG_LOADING = 1 << 7
FLAG_SUPPRESS_NOTIFICATIONS = 1 << 12
FLAG_IS_COMPONENTS_V2 = 1 << 15


class ComponentsV2Reading:
    """What a reader sees of a Components V2 message (shared by messages and interaction replies)."""

    content: str
    components: list[dict[str, Any]]
    flags: int

    @property
    def is_v2(self) -> bool:
        return bool(self.flags & FLAG_IS_COMPONENTS_V2)

    @property
    def text_displays(self) -> list[str]:
        """The text of every Text Display component, in reading order (Components V2)."""
        return [str(c.get("content") or "") for c in iter_components(self.components) if c.get("type") == 10]

    @property
    def media_urls(self) -> list[str]:
        """Images shown by thumbnails and media galleries (Components V2)."""
        urls: list[str] = []
        for c in iter_components(self.components):
            if c.get("type") == 11:
                urls.append(str((c.get("media") or {}).get("url")))
            if c.get("type") == 12:
                urls.extend(str((item.get("media") or {}).get("url")) for item in c.get("items") or [])
        return urls

    @property
    def link_buttons(self) -> list[tuple[str, str]]:
        """(label, url) of every link button."""
        return [
            (str(c.get("label")), str(c["url"]))
            for c in iter_components(self.components)
            if c.get("type") == 2 and c.get("style") == 5 and c.get("url")
        ]

    @property
    def accent_colours(self) -> list[int | None]:
        """The accent colour of each container, in order."""
        return [c.get("accent_color") for c in iter_components(self.components) if c.get("type") == 17]

    def containers(self, *, without_ids: bool = True) -> list[dict[str, Any]]:
        """The message's containers as sent (component ids dropped: Discord numbers them per message)."""
        found = [c for c in self.components if c.get("type") == 17]
        return [strip_component_ids(c) for c in found] if without_ids else found


@dataclass(eq=False)
class FakeMessage(ComponentsV2Reading):
    id: int
    channel_id: int
    author: FakeUser
    guild_id: int | None = None
    content: str = ""
    embeds: list[dict[str, Any]] = field(default_factory=list)
    components: list[dict[str, Any]] = field(default_factory=list)
    allowed_mentions: dict[str, Any] | None = None
    nonce: str | int | None = None
    flags: int = 0
    attachments: list[FakeAttachment] = field(default_factory=list)
    thread: FakeChannel | None = None
    deleted: bool = False
    edits: int = 0
    edited_at: datetime | None = None
    created_at: datetime = field(default_factory=now)
    type: int = 0
    tts: bool = False
    pinned: bool = False
    sticker_ids: list[str] = field(default_factory=list)
    poll: dict[str, Any] | None = None
    message_reference: dict[str, Any] | None = None
    webhook_id: int | None = None
    application_id: int | None = None
    interaction_metadata: dict[str, Any] | None = None
    mentions: list[int] = field(default_factory=list)
    mention_roles: list[int] = field(default_factory=list)
    mention_everyone: bool = False
    reactions: dict[str, list[int]] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)

    @property
    def author_id(self) -> int:
        return self.author.id

    @property
    def crossposted(self) -> bool:
        return bool(self.flags & FLAG_CROSSPOSTED)

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & FLAG_EPHEMERAL)

    @property
    def custom_ids(self) -> list[str]:
        return [c["custom_id"] for c in iter_components(self.components) if "custom_id" in c]

    @property
    def text(self) -> str:
        """What a reader sees as text: the content, then every Text Display (so tests read V2 and legacy alike)."""
        return "\n".join(part for part in [self.content, *self.text_displays] if part)

    def to_json(self, fake: FakeDiscord | None = None, *, content_visible: bool = True) -> dict[str, Any]:
        users = fake._users if fake is not None else {}
        data: dict[str, Any] = {
            "id": str(self.id),
            "channel_id": str(self.channel_id),
            "type": self.type,
            "content": self.content if content_visible else "",
            "author": self.author.to_json(),
            "attachments": [a.to_json() for a in self.attachments] if content_visible else [],
            "embeds": [dict(e) for e in self.embeds] if content_visible else [],
            "components": list(self.components) if content_visible else [],
            "mentions": [users[u].to_json() for u in self.mentions if u in users],
            "mention_roles": [str(r) for r in self.mention_roles],
            "mention_everyone": self.mention_everyone,
            "pinned": self.pinned,
            "tts": self.tts,
            "timestamp": iso(self.created_at),
            "edited_timestamp": iso(self.edited_at),
            "flags": self.flags,
            "sticker_items": [],
        }
        if self.nonce is not None:
            data["nonce"] = self.nonce
        if self.guild_id is not None:
            data["guild_id"] = str(self.guild_id)
        if self.webhook_id is not None:
            data["webhook_id"] = str(self.webhook_id)
        if self.application_id is not None:
            data["application_id"] = str(self.application_id)
        if self.interaction_metadata is not None:
            data["interaction_metadata"] = self.interaction_metadata
        if self.message_reference is not None:
            data["message_reference"] = self.message_reference
        if self.poll is not None and content_visible:
            data["poll"] = self.poll
        if self.thread is not None:
            data["thread"] = self.thread.to_json()
        if self.reactions:
            data["reactions"] = [
                {
                    "emoji": _emoji_json(k),
                    "count": len(v),
                    "me": bool(fake and fake.bot_user.id in v),
                    "burst_count": 0,
                    "me_burst": False,
                    "burst_colors": [],
                    "count_details": {"burst": 0, "normal": len(v)},
                }
                for k, v in self.reactions.items()
                if v
            ]
        return data

    def __repr__(self) -> str:
        return f"<FakeMessage id={self.id} author={self.author.name!r} content={self.content[:40]!r}>"


def _emoji_json(key: str) -> dict[str, Any]:
    if ":" in key:
        name, _, eid = key.rpartition(":")
        return {"id": eid, "name": name.lstrip("a:") if name.startswith("a:") else name}
    return {"id": None, "name": key}


def _drop_null_emoji_id(item: dict[str, Any]) -> None:
    """A Unicode emoji comes back as ``{"name": ...}``: the spec's ComponentEmojiResponse has no null id."""
    emoji = item.get("emoji")
    if isinstance(emoji, dict) and "id" in emoji and emoji["id"] is None:
        item["emoji"] = {k: v for k, v in emoji.items() if k != "id"}


def _unfurled(media: Any) -> dict[str, Any]:
    """An unfurled media item as Discord answers it: the url, a proxy url and a stable id."""
    url = str((media or {}).get("url") or "") if isinstance(media, dict) else ""
    return {
        "id": str(10**17 + zlib.crc32(url.encode())),
        "url": url,
        "proxy_url": "https://media.discordapp.net/external/" + url.split("://", 1)[-1],
        "width": None,
        "height": None,
        "content_type": None,
    }


def _resolve_v2_defaults(c: dict[str, Any]) -> None:
    """Fill in what Discord adds to Components V2 components in its answers (component reference)."""
    t = c.get("type")
    if t == 11:
        c["media"] = _unfurled(c.get("media"))
        c.setdefault("description", None)
        c.setdefault("spoiler", False)
    elif t == 12 and isinstance(c.get("items"), list):
        c["items"] = [
            {**item, "media": _unfurled(item.get("media")), "description": item.get("description"),
             "spoiler": bool(item.get("spoiler"))}
            for item in c["items"]
            if isinstance(item, dict)
        ]  # fmt: skip
    elif t == 14:
        c.setdefault("spacing", 1)
        c.setdefault("divider", True)
    elif t == 17:
        c.setdefault("accent_color", None)
        c.setdefault("spoiler", False)


def assign_component_ids(components: Any) -> list[dict[str, Any]]:
    """Discord numbers every component of a message (``id``, 1..n in tree order) when none is given
    (component reference: "id ... auto populated through increment if not provided")."""
    comps = [dict(c) for c in components or [] if isinstance(c, dict)]
    used = {c["id"] for c in iter_components(comps) if isinstance(c.get("id"), int)}
    counter = itertools.count(1)

    def fill(items: list[dict[str, Any]]) -> None:
        for c in items:
            if not isinstance(c.get("id"), int):
                n = next(counter)
                while n in used:
                    n = next(counter)
                c["id"] = n
            _drop_null_emoji_id(c)
            _resolve_v2_defaults(c)
            if isinstance(c.get("options"), list):
                c["options"] = [dict(o) for o in c["options"] if isinstance(o, dict)]
                for option in c["options"]:
                    _drop_null_emoji_id(option)
            if isinstance(c.get("components"), list):
                c["components"] = [dict(x) for x in c["components"] if isinstance(x, dict)]
                fill(c["components"])
            if isinstance(c.get("accessory"), dict):
                c["accessory"] = dict(c["accessory"])
                fill([c["accessory"]])
            if isinstance(c.get("component"), dict):
                c["component"] = dict(c["component"])
                fill([c["component"]])

    fill(comps)
    return comps


def strip_component_ids(node: Any) -> Any:
    """A component tree without the numeric ``id`` Discord assigns, to compare two messages' layouts."""
    if isinstance(node, list):
        return [strip_component_ids(x) for x in node]
    if isinstance(node, dict):
        return {k: strip_component_ids(v) for k, v in node.items() if k != "id" or not isinstance(v, int)}
    return node


def iter_components(components: Any) -> Any:
    """Every component nested in rows, sections, containers and labels."""
    if not isinstance(components, list):
        return
    for c in components:
        if not isinstance(c, dict):
            continue
        yield c
        if isinstance(c.get("components"), list):
            yield from iter_components(c["components"])
        if isinstance(c.get("accessory"), dict):
            yield from iter_components([c["accessory"]])
        if isinstance(c.get("component"), dict):
            yield from iter_components([c["component"]])


@dataclass(eq=False)
class FakeScheduledEvent:
    id: int
    guild_id: int
    name: str
    scheduled_start_time: str
    entity_type: int
    privacy_level: int = 2
    status: int = 1
    description: str | None = None
    scheduled_end_time: str | None = None
    channel_id: int | None = None
    creator_id: int | None = None
    entity_id: int | None = None
    entity_metadata: dict[str, Any] | None = None
    recurrence_rule: dict[str, Any] | None = None
    image: str | None = None
    subscriber_ids: list[int] = field(default_factory=list)
    deleted: bool = False
    edits: int = 0

    # https://discord.com/developers/docs/resources/guild-scheduled-event#guild-scheduled-event-object-guild-scheduled-event-status
    SCHEDULED, ACTIVE, COMPLETED, CANCELED = 1, 2, 3, 4

    @property
    def user_count(self) -> int:
        return len(self.subscriber_ids)

    def to_json(self, fake: FakeDiscord | None = None, *, with_user_count: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(self.id),
            "guild_id": str(self.guild_id),
            "channel_id": str(self.channel_id) if self.channel_id else None,
            "creator_id": str(self.creator_id) if self.creator_id else None,
            "name": self.name,
            "description": self.description,
            "scheduled_start_time": self.scheduled_start_time,
            "scheduled_end_time": self.scheduled_end_time,
            "privacy_level": self.privacy_level,
            "status": self.status,
            "entity_type": self.entity_type,
            "entity_id": str(self.entity_id) if self.entity_id else None,
            "entity_metadata": self.entity_metadata,
            "image": self.image,
            "recurrence_rule": normalise_recurrence_rule(self.recurrence_rule),
            "guild_scheduled_event_exceptions": [],
            "auto_start": False,
        }
        if fake is not None and self.creator_id in fake._users:
            data["creator"] = fake._users[self.creator_id].to_json()
        if with_user_count:
            data["user_count"] = self.user_count
        return data

    def __repr__(self) -> str:
        return f"<FakeScheduledEvent id={self.id} name={self.name!r} status={self.status}>"


_RULE_KEYS = (
    "start",
    "end",
    "frequency",
    "interval",
    "by_weekday",
    "by_n_weekday",
    "by_month",
    "by_month_day",
    "by_year_day",
    "count",
)


def normalise_recurrence_rule(rule: dict[str, Any] | None) -> dict[str, Any] | None:
    """Discord answers the full recurrence-rule shape, with null for what was not set."""
    if rule is None:
        return None
    out = {k: rule.get(k) for k in _RULE_KEYS}
    if out["interval"] is None:
        out["interval"] = 1
    return out


class FakeGuild:
    """A guild and its state. Create with ``fake.add_guild(...)``."""

    def __init__(self, fake: FakeDiscord, id: int, name: str, owner: FakeUser, member_count: int | None) -> None:
        self._fake = fake
        self.id = id
        self.name = name
        self.owner_id = owner.id
        self._member_count = member_count
        self._roles: dict[int, FakeRole] = {}
        self._channels: dict[int, FakeChannel] = {}
        self._members: dict[int, FakeMember] = {}
        self._events: dict[int, FakeScheduledEvent] = {}
        self.bot_role: FakeRole | None = None
        self.features: list[str] = ["COMMUNITY", "NEWS"]
        self.preferred_locale = "en-US"
        self.unavailable = False
        # Server Settings > Integrations: per-command overrides an admin sets, command name -> role/user ids
        # let in. They replace the command's default_member_permissions for those members.
        self.command_overrides: dict[str, set[int]] = {}

    # ---- views ---------------------------------------------------------------------------
    @property
    def roles(self) -> list[FakeRole]:
        return sorted(self._roles.values(), key=lambda r: (r.position, r.id))

    @property
    def channels(self) -> list[FakeChannel]:
        return [c for c in self._channels.values() if not c.is_thread and not c.deleted]

    @property
    def threads(self) -> list[FakeChannel]:
        return [c for c in self._channels.values() if c.is_thread and not c.deleted]

    @property
    def members(self) -> list[FakeMember]:
        return list(self._members.values())

    @property
    def scheduled_events(self) -> list[FakeScheduledEvent]:
        return [e for e in self._events.values() if not e.deleted]

    @property
    def everyone(self) -> FakeRole:
        return self._roles[self.id]

    @property
    def owner(self) -> FakeMember:
        return self._members[self.owner_id]

    @property
    def me(self) -> FakeMember:
        return self._members[self._fake.bot_user.id]

    @property
    def member_count(self) -> int:
        return self._member_count if self._member_count is not None else len(self._members)

    @member_count.setter
    def member_count(self, value: int | None) -> None:
        self._member_count = value

    @property
    def shard_key(self) -> int:
        return self.id >> 22

    def _member_id(self, user: FakeUser | FakeMember | int | str) -> int:
        if isinstance(user, FakeUser | FakeMember):
            return user.id
        if isinstance(user, str) and not user.isdigit():
            for m in self._members.values():
                if m.user.name == user:
                    return m.id
            raise KeyError(user)
        return int(user)

    def member(self, user: FakeUser | FakeMember | int | str) -> FakeMember:
        """A member by user, id or username (KeyError if not a member)."""
        return self._members[self._member_id(user)]

    def get_member(self, user: FakeUser | FakeMember | int | str) -> FakeMember | None:
        try:
            return self._members.get(self._member_id(user))
        except KeyError:
            return None

    def role(self, key: int | str) -> FakeRole:
        """A role by id or by name."""
        if isinstance(key, str) and not key.isdigit():
            for r in self._roles.values():
                if r.name == key:
                    return r
            raise KeyError(key)
        return self._roles[int(key)]

    def channel(self, key: int | str) -> FakeChannel:
        """A channel or thread by id or by name."""
        if isinstance(key, str) and not key.isdigit():
            for c in self._channels.values():
                if c.name == key and not c.deleted:
                    return c
            raise KeyError(key)
        return self._channels[int(key)]

    def scheduled_event(self, key: int | str) -> FakeScheduledEvent:
        if isinstance(key, str) and not key.isdigit():
            for e in self._events.values():
                if e.name == key:
                    return e
            raise KeyError(key)
        return self._events[int(key)]

    def permissions_for(self, member: FakeMember) -> int:
        """Guild-level permissions (what the member has before any channel's overwrites)."""
        if member.id == self.owner_id:
            return Permissions.ALL
        perms = self.everyone.permissions
        for r in member.roles:
            perms |= r.permissions
        if perms & Permissions.ADMINISTRATOR:
            return Permissions.ALL
        return perms

    def channel_permissions_for(self, member: FakeMember, channel: FakeChannel) -> int:
        """The member's permissions in the channel: the guild's, then the channel's overwrites in Discord's order
        (@everyone, the member's roles together, the member), as in the permissions topic, "Permission Overwrites".
        A thread follows its parent channel; without View Channel a member has no permission there at all."""
        base = self.permissions_for(member)
        if base & Permissions.ADMINISTRATOR or member.id == self.owner_id:
            return Permissions.ALL
        if channel.is_thread and channel.parent_id is not None and channel.parent_id in self._channels:
            channel = self._channels[channel.parent_id]
        overwrites = {str(o["id"]): o for o in channel.permission_overwrites}
        perms = base

        def apply(entry: dict[str, Any] | None, perms: int) -> int:
            if entry is None:
                return perms
            return (perms & ~int(entry.get("deny") or 0)) | int(entry.get("allow") or 0)

        perms = apply(overwrites.get(str(self.id)), perms)
        allow = deny = 0
        for role in member.roles:
            entry = overwrites.get(str(role.id))
            if entry is not None and int(entry.get("type", 0)) == 0:
                allow |= int(entry.get("allow") or 0)
                deny |= int(entry.get("deny") or 0)
        perms = (perms & ~deny) | allow
        entry = overwrites.get(str(member.id))
        if entry is not None and int(entry.get("type", 0)) == 1:
            perms = apply(entry, perms)
        if not perms & Permissions.VIEW_CHANNEL:
            return 0
        return perms

    def can_see(self, member: FakeMember | FakeUser | int, channel: FakeChannel) -> bool:
        """Whether the member sees the channel in their channel list (View Channel there)."""
        return bool(self.channel_permissions_for(self.member(member), channel) & Permissions.VIEW_CHANNEL)

    def who_can_see(self, channel: FakeChannel) -> set[int]:
        """The ids of the members (bots included) who see the channel."""
        return {m.id for m in self.members if self.can_see(m, channel)}

    def open_command(self, name: str, *targets: FakeRole | FakeMember | FakeUser | int) -> None:
        """Let roles or members see the top-level command ``name`` whatever its default_member_permissions,
        as a server admin does in Server Settings > Integrations (the everyone role opens it to all)."""
        ids = {t if isinstance(t, int) else t.id for t in targets}
        self.command_overrides.setdefault(name, set()).update(ids)

    # ---- building ----------------------------------------------------------------------
    def add_channel(
        self,
        name: str,
        type: ChannelType | int = ChannelType.text,
        *,
        tags: list[str | dict[str, Any]] | None = None,
        topic: str | None = None,
        parent: FakeChannel | int | None = None,
        position: int | None = None,
        overwrites: list[dict[str, Any]] | None = None,
    ) -> FakeChannel:
        """A channel; `overwrites` are Discord's overwrite objects ({"id", "type": 0 role / 1 member, "allow",
        "deny"}), enforced for the bot's requests and for what members see (`can_see`)."""
        ctype = ChannelType(int(type))
        channel = FakeChannel(
            id=self._fake._ids.next(),
            type=ctype,
            name=name,
            guild_id=self.id,
            topic=topic,
            parent_id=(parent.id if isinstance(parent, FakeChannel) else parent),
            position=position if position is not None else len(self.channels),
        )
        if tags:
            channel.available_tags = [self._fake._make_tag(t) for t in tags]
        for o in overwrites or []:
            channel.permission_overwrites.append(
                {
                    "id": str(o["id"]),
                    "type": int(o.get("type", 0)),
                    "allow": str(o.get("allow", 0)),
                    "deny": str(o.get("deny", 0)),
                }
            )
        self._channels[channel.id] = channel
        self._fake._channels[channel.id] = channel
        self._fake._emit_guild(self, "CHANNEL_CREATE", channel.to_json())
        return channel

    def add_role(
        self,
        name: str,
        permissions: int = 0,
        position: int | None = None,
        managed: bool = False,
        mentionable: bool = False,
        *,
        color: int = 0,
        hoist: bool = False,
    ) -> FakeRole:
        role = FakeRole(
            id=self._fake._ids.next(),
            guild_id=self.id,
            name=name,
            permissions=permissions,
            managed=managed,
            mentionable=mentionable,
            color=color,
            hoist=hoist,
        )
        if position is None:
            # just below the bot's role, so the bot can manage it
            position = self.bot_role.position if self.bot_role is not None else len(self._roles)
        before = {r.id: r.position for r in self._roles.values()}
        self._insert_role(role, position)
        self._fake._emit_guild(self, "GUILD_ROLE_CREATE", {"guild_id": str(self.id), "role": role.to_json()})
        # The roles it pushed up moved too (the bot's own among them), as Discord tells clients.
        for moved in self._roles.values():
            if moved.id in before and before[moved.id] != moved.position:
                self._fake._emit_guild(self, "GUILD_ROLE_UPDATE", {"guild_id": str(self.id), "role": moved.to_json()})
        return role

    def _insert_role(self, role: FakeRole, position: int) -> None:
        """Place a (new or existing) role at ``position`` (>= 1); the roles from there up move up one.
        Positions stay a dense 1..n above @everyone (0), as Discord reports them."""
        if role.id == self.id:
            role.position = 0
            self._roles[role.id] = role
            return
        others = sorted(
            (r for r in self._roles.values() if r.id not in (self.id, role.id)), key=lambda r: (r.position, r.id)
        )
        index = min(max(1, position), len(others) + 1) - 1
        others.insert(index, role)
        self._roles[role.id] = role
        for i, r in enumerate(others, start=1):
            r.position = i

    def _normalise_positions(self) -> None:
        ordered = sorted((r for r in self._roles.values() if r.id != self.id), key=lambda r: (r.position, r.id))
        for i, r in enumerate(ordered, start=1):
            r.position = i

    def add_member(
        self,
        user: FakeUser | str,
        roles: list[FakeRole] | None = None,
        *,
        nick: str | None = None,
        joined_at: datetime | None = None,
    ) -> FakeMember:
        if isinstance(user, str):
            user = self._fake.add_user(user)
        member = FakeMember(
            guild=self,
            user=user,
            role_ids=[r.id for r in roles or []],
            nick=nick,
            joined_at=joined_at or now(),
        )
        self._members[user.id] = member
        return member

    def to_json(self, *, for_intents: int | None = None) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "name": self.name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "owner_id": str(self.owner_id),
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 1,
            "default_message_notifications": 1,
            "explicit_content_filter": 2,
            "roles": [r.to_json() for r in self.roles],
            "emojis": [],
            "stickers": [],
            "features": list(self.features),
            "mfa_level": 0,
            "application_id": None,
            "system_channel_id": None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "safety_alerts_channel_id": None,
            "vanity_url_code": None,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "preferred_locale": self.preferred_locale,
            "nsfw_level": 0,
            "premium_progress_bar_enabled": False,
            "max_members": 500000,
            "max_presences": None,
            "max_video_channel_users": 25,
            "max_stage_video_channel_users": 50,
            "widget_enabled": False,
            "widget_channel_id": None,
            "region": "deprecated",
            "nsfw": False,
            "incidents_data": None,
            "home_header": None,
        }

    def __repr__(self) -> str:
        return f"<FakeGuild id={self.id} name={self.name!r}>"
