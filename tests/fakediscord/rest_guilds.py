"""REST: guilds, channels of a guild, members, roles (with hierarchy), scheduled events.

https://discord.com/developers/docs/resources/guild, .../topics/permissions#permission-hierarchy,
.../resources/guild-scheduled-event
"""

from __future__ import annotations

from typing import Any

from .gateway import Intents
from .server import ApiError, Request, Response, form_error, missing_permissions, route, unknown
from .state import ChannelType, FakeGuild, FakeMember, FakeRole, FakeScheduledEvent, Permissions


def get_guild(ctx: Request) -> FakeGuild:
    raw = ctx.params["guild_id"]
    guild = ctx.fake._guilds.get(int(raw)) if raw.isdigit() else None
    if guild is None:
        raise unknown("Guild")
    return guild


def get_member(ctx: Request, guild: FakeGuild, name: str = "user_id") -> FakeMember:
    raw = ctx.params[name]
    uid = ctx.fake.bot_user.id if raw == "@me" else (int(raw) if raw.isdigit() else 0)
    member = guild.get_member(uid)
    if member is None:
        raise unknown("Member")
    return member


def get_role(ctx: Request, guild: FakeGuild) -> FakeRole:
    raw = ctx.params["role_id"]
    role = guild._roles.get(int(raw)) if raw.isdigit() else None
    if role is None or role.deleted:
        raise unknown("Role")
    return role


def bot_perms(guild: FakeGuild) -> int:
    return guild.permissions_for(guild.me)


def require(guild: FakeGuild, *perms: int) -> None:
    have = bot_perms(guild)
    for p in perms:
        if not have & p:
            raise missing_permissions()


def can_manage_role(guild: FakeGuild, role: FakeRole) -> bool:
    """Permission hierarchy: a bot may only manage roles strictly below its highest role, never
    managed (integration/bot/booster) roles nor @everyone as a member role."""
    if guild.me.id == guild.owner_id:
        return not role.managed
    return role.position < guild.me.top_position and not role.managed


def can_manage_member(guild: FakeGuild, member: FakeMember) -> bool:
    if member.id == guild.owner_id:
        return False
    if member.id == guild.me.id:
        return True
    return member.top_position < guild.me.top_position


# ---- guild -----------------------------------------------------------------------------------


@route("GET", "/guilds/{guild_id}")
async def guild_get(ctx: Request) -> Any:
    guild = get_guild(ctx)
    data = guild.to_json()
    if ctx.query.get("with_counts") in ("true", "1", "True"):
        data["approximate_member_count"] = guild.member_count
        data["approximate_presence_count"] = max(1, guild.member_count // 4)
    return data


@route("GET", "/guilds/{guild_id}/preview")
async def guild_preview(ctx: Request) -> Any:
    guild = get_guild(ctx)
    return {
        "id": str(guild.id),
        "name": guild.name,
        "icon": None,
        "splash": None,
        "discovery_splash": None,
        "emojis": [],
        "features": guild.features,
        "approximate_member_count": guild.member_count,
        "approximate_presence_count": max(1, guild.member_count // 4),
        "description": None,
        "stickers": [],
    }


@route("GET", "/guilds/{guild_id}/channels")
async def guild_channels(ctx: Request) -> Any:
    return [c.to_json() for c in get_guild(ctx).channels]


@route("POST", "/guilds/{guild_id}/channels")
async def guild_channel_create(ctx: Request) -> Any:
    guild = get_guild(ctx)
    require(guild, Permissions.MANAGE_CHANNELS)
    body = ctx.body or {}
    ctype = ChannelType(int(body.get("type") or 0))
    if ctype in (ChannelType.dm, ChannelType.group) or ctype.value in (10, 11, 12):
        raise form_error([(("type",), "BASE_TYPE_CHOICES", "Value must be one of (0, 2, 4, 5, 13, 14, 15, 16).")])
    channel = guild.add_channel(
        body["name"],
        ctype,
        topic=body.get("topic"),
        parent=int(body["parent_id"]) if body.get("parent_id") else None,
        position=body.get("position"),
        tags=body.get("available_tags"),
    )
    for key in ("nsfw", "rate_limit_per_user", "bitrate", "user_limit"):
        if body.get(key) is not None:
            setattr(channel, key, body[key])
    if body.get("permission_overwrites"):
        channel.permission_overwrites = [
            {
                "id": str(o["id"]),
                "type": o.get("type", 0),
                "allow": str(o.get("allow", 0)),
                "deny": str(o.get("deny", 0)),
            }
            for o in body["permission_overwrites"]
        ]
    ctx.fake._notify()
    return Response(201, channel.to_json())


@route("GET", "/guilds/{guild_id}/threads/active")
async def guild_active_threads(ctx: Request) -> Any:
    guild = get_guild(ctx)
    threads = [t for t in guild.threads if not t.archived]
    return {"threads": [t.to_json() for t in threads], "members": []}


# ---- members ---------------------------------------------------------------------------------


def _member_json(ctx: Request, member: FakeMember) -> dict[str, Any]:
    return member.to_json()


@route("GET", "/guilds/{guild_id}/members/{user_id}")
async def member_get(ctx: Request) -> Any:
    guild = get_guild(ctx)
    return _member_json(ctx, get_member(ctx, guild))


@route("GET", "/guilds/{guild_id}/members")
async def member_list(ctx: Request) -> Any:
    guild = get_guild(ctx)
    # "List Guild Members" needs the GUILD_MEMBERS privileged intent enabled for the app
    if not ctx.fake.privileged_intents & Intents.GUILD_MEMBERS:
        raise ApiError(403, 50001, "Missing Access")
    limit = max(1, min(1000, int(ctx.query.get("limit", 1))))
    after = int(ctx.query.get("after", 0))
    members = sorted((m for m in guild.members if m.id > after), key=lambda m: m.id)[:limit]
    return [m.to_json() for m in members]


@route("GET", "/guilds/{guild_id}/members/search")
async def member_search(ctx: Request) -> Any:
    guild = get_guild(ctx)
    q = ctx.query.get("query", "").lower()
    limit = max(1, min(1000, int(ctx.query.get("limit", 1))))
    found = [m for m in guild.members if m.user.name.lower().startswith(q) or (m.nick or "").lower().startswith(q)]
    return [m.to_json() for m in found[:limit]]


@route("PATCH", "/guilds/{guild_id}/members/{user_id}")
async def member_edit(ctx: Request) -> Any:
    fake = ctx.fake
    guild = get_guild(ctx)
    member = get_member(ctx, guild)
    body = ctx.body or {}
    if "nick" in body:
        if member.id == guild.me.id:
            require(guild, Permissions.CHANGE_NICKNAME)
        else:
            require(guild, Permissions.MANAGE_NICKNAMES)
            if not can_manage_member(guild, member):
                raise missing_permissions()
        member.nick = body["nick"] or None
    if "roles" in body and body["roles"] is not None:
        require(guild, Permissions.MANAGE_ROLES)
        new_ids = [int(r) for r in body["roles"]]
        old = set(member.role_ids)
        for rid in set(new_ids) ^ old:
            role = guild._roles.get(rid)
            if role is None:
                raise form_error([(("roles",), "BASE_TYPE_CHOICES", f"Unknown role {rid}")])
            if not can_manage_role(guild, role):
                raise missing_permissions()
        member.role_ids = list(dict.fromkeys(new_ids))
    if "communication_disabled_until" in body:
        require(guild, Permissions.MODERATE_MEMBERS)
        if not can_manage_member(guild, member) or member.id == guild.me.id:
            raise missing_permissions()
        member.communication_disabled_until = body["communication_disabled_until"]
    for key in ("mute", "deaf"):
        if key in body and body[key] is not None:
            setattr(member, key, bool(body[key]))
    fake._emit_member_update(guild, member)
    fake._notify()
    return member.to_json()


@route("PATCH", "/guilds/{guild_id}/members/@me")
async def member_edit_me(ctx: Request) -> Any:
    guild = get_guild(ctx)
    require(guild, Permissions.CHANGE_NICKNAME)
    me = guild.me
    if "nick" in (ctx.body or {}):
        me.nick = ctx.body["nick"] or None
    ctx.fake._emit_member_update(guild, me)
    return me.to_json()


def _role_change(ctx: Request, add: bool) -> Any:
    fake = ctx.fake
    guild = get_guild(ctx)
    member = get_member(ctx, guild)
    role = get_role(ctx, guild)
    require(guild, Permissions.MANAGE_ROLES)
    if role.id == guild.id or not can_manage_role(guild, role):
        raise missing_permissions()
    changed = False
    if add and role.id not in member.role_ids:
        member.role_ids.append(role.id)
        changed = True
    elif not add and role.id in member.role_ids:
        member.role_ids.remove(role.id)
        changed = True
    if changed:
        fake._emit_member_update(guild, member)
    fake._notify()
    return Response(204)


@route("PUT", "/guilds/{guild_id}/members/{user_id}/roles/{role_id}")
async def member_role_add(ctx: Request) -> Any:
    return _role_change(ctx, True)


@route("DELETE", "/guilds/{guild_id}/members/{user_id}/roles/{role_id}")
async def member_role_remove(ctx: Request) -> Any:
    return _role_change(ctx, False)


@route("DELETE", "/guilds/{guild_id}/members/{user_id}")
async def member_kick(ctx: Request) -> Any:
    guild = get_guild(ctx)
    member = get_member(ctx, guild)
    require(guild, Permissions.KICK_MEMBERS)
    if not can_manage_member(guild, member) or member.id == guild.me.id:
        raise missing_permissions()
    await ctx.fake.remove_member_live(guild, member)
    return Response(204)


# ---- roles -----------------------------------------------------------------------------------


def _role_event(ctx: Request, guild: FakeGuild, event: str, role: FakeRole) -> None:
    ctx.fake.gateway.dispatch(event, {"guild_id": str(guild.id), "role": role.to_json()}, guild_id=guild.id)


def _check_grant(guild: FakeGuild, permissions: int) -> None:
    """A bot cannot give a role permissions it does not have itself (unless it is an administrator)."""
    have = bot_perms(guild)
    if permissions & ~have:
        raise missing_permissions()


@route("GET", "/guilds/{guild_id}/roles")
async def role_list(ctx: Request) -> Any:
    return [r.to_json() for r in get_guild(ctx).roles]


# Registered before /roles/{role_id}, which would otherwise take "member-counts" for a role id.
@route("GET", "/guilds/{guild_id}/roles/member-counts")
async def role_member_counts(ctx: Request) -> Any:
    """{role_id: members holding it} for every role but @everyone: counts without the members intent."""
    guild = get_guild(ctx)
    counts = {str(r.id): 0 for r in guild.roles if r.id != guild.id}
    for member in guild.members:
        for role_id in member.role_ids:
            if str(role_id) in counts:
                counts[str(role_id)] += 1
    return counts


@route("GET", "/guilds/{guild_id}/roles/{role_id}")
async def role_get(ctx: Request) -> Any:
    guild = get_guild(ctx)
    return get_role(ctx, guild).to_json()


def _color(body: dict[str, Any]) -> int | None:
    if isinstance(body.get("colors"), dict) and body["colors"].get("primary_color") is not None:
        return int(body["colors"]["primary_color"])
    if body.get("color") is not None:
        return int(body["color"])
    return None


@route("POST", "/guilds/{guild_id}/roles")
async def role_create(ctx: Request) -> Any:
    fake = ctx.fake
    guild = get_guild(ctx)
    require(guild, Permissions.MANAGE_ROLES)
    body = ctx.body or {}
    if len(guild._roles) >= 250:
        raise ApiError(400, 30005, "Maximum number of guild roles reached (250)")
    permissions = int(body["permissions"]) if body.get("permissions") is not None else guild.everyone.permissions
    _check_grant(guild, permissions)
    role = FakeRole(
        id=fake._ids.next(),
        guild_id=guild.id,
        name=body.get("name") or "new role",
        permissions=permissions,
        color=_color(body) or 0,
        hoist=bool(body.get("hoist")),
        mentionable=bool(body.get("mentionable")),
        unicode_emoji=body.get("unicode_emoji"),
        icon=body.get("icon"),
    )
    # new roles are created at position 1, just above @everyone (create-guild-role doc)
    guild._insert_role(role, 1)
    for r in guild.roles:
        if r.id != role.id and r.id != guild.id:
            _role_event(ctx, guild, "GUILD_ROLE_UPDATE", r)
    _role_event(ctx, guild, "GUILD_ROLE_CREATE", role)
    fake._notify()
    return role.to_json()


@route("PATCH", "/guilds/{guild_id}/roles/{role_id}")
async def role_edit(ctx: Request) -> Any:
    fake = ctx.fake
    guild = get_guild(ctx)
    role = get_role(ctx, guild)
    require(guild, Permissions.MANAGE_ROLES)
    if (
        role.id != guild.id
        and not can_manage_role(guild, role)
        and not (role.managed and role.bot_id == fake.bot_user.id)
    ):
        raise missing_permissions()
    if role.id == guild.id and not (bot_perms(guild) & Permissions.MANAGE_ROLES):
        raise missing_permissions()
    body = ctx.body or {}
    if body.get("permissions") is not None:
        new = int(body["permissions"])
        _check_grant(guild, new & ~role.permissions)
        role.permissions = new
    if body.get("name") is not None:
        role.name = body["name"]
    color = _color(body)
    if color is not None:
        role.color = color
    for key in ("hoist", "mentionable"):
        if body.get(key) is not None:
            setattr(role, key, bool(body[key]))
    if "unicode_emoji" in body:
        role.unicode_emoji = body["unicode_emoji"]
    _role_event(ctx, guild, "GUILD_ROLE_UPDATE", role)
    fake._notify()
    return role.to_json()


@route("PATCH", "/guilds/{guild_id}/roles")
async def role_positions(ctx: Request) -> Any:
    fake = ctx.fake
    guild = get_guild(ctx)
    require(guild, Permissions.MANAGE_ROLES)
    body = ctx.body or []
    if not isinstance(body, list):
        raise form_error([((), "BASE_TYPE_ARRAY", "Must be an array.")])
    top = guild.me.top_position
    for entry in body:
        role = guild._roles.get(int(entry["id"]))
        if role is None:
            raise unknown("Role")
        pos = entry.get("position")
        if pos is None:
            continue
        if role.id == guild.id:
            raise form_error([((), "BASE_TYPE_INVALID", "Cannot move @everyone")])
        # a bot can only move roles below its own, and only to positions below its own
        if not can_manage_role(guild, role) or int(pos) >= top:
            raise missing_permissions()
    for entry in body:
        if entry.get("position") is not None:
            guild._insert_role(guild._roles[int(entry["id"])], int(entry["position"]))
    for r in guild.roles:
        if r.id != guild.id:
            _role_event(ctx, guild, "GUILD_ROLE_UPDATE", r)
    fake._notify()
    return [r.to_json() for r in guild.roles]


@route("DELETE", "/guilds/{guild_id}/roles/{role_id}")
async def role_delete(ctx: Request) -> Any:
    fake = ctx.fake
    guild = get_guild(ctx)
    role = get_role(ctx, guild)
    require(guild, Permissions.MANAGE_ROLES)
    if role.id == guild.id:
        raise ApiError(400, 50028, "Invalid role")
    if not can_manage_role(guild, role):
        raise missing_permissions()
    role.deleted = True
    guild._roles.pop(role.id)
    guild._normalise_positions()
    for m in guild.members:
        if role.id in m.role_ids:
            m.role_ids.remove(role.id)
    fake.gateway.dispatch("GUILD_ROLE_DELETE", {"guild_id": str(guild.id), "role_id": str(role.id)}, guild_id=guild.id)
    fake._notify()
    return Response(204)


# ---- scheduled events ------------------------------------------------------------------------

MAX_ACTIVE_EVENTS = 100  # "Maximum number of uncompleted guild scheduled events reached (100)"


def get_event(ctx: Request, guild: FakeGuild) -> FakeScheduledEvent:
    raw = ctx.params["guild_scheduled_event_id"]
    ev = guild._events.get(int(raw)) if raw.isdigit() else None
    if ev is None or ev.deleted:
        raise unknown("Guild Scheduled Event")
    return ev


def _check_event_channel(guild: FakeGuild, entity_type: int, channel_id: Any) -> int | None:
    if entity_type == 3:
        if channel_id:
            raise form_error([(("channel_id",), "BASE_TYPE_INVALID", "External events cannot have a channel")])
        return None
    want = ChannelType.stage if entity_type == 1 else ChannelType.voice
    ch = guild._channels.get(int(channel_id)) if channel_id else None
    if ch is None or ch.type != want:
        raise form_error(
            [(("channel_id",), "GUILD_SCHEDULED_EVENT_INVALID_CHANNEL", "Invalid channel for this entity type")]
        )
    return ch.id


def _event_payload(ctx: Request, ev: FakeScheduledEvent) -> dict[str, Any]:
    return ev.to_json(ctx.fake, with_user_count=ctx.query.get("with_user_count") in ("true", "1", "True"))


@route("GET", "/guilds/{guild_id}/scheduled-events")
async def event_list(ctx: Request) -> Any:
    guild = get_guild(ctx)
    return [_event_payload(ctx, e) for e in guild.scheduled_events]


@route("GET", "/guilds/{guild_id}/scheduled-events/{guild_scheduled_event_id}")
async def event_get(ctx: Request) -> Any:
    guild = get_guild(ctx)
    return _event_payload(ctx, get_event(ctx, guild))


@route("POST", "/guilds/{guild_id}/scheduled-events")
async def event_create(ctx: Request) -> Any:
    fake = ctx.fake
    guild = get_guild(ctx)
    perms = bot_perms(guild)
    if not perms & (Permissions.MANAGE_EVENTS | Permissions.CREATE_EVENTS):
        raise missing_permissions()
    body = ctx.body or {}
    if sum(1 for e in guild.scheduled_events if e.status in (1, 2)) >= MAX_ACTIVE_EVENTS:
        raise ApiError(400, 30038, "Maximum number of uncompleted guild scheduled events reached (100)")
    entity_type = int(body["entity_type"])
    channel_id = _check_event_channel(guild, entity_type, body.get("channel_id"))
    ev = FakeScheduledEvent(
        id=fake._ids.next(),
        guild_id=guild.id,
        name=body["name"],
        description=body.get("description"),
        scheduled_start_time=body["scheduled_start_time"],
        scheduled_end_time=body.get("scheduled_end_time"),
        privacy_level=int(body.get("privacy_level", 2)),
        entity_type=entity_type,
        channel_id=channel_id,
        creator_id=fake.bot_user.id,
        entity_metadata=body.get("entity_metadata") if entity_type == 3 else None,
        recurrence_rule=body.get("recurrence_rule"),
        image=None,
    )
    guild._events[ev.id] = ev
    fake.gateway.dispatch("GUILD_SCHEDULED_EVENT_CREATE", ev.to_json(fake), guild_id=guild.id)
    fake._notify()
    return ev.to_json(fake)


# https://discord.com/developers/docs/resources/guild-scheduled-event#guild-scheduled-event-object-guild-scheduled-event-status
_TRANSITIONS = {1: {1, 2, 4}, 2: {2, 3}}


def _managed_event(ctx: Request) -> tuple[FakeGuild, FakeScheduledEvent]:
    """The event and its guild, when the bot may change it: MANAGE_EVENTS, or CREATE_EVENTS on its own events."""
    guild = get_guild(ctx)
    ev = get_event(ctx, guild)
    perms = bot_perms(guild)
    if not (
        perms & Permissions.MANAGE_EVENTS
        or (perms & Permissions.CREATE_EVENTS and ev.creator_id == ctx.fake.bot_user.id)
    ):
        raise missing_permissions()
    return guild, ev


@route("PATCH", "/guilds/{guild_id}/scheduled-events/{guild_scheduled_event_id}")
async def event_edit(ctx: Request) -> Any:
    fake = ctx.fake
    guild, ev = _managed_event(ctx)
    body = ctx.body or {}
    if ev.status not in _TRANSITIONS:
        raise ApiError(400, 180000, "Cannot modify a completed or cancelled event")
    if body.get("status") is not None:
        status = int(body["status"])
        if status not in _TRANSITIONS[ev.status]:
            raise form_error(
                [(("status",), "GUILD_SCHEDULED_EVENT_INVALID_STATUS_TRANSITION", "Invalid status transition")]
            )
    if ev.status == 2 and "scheduled_start_time" in body:
        raise form_error(
            [(("scheduled_start_time",), "BASE_TYPE_INVALID", "Cannot change the start of an active event")]
        )
    entity_type = int(body["entity_type"]) if body.get("entity_type") is not None else ev.entity_type
    if "entity_type" in body or "channel_id" in body:
        ev.channel_id = _check_event_channel(
            guild, entity_type, body.get("channel_id", ev.channel_id if entity_type != 3 else None)
        )
    if entity_type == 3:
        meta = body.get("entity_metadata", ev.entity_metadata) or {}
        end = body.get("scheduled_end_time", ev.scheduled_end_time)
        if not meta.get("location"):
            raise form_error([(("entity_metadata", "location"), "BASE_TYPE_REQUIRED", "This field is required")])
        if not end:
            raise form_error([(("scheduled_end_time",), "BASE_TYPE_REQUIRED", "This field is required")])
    ev.entity_type = entity_type
    for key in (
        "name",
        "description",
        "scheduled_start_time",
        "scheduled_end_time",
        "entity_metadata",
        "recurrence_rule",
    ):
        if key in body:
            setattr(ev, key, body[key])
    if body.get("privacy_level") is not None:
        ev.privacy_level = int(body["privacy_level"])
    if body.get("status") is not None:
        ev.status = int(body["status"])
    ev.edits += 1
    fake.gateway.dispatch("GUILD_SCHEDULED_EVENT_UPDATE", ev.to_json(fake), guild_id=guild.id)
    fake._notify()
    return ev.to_json(fake)


@route("DELETE", "/guilds/{guild_id}/scheduled-events/{guild_scheduled_event_id}")
async def event_delete(ctx: Request) -> Any:
    fake = ctx.fake
    guild, ev = _managed_event(ctx)
    ev.deleted = True
    fake.gateway.dispatch("GUILD_SCHEDULED_EVENT_DELETE", ev.to_json(fake), guild_id=guild.id)
    fake._notify()
    return Response(204)


@route("GET", "/guilds/{guild_id}/scheduled-events/{guild_scheduled_event_id}/users")
async def event_users(ctx: Request) -> Any:
    fake = ctx.fake
    guild = get_guild(ctx)
    ev = get_event(ctx, guild)
    limit = max(1, min(100, int(ctx.query.get("limit", 100))))
    ids = sorted(ev.subscriber_ids)
    if "after" in ctx.query:
        ids = [i for i in ids if i > int(ctx.query["after"])]
    if "before" in ctx.query:
        ids = [i for i in ids if i < int(ctx.query["before"])][-limit:]
    ids = ids[:limit]
    with_member = ctx.query.get("with_member") in ("true", "1", "True")
    out = []
    for uid in ids:
        entry: dict[str, Any] = {"guild_scheduled_event_id": str(ev.id), "user": fake._users[uid].to_json()}
        m = guild.get_member(uid)
        if with_member and m is not None:
            entry["member"] = m.to_json(with_user=False)
        out.append(entry)
    return out
