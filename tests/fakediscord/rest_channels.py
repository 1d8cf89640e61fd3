"""REST: channels, messages, reactions, crossposts, threads, DMs.

https://discord.com/developers/docs/resources/channel and .../resources/message
"""

from __future__ import annotations

from typing import Any

from .server import ApiError, Request, Response, form_error, missing_permissions, route, unknown
from .state import (
    FLAG_CROSSPOSTED,
    FLAG_EPHEMERAL,
    FLAG_HAS_THREAD,
    THREAD_TYPES,
    ChannelType,
    FakeChannel,
    FakeGuild,
    FakeMessage,
    Permissions,
    now,
)
from .validation import check_v2_edit, message_is_empty

TEXT_LIKE = {ChannelType.text, ChannelType.news, ChannelType.voice, ChannelType.stage, ChannelType.dm, *THREAD_TYPES}


# ---- lookups ---------------------------------------------------------------------------------


def get_channel(ctx: Request, name: str = "channel_id") -> FakeChannel:
    raw = ctx.params[name]
    if not raw.isdigit():
        raise unknown("Channel")
    channel = ctx.fake._channels.get(int(raw))
    if channel is None or channel.deleted:
        raise unknown("Channel")
    return channel


def guild_of(ctx: Request, channel: FakeChannel) -> FakeGuild | None:
    return ctx.fake._guilds.get(channel.guild_id) if channel.guild_id else None


def get_message(ctx: Request, channel: FakeChannel) -> FakeMessage:
    raw = ctx.params["message_id"]
    msg = ctx.fake._messages.get(int(raw)) if raw.isdigit() else None
    if msg is None or msg.deleted or msg.channel_id != channel.id or msg.flags & FLAG_EPHEMERAL:
        raise unknown("Message")
    return msg


def bot_permissions(ctx: Request, guild: FakeGuild | None, channel: FakeChannel | None = None) -> int:
    if guild is None:
        return Permissions.ALL
    if channel is not None and channel.guild_id == guild.id:
        return guild.channel_permissions_for(guild.me, channel)
    return guild.permissions_for(guild.me)


def require(ctx: Request, guild: FakeGuild | None, *perms: int, channel: FakeChannel | None = None) -> None:
    """Refuse what the bot lacks, in the channel when one is given (its overwrites count): a channel it cannot
    see answers Missing Access (50001), a missing permission there Missing Permissions (50013)."""
    have = bot_permissions(ctx, guild, channel)
    if channel is not None and guild is not None and not have & Permissions.VIEW_CHANNEL:
        raise ApiError(403, 50001, "Missing Access")
    for p in perms:
        if not have & p:
            raise missing_permissions()


# ---- channels --------------------------------------------------------------------------------


@route("GET", "/channels/{channel_id}")
async def get_channel_route(ctx: Request) -> Any:
    return get_channel(ctx).to_json()


def _tag_ids(channel: FakeChannel) -> set[str]:
    return {str(t["id"]) for t in channel.available_tags}


@route("PATCH", "/channels/{channel_id}")
async def edit_channel(ctx: Request) -> Any:
    fake = ctx.fake
    channel = get_channel(ctx)
    guild = guild_of(ctx, channel)
    body = ctx.body or {}
    if channel.is_thread:
        own_thread = channel.owner_id == fake.bot_user.id
        if not own_thread or "locked" in body:
            require(ctx, guild, Permissions.MANAGE_THREADS)
        if channel.locked and body.get("locked") is not False:
            # a locked thread can only be changed by someone with MANAGE_THREADS, who must unlock it first
            require(ctx, guild, Permissions.MANAGE_THREADS)
        if body.get("name"):
            channel.name = body["name"]
        if "archived" in body and body["archived"] is not None:
            channel.archived = bool(body["archived"])
            channel.archive_timestamp = now()
        if "locked" in body and body["locked"] is not None:
            channel.locked = bool(body["locked"])
        if body.get("auto_archive_duration"):
            channel.auto_archive_duration = int(body["auto_archive_duration"])
        if "rate_limit_per_user" in body and body["rate_limit_per_user"] is not None:
            channel.rate_limit_per_user = int(body["rate_limit_per_user"])
        if "invitable" in body and body["invitable"] is not None:
            channel.invitable = bool(body["invitable"])
        if "applied_tags" in body and body["applied_tags"] is not None:
            parent = fake._channels.get(channel.parent_id or 0)
            tags = [str(t) for t in body["applied_tags"]]
            _check_applied_tags(parent, tags, ("applied_tags",))
            channel.applied_tags = [int(t) for t in tags]
        fake._emit_thread(channel, "THREAD_UPDATE")
        fake._notify()
        return channel.to_json()
    require(ctx, guild, Permissions.MANAGE_CHANNELS)
    for key in (
        "name",
        "topic",
        "nsfw",
        "rate_limit_per_user",
        "position",
        "bitrate",
        "user_limit",
        "default_auto_archive_duration",
    ):
        if key in body and body[key] is not None:
            setattr(channel, key, body[key])
    if "parent_id" in body:
        channel.parent_id = int(body["parent_id"]) if body["parent_id"] else None
    if "permission_overwrites" in body and body["permission_overwrites"] is not None:
        channel.permission_overwrites = [
            {
                "id": str(o["id"]),
                "type": o.get("type", 0),
                "allow": str(o.get("allow", 0)),
                "deny": str(o.get("deny", 0)),
            }
            for o in body["permission_overwrites"]
        ]
    if "type" in body and body["type"] is not None:
        new = ChannelType(int(body["type"]))
        # only text <-> announcement conversion is allowed (modify channel doc)
        if {channel.type, new} - {ChannelType.text, ChannelType.news}:
            raise form_error([(("type",), "CHANNEL_TYPE_INVALID", "Cannot convert to this channel type")])
        channel.type = new
    if "available_tags" in body and body["available_tags"] is not None:
        if channel.type not in (ChannelType.forum, ChannelType.media):
            raise form_error([(("available_tags",), "BASE_TYPE_INVALID", "Only forum and media channels have tags")])
        tags = []
        for t in body["available_tags"]:
            tag = fake._make_tag(t)
            tags.append(tag)
        if len(tags) > 20:
            # forum channel: "available_tags ... max 20"
            raise form_error([(("available_tags",), "BASE_TYPE_MAX_LENGTH", "Must be 20 or fewer in length.")])
        channel.available_tags = tags
    fake._emit_channel(channel, "CHANNEL_UPDATE", channel.to_json())
    fake._notify()
    return channel.to_json()


@route("DELETE", "/channels/{channel_id}")
async def delete_channel(ctx: Request) -> Any:
    channel = get_channel(ctx)
    guild = guild_of(ctx, channel)
    if guild is not None:
        require(ctx, guild, Permissions.MANAGE_THREADS if channel.is_thread else Permissions.MANAGE_CHANNELS)
    channel.deleted = True
    if channel.is_thread:
        ctx.fake.gateway.dispatch(
            "THREAD_DELETE",
            {
                "id": str(channel.id),
                "guild_id": str(channel.guild_id),
                "parent_id": str(channel.parent_id),
                "type": int(channel.type),
            },
            guild_id=channel.guild_id,
        )
    elif guild is not None:
        ctx.fake._emit_channel(channel, "CHANNEL_DELETE", channel.to_json())
    ctx.fake._notify()
    return channel.to_json()


@route("PUT", "/channels/{channel_id}/permissions/{overwrite_id}")
async def put_overwrite(ctx: Request) -> Any:
    """Stored and echoed in the channel (not evaluated: permissions are guild-level in the fake)."""
    channel = get_channel(ctx)
    require(ctx, guild_of(ctx, channel), Permissions.MANAGE_ROLES, channel=channel)
    body = ctx.body or {}
    oid = ctx.params["overwrite_id"]
    entry = {
        "id": oid,
        "type": int(body.get("type", 0)),
        "allow": str(body.get("allow") or 0),
        "deny": str(body.get("deny") or 0),
    }
    channel.permission_overwrites = [o for o in channel.permission_overwrites if o["id"] != oid] + [entry]
    ctx.fake._emit_channel(channel, "CHANNEL_UPDATE", channel.to_json())
    ctx.fake._notify()
    return Response(204)


@route("DELETE", "/channels/{channel_id}/permissions/{overwrite_id}")
async def delete_overwrite(ctx: Request) -> Any:
    channel = get_channel(ctx)
    require(ctx, guild_of(ctx, channel), Permissions.MANAGE_ROLES, channel=channel)
    oid = ctx.params["overwrite_id"]
    channel.permission_overwrites = [o for o in channel.permission_overwrites if o["id"] != oid]
    ctx.fake._emit_channel(channel, "CHANNEL_UPDATE", channel.to_json())
    ctx.fake._notify()
    return Response(204)


@route("POST", "/channels/{channel_id}/typing")
async def typing(ctx: Request) -> Any:
    get_channel(ctx)
    return Response(204)


# ---- messages --------------------------------------------------------------------------------


def _check_can_send(ctx: Request, channel: FakeChannel) -> None:
    fake = ctx.fake
    guild = guild_of(ctx, channel)
    if channel.type not in TEXT_LIKE:
        raise ApiError(400, 50008, "Cannot send messages in a non-text channel")
    if channel.type == ChannelType.dm:
        recipient = channel.recipients[0]
        if recipient.dms_closed or recipient.bot:
            raise ApiError(403, 50007, "Cannot send messages to this user")
        return
    if channel.is_thread:
        require(ctx, guild, Permissions.VIEW_CHANNEL, Permissions.SEND_MESSAGES_IN_THREADS, channel=channel)
        if channel.archived:
            if channel.locked and not bot_permissions(ctx, guild) & Permissions.MANAGE_THREADS:
                raise ApiError(400, 50083, "Thread is locked")
            # sending to an archived (not locked) thread unarchives it (threads topic doc)
            channel.archived = False
            fake._emit_thread(channel, "THREAD_UPDATE")
        return
    require(ctx, guild, Permissions.VIEW_CHANNEL, Permissions.SEND_MESSAGES, channel=channel)


@route("POST", "/channels/{channel_id}/messages")
async def create_message(ctx: Request) -> Any:
    fake = ctx.fake
    channel = get_channel(ctx)
    body = ctx.body or {}
    if not isinstance(body, dict):
        raise form_error([((), "MODEL_TYPE_CONVERT", "Only dictionaries may be used in a ModelType")])
    _check_can_send(ctx, channel)
    if message_is_empty(body, len(ctx.files)):
        raise ApiError(400, 50006, "Cannot send an empty message")
    first = fake._check_nonce(channel, fake.bot_user, body)
    if first is not None:
        # enforce_nonce: the same nonce from the same author within a few minutes returns the first
        # message and creates nothing (create-message doc)
        return first.to_json(fake)
    msg = fake._create_message(channel, fake.bot_user, body, ctx.files)
    return msg.to_json(fake)


@route("GET", "/channels/{channel_id}/messages")
async def list_messages(ctx: Request) -> Any:
    fake = ctx.fake
    channel = get_channel(ctx)
    limit = max(1, min(100, int(ctx.query.get("limit", 50))))
    msgs = fake.messages(channel)
    if "before" in ctx.query:
        msgs = [m for m in msgs if m.id < int(ctx.query["before"])]
    if "after" in ctx.query:
        msgs = [m for m in msgs if m.id > int(ctx.query["after"])][:limit]
        return [m.to_json(fake) for m in reversed(msgs)]
    if "around" in ctx.query:
        around = int(ctx.query["around"])
        older = [m for m in msgs if m.id <= around][-((limit + 1) // 2) :]
        newer = [m for m in msgs if m.id > around][: limit // 2]
        msgs = older + newer
        return [m.to_json(fake) for m in reversed(msgs)]
    return [m.to_json(fake) for m in reversed(msgs[-limit:])]


@route("GET", "/channels/{channel_id}/messages/{message_id}")
async def get_message_route(ctx: Request) -> Any:
    channel = get_channel(ctx)
    return get_message(ctx, channel).to_json(ctx.fake)


@route("PATCH", "/channels/{channel_id}/messages/{message_id}")
async def edit_message(ctx: Request) -> Any:
    fake = ctx.fake
    channel = get_channel(ctx)
    msg = get_message(ctx, channel)
    body = ctx.body or {}
    if msg.author.id != fake.bot_user.id:
        # others' messages: only the SUPPRESS_EMBEDS flag can be changed, with MANAGE_MESSAGES
        if set(body) - {"flags"}:
            raise ApiError(403, 50005, "Cannot edit a message authored by another user")
        require(ctx, guild_of(ctx, channel), Permissions.MANAGE_MESSAGES, channel=channel)
    if fake._would_be_empty(msg, body, ctx.files):
        raise ApiError(400, 50006, "Cannot send an empty message")
    stored = {"content": msg.content, "embeds": msg.embeds, "poll": msg.poll, "components": msg.components}
    v2_errors = check_v2_edit(msg.flags, stored, body)
    if v2_errors:
        raise form_error(v2_errors)
    fake._edit_message(msg, body, ctx.files)
    return msg.to_json(fake)


@route("DELETE", "/channels/{channel_id}/messages/{message_id}")
async def delete_message(ctx: Request) -> Any:
    fake = ctx.fake
    channel = get_channel(ctx)
    msg = get_message(ctx, channel)
    if msg.author.id != fake.bot_user.id and channel.type != ChannelType.dm:
        require(ctx, guild_of(ctx, channel), Permissions.MANAGE_MESSAGES, channel=channel)
    fake._delete_message(msg)
    return Response(204)


@route("POST", "/channels/{channel_id}/messages/bulk-delete")
async def bulk_delete(ctx: Request) -> Any:
    fake = ctx.fake
    channel = get_channel(ctx)
    require(ctx, guild_of(ctx, channel), Permissions.MANAGE_MESSAGES, channel=channel)
    ids = [int(i) for i in (ctx.body or {}).get("messages") or []]
    if not (2 <= len(ids) <= 100):
        raise form_error([(("messages",), "BASE_TYPE_BAD_LENGTH", "Must be between 2 and 100 in length.")])
    for mid in ids:
        msg = fake._messages.get(mid)
        if msg is not None and msg.channel_id == channel.id and not msg.deleted:
            fake._delete_message(msg)
    return Response(204)


@route("POST", "/channels/{channel_id}/messages/{message_id}/crosspost")
async def crosspost(ctx: Request) -> Any:
    fake = ctx.fake
    channel = get_channel(ctx)
    msg = get_message(ctx, channel)
    if channel.type != ChannelType.news:
        raise ApiError(400, 50024, "Cannot execute action on this channel type")
    if msg.author.id != fake.bot_user.id:
        require(ctx, guild_of(ctx, channel), Permissions.MANAGE_MESSAGES, channel=channel)
    if msg.crossposted:
        raise ApiError(400, 40033, "This message has already been crossposted.")
    msg.flags |= FLAG_CROSSPOSTED
    fake._emit_message(msg, "MESSAGE_UPDATE")
    fake._notify()
    return msg.to_json(fake)


def _set_pinned(ctx: Request, pinned: bool) -> Any:
    channel = get_channel(ctx)
    msg = get_message(ctx, channel)
    # Discord since 2026-02-23: PIN_MESSAGES, whatever else the bot holds (Manage Messages no longer pins).
    require(ctx, guild_of(ctx, channel), Permissions.PIN_MESSAGES, channel=channel)
    msg.pinned = pinned
    ctx.fake._emit_message(msg, "MESSAGE_UPDATE")
    return Response(204)


@route("PUT", "/channels/{channel_id}/messages/pins/{message_id}")
async def pin(ctx: Request) -> Any:
    return _set_pinned(ctx, True)


@route("DELETE", "/channels/{channel_id}/messages/pins/{message_id}")
async def unpin(ctx: Request) -> Any:
    return _set_pinned(ctx, False)


@route("GET", "/channels/{channel_id}/messages/pins")
async def list_pins(ctx: Request) -> Any:
    channel = get_channel(ctx)
    pins = [m for m in ctx.fake.messages(channel) if m.pinned]
    return {
        "items": [{"pinned_at": m.created_at.isoformat(), "message": m.to_json(ctx.fake)} for m in pins],
        "has_more": False,
    }


# ---- reactions -------------------------------------------------------------------------------


def _reaction_event(ctx: Request, msg: FakeMessage, emoji: str, user_id: int, event: str) -> None:
    name, _, eid = emoji.partition(":")
    data: dict[str, Any] = {
        "user_id": str(user_id),
        "channel_id": str(msg.channel_id),
        "message_id": str(msg.id),
        "emoji": {"id": eid or None, "name": name},
        "burst": False,
        "type": 0,
    }
    if msg.guild_id:
        data["guild_id"] = str(msg.guild_id)
    ctx.fake._emit_channel(ctx.fake._channels[msg.channel_id], event, data)


def _emoji_key(raw: str) -> str:
    if not raw:
        raise unknown("Emoji")
    return raw


@route("PUT", "/channels/{channel_id}/messages/{message_id}/reactions/{emoji_name}/@me")
async def add_reaction(ctx: Request) -> Any:
    channel = get_channel(ctx)
    msg = get_message(ctx, channel)
    require(ctx, guild_of(ctx, channel), Permissions.ADD_REACTIONS, Permissions.READ_MESSAGE_HISTORY)
    key = _emoji_key(ctx.params["emoji_name"])
    users = msg.reactions.setdefault(key, [])
    if ctx.fake.bot_user.id not in users:
        users.append(ctx.fake.bot_user.id)
        _reaction_event(ctx, msg, key, ctx.fake.bot_user.id, "MESSAGE_REACTION_ADD")
    ctx.fake._notify()
    return Response(204)


@route("DELETE", "/channels/{channel_id}/messages/{message_id}/reactions/{emoji_name}/@me")
async def remove_own_reaction(ctx: Request) -> Any:
    channel = get_channel(ctx)
    msg = get_message(ctx, channel)
    key = _emoji_key(ctx.params["emoji_name"])
    users = msg.reactions.get(key, [])
    if ctx.fake.bot_user.id in users:
        users.remove(ctx.fake.bot_user.id)
        _reaction_event(ctx, msg, key, ctx.fake.bot_user.id, "MESSAGE_REACTION_REMOVE")
    ctx.fake._notify()
    return Response(204)


@route("DELETE", "/channels/{channel_id}/messages/{message_id}/reactions/{emoji_name}/{user_id}")
async def remove_user_reaction(ctx: Request) -> Any:
    channel = get_channel(ctx)
    msg = get_message(ctx, channel)
    require(ctx, guild_of(ctx, channel), Permissions.MANAGE_MESSAGES, channel=channel)
    key = _emoji_key(ctx.params["emoji_name"])
    uid = int(ctx.params["user_id"])
    users = msg.reactions.get(key, [])
    if uid in users:
        users.remove(uid)
        _reaction_event(ctx, msg, key, uid, "MESSAGE_REACTION_REMOVE")
    ctx.fake._notify()
    return Response(204)


@route("GET", "/channels/{channel_id}/messages/{message_id}/reactions/{emoji_name}")
async def list_reactions(ctx: Request) -> Any:
    channel = get_channel(ctx)
    msg = get_message(ctx, channel)
    users = msg.reactions.get(ctx.params["emoji_name"], [])
    return [ctx.fake._users[u].to_json() for u in users if u in ctx.fake._users]


@route("DELETE", "/channels/{channel_id}/messages/{message_id}/reactions")
async def clear_reactions(ctx: Request) -> Any:
    channel = get_channel(ctx)
    msg = get_message(ctx, channel)
    require(ctx, guild_of(ctx, channel), Permissions.MANAGE_MESSAGES, channel=channel)
    msg.reactions.clear()
    ctx.fake._notify()
    return Response(204)


@route("DELETE", "/channels/{channel_id}/messages/{message_id}/reactions/{emoji_name}")
async def clear_emoji_reactions(ctx: Request) -> Any:
    channel = get_channel(ctx)
    msg = get_message(ctx, channel)
    require(ctx, guild_of(ctx, channel), Permissions.MANAGE_MESSAGES, channel=channel)
    msg.reactions.pop(ctx.params["emoji_name"], None)
    ctx.fake._notify()
    return Response(204)


# ---- threads ---------------------------------------------------------------------------------


def _check_applied_tags(parent: FakeChannel | None, tags: list[str], path: tuple[str | int, ...]) -> None:
    if parent is None or parent.type not in (ChannelType.forum, ChannelType.media):
        if tags:
            raise form_error([(path, "BASE_TYPE_INVALID", "Tags can only be applied to forum posts")])
        return
    valid = _tag_ids(parent)
    bad = [i for i, t in enumerate(tags) if t not in valid]
    if bad:
        raise form_error([((*path, bad[0]), "BASE_TYPE_CHOICES", "Unknown tag")])
    if len(tags) > 5:
        # forum posts: "applied_tags ... max 5"
        raise form_error([(path, "BASE_TYPE_MAX_LENGTH", "Must be 5 or fewer in length.")])


def _new_thread(
    ctx: Request, parent: FakeChannel, body: dict[str, Any], ttype: ChannelType, thread_id: int | None = None
) -> FakeChannel:
    fake = ctx.fake
    guild = guild_of(ctx, parent)
    assert guild is not None
    name = body.get("name")
    if not isinstance(name, str) or not (1 <= len(name) <= 100):
        raise form_error([(("name",), "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")])
    thread = FakeChannel(
        id=thread_id or fake._ids.next(),
        type=ttype,
        name=name,
        guild_id=parent.guild_id,
        parent_id=parent.id,
        owner_id=fake.bot_user.id,
        auto_archive_duration=int(body.get("auto_archive_duration") or parent.default_auto_archive_duration or 4320),
        rate_limit_per_user=int(body.get("rate_limit_per_user") or 0),
        invitable=bool(body.get("invitable", True)),
    )
    thread.thread_member_ids.add(fake.bot_user.id)
    guild._channels[thread.id] = thread
    fake._channels[thread.id] = thread
    return thread


@route("POST", "/channels/{channel_id}/messages/{message_id}/threads")
async def thread_from_message(ctx: Request) -> Any:
    fake = ctx.fake
    parent = get_channel(ctx)
    msg = get_message(ctx, parent)
    guild = guild_of(ctx, parent)
    if parent.type not in (ChannelType.text, ChannelType.news):
        raise ApiError(400, 50024, "Cannot execute action on this channel type")
    require(ctx, guild, Permissions.CREATE_PUBLIC_THREADS)
    if msg.thread is not None:
        raise ApiError(400, 160004, "A thread has already been created for this message")
    ttype = ChannelType.news_thread if parent.type == ChannelType.news else ChannelType.public_thread
    # a thread started from a message has the message's id
    thread = _new_thread(ctx, parent, ctx.body or {}, ttype, thread_id=msg.id)
    msg.thread = thread
    msg.flags |= FLAG_HAS_THREAD
    fake._emit_thread(thread, "THREAD_CREATE", newly_created=True)
    fake._emit_message(msg, "MESSAGE_UPDATE")
    fake._notify()
    return thread.to_json()


@route("POST", "/channels/{channel_id}/threads")
async def start_thread(ctx: Request) -> Any:
    fake = ctx.fake
    parent = get_channel(ctx)
    guild = guild_of(ctx, parent)
    body = ctx.body or {}
    if parent.type in (ChannelType.forum, ChannelType.media):
        # forum/media post: a thread plus its first message (start-thread-in-forum doc)
        require(ctx, guild, Permissions.SEND_MESSAGES)
        message = body.get("message")
        if not isinstance(message, dict):
            raise form_error([(("message",), "BASE_TYPE_REQUIRED", "This field is required")])
        if message_is_empty(message, len(ctx.files)):
            raise ApiError(400, 50006, "Cannot send an empty message")
        tags = [str(t) for t in body.get("applied_tags") or []]
        _check_applied_tags(parent, tags, ("applied_tags",))
        if any(t.get("moderated") for t in parent.available_tags if str(t["id"]) in tags):
            require(ctx, guild, Permissions.MANAGE_THREADS)
        thread = _new_thread(ctx, parent, body, ChannelType.public_thread)
        thread.applied_tags = [int(t) for t in tags]
        first = fake._create_message(thread, fake.bot_user, message, ctx.files, emit=False)
        # the starter message has the thread's id
        fake._messages.pop(first.id)
        first.id = thread.id
        fake._messages[first.id] = first
        thread.last_message_id = first.id
        fake._emit_thread(thread, "THREAD_CREATE", newly_created=True)
        fake._emit_message(first)
        fake._notify()
        return {**thread.to_json(), "message": first.to_json(fake)}
    if parent.type not in (ChannelType.text, ChannelType.news):
        raise ApiError(400, 50024, "Cannot execute action on this channel type")
    ttype = ChannelType(int(body.get("type") or ChannelType.private_thread))
    if ttype not in THREAD_TYPES:
        raise form_error([(("type",), "BASE_TYPE_CHOICES", "Value must be one of (10, 11, 12).")])
    require(
        ctx,
        guild,
        Permissions.CREATE_PRIVATE_THREADS
        if ttype == ChannelType.private_thread
        else Permissions.CREATE_PUBLIC_THREADS,
    )
    thread = _new_thread(ctx, parent, body, ttype)
    fake._emit_thread(thread, "THREAD_CREATE", newly_created=True)
    fake._notify()
    return thread.to_json()


def _thread_member_json(thread: FakeChannel, user_id: int) -> dict[str, Any]:
    return {"id": str(thread.id), "user_id": str(user_id), "join_timestamp": thread.created_at.isoformat(), "flags": 0}


def _thread_members_update(ctx: Request, thread: FakeChannel, added: list[int], removed: list[int]) -> None:
    guild = guild_of(ctx, thread)
    data: dict[str, Any] = {
        "id": str(thread.id),
        "guild_id": str(thread.guild_id),
        "member_count": len(thread.thread_member_ids),
    }
    if added:
        data["added_members"] = []
        for u in added:
            entry = _thread_member_json(thread, u)
            m = guild.get_member(u) if guild else None
            if m is not None:
                entry["member"] = m.to_json()
            data["added_members"].append(entry)
    if removed:
        data["removed_member_ids"] = [str(u) for u in removed]
    ctx.fake.gateway.dispatch("THREAD_MEMBERS_UPDATE", data, guild_id=thread.guild_id)


def _thread(ctx: Request) -> FakeChannel:
    thread = get_channel(ctx)
    if not thread.is_thread:
        raise ApiError(400, 50024, "Cannot execute action on this channel type")
    return thread


@route("PUT", "/channels/{channel_id}/thread-members/@me")
async def join_thread(ctx: Request) -> Any:
    thread = _thread(ctx)
    if thread.archived:
        raise ApiError(400, 50083, "Operation was performed on an archived thread")
    uid = ctx.fake.bot_user.id
    if uid not in thread.thread_member_ids:
        thread.thread_member_ids.add(uid)
        _thread_members_update(ctx, thread, [uid], [])
    ctx.fake._notify()
    return Response(204)


@route("PUT", "/channels/{channel_id}/thread-members/{user_id}")
async def add_thread_member(ctx: Request) -> Any:
    thread = _thread(ctx)
    guild = guild_of(ctx, thread)
    if thread.archived:
        raise ApiError(400, 50083, "Operation was performed on an archived thread")
    uid = int(ctx.params["user_id"]) if ctx.params["user_id"].isdigit() else 0
    if guild is None or guild.get_member(uid) is None:
        raise unknown("Member")
    require(ctx, guild, Permissions.SEND_MESSAGES_IN_THREADS)
    if uid not in thread.thread_member_ids:
        thread.thread_member_ids.add(uid)
        _thread_members_update(ctx, thread, [uid], [])
    ctx.fake._notify()
    return Response(204)


@route("DELETE", "/channels/{channel_id}/thread-members/@me")
async def leave_thread(ctx: Request) -> Any:
    thread = _thread(ctx)
    uid = ctx.fake.bot_user.id
    if uid in thread.thread_member_ids:
        thread.thread_member_ids.discard(uid)
        _thread_members_update(ctx, thread, [], [uid])
    return Response(204)


@route("DELETE", "/channels/{channel_id}/thread-members/{user_id}")
async def remove_thread_member(ctx: Request) -> Any:
    thread = _thread(ctx)
    require(ctx, guild_of(ctx, thread), Permissions.MANAGE_THREADS)
    uid = int(ctx.params["user_id"])
    if uid in thread.thread_member_ids:
        thread.thread_member_ids.discard(uid)
        _thread_members_update(ctx, thread, [], [uid])
    return Response(204)


@route("GET", "/channels/{channel_id}/thread-members/{user_id}")
async def get_thread_member(ctx: Request) -> Any:
    thread = _thread(ctx)
    uid = int(ctx.params["user_id"])
    if uid not in thread.thread_member_ids:
        raise ApiError(404, 10007, "Unknown Member")
    return _thread_member_json(thread, uid)


@route("GET", "/channels/{channel_id}/thread-members")
async def list_thread_members(ctx: Request) -> Any:
    thread = _thread(ctx)
    return [_thread_member_json(thread, u) for u in sorted(thread.thread_member_ids)]


def _archived(ctx: Request, private: bool) -> Any:
    parent = get_channel(ctx)
    guild = guild_of(ctx, parent)
    threads = [
        t
        for t in (guild.threads if guild else [])
        if t.parent_id == parent.id and t.archived and (t.type == ChannelType.private_thread) == private
    ]
    return {"threads": [t.to_json() for t in threads], "members": [], "has_more": False}


@route("GET", "/channels/{channel_id}/threads/archived/public")
async def archived_public(ctx: Request) -> Any:
    return _archived(ctx, False)


@route("GET", "/channels/{channel_id}/threads/archived/private")
async def archived_private(ctx: Request) -> Any:
    return _archived(ctx, True)


# ---- voice channel status ------------------------------------------------------------------


@route("PUT", "/channels/{channel_id}/voice-status")
async def set_voice_status(ctx: Request) -> Any:
    """Set (or clear with null or "") a voice or stage channel's status line, as a member of it would see it."""
    channel = get_channel(ctx)
    if channel.type not in (ChannelType.voice, ChannelType.stage):
        raise ApiError(400, 50024, "Cannot execute action on this channel type")
    guild = guild_of(ctx, channel)
    # Discord: SET_VOICE_CHANNEL_STATUS, and (when the bot is not connected to the channel) MANAGE_CHANNELS too;
    # the fake asks only for the first, which is the one bots lack in practice.
    require(ctx, guild, Permissions.SET_VOICE_CHANNEL_STATUS)
    status = (ctx.body or {}).get("status") or None
    channel.voice_status = status
    ctx.fake._emit_channel(
        channel,
        "VOICE_CHANNEL_STATUS_UPDATE",
        {"id": str(channel.id), "guild_id": str(channel.guild_id), "status": status},
    )
    ctx.fake._notify()
    return Response(204)


# ---- stage instances ------------------------------------------------------------------------
# https://discord.com/developers/docs/resources/stage-instance: a stage channel holds at most one live instance;
# opening one needs the stage moderator's permissions (MANAGE_CHANNELS, MUTE_MEMBERS, MOVE_MEMBERS).

# https://discord.com/developers/docs/topics/opcodes-and-status-codes#json: 150006 "Stage already open".
STAGE_ALREADY_OPEN = 150006


def _stage_channel(ctx: Request, raw: Any) -> FakeChannel:
    channel = ctx.fake._channels.get(int(raw)) if str(raw).isdigit() else None
    if channel is None or channel.deleted:
        raise unknown("Channel")
    if channel.type != ChannelType.stage:
        raise ApiError(400, 50024, "Cannot execute action on this channel type")
    return channel


@route("POST", "/stage-instances")
async def create_stage_instance(ctx: Request) -> Any:
    body = ctx.body or {}
    channel = _stage_channel(ctx, body.get("channel_id"))
    guild = guild_of(ctx, channel)
    assert guild is not None
    require(ctx, guild, Permissions.MANAGE_CHANNELS, Permissions.MUTE_MEMBERS, Permissions.MOVE_MEMBERS)
    if channel.stage_instance is not None:
        raise ApiError(400, STAGE_ALREADY_OPEN, "Stage already open")
    event_id = body.get("guild_scheduled_event_id")
    instance = {
        "id": str(ctx.fake._ids.next()),
        "guild_id": str(guild.id),
        "channel_id": str(channel.id),
        "topic": body["topic"],
        "privacy_level": int(body.get("privacy_level") or 2),
        "discoverable_disabled": True,
        "guild_scheduled_event_id": str(event_id) if event_id else None,
    }
    channel.stage_instance = instance
    ctx.fake._emit_guild(guild, "STAGE_INSTANCE_CREATE", instance)
    ctx.fake._notify()
    return instance


@route("GET", "/stage-instances/{channel_id}")
async def get_stage_instance(ctx: Request) -> Any:
    channel = _stage_channel(ctx, ctx.params["channel_id"])
    if channel.stage_instance is None:
        raise ApiError(404, 10067, "Unknown Stage Instance")
    return channel.stage_instance


@route("DELETE", "/stage-instances/{channel_id}")
async def delete_stage_instance(ctx: Request) -> Any:
    channel = _stage_channel(ctx, ctx.params["channel_id"])
    guild = guild_of(ctx, channel)
    require(ctx, guild, Permissions.MANAGE_CHANNELS, Permissions.MUTE_MEMBERS, Permissions.MOVE_MEMBERS)
    if channel.stage_instance is None:
        raise ApiError(404, 10067, "Unknown Stage Instance")
    instance, channel.stage_instance = channel.stage_instance, None
    if guild is not None:
        ctx.fake._emit_guild(guild, "STAGE_INSTANCE_DELETE", instance)
    ctx.fake._notify()
    return Response(204)


# ---- DMs -------------------------------------------------------------------------------------


@route("POST", "/users/@me/channels")
async def open_dm(ctx: Request) -> Any:
    body = ctx.body or {}
    rid = body.get("recipient_id")
    user = ctx.fake._users.get(int(rid)) if str(rid).isdigit() else None
    if user is None:
        raise unknown("User")
    return ctx.fake.dm_channel(user).to_json()
