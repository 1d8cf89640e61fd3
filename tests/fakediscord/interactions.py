"""Interactions: what a user does in the client, and how the bot answers.

Test side: ``slash``/``autocomplete``/``click``/``select``/``submit_modal``/``context_menu`` build
INTERACTION_CREATE payloads from the commands the bot actually synced and the components it
actually sent (anything the Discord client would not allow raises AssertionError in the test).

Bot side: ``POST /interactions/{id}/{token}/callback`` (types 1, 4-9), and the followup webhook
``/webhooks/{application_id}/{token}[/messages/@original|{id}]``. The 3 s deadline and the
single initial response are enforced as Discord does (10062 Unknown interaction, 40060
Interaction has already been acknowledged).
https://discord.com/developers/docs/interactions/receiving-and-responding
"""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .server import ApiError, Request, Response, form_error, route, unknown
from .state import (
    FLAG_EPHEMERAL,
    FLAG_IS_COMPONENTS_V2,
    FLAG_LOADING,
    ComponentsV2Reading,
    FakeAttachment,
    FakeChannel,
    FakeGuild,
    FakeMember,
    FakeMessage,
    FakeRole,
    FakeUser,
    assign_component_ids,
    iter_components,
)
from .validation import message_is_empty

if TYPE_CHECKING:
    from .fake import FakeDiscord

# https://discord.com/developers/docs/interactions/receiving-and-responding#interaction-object-interaction-type
PING, APPLICATION_COMMAND, MESSAGE_COMPONENT, AUTOCOMPLETE, MODAL_SUBMIT = 1, 2, 3, 4, 5
# ...#interaction-response-object-interaction-callback-type
ALLOWED_CALLBACKS = {
    PING: {1},
    APPLICATION_COMMAND: {4, 5, 9, 12},
    MESSAGE_COMPONENT: {4, 5, 6, 7, 9, 12},
    AUTOCOMPLETE: {8},
    MODAL_SUBMIT: {4, 5, 6, 7},
}
OPTION_TYPES = {1: "SUB_COMMAND", 2: "SUB_COMMAND_GROUP", 3: "STRING", 4: "INTEGER", 5: "BOOLEAN", 6: "USER",
                7: "CHANNEL", 8: "ROLE", 9: "MENTIONABLE", 10: "NUMBER", 11: "ATTACHMENT"}  # fmt: skip


@dataclass
class FakeReply(ComponentsV2Reading):
    """What the user sees as the answer to an interaction."""

    content: str
    embeds: list[dict[str, Any]]
    components: list[dict[str, Any]]
    flags: int
    ephemeral: bool
    attachments: list[FakeAttachment]
    allowed_mentions: dict[str, Any] | None
    message_id: int | None
    message: FakeMessage | None = None

    @classmethod
    def of(cls, msg: FakeMessage) -> FakeReply:
        return cls(
            content=msg.content,
            embeds=list(msg.embeds),
            components=list(msg.components),
            flags=msg.flags,
            ephemeral=bool(msg.flags & FLAG_EPHEMERAL),
            attachments=list(msg.attachments),
            allowed_mentions=msg.allowed_mentions,
            message_id=msg.id,
            message=msg,
        )

    @property
    def id(self) -> int | None:
        return self.message_id

    @property
    def custom_ids(self) -> list[str]:
        return [c["custom_id"] for c in iter_components(self.components) if "custom_id" in c]

    @property
    def text(self) -> str:
        """Content, Text Displays, and embed titles/descriptions/fields, for loose assertions."""
        parts = [self.content, *self.text_displays]
        for e in self.embeds:
            parts += [e.get("title") or "", e.get("description") or ""]
            for f in e.get("fields") or []:
                parts += [f.get("name") or "", f.get("value") or ""]
            parts.append((e.get("footer") or {}).get("text") or "")
        return "\n".join(p for p in parts if p)


@dataclass
class FakeModal:
    custom_id: str
    title: str
    components: list[dict[str, Any]]
    source: FakeInteraction | None = None

    @property
    def text_inputs(self) -> list[dict[str, Any]]:
        return [c for c in iter_components(self.components) if c.get("type") == 4]

    @property
    def custom_ids(self) -> list[str]:
        return [c["custom_id"] for c in iter_components(self.components) if "custom_id" in c]


@dataclass(eq=False)
class FakeInteraction:
    fake: FakeDiscord
    id: int
    token: str
    type: int
    guild: FakeGuild | None
    channel: FakeChannel
    user: FakeUser
    data: dict[str, Any]
    message: FakeMessage | None = None
    sent_at: float = 0.0
    callbacks: list[dict[str, Any]] = field(default_factory=list)
    callback_type: int | None = None
    ack_latency: float | None = None
    late_callbacks: int = 0
    original: FakeMessage | None = None
    original_edits: int = 0
    followup_messages: list[FakeMessage] = field(default_factory=list)
    choices: list[dict[str, Any]] | None = None
    _modal: FakeModal | None = None
    _deferred_ephemeral: bool = False
    triggered_by: FakeInteraction | None = None  # a modal submit: the interaction that opened the modal

    @property
    def followups(self) -> list[FakeReply]:
        return [FakeReply.of(m) for m in self.followup_messages]

    @property
    def acknowledged(self) -> bool:
        return self.callback_type is not None

    @property
    def deferred(self) -> bool:
        return self.callback_type in (5, 6)

    @property
    def responses(self) -> list[FakeReply]:
        """Every message the user saw for this interaction: the original (if any) then followups."""
        out = (
            [FakeReply.of(self.original)]
            if self.original is not None and not self.original.flags & FLAG_LOADING
            else []
        )
        return out + self.followups

    async def wait_callback(self, timeout: float = 5.0) -> dict[str, Any]:
        await self.fake.wait_until(lambda: self.callbacks, timeout, f"a callback to interaction {self.describe()}")
        return self.callbacks[0]

    def _final(self) -> FakeReply | None:
        t = self.callback_type
        if t == 4 and self.original is not None:
            return FakeReply.of(self.original)
        if t == 7 and self.original is not None:
            return FakeReply.of(self.original)
        if t in (5, 6):
            if self.original_edits and self.original is not None:
                return FakeReply.of(self.original)
            if self.followup_messages:
                return FakeReply.of(self.followup_messages[0])
        return None

    async def reply(self, timeout: float = 5.0) -> FakeReply:
        """What the user finally sees: the type-4/7 answer, or for a deferral the first @original
        edit or followup."""
        await self.wait_callback(timeout)
        if self.callback_type == 9:
            raise AssertionError(f"{self.describe()} was answered with a modal; use `await ix.modal()`")
        if self.callback_type == 8:
            raise AssertionError(f"{self.describe()} is an autocomplete; its choices are {self.choices}")
        try:
            return await self.fake.wait_until(self._final, timeout, f"the reply to {self.describe()}")
        except TimeoutError as exc:
            raise TimeoutError(
                f"{self.describe()} was acknowledged with callback type {self.callback_type} but no reply followed "
                f"within {timeout}s (callbacks: {self.callbacks})"
            ) from exc

    async def modal(self, timeout: float = 5.0) -> FakeModal:
        await self.wait_callback(timeout)
        if self._modal is None:
            raise AssertionError(
                f"{self.describe()} was answered with callback type {self.callback_type}, not a modal (9)"
            )
        return self._modal

    async def followup(self, index: int = 0, timeout: float = 5.0) -> FakeReply:
        await self.fake.wait_until(
            lambda: len(self.followup_messages) > index, timeout, f"followup #{index} of {self.describe()}"
        )
        return FakeReply.of(self.followup_messages[index])

    def describe(self) -> str:
        if self.type in (APPLICATION_COMMAND, AUTOCOMPLETE):
            return f"/{_command_path(self.data)} ({'autocomplete' if self.type == AUTOCOMPLETE else 'command'})"
        if self.type in (MESSAGE_COMPONENT, MODAL_SUBMIT):
            return f"{'component' if self.type == MESSAGE_COMPONENT else 'modal'} {self.data.get('custom_id')!r}"
        return f"interaction {self.id}"

    def __repr__(self) -> str:
        return f"<FakeInteraction {self.describe()} callback={self.callback_type}>"


def _command_path(data: dict[str, Any]) -> str:
    parts = [data.get("name", "?")]
    opts = data.get("options") or []
    while opts and opts[0].get("type") in (1, 2):
        parts.append(opts[0]["name"])
        opts = opts[0].get("options") or []
    return " ".join(parts)


# ==============================================================================================
# building interactions
# ==============================================================================================


def _resolve_user(fake: FakeDiscord, user: Any) -> FakeUser:
    if isinstance(user, FakeMember):
        return user.user
    if isinstance(user, FakeUser):
        return user
    return fake.user(user)


def _resolve_channel(fake: FakeDiscord, guild: FakeGuild | None, user: FakeUser, channel: Any) -> FakeChannel:
    if channel is None:
        if guild is not None:
            raise AssertionError("a channel is needed for a guild interaction")
        return fake.dm_channel(user)
    if isinstance(channel, FakeChannel):
        return channel
    if guild is not None:
        return guild.channel(channel)
    return fake.channel(channel)


def _base_payload(
    fake: FakeDiscord, ix_type: int, guild: FakeGuild | None, channel: FakeChannel, user: FakeUser, data: dict[str, Any]
) -> tuple[int, str, dict[str, Any]]:
    iid = fake._ids.next()
    token = "aW50ZXJhY3Rpb246" + str(iid) + ":" + secrets.token_urlsafe(96)
    payload: dict[str, Any] = {
        "id": str(iid),
        "application_id": str(fake.application_id),
        "type": ix_type,
        "data": data,
        "channel_id": str(channel.id),
        "channel": channel.to_json(),
        "token": token,
        "version": 1,
        "locale": "en-US",
        "entitlements": [],
        "entitlement_sku_ids": [],
        "attachment_size_limit": 10 * 1024 * 1024,
    }
    if guild is not None:
        member = guild.get_member(user.id)
        if member is None:
            raise AssertionError(f"{user!r} is not a member of {guild!r}; add them with guild.add_member first")
        payload["guild_id"] = str(guild.id)
        payload["guild"] = {"id": str(guild.id), "locale": guild.preferred_locale, "features": guild.features}
        payload["guild_locale"] = guild.preferred_locale
        if not guild.can_see(member, channel):
            raise AssertionError(f"{user!r} cannot see #{channel.name}: its permission overwrites hide it from them")
        payload["member"] = member.to_json(with_permissions=True)
        # Both are the permissions in the channel, overwrites included (interactions doc, "Interaction Object").
        payload["member"]["permissions"] = str(guild.channel_permissions_for(member, channel))
        payload["app_permissions"] = str(guild.channel_permissions_for(guild.me, channel))
        payload["authorizing_integration_owners"] = {"0": str(guild.id)}
        payload["context"] = 0
    else:
        payload["user"] = user.to_json()
        payload["app_permissions"] = "0"
        payload["authorizing_integration_owners"] = {"0": str(user.id)}
        payload["context"] = 1
    return iid, token, payload


async def _send(
    fake: FakeDiscord,
    ix_type: int,
    guild: FakeGuild | None,
    channel: FakeChannel,
    user: FakeUser,
    data: dict[str, Any],
    message: FakeMessage | None = None,
    triggered_by: FakeInteraction | None = None,
) -> FakeInteraction:
    iid, token, payload = _base_payload(fake, ix_type, guild, channel, user, data)
    if message is not None:
        payload["message"] = fake._message_event_payload(message)
    ix = FakeInteraction(fake, iid, token, ix_type, guild, channel, user, data, message=message)
    ix.triggered_by = triggered_by
    if ix_type == MESSAGE_COMPONENT and message is not None:
        ix.original = message
    fake._interactions[iid] = ix
    fake._interaction_tokens[token] = ix
    if not fake.gateway.live_sessions():
        raise AssertionError("the bot is not connected to the fake gateway (no live session)")
    # Discord's 3-second clock starts when it sends the interaction
    ix.sent_at = time.monotonic()
    futures = fake.gateway.dispatch("INTERACTION_CREATE", payload, guild_id=guild.id if guild else None)
    if not futures:
        raise AssertionError(f"no connected shard owns {guild!r}; the interaction could not be delivered")
    await asyncio.gather(*futures)
    fake._notify()
    return ix


def _find_command(fake: FakeDiscord, guild: FakeGuild | None, name: str, ctype: int = 1) -> dict[str, Any]:
    pools = []
    if guild is not None:
        pools.append(fake._guild_commands.get(guild.id, []))
    pools.append(fake._global_commands)
    for pool in pools:
        for cmd in pool:
            if cmd["name"] == name and (cmd.get("type") or 1) == ctype:
                return cmd
    known = sorted({c["name"] for pool in pools for c in pool if (c.get("type") or 1) == ctype})
    raise AssertionError(f"no synced command {name!r} (type {ctype}) for {guild!r}; synced: {known}")


def _resolve_into(fake: FakeDiscord, guild: FakeGuild | None, resolved: dict[str, Any], kind: str, obj: Any) -> str:
    if kind == "user":
        u = _resolve_user(fake, obj)
        resolved.setdefault("users", {})[str(u.id)] = u.to_json()
        m = guild.get_member(u.id) if guild else None
        if m is not None:
            resolved.setdefault("members", {})[str(u.id)] = m.to_json(with_user=False, with_permissions=True)
        return str(u.id)
    if kind == "role":
        r = obj if isinstance(obj, FakeRole) else (guild.role(obj) if guild else None)
        if r is None:
            raise AssertionError(f"unknown role {obj!r}")
        resolved.setdefault("roles", {})[str(r.id)] = r.to_json()
        return str(r.id)
    if kind == "channel":
        c = obj if isinstance(obj, FakeChannel) else (guild.channel(obj) if guild else fake.channel(obj))
        data = c.to_json()
        data["permissions"] = str(guild.permissions_for(guild.me)) if guild else "0"
        resolved.setdefault("channels", {})[str(c.id)] = data
        return str(c.id)
    if kind == "attachment":
        if isinstance(obj, tuple):
            obj = FakeAttachment(fake._ids.next(), obj[0], obj[1], ephemeral=True, cdn_base=fake.cdn_base)
            fake.uploads[obj.id] = obj
        if not isinstance(obj, FakeAttachment):
            raise AssertionError(f"an attachment option takes (filename, bytes) or a FakeAttachment, not {obj!r}")
        resolved.setdefault("attachments", {})[str(obj.id)] = obj.to_json()
        return str(obj.id)
    raise AssertionError(kind)


def _option_value(
    fake: FakeDiscord, guild: FakeGuild | None, opt: dict[str, Any], value: Any, resolved: dict[str, Any], where: str
) -> Any:
    t = opt["type"]
    name = opt["name"]
    if t == 3:
        if not isinstance(value, str):
            raise AssertionError(f"{where}: option {name!r} is a STRING, got {value!r}")
        if opt.get("min_length") is not None and len(value) < opt["min_length"]:
            raise AssertionError(f"{where}: {name!r} shorter than min_length {opt['min_length']}")
        if opt.get("max_length") is not None and len(value) > opt["max_length"]:
            raise AssertionError(f"{where}: {name!r} longer than max_length {opt['max_length']}")
    elif t == 4:
        if isinstance(value, bool) or not isinstance(value, int):
            raise AssertionError(f"{where}: option {name!r} is an INTEGER, got {value!r}")
    elif t == 10:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise AssertionError(f"{where}: option {name!r} is a NUMBER, got {value!r}")
    elif t == 5:
        if not isinstance(value, bool):
            raise AssertionError(f"{where}: option {name!r} is a BOOLEAN, got {value!r}")
    elif t == 6:
        return _resolve_into(fake, guild, resolved, "user", value)
    elif t == 7:
        cid = _resolve_into(fake, guild, resolved, "channel", value)
        types = opt.get("channel_types")
        if types and resolved["channels"][cid]["type"] not in types:
            raise AssertionError(f"{where}: channel option {name!r} accepts channel types {types}")
        return cid
    elif t == 8:
        return _resolve_into(fake, guild, resolved, "role", value)
    elif t == 9:
        kind = "role" if isinstance(value, FakeRole) else "user"
        return _resolve_into(fake, guild, resolved, kind, value)
    elif t == 11:
        return _resolve_into(fake, guild, resolved, "attachment", value)
    if t in (4, 10):
        if opt.get("min_value") is not None and value < opt["min_value"]:
            raise AssertionError(f"{where}: {name!r} below min_value {opt['min_value']}")
        if opt.get("max_value") is not None and value > opt["max_value"]:
            raise AssertionError(f"{where}: {name!r} above max_value {opt['max_value']}")
    choices = opt.get("choices")
    if choices and value not in [c["value"] for c in choices]:
        raise AssertionError(
            f"{where}: {value!r} is not one of the choices of {name!r}: {[c['value'] for c in choices]}"
        )
    return value


def _check_visible(fake: FakeDiscord, guild: FakeGuild | None, user: FakeUser, cmd: dict[str, Any]) -> None:
    """The Discord client only offers a command the user may use: ``default_member_permissions``
    (a member needs all of those bits; "0" = administrators only) and, in DMs, ``contexts`` /
    ``dm_permission`` (application-commands doc, "Permissions" and "Contexts")."""
    name = cmd["name"]
    if guild is None:
        contexts = cmd.get("contexts")
        if cmd.get("guild_id") or cmd.get("dm_permission") is False or (contexts is not None and 1 not in contexts):
            raise AssertionError(f"/{name} is not available in DMs")
        return
    contexts = cmd.get("contexts")
    if contexts is not None and 0 not in contexts:
        raise AssertionError(f"/{name} is not available in servers")
    required = cmd.get("default_member_permissions")
    if required is None:
        return
    member = guild.member(user)
    opened = guild.command_overrides.get(name, set())
    if opened & ({member.id, guild.id} | {r.id for r in member.roles}):
        return
    perms = guild.permissions_for(member)
    from .state import Permissions

    if perms & Permissions.ADMINISTRATOR or perms == Permissions.ALL:
        return
    need = int(required)
    if need == 0 or perms & need != need:
        raise AssertionError(
            f"{user.name} cannot see /{name}: it needs permissions {need} (default_member_permissions)"
        )


def build_command_data(
    fake: FakeDiscord,
    guild: FakeGuild | None,
    command: str,
    options: dict[str, Any],
    *,
    focused: str | None = None,
    user: FakeUser | None = None,
) -> dict[str, Any]:
    parts = command.strip().lstrip("/").split()
    if not parts:
        raise AssertionError("empty command name")
    cmd = _find_command(fake, guild, parts[0])
    if user is not None:
        _check_visible(fake, guild, user, cmd)
    data: dict[str, Any] = {"id": cmd["id"], "name": cmd["name"], "type": 1}
    if cmd.get("guild_id"):
        data["guild_id"] = cmd["guild_id"]
    container = data
    spec_opts = cmd.get("options") or []
    path = [parts[0]]
    for part in parts[1:]:
        sub = next((o for o in spec_opts if o["name"] == part and o["type"] in (1, 2)), None)
        if sub is None:
            subs = [o["name"] for o in spec_opts if o["type"] in (1, 2)]
            raise AssertionError(f"/{' '.join(path)} has no subcommand or group {part!r}; it has {subs}")
        node: dict[str, Any] = {"name": sub["name"], "type": sub["type"], "options": []}
        container.setdefault("options", []).append(node)
        container = node
        spec_opts = sub.get("options") or []
        path.append(part)
    if any(o["type"] in (1, 2) for o in spec_opts):
        subs = [o["name"] for o in spec_opts if o["type"] in (1, 2)]
        raise AssertionError(f"/{' '.join(path)} is a group; name one of its subcommands: {subs}")
    where = "/" + " ".join(path)
    resolved: dict[str, Any] = {}
    values: list[dict[str, Any]] = []
    by_name = {o["name"]: o for o in spec_opts}
    for name, value in options.items():
        opt = by_name.get(name)
        if opt is None:
            raise AssertionError(f"{where} has no option {name!r}; options: {list(by_name)}")
        if name == focused:
            if not opt.get("autocomplete"):
                raise AssertionError(f"{where}: option {name!r} does not have autocomplete enabled")
            values.append({"name": name, "type": opt["type"], "value": str(value), "focused": True})
            continue
        values.append(
            {"name": name, "type": opt["type"], "value": _option_value(fake, guild, opt, value, resolved, where)}
        )
    if focused is not None and focused not in options:
        opt = by_name.get(focused)
        if opt is None or not opt.get("autocomplete"):
            raise AssertionError(f"{where}: option {focused!r} does not exist or has no autocomplete")
        values.append({"name": focused, "type": opt["type"], "value": "", "focused": True})
    if focused is None:
        missing = [o["name"] for o in spec_opts if o.get("required") and o["name"] not in options]
        if missing:
            raise AssertionError(f"{where}: required option(s) missing: {missing}")
    # the client sends options in the order the command declares them
    order = {o["name"]: i for i, o in enumerate(spec_opts)}
    values.sort(key=lambda v: order.get(v["name"], 0))
    if values:
        container["options"] = values
    elif container is data:
        pass
    if resolved:
        data["resolved"] = resolved
    return data


async def slash(
    fake: FakeDiscord, guild: FakeGuild | None, channel: Any, user: Any, command: str, options: dict[str, Any]
) -> FakeInteraction:
    u = _resolve_user(fake, user)
    ch = _resolve_channel(fake, guild, u, channel)
    data = build_command_data(fake, guild, command, options, user=u)
    return await _send(fake, APPLICATION_COMMAND, guild, ch, u, data)


async def autocomplete(
    fake: FakeDiscord,
    guild: FakeGuild | None,
    channel: Any,
    user: Any,
    command: str,
    focused: str,
    options: dict[str, Any],
    timeout: float,
) -> list[dict[str, Any]]:
    u = _resolve_user(fake, user)
    ch = _resolve_channel(fake, guild, u, channel)
    data = build_command_data(fake, guild, command, options, focused=focused, user=u)
    ix = await _send(fake, AUTOCOMPLETE, guild, ch, u, data)
    await ix.wait_callback(timeout)
    if ix.callback_type != 8:
        raise AssertionError(f"autocomplete was answered with callback type {ix.callback_type}, not 8")
    return list(ix.choices or [])


async def context_menu(
    fake: FakeDiscord, guild: FakeGuild, channel: Any, user: Any, name: str, target: Any
) -> FakeInteraction:
    u = _resolve_user(fake, user)
    ch = _resolve_channel(fake, guild, u, channel)
    ctype = 3 if isinstance(target, FakeMessage) else 2
    cmd = _find_command(fake, guild, name, ctype)
    _check_visible(fake, guild, u, cmd)
    data: dict[str, Any] = {"id": cmd["id"], "name": cmd["name"], "type": ctype, "resolved": {}}
    if cmd.get("guild_id"):
        data["guild_id"] = cmd["guild_id"]
    if ctype == 3:
        data["target_id"] = str(target.id)
        data["resolved"]["messages"] = {str(target.id): target.to_json(fake)}
    else:
        data["target_id"] = _resolve_into(fake, guild, data["resolved"], "user", target)
    return await _send(fake, APPLICATION_COMMAND, guild, ch, u, data)


def _message_for(fake: FakeDiscord, message: Any) -> FakeMessage:
    if isinstance(message, FakeMessage):
        return message
    if isinstance(message, FakeReply):
        if message.message is None:
            raise AssertionError("this reply has no message")
        return message.message
    mid = int(message)
    if mid not in fake._messages:
        raise AssertionError(f"unknown message {message!r}")
    return fake._messages[mid]


def _component(msg: FakeMessage, custom_id: str) -> dict[str, Any]:
    for c in iter_components(msg.components):
        if c.get("custom_id") == custom_id:
            if c.get("disabled"):
                raise AssertionError(f"component {custom_id!r} is disabled; the client would not send it")
            return c
    raise AssertionError(f"message {msg.id} has no component {custom_id!r}; it has {msg.custom_ids}")


async def click(
    fake: FakeDiscord, guild: FakeGuild | None, channel: Any, user: Any, message: Any, custom_id: str
) -> FakeInteraction:
    u = _resolve_user(fake, user)
    msg = _message_for(fake, message)
    if msg.deleted:
        raise AssertionError(f"message {msg.id} was deleted")
    comp = _component(msg, custom_id)
    if comp.get("type") != 2 or comp.get("style") in (5, 6):
        raise AssertionError(
            f"{custom_id!r} is not a clickable button (type {comp.get('type')}, style {comp.get('style')})"
        )
    ch = _resolve_channel(fake, guild, u, channel if channel is not None else fake._channels.get(msg.channel_id))
    data: dict[str, Any] = {"custom_id": custom_id, "component_type": 2}
    if "id" in comp:
        data["id"] = comp["id"]
    return await _send(fake, MESSAGE_COMPONENT, guild, ch, u, data, message=msg)


async def select(
    fake: FakeDiscord, guild: FakeGuild | None, channel: Any, user: Any, message: Any, custom_id: str, values: list[Any]
) -> FakeInteraction:
    u = _resolve_user(fake, user)
    msg = _message_for(fake, message)
    comp = _component(msg, custom_id)
    ctype = comp.get("type")
    if ctype not in (3, 5, 6, 7, 8):
        raise AssertionError(f"{custom_id!r} is not a select menu (type {ctype})")
    lo, hi = comp.get("min_values", 1), comp.get("max_values", 1)
    if not (lo <= len(values) <= hi):
        raise AssertionError(f"select {custom_id!r} takes {lo}..{hi} values, got {len(values)}")
    data: dict[str, Any] = {"custom_id": custom_id, "component_type": ctype}
    resolved: dict[str, Any] = {}
    if ctype == 3:
        allowed = [o["value"] for o in comp.get("options") or []]
        bad = [v for v in values if v not in allowed]
        if bad:
            raise AssertionError(f"select {custom_id!r}: {bad} not among its options {allowed}")
        data["values"] = list(values)
    else:
        kind = {5: "user", 6: "role", 8: "channel"}
        out = []
        for v in values:
            k = kind.get(ctype) or ("role" if isinstance(v, FakeRole) else "user")
            out.append(_resolve_into(fake, guild, resolved, k, v))
        data["values"] = out
        data["resolved"] = resolved
    if "id" in comp:
        data["id"] = comp["id"]
    ch = _resolve_channel(fake, guild, u, channel if channel is not None else fake._channels.get(msg.channel_id))
    return await _send(fake, MESSAGE_COMPONENT, guild, ch, u, data, message=msg)


def _modal_answer(component: dict[str, Any], values: dict[str, Any], used: set[str]) -> dict[str, Any] | None:
    t = component.get("type")
    cid = component.get("custom_id")
    if t == 1:
        return {
            "type": 1,
            "id": component.get("id"),
            "components": [a for c in component.get("components") or [] if (a := _modal_answer(c, values, used))],
        }
    if t == 18:
        inner = _modal_answer(component["component"], values, used)
        return {"type": 18, "id": component.get("id"), "component": inner}
    if t == 10:
        return {"type": 10, "id": component.get("id")}
    if t == 4:
        value = values.get(cid)
        if value is None:
            value = component.get("value") or ""
            if component.get("required", True) and not value:
                raise AssertionError(f"modal text input {cid!r} is required")
        if not isinstance(value, str):
            raise AssertionError(f"text input {cid!r} takes a string")
        if component.get("min_length") and value and len(value) < component["min_length"]:
            raise AssertionError(f"text input {cid!r}: shorter than min_length {component['min_length']}")
        if component.get("max_length") and len(value) > component["max_length"]:
            raise AssertionError(f"text input {cid!r}: longer than max_length {component['max_length']}")
        used.add(cid)
        return {"type": 4, "id": component.get("id"), "custom_id": cid, "value": value}
    if t in (3, 5, 6, 7, 8):
        vals = values.get(cid, [])
        if not isinstance(vals, list):
            vals = [vals]
        used.add(cid)
        return {"type": t, "id": component.get("id"), "custom_id": cid, "values": [str(v) for v in vals]}
    return {"type": t, "id": component.get("id")}


async def submit_modal(
    fake: FakeDiscord, guild: FakeGuild | None, channel: Any, user: Any, modal: FakeModal, values: dict[str, Any]
) -> FakeInteraction:
    u = _resolve_user(fake, user)
    used: set[str] = set()
    components = [a for c in modal.components if (a := _modal_answer(c, values, used))]
    unknown_ids = set(values) - used
    if unknown_ids:
        raise AssertionError(
            f"modal {modal.custom_id!r} has no input(s) {sorted(unknown_ids)}; it has {modal.custom_ids}"
        )
    _strip_none_ids(components)
    data = {"custom_id": modal.custom_id, "components": components}
    source_msg = modal.source.message if modal.source is not None else None
    ch = _resolve_channel(fake, guild, u, channel)
    ix = await _send(fake, MODAL_SUBMIT, guild, ch, u, data, message=source_msg, triggered_by=modal.source)
    return ix


def _strip_none_ids(components: list[dict[str, Any]]) -> None:
    for c in components:
        if c.get("id") is None:
            c.pop("id", None)
        if isinstance(c.get("components"), list):
            _strip_none_ids(c["components"])
        if isinstance(c.get("component"), dict):
            _strip_none_ids([c["component"]])


# ==============================================================================================
# the bot's side: callbacks and followups
# ==============================================================================================


def _interaction_by_token(ctx: Request, id_param: str, token_param: str) -> FakeInteraction:
    fake = ctx.fake
    ix = fake._interaction_tokens.get(ctx.params[token_param])
    if ix is None or str(ix.id if id_param == "interaction_id" else fake.application_id) != ctx.params[id_param]:
        raise unknown("interaction")
    return ix


def _interaction_metadata(ix: FakeInteraction) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "id": str(ix.id),
        "type": ix.type,
        "user": ix.user.to_json(),
        "authorizing_integration_owners": {"0": str(ix.guild.id if ix.guild else ix.user.id)},
    }
    if ix.type == APPLICATION_COMMAND:
        meta["name"] = _command_path(ix.data)
        meta["command_type"] = ix.data.get("type", 1)
    if ix.type == MESSAGE_COMPONENT and ix.message is not None:
        meta["interacted_message_id"] = str(ix.message.id)
    if ix.type == MODAL_SUBMIT and ix.triggered_by is not None:
        # Discord names the command or button that opened the modal (required in the spec's response shape)
        meta["triggering_interaction_metadata"] = _interaction_metadata(ix.triggered_by)
    return meta


def _response_message(
    ix: FakeInteraction, body: dict[str, Any], files: list[Any], *, loading: bool = False
) -> FakeMessage:
    fake = ix.fake
    flags = int(body.get("flags") or 0)
    extra = (flags & FLAG_EPHEMERAL) | (FLAG_LOADING if loading else 0)
    msg_type = (
        20
        if ix.type == APPLICATION_COMMAND and ix.data.get("type", 1) == 1
        else (23 if ix.type == APPLICATION_COMMAND else 0)
    )
    return fake._create_message(
        ix.channel,
        fake.bot_user,
        body,
        files,
        extra_flags=extra,
        message_type=msg_type,
        webhook_id=fake.application_id,
        interaction_metadata=_interaction_metadata(ix),
    )


@route("POST", "/interactions/{interaction_id}/{interaction_token}/callback", auth=False)
async def interaction_callback(ctx: Request) -> Any:
    fake = ctx.fake
    ix = _interaction_by_token(ctx, "interaction_id", "interaction_token")
    body = ctx.body or {}
    elapsed = (ctx.received_at or time.monotonic()) - ix.sent_at
    if ix.callback_type is not None:
        raise ApiError(400, 40060, "Interaction has already been acknowledged.")
    if elapsed > fake.interaction_timeout:
        ix.late_callbacks += 1
        raise unknown("interaction")
    ctype = body.get("type")
    if ctype not in ALLOWED_CALLBACKS.get(ix.type, set()):
        raise form_error(
            [
                (
                    ("type",),
                    "INTERACTION_RESPONSE_TYPE_INVALID",
                    f"Callback type {ctype} is not valid for interaction type {ix.type}",
                )
            ]
        )
    data = body.get("data") or {}
    if ctype == 4 and message_is_empty(data, len(ctx.files)):
        raise ApiError(400, 50006, "Cannot send an empty message")
    ix.callbacks.append(body)
    ix.callback_type = ctype
    ix.ack_latency = elapsed
    resource: dict[str, Any] = {"type": ctype}
    if ctype == 4:
        ix.original = _response_message(ix, data, ctx.files)
        resource["message"] = ix.original.to_json(fake)
    elif ctype == 5:
        ix._deferred_ephemeral = bool(int(data.get("flags") or 0) & FLAG_EPHEMERAL)
        ix.original = _response_message(ix, {"flags": data.get("flags") or 0}, [], loading=True)
        resource["message"] = ix.original.to_json(fake)
    elif ctype == 7:
        if ix.message is None:
            raise form_error([(("type",), "INTERACTION_RESPONSE_TYPE_INVALID", "No message to update")])
        fake._edit_message(ix.message, data, ctx.files)
        ix.original = ix.message
        resource["message"] = ix.message.to_json(fake)
    elif ctype == 8:
        ix.choices = list(data.get("choices") or [])
    elif ctype == 9:
        # Discord numbers the modal's components like a message's; submissions echo those ids
        components = assign_component_ids(data.get("components"))
        ix._modal = FakeModal(data.get("custom_id", ""), data.get("title", ""), components, source=ix)
    fake._notify()
    if ctx.query.get("with_response") not in ("1", "true", "True"):
        return Response(204)
    original = ix.original
    interaction: dict[str, Any] = {"id": str(ix.id), "type": ix.type}
    if ctype in (4, 5, 7) and original is not None:
        interaction["response_message_id"] = str(original.id)
        interaction["response_message_loading"] = ctype == 5
        interaction["response_message_ephemeral"] = bool(original.flags & FLAG_EPHEMERAL)
    # the spec's InteractionCallbackResponse has a resource only for types 4, 7 (and 12)
    if ctype in (4, 7):
        return {"interaction": interaction, "resource": resource}
    return {"interaction": interaction}


def _webhook_interaction(ctx: Request) -> FakeInteraction:
    fake = ctx.fake
    if ctx.params["webhook_id"] != str(fake.application_id):
        raise unknown("Webhook")
    ix = fake._interaction_tokens.get(ctx.params["webhook_token"])
    if ix is None:
        raise unknown("Webhook")
    if time.monotonic() - ix.sent_at > fake.followup_window:
        raise ApiError(401, 50027, "Invalid Webhook Token")
    if not ix.acknowledged:
        # followups and @original need the initial response first
        raise unknown("Webhook")
    return ix


@route("POST", "/webhooks/{webhook_id}/{webhook_token}", auth=False)
async def followup_create(ctx: Request) -> Any:
    fake = ctx.fake
    ix = _webhook_interaction(ctx)
    body = ctx.body or {}
    if message_is_empty(body, len(ctx.files)):
        raise ApiError(400, 50006, "Cannot send an empty message")
    if ix.callback_type == 5 and ix.original is not None and ix.original.flags & FLAG_LOADING and not ix.original_edits:
        # after a deferral the first followup replaces the "thinking..." message (and keeps its ephemerality)
        msg = ix.original
        msg.flags &= ~FLAG_LOADING
        # ... but the followup's own IS_COMPONENTS_V2 applies: it is how the replacing message is laid out
        fake._edit_message(msg, {**body, "flags": int(body.get("flags") or 0) & FLAG_IS_COMPONENTS_V2}, ctx.files)
        ix.followup_messages.append(msg)
    else:
        msg = _response_message(ix, body, ctx.files)
        ix.followup_messages.append(msg)
    fake._notify()
    if ctx.query.get("wait") in ("1", "true", "True"):
        return msg.to_json(fake)
    return Response(204)


@route("GET", "/webhooks/{webhook_id}/{webhook_token}", auth=False)
async def webhook_get(ctx: Request) -> Any:
    fake = ctx.fake
    if (
        ctx.params["webhook_id"] != str(fake.application_id)
        or ctx.params["webhook_token"] not in fake._interaction_tokens
    ):
        raise unknown("Webhook")
    return {
        "id": str(fake.application_id),
        "type": 3,
        "name": fake.bot_user.name,
        "avatar": None,
        "application_id": str(fake.application_id),
        "token": ctx.params["webhook_token"],
    }


@route("PATCH", "/webhooks/{webhook_id}/{webhook_token}", auth=False)
async def webhook_edit(ctx: Request) -> Any:
    """Editing "the webhook" of an interaction token changes nothing visible; answer its shape."""
    data = await webhook_get(ctx)
    if isinstance(ctx.body, dict) and ctx.body.get("name"):
        data["name"] = ctx.body["name"]
    return data


@route("DELETE", "/webhooks/{webhook_id}/{webhook_token}", auth=False)
async def webhook_delete(ctx: Request) -> Any:
    await webhook_get(ctx)
    return Response(204)


def _target_message(ctx: Request, ix: FakeInteraction) -> FakeMessage:
    mid = ctx.params.get("message_id", "@original")
    if mid == "@original":
        if ix.original is None or ix.original.deleted or ix.callback_type in (8, 9):
            raise unknown("Message")
        return ix.original
    msg = next((m for m in ix.followup_messages if str(m.id) == mid), None)
    if msg is None and ix.original is not None and str(ix.original.id) == mid:
        msg = ix.original
    if msg is None or msg.deleted:
        raise unknown("Message")
    return msg


@route("GET", "/webhooks/{webhook_id}/{webhook_token}/messages/@original", auth=False)
@route("GET", "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}", auth=False)
async def webhook_message_get(ctx: Request) -> Any:
    ix = _webhook_interaction(ctx)
    return _target_message(ctx, ix).to_json(ctx.fake)


@route("PATCH", "/webhooks/{webhook_id}/{webhook_token}/messages/@original", auth=False)
@route("PATCH", "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}", auth=False)
async def webhook_message_edit(ctx: Request) -> Any:
    fake = ctx.fake
    ix = _webhook_interaction(ctx)
    msg = _target_message(ctx, ix)
    body = ctx.body or {}
    if fake._would_be_empty(msg, body, ctx.files):
        raise ApiError(400, 50006, "Cannot send an empty message")
    was_loading = bool(msg.flags & FLAG_LOADING)
    msg.flags &= ~FLAG_LOADING
    # the ephemerality of a deferred response was fixed by the defer; flags in the edit cannot change it
    edit = dict(body)
    if was_loading:
        edit["flags"] = int(body.get("flags") or 0) & FLAG_IS_COMPONENTS_V2
    fake._edit_message(msg, edit, ctx.files)
    if msg is ix.original:
        ix.original_edits += 1
    fake._notify()
    return msg.to_json(fake)


@route("DELETE", "/webhooks/{webhook_id}/{webhook_token}/messages/@original", auth=False)
@route("DELETE", "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}", auth=False)
async def webhook_message_delete(ctx: Request) -> Any:
    fake = ctx.fake
    ix = _webhook_interaction(ctx)
    msg = _target_message(ctx, ix)
    fake._delete_message(msg)
    return Response(204)
