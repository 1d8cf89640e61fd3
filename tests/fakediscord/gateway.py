"""The fake gateway: sessions, shards, sequence numbers, RESUME replay, zlib-stream.

Protocol: https://discord.com/developers/docs/events/gateway. One ``GatewaySession`` per
IDENTIFY; it outlives its websocket so a RESUME on a new connection replays every dispatch
with a sequence number above the one the client sends. Events are routed to the sessions
whose shard owns the guild (``(guild_id >> 22) % num_shards``; DMs go to shard 0) and are
filtered by the session's intents, as Discord does (a bot without GUILD_MEMBERS gets no
GUILD_MEMBER_ADD; without MESSAGE_CONTENT it gets empty message content).

Every connection writes through one queue and one writer task, so the fake's state code can
emit events synchronously (from REST handlers and test helpers) and ordering is kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
import zlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from aiohttp import WSMsgType, web

if TYPE_CHECKING:
    from .fake import FakeDiscord

log = logging.getLogger("fakediscord.gateway")


class Op:
    DISPATCH = 0
    HEARTBEAT = 1
    IDENTIFY = 2
    PRESENCE_UPDATE = 3
    VOICE_STATE_UPDATE = 4
    RESUME = 6
    RECONNECT = 7
    REQUEST_GUILD_MEMBERS = 8
    INVALID_SESSION = 9
    HELLO = 10
    HEARTBEAT_ACK = 11


class Intents:
    """https://discord.com/developers/docs/events/gateway#list-of-intents"""

    GUILDS = 1 << 0
    GUILD_MEMBERS = 1 << 1
    GUILD_MODERATION = 1 << 2
    GUILD_EXPRESSIONS = 1 << 3
    GUILD_MESSAGES = 1 << 9
    GUILD_MESSAGE_REACTIONS = 1 << 10
    DIRECT_MESSAGES = 1 << 12
    DIRECT_MESSAGE_REACTIONS = 1 << 13
    MESSAGE_CONTENT = 1 << 15
    GUILD_SCHEDULED_EVENTS = 1 << 16
    PRIVILEGED = GUILD_MEMBERS | (1 << 8) | MESSAGE_CONTENT


_GUILDS_EVENTS = {
    "GUILD_CREATE", "GUILD_UPDATE", "GUILD_DELETE", "GUILD_ROLE_CREATE", "GUILD_ROLE_UPDATE", "GUILD_ROLE_DELETE",
    "CHANNEL_CREATE", "CHANNEL_UPDATE", "CHANNEL_DELETE", "CHANNEL_PINS_UPDATE", "THREAD_CREATE", "THREAD_UPDATE",
    "THREAD_DELETE", "THREAD_LIST_SYNC", "THREAD_MEMBER_UPDATE", "STAGE_INSTANCE_CREATE",
    "VOICE_CHANNEL_STATUS_UPDATE",
}  # fmt: skip
_MEMBER_EVENTS = {"GUILD_MEMBER_ADD", "GUILD_MEMBER_UPDATE", "GUILD_MEMBER_REMOVE", "THREAD_MEMBERS_UPDATE"}
_MESSAGE_EVENTS = {"MESSAGE_CREATE", "MESSAGE_UPDATE", "MESSAGE_DELETE", "MESSAGE_DELETE_BULK"}
_REACTION_EVENTS = {
    "MESSAGE_REACTION_ADD",
    "MESSAGE_REACTION_REMOVE",
    "MESSAGE_REACTION_REMOVE_ALL",
    "MESSAGE_REACTION_REMOVE_EMOJI",
}
_EVENT_EVENTS = {
    "GUILD_SCHEDULED_EVENT_CREATE", "GUILD_SCHEDULED_EVENT_UPDATE", "GUILD_SCHEDULED_EVENT_DELETE",
    "GUILD_SCHEDULED_EVENT_USER_ADD", "GUILD_SCHEDULED_EVENT_USER_REMOVE",
}  # fmt: skip


def required_intent(event: str, *, dm: bool) -> int:
    """The intent a session needs to receive ``event`` (0 = always sent)."""
    if event in _GUILDS_EVENTS:
        return Intents.GUILDS
    if event in _MEMBER_EVENTS:
        return Intents.GUILD_MEMBERS
    if event in _MESSAGE_EVENTS:
        return Intents.DIRECT_MESSAGES if dm else Intents.GUILD_MESSAGES
    if event in _REACTION_EVENTS:
        return Intents.DIRECT_MESSAGE_REACTIONS if dm else Intents.GUILD_MESSAGE_REACTIONS
    if event in _EVENT_EVENTS:
        return Intents.GUILD_SCHEDULED_EVENTS
    return 0


@dataclass
class GatewaySession:
    session_id: str
    shard_id: int
    shard_count: int
    intents: int
    large_threshold: int = 50
    seq: int = 0
    alive: bool = True
    conn: GatewayConnection | None = None
    buffer: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=10000))
    presence: dict[str, Any] | None = None

    def owns(self, guild_id: int | None) -> bool:
        if guild_id is None:
            return self.shard_id == 0
        return (guild_id >> 22) % self.shard_count == self.shard_id


class GatewayConnection:
    def __init__(self, ws: web.WebSocketResponse, compress: bool) -> None:
        self.ws = ws
        self.compress = compress
        self._zlib = zlib.compressobj() if compress else None
        self.queue: asyncio.Queue[tuple[dict[str, Any], asyncio.Future[None] | None] | None] = asyncio.Queue()
        self.session: GatewaySession | None = None
        self.closed = False
        self.server_closed = False  # we closed it (a drop/outage), so the session survives
        self.writer = asyncio.create_task(self._write_loop())

    def send(self, payload: dict[str, Any], fut: asyncio.Future[None] | None = None) -> None:
        if self.closed:
            if fut is not None and not fut.done():
                fut.set_result(None)
            return
        self.queue.put_nowait((payload, fut))

    async def _write_loop(self) -> None:
        while True:
            item = await self.queue.get()
            if item is None:
                return
            payload, fut = item
            try:
                raw = json.dumps(payload, separators=(",", ":"))
                if self._zlib is not None:
                    # zlib-stream: one shared context; each message ends with Z_SYNC_FLUSH (00 00 ff ff)
                    data = self._zlib.compress(raw.encode()) + self._zlib.flush(zlib.Z_SYNC_FLUSH)
                    await self.ws.send_bytes(data)
                else:
                    await self.ws.send_str(raw)
            except (ConnectionError, RuntimeError) as exc:
                log.debug("gateway write failed: %s", exc)
                self.closed = True
            finally:
                if fut is not None and not fut.done():
                    fut.set_result(None)

    async def close(self, code: int) -> None:
        if self.closed:
            return
        self.server_closed = True
        # let queued messages go out first (an INVALID_SESSION must arrive before the close)
        self.queue.put_nowait(None)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.writer, 2)
        self.closed = True
        with contextlib.suppress(Exception):
            await self.ws.close(code=code)


class Gateway:
    def __init__(self, fake: FakeDiscord) -> None:
        self.fake = fake
        self.sessions: dict[str, GatewaySession] = {}
        self.connections: set[GatewayConnection] = set()
        self.heartbeat_interval_ms = 41250
        self.log: list[dict[str, Any]] = []
        self.identify_count = 0
        self.resume_count = 0
        self._open = asyncio.Event()
        self._open.set()
        self._changed = asyncio.Event()

    # ---- observation -----------------------------------------------------------------
    def _record(self, **entry: Any) -> None:
        entry.setdefault("time", time.monotonic())
        self.log.append(entry)
        self.fake._notify()

    def live_sessions(self) -> list[GatewaySession]:
        return [s for s in self.sessions.values() if s.alive]

    def connected_shards(self) -> set[int]:
        return {s.shard_id for s in self.sessions.values() if s.alive and s.conn is not None and not s.conn.closed}

    # ---- dispatch ----------------------------------------------------------------------
    def dispatch(
        self,
        event: str,
        data: dict[str, Any],
        *,
        guild_id: int | None = None,
        dm: bool = False,
        without_content: dict[str, Any] | None = None,
        always: bool = False,
        only_session: GatewaySession | None = None,
    ) -> list[asyncio.Future[None]]:
        """Send a DISPATCH to every live session that owns ``guild_id`` and has the intent.

        ``without_content`` is the payload for sessions lacking MESSAGE_CONTENT. ``always``
        bypasses the intent filter (e.g. the bot's own member update). Returns futures that
        resolve once each copy is written (or buffered for a disconnected session).
        """
        futures: list[asyncio.Future[None]] = []
        need = 0 if always else required_intent(event, dm=dm)
        loop = asyncio.get_running_loop()
        for session in list(self.sessions.values()):
            if not session.alive or not session.owns(guild_id):
                continue
            if only_session is not None and session is not only_session:
                continue
            if need and not session.intents & need:
                continue
            payload_data = data
            if without_content is not None and not session.intents & Intents.MESSAGE_CONTENT:
                payload_data = without_content
            fut: asyncio.Future[None] = loop.create_future()
            self._send_dispatch(session, event, payload_data, fut)
            futures.append(fut)
        return futures

    # Gateway payloads whose shape is a REST object of the spec (checked with check_responses=True).
    SCHEMAS: ClassVar[dict[str, str | tuple[str, str]]] = {
        "MESSAGE_CREATE": "MessageResponse",
        "MESSAGE_UPDATE": "MessageResponse",
        "GUILD_ROLE_CREATE": ("role", "GuildRoleResponse"),
        "GUILD_ROLE_UPDATE": ("role", "GuildRoleResponse"),
        "THREAD_CREATE": "ThreadResponse",
        "THREAD_UPDATE": "ThreadResponse",
        "CHANNEL_UPDATE": "GuildChannelResponse",
        "CHANNEL_CREATE": "GuildChannelResponse",
    }

    def _self_check(self, event: str, data: Any) -> None:
        from . import validation

        spec = self.SCHEMAS.get(event)
        if spec is None or not isinstance(data, dict):
            return
        key, name = spec if isinstance(spec, tuple) else (None, spec)
        obj = data.get(key) if key else data
        if not isinstance(obj, dict) or (event.startswith("CHANNEL") and obj.get("type") == 1):
            return
        for problem in validation.validate_schema(name, obj):
            self.fake.response_violations.append(("GATEWAY", event, problem))

    def _send_dispatch(
        self, session: GatewaySession, event: str, data: Any, fut: asyncio.Future[None] | None = None
    ) -> None:
        if self.fake.check_responses:
            self._self_check(event, data)
        session.seq += 1
        payload = {"op": Op.DISPATCH, "t": event, "s": session.seq, "d": data}
        session.buffer.append(payload)
        if session.conn is not None and not session.conn.closed:
            session.conn.send(payload, fut)
        elif fut is not None:
            fut.set_result(None)  # buffered for the RESUME
        self._record(direction="send", shard=session.shard_id, session=session.session_id, t=event, s=session.seq)

    # ---- test controls -------------------------------------------------------------------
    def _targets(self, shard_id: int | None) -> list[GatewaySession]:
        return [s for s in self.live_sessions() if shard_id is None or s.shard_id == shard_id]

    async def drop(self, *, resumable: bool = True, shard_id: int | None = None, hold: bool = False) -> None:
        """Close the websocket(s) like a network failure. Not resumable: the session is gone
        too (4009 Session timed out), so the client's RESUME gets INVALID_SESSION."""
        if hold:
            self._open.clear()
        for session in self._targets(shard_id):
            conn = session.conn
            if not resumable:
                session.alive = False
            if conn is not None:
                session.conn = None
                self._record(direction="control", shard=session.shard_id, action="drop", resumable=resumable)
                await conn.close(4000 if resumable else 4009)

    def release(self) -> None:
        self._open.set()

    async def invalidate(self, *, resumable: bool = False, shard_id: int | None = None) -> None:
        for session in self._targets(shard_id):
            if not resumable:
                session.alive = False
            if session.conn is not None:
                fut = asyncio.get_running_loop().create_future()
                session.conn.send({"op": Op.INVALID_SESSION, "d": resumable}, fut)
                self._record(direction="send", shard=session.shard_id, op=Op.INVALID_SESSION, resumable=resumable)
                await fut

    async def request_reconnect(self, *, shard_id: int | None = None) -> None:
        for session in self._targets(shard_id):
            if session.conn is not None:
                fut = asyncio.get_running_loop().create_future()
                session.conn.send({"op": Op.RECONNECT, "d": None}, fut)
                self._record(direction="send", shard=session.shard_id, op=Op.RECONNECT)
                await fut

    async def close_all(self) -> None:
        self._open.set()
        for conn in list(self.connections):
            await conn.close(1001)
        self.connections.clear()

    # ---- the websocket -----------------------------------------------------------------
    async def handle(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(max_msg_size=0, compress=False, autoping=True)
        if not ws.can_prepare(request).ok:
            return web.json_response({"message": "400: Bad Request", "code": 0}, status=400)
        await ws.prepare(request)
        # an outage: accept the TCP connection but say nothing until released
        await self._open.wait()
        encoding = request.query.get("encoding", "json")
        compress = request.query.get("compress")
        if encoding != "json":
            await ws.close(code=4002, message=b"Error while decoding payload.")
            return ws
        conn = GatewayConnection(ws, compress == "zlib-stream")
        self.connections.add(conn)
        self._record(direction="control", action="connect", query=dict(request.query))
        conn.send({"op": Op.HELLO, "d": {"heartbeat_interval": self.heartbeat_interval_ms}, "s": None, "t": None})
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    try:
                        payload = json.loads(msg.data)
                    except ValueError:
                        await conn.close(4002)
                        break
                    await self._receive(conn, payload)
                elif msg.type == WSMsgType.BINARY:
                    await conn.close(4002)
                    break
                elif msg.type == WSMsgType.ERROR:
                    break
                if conn.closed:
                    break
        finally:
            conn.closed = True
            self.connections.discard(conn)
            session = conn.session
            code = ws.close_code
            if session is not None:
                if session.conn is conn:
                    session.conn = None
                # https://discord.com/developers/docs/events/gateway#disconnecting: closing with 1000/1001
                # invalidates the session
                if code in (1000, 1001) and not conn.server_closed:
                    session.alive = False
            self._record(
                direction="control", action="disconnect", code=code, shard=session.shard_id if session else None
            )
            conn.queue.put_nowait(None)
        return ws

    async def _receive(self, conn: GatewayConnection, payload: dict[str, Any]) -> None:
        op = payload.get("op")
        d = payload.get("d")
        self._record(direction="recv", op=op, shard=conn.session.shard_id if conn.session else None)
        if op == Op.HEARTBEAT:
            conn.send({"op": Op.HEARTBEAT_ACK, "d": None, "s": None, "t": None})
        elif op == Op.IDENTIFY:
            await self._identify(conn, d or {})
        elif op == Op.RESUME:
            await self._resume(conn, d or {})
        elif conn.session is None:
            await conn.close(4003)  # Not authenticated
        elif op == Op.PRESENCE_UPDATE:
            conn.session.presence = d
        elif op == Op.REQUEST_GUILD_MEMBERS:
            self._members_chunk(conn.session, d or {})
        elif op == Op.VOICE_STATE_UPDATE:
            pass
        else:
            await conn.close(4001)  # Unknown opcode

    async def _identify(self, conn: GatewayConnection, d: dict[str, Any]) -> None:
        fake = self.fake
        if conn.session is not None:
            await conn.close(4005)  # Already authenticated
            return
        if d.get("token") not in (fake.token, f"Bot {fake.token}"):
            await conn.close(4004)  # Authentication failed
            return
        shard = d.get("shard") or [0, 1]
        try:
            shard_id, shard_count = int(shard[0]), int(shard[1])
        except (TypeError, ValueError, IndexError):
            await conn.close(4010)
            return
        if shard_count < 1 or not (0 <= shard_id < shard_count):
            await conn.close(4010)  # Invalid shard
            return
        intents = d.get("intents")
        if not isinstance(intents, int) or intents < 0:
            await conn.close(4013)  # Invalid intent(s)
            return
        if intents & Intents.PRIVILEGED & ~fake.privileged_intents:
            await conn.close(4014)  # Disallowed intent(s)
            return
        self.identify_count += 1
        session = GatewaySession(
            session_id=secrets.token_hex(16),
            shard_id=shard_id,
            shard_count=shard_count,
            intents=intents,
            large_threshold=int(d.get("large_threshold") or 50),
            presence=d.get("presence"),
        )
        self.sessions[session.session_id] = session
        session.conn = conn
        conn.session = session
        self._record(direction="recv", action="identify", shard=shard_id, shard_count=shard_count, intents=intents)

        guilds = [g for g in fake._guilds.values() if session.owns(g.id) and g.get_member(fake.bot_user.id) is not None]
        ready: dict[str, Any] = {
            "v": 10,
            "user": {**fake.bot_user.to_json(), "verified": True, "mfa_enabled": False, "email": None},
            "guilds": [{"id": str(g.id), "unavailable": True} for g in guilds],
            "session_id": session.session_id,
            "session_type": "normal",
            "resume_gateway_url": fake.gateway_url,
            "application": {"id": str(fake.application_id), "flags": fake.application_flags},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": ["rotterdam"],
            "auth": {},
            "user_settings": {},
            "_trace": ['["fakediscord-gateway",{"micros":0}]'],
        }
        if d.get("shard") is not None:
            ready["shard"] = [shard_id, shard_count]
        self._send_dispatch(session, "READY", ready)
        for guild in guilds:
            self._send_dispatch(session, "GUILD_CREATE", fake._guild_create_payload(guild, session))
        self._record(direction="control", action="ready", shard=shard_id)

    async def _resume(self, conn: GatewayConnection, d: dict[str, Any]) -> None:
        fake = self.fake
        token = d.get("token")
        session = self.sessions.get(str(d.get("session_id")))
        seq = d.get("seq") or 0
        if token not in (fake.token, f"Bot {fake.token}"):
            await conn.close(4004)
            return
        oldest = session.buffer[0]["s"] if session and session.buffer else 1
        if session is None or not session.alive or seq < oldest - 1 or seq > session.seq:
            conn.send({"op": Op.INVALID_SESSION, "d": False, "s": None, "t": None})
            self._record(direction="send", op=Op.INVALID_SESSION, resumable=False)
            return
        if session.conn is not None and session.conn is not conn:
            old = session.conn
            session.conn = None
            await old.close(4000)
        self.resume_count += 1
        session.conn = conn
        conn.session = session
        replay = [p for p in session.buffer if p["s"] > seq]
        self._record(direction="recv", action="resume", shard=session.shard_id, seq=seq, replayed=len(replay))
        for p in replay:
            conn.send(p)
        self._send_dispatch(session, "RESUMED", {"_trace": ['["fakediscord-gateway",{"micros":0}]']})

    def _members_chunk(self, session: GatewaySession, d: dict[str, Any]) -> None:
        guild = self.fake._guilds.get(int(d.get("guild_id") or 0))
        if guild is None or not session.owns(guild.id):
            return
        members = guild.members
        user_ids = d.get("user_ids")
        if user_ids:
            wanted = {int(u) for u in (user_ids if isinstance(user_ids, list) else [user_ids])}
            members = [m for m in members if m.id in wanted]
        query = d.get("query")
        if query:
            members = [m for m in members if m.user.name.lower().startswith(str(query).lower())]
        limit = int(d.get("limit") or 0)
        if limit:
            members = members[:limit]
        chunk = {
            "guild_id": str(guild.id),
            "members": [m.to_json() for m in members],
            "chunk_index": 0,
            "chunk_count": 1,
        }
        if d.get("nonce") is not None:
            chunk["nonce"] = d["nonce"]
        if user_ids:
            found = {m.id for m in members}
            chunk["not_found"] = [str(u) for u in wanted if u not in found]
        self._send_dispatch(session, "GUILD_MEMBERS_CHUNK", chunk)


Predicate = Callable[[dict[str, Any]], bool]
