"""``FakeDiscord``: the object tests hold. It owns the server, the state and the test-facing API.

State changes made through REST or through test helpers go through the ``_create_message``/
``_emit_*`` helpers here, so REST answers and gateway events always agree.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import re
import secrets
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from . import interactions as ix_mod
from .gateway import Gateway, Intents
from .ratelimit import RateLimiter
from .server import ApiError, RecordedRequest, build_app
from .state import (
    FLAG_EPHEMERAL,
    FLAG_IS_COMPONENTS_V2,
    FLAG_SUPPRESS_NOTIFICATIONS,
    ChannelType,
    FakeAttachment,
    FakeChannel,
    FakeGuild,
    FakeMember,
    FakeMessage,
    FakeRole,
    FakeUser,
    Permissions,
    SnowflakeGenerator,
    assign_component_ids,
    now,
)

# Flags a bot may set when it creates a message (message resource doc, "Create Message": SUPPRESS_EMBEDS,
# SUPPRESS_NOTIFICATIONS, IS_VOICE_MESSAGE, IS_COMPONENTS_V2; EPHEMERAL only through interactions).
SETTABLE_FLAGS = 4 | FLAG_SUPPRESS_NOTIFICATIONS | 8192 | FLAG_IS_COMPONENTS_V2
NONCE_WINDOW_S = 5 * 60  # "a few minutes" (create-message doc, enforce_nonce)

_USER_MENTION = re.compile(r"<@!?(\d+)>")
_ROLE_MENTION = re.compile(r"<@&(\d+)>")


@dataclass
class _Failure:
    predicate: Callable[[str, str, str], bool] | None
    status: int
    remaining: int
    message: str


@dataclass
class SlowRoute:
    """Requests matching `predicate` wait `seconds` before they are answered (the next `remaining` of them)."""

    predicate: Callable[[str, str, str], bool] | None
    seconds: float
    remaining: int
    # Loop time at which each delayed request arrived, so a test can act while Discord is still "thinking".
    arrived: list[float] = field(default_factory=list)


@dataclass
class _ExpectedRefusal:
    predicate: Callable[[str, str, str], bool] | None
    status: int | None
    code: int | None
    remaining: int | None  # None: any number

    def takes(self, method: str, path: str, template: str, status: int, code: int | None) -> bool:
        if self.remaining == 0 or (self.status is not None and status != self.status):
            return False
        if self.code is not None and code != self.code:
            return False
        if self.predicate is not None and not self.predicate(method, path, template):
            return False
        if self.remaining is not None:
            self.remaining -= 1
        return True


def _poll_response(poll: dict[str, Any] | None) -> dict[str, Any] | None:
    """A poll as Discord answers it: numbered answers, an expiry from the duration, empty results."""
    if poll is None:
        return None
    hours = int(poll.get("duration") or 24)
    expiry = datetime.now(UTC) + timedelta(hours=hours)
    return {
        "question": poll.get("question") or {},
        "answers": [
            {"answer_id": number, "poll_media": answer.get("poll_media") or {}}
            for number, answer in enumerate(poll.get("answers") or [], start=1)
        ],
        "expiry": expiry.isoformat(),
        "allow_multiselect": bool(poll.get("allow_multiselect")),
        "layout_type": int(poll.get("layout_type") or 1),
        "results": {"answer_counts": [], "is_finalized": False},
    }


def _route_predicate(route: Callable[[str, str, str], bool] | str | None) -> Callable[[str, str, str], bool] | None:
    if isinstance(route, str):
        template = route
        return lambda m, p, t: t == template
    return route


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


class FakeDiscord:
    def __init__(
        self,
        enforce_rate_limits: bool = False,
        *,
        rate_limit_scale: float = 1.0,
        bot_name: str = "Labelbot",
        token: str | None = None,
        privileged_intents: int = Intents.PRIVILEGED,
        recommended_shards: int = 1,
        check_responses: bool = False,
        check_bodies_in_thread: bool = False,
    ) -> None:
        self._ids = SnowflakeGenerator()
        bot_id = self._ids.next(int(time.time() * 1000) - 400 * 86400 * 1000)
        self.bot_user = FakeUser(bot_id, bot_name, bot=True)
        self.application_id = bot_id
        # GATEWAY_GUILD_MEMBERS_LIMITED | GATEWAY_MESSAGE_CONTENT_LIMITED | APPLICATION_COMMAND_BADGE
        self.application_flags = (1 << 15) | (1 << 19) | (1 << 23)
        self.token = token or (
            base64.b64encode(str(bot_id).encode()).decode().rstrip("=")
            + "."
            + secrets.token_urlsafe(4)
            + "."
            + secrets.token_urlsafe(27)
        )
        self.privileged_intents = privileged_intents
        self.recommended_shards = recommended_shards
        self.ratelimiter = RateLimiter(enforce=enforce_rate_limits, scale=rate_limit_scale)
        self.latency = 0.0
        self.interaction_timeout = 3.0  # seconds to the first callback (receiving-and-responding doc)
        self.followup_window = 15 * 60.0  # interaction tokens stay valid 15 minutes

        self.requests: list[RecordedRequest] = []
        self.rejected_requests: list[RecordedRequest] = []
        self.unknown_routes: list[RecordedRequest] = []
        # Every answer Discord would not have given a correct client: a non-2xx the test neither injected nor
        # expected (rate-limit 429s aside: those are Discord pacing a correct client), and unknown routes.
        self.refusals: list[RecordedRequest] = []
        self.expected_refusals: list[RecordedRequest] = []
        self._expected: list[_ExpectedRefusal] = []
        self.count_429 = 0
        # self-check: validate the fake's own JSON answers against the spec's response schemas
        self.check_responses = check_responses
        # Check request bodies against the spec in a worker thread, keeping the event loop free to take requests as
        # they arrive (rate limits count them then): for a fake under heavy traffic, such as the cluster test's,
        # whose loop otherwise falls seconds behind. Off by default: the thread hand-offs slow small requests down.
        self.check_bodies_in_thread = check_bodies_in_thread
        self.response_violations: list[tuple[str, str, Any]] = []

        self._users: dict[int, FakeUser] = {self.bot_user.id: self.bot_user}
        self._guilds: dict[int, FakeGuild] = {}
        self._channels: dict[int, FakeChannel] = {}
        # Files attached to command options, served at cdn_base (tests/fakediscord/server.py `cdn`).
        self.uploads: dict[int, FakeAttachment] = {}
        self._messages: dict[int, FakeMessage] = {}
        self._channel_messages: dict[int, list[FakeMessage]] = {}
        self._dm_channels: dict[int, FakeChannel] = {}
        self._nonces: dict[tuple[int, int, str], tuple[FakeMessage, float]] = {}
        self._global_commands: list[dict[str, Any]] = []
        self._guild_commands: dict[int, list[dict[str, Any]]] = {}
        self._interactions: dict[int, ix_mod.FakeInteraction] = {}
        self._interaction_tokens: dict[str, ix_mod.FakeInteraction] = {}
        self._failures: list[_Failure] = []
        self._slow_routes: list[SlowRoute] = []
        self._guild_clock = int(time.time() * 1000) - 3 * 365 * 86400 * 1000
        self._changed = asyncio.Event()
        self._waiters: list[asyncio.Future[None]] = []

        self.gateway = Gateway(self)
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self.host = "127.0.0.1"
        self.port = 0

    # ==========================================================================================
    # lifecycle
    # ==========================================================================================
    async def start(self, host: str = "127.0.0.1", port: int = 0) -> FakeDiscord:
        self.gateway._open = asyncio.Event()
        self.gateway._open.set()
        self._changed = asyncio.Event()
        app = build_app(self)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        self._site = web.TCPSite(self._runner, host, port)
        await self._site.start()
        server = self._site._server
        assert server is not None
        self.host = host
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        await self.gateway.close_all()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeDiscord:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def api_base(self) -> str:
        return f"http://{self.host}:{self.port}/api/v10"

    @property
    def cdn_base(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def gateway_url(self) -> str:
        return f"ws://{self.host}:{self.port}/"

    @property
    def enforce_rate_limits(self) -> bool:
        return self.ratelimiter.enforce

    @enforce_rate_limits.setter
    def enforce_rate_limits(self, value: bool) -> None:
        self.ratelimiter.enforce = value

    # ==========================================================================================
    # building the world
    # ==========================================================================================
    def add_user(
        self, name: str, dms_closed: bool = False, *, bot: bool = False, global_name: str | None = None
    ) -> FakeUser:
        user = FakeUser(self._ids.next(), name, bot=bot, dms_closed=dms_closed, global_name=global_name)
        self._users[user.id] = user
        return user

    def user(self, key: int | str) -> FakeUser:
        if isinstance(key, str) and not key.isdigit():
            for u in self._users.values():
                if u.name == key:
                    return u
            raise KeyError(key)
        return self._users[int(key)]

    def add_guild(
        self,
        name: str,
        member_count: int | None = None,
        bot_permissions: int = Permissions.BOT_DEFAULT,
        *,
        owner: FakeUser | None = None,
        everyone_permissions: int = Permissions.EVERYONE_DEFAULT,
    ) -> FakeGuild:
        # Guild ids are spaced one millisecond apart in the past, so consecutive guilds land on
        # consecutive shards ((id >> 22) % n) like guilds created at different times do.
        self._guild_clock += 1
        gid = self._ids.next(self._guild_clock)
        owner = owner or self.add_user(f"{name.lower().replace(' ', '-')}-owner")
        guild = FakeGuild(self, gid, name, owner, member_count)
        guild._roles[gid] = FakeRole(gid, gid, "@everyone", permissions=everyone_permissions, position=0)
        bot_role = FakeRole(
            self._ids.next(),
            gid,
            self.bot_user.name,
            permissions=bot_permissions,
            position=1,
            managed=True,
            bot_id=self.bot_user.id,
        )
        guild._insert_role(bot_role, 1)
        guild.bot_role = bot_role
        guild.add_member(owner)
        guild.add_member(self.bot_user, roles=[bot_role])
        self._guilds[gid] = guild
        self._register_guild_channels(guild)
        for session in self.gateway.live_sessions():
            if session.owns(gid):
                self.gateway._send_dispatch(
                    session, "GUILD_CREATE", self._guild_create_payload(guild, session, joined=True)
                )
        return guild

    def guild(self, key: int | str) -> FakeGuild:
        if isinstance(key, str) and not key.isdigit():
            for g in self._guilds.values():
                if g.name == key:
                    return g
            raise KeyError(key)
        return self._guilds[int(key)]

    @property
    def guilds(self) -> list[FakeGuild]:
        return list(self._guilds.values())

    def _register_guild_channels(self, guild: FakeGuild) -> None:
        for c in guild._channels.values():
            self._channels[c.id] = c

    def _make_tag(self, tag: str | dict[str, Any]) -> dict[str, Any]:
        if isinstance(tag, str):
            tag = {"name": tag}
        return {
            "id": str(tag.get("id") or self._ids.next()),
            "name": tag["name"],
            "moderated": bool(tag.get("moderated", False)),
            "emoji_id": tag.get("emoji_id"),
            "emoji_name": tag.get("emoji_name"),
        }

    def dm_channel(self, user: FakeUser | int) -> FakeChannel:
        """The DM channel between the bot and ``user`` (created on first use, like Discord)."""
        u = user if isinstance(user, FakeUser) else self._users[int(user)]
        ch = self._dm_channels.get(u.id)
        if ch is None:
            ch = FakeChannel(id=self._ids.next(), type=ChannelType.dm, recipients=[u])
            self._dm_channels[u.id] = ch
            self._channels[ch.id] = ch
        return ch

    # ==========================================================================================
    # state queries for assertions
    # ==========================================================================================
    def channel(self, channel_id: int | str) -> FakeChannel:
        return self._channels[int(channel_id)]

    def messages(self, channel: FakeChannel | int, *, include_deleted: bool = False) -> list[FakeMessage]:
        """Messages posted in a channel or thread, oldest first (not ephemeral replies)."""
        cid = channel.id if isinstance(channel, FakeChannel) else int(channel)
        return [m for m in self._channel_messages.get(cid, []) if include_deleted or not m.deleted]

    def message(self, message_id: int | str) -> FakeMessage:
        return self._messages[int(message_id)]

    def dms(self, user: FakeUser | int) -> list[FakeMessage]:
        uid = user.id if isinstance(user, FakeUser) else int(user)
        ch = self._dm_channels.get(uid)
        return self.messages(ch) if ch is not None else []

    def synced_commands(self, guild: FakeGuild | int | None = None) -> list[dict[str, Any]]:
        if guild is None:
            return list(self._global_commands)
        gid = guild.id if isinstance(guild, FakeGuild) else int(guild)
        return list(self._guild_commands.get(gid, []))

    @property
    def interactions(self) -> list[ix_mod.FakeInteraction]:
        return list(self._interactions.values())

    def expect_refusals(
        self,
        route: Callable[[str, str, str], bool] | str | None = None,
        *,
        status: int | None = None,
        code: int | None = None,
        count: int | None = None,
    ) -> None:
        """Mark refusals the test provokes on purpose, so the teardown check lets them pass.

        ``route`` is a route template (``"/channels/{channel_id}/messages"``), a predicate
        ``(method, path, route_template)`` or None (any route); ``status`` and ``code`` narrow it (e.g. 404 and
        10008 "Unknown Message"); ``count`` limits how many it covers (default: any number).
        """
        self._expected.append(_ExpectedRefusal(_route_predicate(route), status, code, count))

    def _record_refusal(self, rec: RecordedRequest) -> None:
        code = rec.error.get("code") if isinstance(rec.error, dict) else None
        template = rec.route or ""
        if any(e.takes(rec.method, rec.path, template, rec.status, code) for e in self._expected):
            self.expected_refusals.append(rec)
        else:
            self.refusals.append(rec)

    def problems(self) -> list[str]:
        """What the teardown check fails on: unexpected refusals and the fake's own answers breaking the spec."""
        lines = [f"refused: {r.method} {r.path} -> {r.status} {json.dumps(r.error)[:300]}" for r in self.refusals]
        lines += [f"answer breaks the spec: {m} {t}: {p}" for m, t, p in self.response_violations]
        return lines

    def assert_no_refusals(self) -> None:
        """Fail on any refusal the test did not inject or expect, any unknown route and any off-spec answer."""
        problems = self.problems()
        if problems:
            raise AssertionError(
                f"{len(problems)} thing(s) Discord would not have done for a correct bot:\n  " + "\n  ".join(problems)
            )

    def assert_no_rejections(self) -> None:
        if self.rejected_requests:
            lines = [f"  {r.method} {r.path}: {r.error}" for r in self.rejected_requests]
            raise AssertionError(
                f"{len(self.rejected_requests)} request(s) rejected by the fake Discord:\n" + "\n".join(lines)
            )

    def requests_to(self, route: str, method: str | None = None) -> list[RecordedRequest]:
        """Recorded requests for a route template, e.g. ``requests_to("/channels/{channel_id}/messages", "POST")``."""
        return [r for r in self.requests if r.route == route and (method is None or r.method == method)]

    # ==========================================================================================
    # waiting
    # ==========================================================================================
    def _notify(self) -> None:
        ev = self._changed
        self._changed = asyncio.Event()
        ev.set()
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def wait_until(self, predicate: Callable[[], Any], timeout: float = 5.0, what: str = "condition") -> Any:
        """Wait until ``predicate()`` is truthy (re-checked on every state change, and every 20 ms); return it.

        Each wait is a bare future woken by `_notify`, not `asyncio.wait_for` (a task and a cancellation per
        wake-up): 200 interactions awaited at once are woken by every request, and the benchmarks run the bot in
        this process, so the waiting cost the bot measurable time (bench_interactions' simultaneous clicks).
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            result = predicate()
            if result:
                return result
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"fake Discord: timed out after {timeout}s waiting for {what}")
            waiter: asyncio.Future[None] = loop.create_future()
            self._waiters.append(waiter)
            timer = loop.call_later(min(remaining, 0.02), _wake, waiter)
            try:
                await waiter
            finally:
                timer.cancel()

    async def wait_for_message(
        self,
        channel: FakeChannel | int,
        predicate: Callable[[FakeMessage], bool] | None = None,
        timeout: float = 5.0,
        *,
        after: FakeMessage | int | None = None,
    ) -> FakeMessage:
        """The first (oldest) message in the channel matching ``predicate``, waiting for it if needed.

        Existing messages count too, so there is no race with a bot that was faster than the test;
        pass ``after=`` (a message or id) to only consider newer ones.
        """
        after_id = after.id if isinstance(after, FakeMessage) else (after or 0)

        def find() -> FakeMessage | None:
            for m in self.messages(channel):
                if m.id > after_id and (predicate is None or predicate(m)):
                    return m
            return None

        return await self.wait_until(find, timeout, f"a message in channel {channel!r}")

    async def wait_for_dm(
        self, user: FakeUser, predicate: Callable[[FakeMessage], bool] | None = None, timeout: float = 5.0
    ) -> FakeMessage:
        return await self.wait_for_message(self.dm_channel(user), predicate, timeout)

    async def wait_for_request(
        self, predicate: Callable[[RecordedRequest], bool], timeout: float = 5.0
    ) -> RecordedRequest:
        def find() -> RecordedRequest | None:
            return next((r for r in self.requests if predicate(r)), None)

        return await self.wait_until(find, timeout, "a matching request")

    async def wait_until_connected(self, shards: int | None = None, timeout: float = 10.0) -> None:
        """Until ``shards`` shards (default: any one) have a live, identified gateway connection."""
        want = shards or 1
        await self.wait_until(
            lambda: len(self.gateway.connected_shards()) >= want, timeout, f"{want} connected shard(s)"
        )

    # ==========================================================================================
    # fault injection and gateway controls
    # ==========================================================================================
    def inject_failures(
        self,
        route_predicate: Callable[[str, str, str], bool] | str | None = None,
        status: int = 500,
        count: int = 1,
        message: str | None = None,
    ) -> None:
        """The next ``count`` matching REST requests answer ``status``.

        ``route_predicate(method, path, route_template)``; a string matches the route template
        (e.g. ``"/channels/{channel_id}/messages"``); None matches every request.
        """
        pred = _route_predicate(route_predicate)
        default = {500: "500: Internal Server Error", 502: "502: Bad Gateway", 503: "503: Service Unavailable"}
        self._failures.append(
            _Failure(pred, status, count, message or default.get(status, f"{status}: injected failure"))
        )

    def slow_route(
        self,
        route_predicate: Callable[[str, str, str], bool] | str | None,
        seconds: float,
        count: int = 1,
    ) -> SlowRoute:
        """The next ``count`` matching REST requests wait ``seconds`` before being answered (or failed).

        Combine with ``inject_failures`` for a route that answers slowly and then fails.
        """
        pred: Callable[[str, str, str], bool] | None
        if isinstance(route_predicate, str):
            template = route_predicate
            pred = lambda m, p, t: t == template  # noqa: E731
        else:
            pred = route_predicate
        slow = SlowRoute(pred, seconds, count)
        self._slow_routes.append(slow)
        return slow

    def _take_delay(self, method: str, path: str, template: str) -> float:
        for slow in self._slow_routes:
            if slow.remaining > 0 and (slow.predicate is None or slow.predicate(method, path, template)):
                slow.remaining -= 1
                slow.arrived.append(asyncio.get_running_loop().time())
                return slow.seconds
        return 0.0

    def _take_failure(self, method: str, path: str, template: str) -> _Failure | None:
        for f in self._failures:
            if f.remaining > 0 and (f.predicate is None or f.predicate(method, path, template)):
                f.remaining -= 1
                return f
        return None

    async def drop_gateway(self, resumable: bool = True, *, shard_id: int | None = None, hold: bool = False) -> None:
        """Cut the gateway connection(s). ``hold=True`` keeps new connections waiting (no HELLO)
        until ``release_gateway()``, so events emitted meanwhile are only delivered by the RESUME."""
        await self.gateway.drop(resumable=resumable, shard_id=shard_id, hold=hold)

    def release_gateway(self) -> None:
        self.gateway.release()

    @contextlib.asynccontextmanager
    async def gateway_outage(self, resumable: bool = True, *, shard_id: int | None = None) -> AsyncIterator[None]:
        """``async with fake.gateway_outage(): ...`` — the bot is disconnected inside the block."""
        await self.drop_gateway(resumable, shard_id=shard_id, hold=True)
        try:
            yield
        finally:
            self.release_gateway()

    async def invalidate_session(self, resumable: bool = False, *, shard_id: int | None = None) -> None:
        await self.gateway.invalidate(resumable=resumable, shard_id=shard_id)

    async def request_reconnect(self, *, shard_id: int | None = None) -> None:
        """Send op 7 RECONNECT (the client should reconnect and RESUME)."""
        await self.gateway.request_reconnect(shard_id=shard_id)

    # ==========================================================================================
    # gateway payloads and emitters
    # ==========================================================================================
    def _guild_create_payload(self, guild: FakeGuild, session: Any, *, joined: bool = False) -> dict[str, Any]:
        """GUILD_CREATE: lazy-loaded at IDENTIFY (``unavailable: false``) or a guild the bot just
        joined (no ``unavailable`` key; discord.py tells on_guild_join from on_guild_available by it)."""
        large = guild.member_count >= session.large_threshold
        members: list[FakeMember] = []
        me = guild.get_member(self.bot_user.id)
        if me is not None:
            members.append(me)
        if session.intents & Intents.GUILD_MEMBERS and not large:
            members += [m for m in guild.members if m.id != self.bot_user.id]
        data = guild.to_json()
        data.update(
            {
                "joined_at": me.to_json()["joined_at"] if me else None,
                "large": large,
                "unavailable": False,
                "member_count": guild.member_count,
                "voice_states": [],
                "members": [m.to_json() for m in members],
                "channels": [c.to_json() for c in guild.channels],
                "threads": [t.to_json() for t in guild.threads if not t.archived],
                "presences": [],
                "stage_instances": [],
                "guild_scheduled_events": [e.to_json(self) for e in guild.scheduled_events if e.status in (1, 2)],
                "soundboard_sounds": [],
                "embedded_activities": [],
                "activity_instances": [],
                "application_command_counts": {},
                "lazy": True,
            }
        )
        if joined:
            del data["unavailable"]
        return data

    def _emit_guild(self, guild: FakeGuild, event: str, data: dict[str, Any], **kw: Any) -> list[asyncio.Future[None]]:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return []  # building state before the loop runs: nobody is connected anyway
        return self.gateway.dispatch(event, data, guild_id=guild.id, **kw)

    def _emit_channel(
        self, channel: FakeChannel, event: str, data: dict[str, Any], **kw: Any
    ) -> list[asyncio.Future[None]]:
        if channel.guild_id is None:
            return self.gateway.dispatch(event, data, guild_id=None, dm=True, **kw)
        return self.gateway.dispatch(event, data, guild_id=channel.guild_id, **kw)

    def _message_event_payload(self, msg: FakeMessage, *, content_visible: bool = True) -> dict[str, Any]:
        data = msg.to_json(self, content_visible=content_visible)
        if msg.guild_id is not None:
            guild = self._guilds.get(msg.guild_id)
            member = guild.get_member(msg.author.id) if guild else None
            if member is not None and msg.webhook_id is None:
                data["member"] = member.to_json(with_user=False)
            # members in mentions carry a partial member on the gateway
            for u in data["mentions"]:
                m = guild.get_member(int(u["id"])) if guild else None
                if m is not None:
                    u["member"] = m.to_json(with_user=False)
        return data

    def _content_is_privileged(self, msg: FakeMessage) -> bool:
        """Whether the bot needs MESSAGE_CONTENT to see this message's content (gateway doc:
        not needed for DMs, its own messages, and messages that mention it)."""
        return not (msg.guild_id is None or msg.author.id == self.bot_user.id or self.bot_user.id in msg.mentions)

    def _emit_message(self, msg: FakeMessage, event: str = "MESSAGE_CREATE") -> list[asyncio.Future[None]]:
        channel = self._channels.get(msg.channel_id)
        if channel is None or msg.flags & FLAG_EPHEMERAL:
            return []
        payload = self._message_event_payload(msg)
        stripped = self._message_event_payload(msg, content_visible=False) if self._content_is_privileged(msg) else None
        return self._emit_channel(channel, event, payload, without_content=stripped)

    def _emit_member_update(self, guild: FakeGuild, member: FakeMember) -> None:
        data = {"guild_id": str(guild.id), **member.to_json()}
        self.gateway.dispatch("GUILD_MEMBER_UPDATE", data, guild_id=guild.id, always=member.id == self.bot_user.id)

    def _emit_thread(self, thread: FakeChannel, event: str, **extra: Any) -> None:
        self.gateway.dispatch(event, {**thread.to_json(), **extra}, guild_id=thread.guild_id)

    # ==========================================================================================
    # creating messages (shared by REST, interactions and test helpers)
    # ==========================================================================================
    def _compute_mentions(self, msg: FakeMessage, author_member: FakeMember | None) -> None:
        """Who actually gets pinged, per https://discord.com/developers/docs/resources/message#allowed-mentions-object.

        Without ``allowed_mentions`` everything in the content is parsed. Role pings need the role
        to be mentionable or the author to have MENTION_EVERYONE; @everyone/@here needs MENTION_EVERYONE.
        """
        am = msg.allowed_mentions
        # Mentions in a Components V2 message live in its Text Displays, and ping like content does.
        content = msg.text if msg.is_v2 else msg.content or ""
        users_in = [int(u) for u in _USER_MENTION.findall(content)]
        roles_in = [int(r) for r in _ROLE_MENTION.findall(content)]
        parse = {"users", "roles", "everyone"} if am is None else set(am.get("parse") or [])
        allowed_users = {int(u) for u in (am or {}).get("users") or []}
        allowed_roles = {int(r) for r in (am or {}).get("roles") or []}
        guild = self._guilds.get(msg.guild_id) if msg.guild_id else None
        can_everyone = bool(
            author_member and guild and guild.permissions_for(author_member) & Permissions.MENTION_EVERYONE
        )

        mentions = [u for u in dict.fromkeys(users_in) if u in self._users and ("users" in parse or u in allowed_users)]
        if msg.message_reference and (am is None or am.get("replied_user", am is None)):
            ref = self._messages.get(int(msg.message_reference.get("message_id") or 0))
            if ref is not None and ref.author.id not in mentions:
                mentions.append(ref.author.id)
        roles: list[int] = []
        if guild is not None:
            for r in dict.fromkeys(roles_in):
                role = guild._roles.get(r)
                if role is None or not ("roles" in parse or r in allowed_roles):
                    continue
                if role.mentionable or can_everyone:
                    roles.append(r)
        msg.mentions = mentions
        msg.mention_roles = roles
        msg.mention_everyone = bool(
            guild is not None
            and "everyone" in parse
            and can_everyone
            and ("@everyone" in content or "@here" in content)
        )

    def _build_attachments(
        self,
        body: dict[str, Any],
        files: list[tuple[str, str, bytes, str | None]],
        channel_id: int,
        keep: list[FakeAttachment] | None = None,
    ) -> list[FakeAttachment]:
        """Attachments of a message body: ``attachments[].id`` refers to ``files[id]`` for new uploads
        and to an existing attachment id to keep one when editing."""
        by_index: dict[int, tuple[str, str, bytes, str | None]] = {}
        for i, f in enumerate(files):
            m = re.fullmatch(r"files\[(\d+)\]", f[0])
            by_index[int(m.group(1)) if m else i] = f
        existing = {a.id: a for a in keep or []}
        out: list[FakeAttachment] = []
        listed = body.get("attachments")
        if listed is None:
            # no attachments list: every uploaded file is attached; existing ones are kept
            out = list(keep or [])
            for _, f in sorted(by_index.items()):
                out.append(FakeAttachment(self._ids.next(), f[1], f[2], None, f[3], channel_id))
            return out
        for a in listed:
            if not isinstance(a, dict):
                continue
            aid = int(a.get("id", -1))
            if aid in existing:
                out.append(existing[aid])
            elif aid in by_index:
                f = by_index[aid]
                out.append(
                    FakeAttachment(
                        self._ids.next(), a.get("filename") or f[1], f[2], a.get("description"), f[3], channel_id
                    )
                )
        return out

    def _check_nonce(self, channel: FakeChannel, author: FakeUser, body: dict[str, Any]) -> FakeMessage | None:
        nonce = body.get("nonce")
        if nonce is None or not body.get("enforce_nonce"):
            return None
        key = (author.id, channel.id, str(nonce))
        hit = self._nonces.get(key)
        if hit is not None and time.monotonic() - hit[1] < NONCE_WINDOW_S:
            return hit[0]
        return None

    def _create_message(
        self,
        channel: FakeChannel,
        author: FakeUser,
        body: dict[str, Any],
        files: list[tuple[str, str, bytes, str | None]] | None = None,
        *,
        extra_flags: int = 0,
        message_type: int | None = None,
        webhook_id: int | None = None,
        interaction_metadata: dict[str, Any] | None = None,
        emit: bool = True,
    ) -> FakeMessage:
        flags = (int(body.get("flags") or 0) & SETTABLE_FLAGS) | extra_flags
        msg = FakeMessage(
            id=self._ids.next(),
            channel_id=channel.id,
            guild_id=channel.guild_id,
            author=author,
            content=body.get("content") or "",
            embeds=[_normalise_embed(e) for e in body.get("embeds") or []],
            components=assign_component_ids(body.get("components")),
            allowed_mentions=body.get("allowed_mentions"),
            nonce=body.get("nonce"),
            flags=flags,
            tts=bool(body.get("tts")),
            sticker_ids=[str(s) for s in body.get("sticker_ids") or []],
            poll=_poll_response(body.get("poll")),
            message_reference=_message_reference(body.get("message_reference"), channel),
            webhook_id=webhook_id,
            application_id=self.application_id if webhook_id else None,
            interaction_metadata=interaction_metadata,
        )
        msg.attachments = self._build_attachments(body, files or [], channel.id)
        if message_type is not None:
            msg.type = message_type
        elif msg.message_reference is not None:
            msg.type = 19  # REPLY
        guild = self._guilds.get(channel.guild_id) if channel.guild_id else None
        self._compute_mentions(msg, guild.get_member(author.id) if guild else None)
        self._messages[msg.id] = msg
        if not msg.flags & FLAG_EPHEMERAL:
            self._channel_messages.setdefault(channel.id, []).append(msg)
            channel.last_message_id = msg.id
            if channel.is_thread:
                channel.message_count += 1
                channel.total_message_sent += 1
        if msg.nonce is not None and body.get("enforce_nonce"):
            self._nonces[(author.id, channel.id, str(msg.nonce))] = (msg, time.monotonic())
        if emit:
            self._emit_message(msg)
        self._notify()
        return msg

    def _would_be_empty(self, msg: FakeMessage, body: dict[str, Any], files: list[Any] | None) -> bool:
        """Whether an edit would leave the message with nothing to show (50006)."""
        from .validation import message_is_empty

        merged = {
            "content": body.get("content", msg.content) if "content" in body else msg.content,
            "embeds": body.get("embeds", msg.embeds),
            "components": body.get("components", msg.components),
            "sticker_ids": msg.sticker_ids,
            "poll": msg.poll,
        }
        n_files = len(body["attachments"] or []) if "attachments" in body else len(msg.attachments) + len(files or [])
        return message_is_empty(merged, n_files)

    def _edit_message(
        self, msg: FakeMessage, body: dict[str, Any], files: list[tuple[str, str, bytes, str | None]] | None = None
    ) -> FakeMessage:
        msg.history.append(msg.to_json(self))
        if "content" in body:
            msg.content = body["content"] or ""
        if "embeds" in body:
            msg.embeds = [_normalise_embed(e) for e in body["embeds"] or []]
        if "components" in body:
            msg.components = assign_component_ids(body["components"])
        if "allowed_mentions" in body:
            msg.allowed_mentions = body["allowed_mentions"]
        if "flags" in body and body["flags"] is not None:
            # only SUPPRESS_EMBEDS and IS_COMPONENTS_V2 can be changed by an edit
            keep = msg.flags & ~(4 | FLAG_IS_COMPONENTS_V2)
            msg.flags = keep | (int(body["flags"]) & (4 | FLAG_IS_COMPONENTS_V2))
        if "attachments" in body or files:
            msg.attachments = self._build_attachments(body, files or [], msg.channel_id, keep=msg.attachments)
        if "poll" in body and body["poll"] is not None:
            msg.poll = _poll_response(body["poll"])
        msg.edits += 1
        msg.edited_at = now()
        guild = self._guilds.get(msg.guild_id) if msg.guild_id else None
        self._compute_mentions(msg, guild.get_member(msg.author.id) if guild else None)
        self._emit_message(msg, "MESSAGE_UPDATE")
        self._notify()
        return msg

    def _delete_message(self, msg: FakeMessage) -> None:
        msg.deleted = True
        channel = self._channels.get(msg.channel_id)
        if channel is not None and not msg.flags & FLAG_EPHEMERAL:
            data: dict[str, Any] = {"id": str(msg.id), "channel_id": str(msg.channel_id)}
            if msg.guild_id:
                data["guild_id"] = str(msg.guild_id)
            self._emit_channel(channel, "MESSAGE_DELETE", data)
        self._notify()

    # ==========================================================================================
    # things users do (test helpers that emit gateway events)
    # ==========================================================================================
    def _resolve_channel(self, guild: FakeGuild | None, channel: FakeChannel | int | str) -> FakeChannel:
        if isinstance(channel, FakeChannel):
            return channel
        if guild is not None:
            return guild.channel(channel)
        return self._channels[int(channel)]

    def _resolve_user(self, user: FakeUser | FakeMember | int | str) -> FakeUser:
        if isinstance(user, FakeMember):
            return user.user
        if isinstance(user, FakeUser):
            return user
        return self.user(user)

    async def post_user_message(
        self,
        guild: FakeGuild | None,
        channel: FakeChannel | int | str,
        user: FakeUser | FakeMember | int | str,
        content: str = "",
        *,
        embeds: list[dict[str, Any]] | None = None,
        reply_to: FakeMessage | None = None,
        files: list[tuple[str, bytes]] | None = None,
    ) -> FakeMessage:
        """A user posts a message (MESSAGE_CREATE to the bot). ``guild=None`` for a DM channel."""
        ch = self._resolve_channel(guild, channel)
        author = self._resolve_user(user)
        if guild is not None and guild.get_member(author.id) is None:
            raise AssertionError(f"{author!r} is not a member of {guild!r}; add them with guild.add_member first")
        body: dict[str, Any] = {"content": content, "embeds": embeds or []}
        if reply_to is not None:
            body["message_reference"] = {"message_id": str(reply_to.id), "channel_id": str(reply_to.channel_id)}
        upload = [(f"files[{i}]", name, data, None) for i, (name, data) in enumerate(files or [])]
        msg = self._create_message(ch, author, body, upload, emit=False)
        await _settle(self._emit_message(msg))
        return msg

    async def post_dm(self, user: FakeUser, content: str) -> FakeMessage:
        """A user writes to the bot in DMs."""
        return await self.post_user_message(None, self.dm_channel(user), user, content)

    async def add_member_live(
        self, guild: FakeGuild, user: FakeUser | str, roles: list[FakeRole] | None = None
    ) -> FakeMember:
        """A user joins the guild now: GUILD_MEMBER_ADD (only delivered with the GUILD_MEMBERS intent)."""
        member = guild.add_member(user, roles=roles)
        if guild._member_count is not None:
            guild._member_count += 1
        await _settle(
            self.gateway.dispatch(
                "GUILD_MEMBER_ADD", {"guild_id": str(guild.id), **member.to_json()}, guild_id=guild.id
            )
        )
        self._notify()
        return member

    async def remove_member_live(self, guild: FakeGuild, user: FakeUser | FakeMember) -> None:
        u = self._resolve_user(user)
        guild._members.pop(u.id, None)
        if guild._member_count is not None:
            guild._member_count -= 1
        await _settle(
            self.gateway.dispatch(
                "GUILD_MEMBER_REMOVE", {"guild_id": str(guild.id), "user": u.to_json()}, guild_id=guild.id
            )
        )
        self._notify()

    async def remove_bot_live(self, guild: FakeGuild) -> None:
        """The bot is kicked from (or leaves) the guild now: GUILD_DELETE without ``unavailable``."""
        guild._members.pop(self.bot_user.id, None)
        await _settle(self.gateway.dispatch("GUILD_DELETE", {"id": str(guild.id)}, guild_id=guild.id, always=True))
        self._notify()

    async def readd_bot_live(self, guild: FakeGuild) -> None:
        """The bot is added back to a guild it left: GUILD_CREATE as for a guild just joined."""
        assert guild.bot_role is not None
        guild.add_member(self.bot_user, roles=[guild.bot_role])
        futures = []
        for session in self.gateway.live_sessions():
            if session.owns(guild.id):
                payload = self._guild_create_payload(guild, session, joined=True)
                futures += self.gateway.dispatch(
                    "GUILD_CREATE", payload, guild_id=guild.id, only_session=session, always=True
                )
        await _settle(futures)
        self._notify()

    async def react(self, user: FakeUser | FakeMember, message: FakeMessage, emoji: str) -> None:
        """A user adds a reaction (MESSAGE_REACTION_ADD)."""
        u = self._resolve_user(user)
        users = message.reactions.setdefault(emoji, [])
        if u.id not in users:
            users.append(u.id)
        data: dict[str, Any] = {
            "user_id": str(u.id),
            "channel_id": str(message.channel_id),
            "message_id": str(message.id),
            "emoji": {"id": None, "name": emoji},
            "burst": False,
            "type": 0,
        }
        if message.guild_id:
            data["guild_id"] = str(message.guild_id)
            g = self._guilds[message.guild_id]
            m = g.get_member(u.id)
            if m is not None:
                data["member"] = m.to_json()
            data["message_author_id"] = str(message.author.id)
        channel = self._channels[message.channel_id]
        await _settle(self._emit_channel(channel, "MESSAGE_REACTION_ADD", data))
        self._notify()

    async def subscribe_event(self, user: FakeUser | FakeMember, event: Any) -> None:
        """A user clicks "Interested" on a scheduled event (GUILD_SCHEDULED_EVENT_USER_ADD)."""
        u = self._resolve_user(user)
        if u.id not in event.subscriber_ids:
            event.subscriber_ids.append(u.id)
        data = {"guild_scheduled_event_id": str(event.id), "user_id": str(u.id), "guild_id": str(event.guild_id)}
        await _settle(self.gateway.dispatch("GUILD_SCHEDULED_EVENT_USER_ADD", data, guild_id=event.guild_id))
        self._notify()

    async def set_member_roles_live(self, guild: FakeGuild, user: FakeUser | FakeMember, roles: list[FakeRole]) -> None:
        """Someone (a moderator) changes a member's roles in the client: GUILD_MEMBER_UPDATE."""
        member = guild.member(self._resolve_user(user))
        member.role_ids = [r.id for r in roles]
        self._emit_member_update(guild, member)
        self._notify()

    # ---- interactions (see interactions.py) --------------------------------------------------
    async def slash(
        self, guild: FakeGuild | None, channel: Any, user: Any, command: str, /, **options: Any
    ) -> ix_mod.FakeInteraction:
        """A user runs ``/command`` ("name", "group sub" or "group subgroup sub") with options by name.

        The first four are positional-only, so a command option may be called `channel`, `user` or `guild`.
        """
        return await ix_mod.slash(self, guild, channel, user, command, options)

    async def autocomplete(
        self,
        guild: FakeGuild | None,
        channel: Any,
        user: Any,
        command: str,
        /,
        *,
        focused: str,
        timeout: float = 5.0,
        **options: Any,
    ) -> list[dict[str, Any]]:
        return await ix_mod.autocomplete(self, guild, channel, user, command, focused, options, timeout)

    async def click(
        self, guild: FakeGuild | None, channel: Any, user: Any, message: Any, custom_id: str
    ) -> ix_mod.FakeInteraction:
        return await ix_mod.click(self, guild, channel, user, message, custom_id)

    async def select(
        self, guild: FakeGuild | None, channel: Any, user: Any, message: Any, custom_id: str, values: list[Any]
    ) -> ix_mod.FakeInteraction:
        return await ix_mod.select(self, guild, channel, user, message, custom_id, values)

    async def submit_modal(
        self, guild: FakeGuild | None, channel: Any, user: Any, modal: ix_mod.FakeModal, values: dict[str, Any]
    ) -> ix_mod.FakeInteraction:
        return await ix_mod.submit_modal(self, guild, channel, user, modal, values)

    async def context_menu(
        self, guild: FakeGuild, channel: Any, user: Any, name: str, target: Any
    ) -> ix_mod.FakeInteraction:
        """A user/message context-menu command on ``target`` (a FakeUser/FakeMember or FakeMessage)."""
        return await ix_mod.context_menu(self, guild, channel, user, name, target)

    def __repr__(self) -> str:
        return f"<FakeDiscord {self.api_base} guilds={len(self._guilds)}>"


# ---------------------------------------------------------------------------------------------


def _normalise_embed(e: Any) -> dict[str, Any]:
    if not isinstance(e, dict):
        return {}
    out = dict(e)
    out.setdefault("type", "rich")
    return out


def _message_reference(ref: Any, channel: FakeChannel) -> dict[str, Any] | None:
    if not isinstance(ref, dict) or not ref.get("message_id"):
        return None
    out = {
        "type": ref.get("type", 0),
        "message_id": str(ref["message_id"]),
        "channel_id": str(ref.get("channel_id") or channel.id),
    }
    if channel.guild_id:
        out["guild_id"] = str(ref.get("guild_id") or channel.guild_id)
    return out


async def _settle(futures: list[asyncio.Future[None]], timeout: float = 5.0) -> None:
    """Wait until the gateway has written (or buffered) each copy of an event."""
    if futures:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*futures), timeout)


__all__ = ["ApiError", "FakeDiscord"]
