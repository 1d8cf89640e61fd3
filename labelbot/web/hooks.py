"""Signed webhooks: a label's website or distributor posts JSON to `POST /hooks/{name}`.

Each request carries
    X-Labelbot-Guild: <server id>
    X-Labelbot-Timestamp: <unix seconds>
    X-Labelbot-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<name>.<raw body>" under the server's secret>
Malformed headers are refused with 400 before the body is read; a wrong signature or a timestamp more than five
minutes off with 401, whatever else is wrong with the request, so a stranger learns nothing. The body is read with
a size cap and a time limit. A feature registers an intake handler by name (the releases feature registers
"releases"); the handler checks the body and raises `HookRejected` with the problems (422), or changes what it
must in the transaction it is given. Deliveries are idempotent by the sender's id: the same id with the same body is
answered from the deliveries table without running the handler again; the same id with a new body runs the handler
again, which updates what the first delivery created, but only when it is signed later than the delivery last
applied for that id (409 otherwise), so a captured older delivery cannot be replayed to revert a newer one.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from labelbot.db.base import utcnow
from labelbot.guilds.models import GuildSettings
from labelbot.guilds.service import get_guild_settings
from labelbot.web.models import EXTERNAL_ID_LENGTH, WebhookDelivery
from labelbot.web.requests import parse_snowflake

log = logging.getLogger(__name__)

GUILD_HEADER = "X-Labelbot-Guild"
TIMESTAMP_HEADER = "X-Labelbot-Timestamp"
SIGNATURE_HEADER = "X-Labelbot-Signature"
DUPLICATE_HEADER = "X-Labelbot-Duplicate"
SIGNATURE_PREFIX = "sha256="
# How far a request's timestamp may be from our clock; outside it, a captured request cannot be replayed.
TIMESTAMP_TOLERANCE = 300
SECRET_BYTES = 32
MAX_PROBLEMS = 50
# After `/settings webhook-secret`, the previous secret still verifies this long, so senders can switch over.
SECRET_ROTATION_GRACE = timedelta(hours=24)
# A release announcement is a few KiB; anything near this is not one.
MAX_BODY_BYTES = 256 * 1024
# A sender that has not finished its body by then is not sending one: drop it instead of holding the connection.
BODY_READ_SECONDS = 5.0
# Deep enough for any real payload, shallow enough that nothing downstream recurses into trouble.
MAX_JSON_DEPTH = 32
HOOK_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"sha256=[0-9a-f]{64}")


UNAUTHORIZED = {"ok": False, "error": "invalid signature or timestamp"}


class HookRejected(Exception):
    """Raised by an intake handler: the body cannot be used; `problems` are shown to the sender (422)."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems or ["the body is invalid"]

    @classmethod
    def from_validation(cls, error: ValidationError) -> HookRejected:
        """The problems pydantic found, one per field, as "field.path: message"."""
        problems = []
        for found in error.errors():
            where = ".".join(str(part) for part in found["loc"]) or "body"
            problems.append(f"{where}: {found['msg']}")
        return cls(problems)


@dataclass(frozen=True)
class Delivery:
    """One verified request, as an intake handler sees it."""

    guild_id: int
    hook: str
    external_id: str
    body: dict[str, Any]
    received_at: datetime
    # False when an earlier delivery with this id (and another body) was already handled: update, don't create.
    first: bool


# Changes what it must in the session it is given (the caller commits); the dict it returns is sent back as JSON.
IntakeHandler = Callable[[AsyncSession, Delivery], Awaitable[dict[str, Any] | None]]


@dataclass(frozen=True)
class _Intake:
    handler: IntakeHandler
    id_field: str
    # Keys of the handler's result never written to the deliveries table (a claim code): a repeat runs the
    # handler again, which must answer the same, instead of being answered from the stored response.
    unstored: frozenset[str] = frozenset()


def sign(secret: str, timestamp: int | str, hook: str, body: bytes) -> str:
    """The X-Labelbot-Signature value for this body sent to `/hooks/<hook>` (senders do the same; tests use it).

    The hook's name is signed too, so a delivery meant for one intake cannot be replayed against another.
    """
    digest = hmac.new(secret.encode(), f"{timestamp}.{hook}.".encode() + body, hashlib.sha256).hexdigest()
    return SIGNATURE_PREFIX + digest


def new_webhook_secret() -> str:
    return secrets.token_hex(SECRET_BYTES)


async def rotate_webhook_secret(session: AsyncSession, guild_id: int) -> str:
    """Give the server a new webhook secret to show once; the previous one verifies for SECRET_ROTATION_GRACE more."""
    settings = await get_guild_settings(session, guild_id)
    settings.webhook_previous_secret = settings.webhook_secret
    settings.webhook_secret_rotated_at = utcnow()
    settings.webhook_secret = new_webhook_secret()
    await session.flush()
    return settings.webhook_secret


def _secrets_accepted(settings: GuildSettings | None, now: datetime) -> list[str]:
    if settings is None or settings.webhook_secret is None:
        return []
    accepted = [settings.webhook_secret]
    rotated = settings.webhook_secret_rotated_at
    if settings.webhook_previous_secret and rotated is not None and now - rotated < SECRET_ROTATION_GRACE:
        accepted.append(settings.webhook_previous_secret)
    return accepted


def _too_deep(value: Any, limit: int) -> bool:
    """Whether the parsed JSON nests deeper than `limit` (walked without recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        current, depth = stack.pop()
        children = current.values() if isinstance(current, dict) else current if isinstance(current, list) else ()
        for child in children:
            if isinstance(child, dict | list):
                if depth + 1 > limit:
                    return True
                stack.append((child, depth + 1))
    return False


@dataclass(frozen=True)
class _Headers:
    guild_id: int
    timestamp: int
    signature: str


@dataclass(frozen=True)
class _Signed:
    """What a verified request says about itself: for which server, when, and which of the sender's things."""

    guild_id: int
    timestamp: int
    external_id: str
    digest: str


def _bad_request(error: str) -> web.Response:
    return web.json_response({"ok": False, "error": error}, status=400)


def _read_headers(request: web.Request) -> _Headers | web.Response:
    """The signing headers, or the 400 answer when they cannot be signing headers at all."""
    guild_id = parse_snowflake(request.headers.get(GUILD_HEADER, "").strip())
    if guild_id is None:
        return _bad_request(f"{GUILD_HEADER} must be a server id")
    stamp = request.headers.get(TIMESTAMP_HEADER, "").strip()
    if not _TIMESTAMP.fullmatch(stamp):
        return _bad_request(f"{TIMESTAMP_HEADER} must be unix seconds")
    return _Headers(guild_id, int(stamp), request.headers.get(SIGNATURE_HEADER, "").strip())


class _BodyTooLarge(Exception):
    pass


async def _read_body(request: web.Request) -> bytes:
    """The raw body, at most MAX_BODY_BYTES, within BODY_READ_SECONDS (TimeoutError, _BodyTooLarge otherwise)."""
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise _BodyTooLarge
    body = bytearray()
    async with asyncio.timeout(BODY_READ_SECONDS):
        while chunk := await request.content.read(64 * 1024):
            body.extend(chunk)
            if len(body) > MAX_BODY_BYTES:
                raise _BodyTooLarge
    return bytes(body)


class HookRegistry:
    """The intake handlers by name, and the route that verifies requests and hands them over.

    One per bot, in its feature registry (`bot.features.webhooks`); the bot serves `receive` at `POST /hooks/{name}`
    with its sessions.
    """

    def __init__(self) -> None:
        self._intakes: dict[str, _Intake] = {}

    def register(
        self, name: str, handler: IntakeHandler, *, id_field: str = "id", unstored: frozenset[str] = frozenset()
    ) -> None:
        """Take `POST /hooks/<name>`; `id_field` is the body's field holding the sender's id for this thing.

        `unstored` names result keys kept out of the deliveries table (secrets the handler can derive again).
        """
        if not HOOK_NAME.fullmatch(name):
            raise ValueError(f"a webhook intake name is lowercase letters, digits, - and _: {name!r}")
        if name in self._intakes:
            raise ValueError(f"a webhook intake named {name!r} is already registered")
        self._intakes[name] = _Intake(handler, id_field, unstored)

    def unregister(self, name: str) -> None:
        self._intakes.pop(name, None)

    @property
    def names(self) -> list[str]:
        return sorted(self._intakes)

    async def receive(self, request: web.Request, sessionmaker: async_sessionmaker[AsyncSession]) -> web.Response:
        name = request.match_info["name"]
        intake = self._intakes.get(name)
        if intake is None:
            return web.json_response({"ok": False, "error": "no such webhook"}, status=404)
        # The headers first: a request that cannot be signed right is answered before its body is read at all.
        headers = _read_headers(request)
        if isinstance(headers, web.Response):
            return headers
        try:
            body = await _read_body(request)
        except _BodyTooLarge:
            return _dropping(web.json_response({"ok": False, "error": "body too large"}, status=413))
        except TimeoutError:
            return _dropping(web.json_response({"ok": False, "error": "body not received in time"}, status=408))
        if not await self._verify(sessionmaker, name, headers, body):
            return web.json_response(UNAUTHORIZED, status=401)

        try:
            parsed = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            return _problems([f"body: not valid JSON ({error})"])
        except RecursionError:
            return _problems([f"body: nested deeper than {MAX_JSON_DEPTH} levels"])
        if not isinstance(parsed, dict):
            return _problems(["body: must be a JSON object"])
        if _too_deep(parsed, MAX_JSON_DEPTH):
            return _problems([f"body: nested deeper than {MAX_JSON_DEPTH} levels"])
        external = parsed.get(intake.id_field)
        if isinstance(external, bool) or not isinstance(external, str | int) or str(external).strip() == "":
            return _problems([f"{intake.id_field}: the sender's id is required (a non-empty string or number)"])
        external_id = str(external).strip()
        if len(external_id) > EXTERNAL_ID_LENGTH:
            return _problems([f"{intake.id_field}: must be at most {EXTERNAL_ID_LENGTH} characters"])
        # The canonical form, so the same content sent with other key order or spacing counts as the same.
        digest = hashlib.sha256(json.dumps(parsed, sort_keys=True, separators=(",", ":")).encode()).hexdigest()

        signed = _Signed(headers.guild_id, headers.timestamp, external_id, digest)
        try:
            return await self._deliver(sessionmaker, name, intake, signed, parsed)
        except IntegrityError:
            # The same id delivered twice at once: the other request stored it; answer from what it stored.
            return await self._deliver(sessionmaker, name, intake, signed, parsed)

    async def _deliver(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        name: str,
        intake: _Intake,
        signed: _Signed,
        body: dict[str, Any],
    ) -> web.Response:
        now = utcnow()
        guild_id, external_id = signed.guild_id, signed.external_id
        try:
            async with sessionmaker.begin() as session:
                # Locked, so two deliveries for one id are compared and applied one after the other.
                stored = await session.scalar(
                    select(WebhookDelivery)
                    .where(
                        WebhookDelivery.guild_id == guild_id,
                        WebhookDelivery.hook == name,
                        WebhookDelivery.external_id == external_id,
                    )
                    .with_for_update()
                )
                if stored is not None and stored.body_sha256 == signed.digest:
                    stored.deliveries += 1
                    stored.last_received_at = now
                    stored.signed_at = max(stored.signed_at, signed.timestamp)
                    answer = stored.response
                    if intake.unstored:
                        again = Delivery(guild_id, name, external_id, body, now, first=False)
                        answer = {**answer, "result": await intake.handler(session, again) or {}}
                    return web.json_response(answer, headers={DUPLICATE_HEADER: "true"})
                if stored is not None and signed.timestamp <= stored.signed_at:
                    log.info("Webhook %s refused a stale delivery of %s for guild %s", name, external_id, guild_id)
                    return web.json_response(
                        {
                            "ok": False,
                            "error": (
                                f"stale delivery: {external_id} was last changed by a delivery signed at "
                                f"{stored.signed_at}; send the current state with a later timestamp"
                            ),
                        },
                        status=409,
                    )
                delivery = Delivery(guild_id, name, external_id, body, now, first=stored is None)
                result = await intake.handler(session, delivery)
                response: dict[str, Any] = {"ok": True, "id": external_id, "result": result or {}}
                kept = {**response, "result": {k: v for k, v in (result or {}).items() if k not in intake.unstored}}
                if stored is None:
                    session.add(
                        WebhookDelivery(
                            guild_id=guild_id,
                            hook=name,
                            external_id=external_id,
                            body_sha256=signed.digest,
                            signed_at=signed.timestamp,
                            response=kept,
                            first_received_at=now,
                            last_received_at=now,
                        )
                    )
                else:
                    stored.body_sha256 = signed.digest
                    stored.signed_at = signed.timestamp
                    stored.response = kept
                    stored.deliveries += 1
                    stored.last_received_at = now
                await session.flush()
        except HookRejected as rejected:
            return _problems(rejected.problems)
        log.info("Webhook %s delivered %s for guild %s", name, external_id, guild_id)
        return web.json_response(response)

    async def _verify(
        self, sessionmaker: async_sessionmaker[AsyncSession], name: str, headers: _Headers, body: bytes
    ) -> bool:
        """Whether the request is signed for its server and hook, recently, under a secret the server accepts."""
        if abs(int(time.time()) - headers.timestamp) > TIMESTAMP_TOLERANCE:
            return False
        async with sessionmaker() as session:
            settings = await session.get(GuildSettings, headers.guild_id)
        accepted = _secrets_accepted(settings, utcnow())
        given = headers.signature if _SIGNATURE.fullmatch(headers.signature) else ""
        # Compute a signature even without a secret, so timing does not tell which servers exist.
        matches = [
            hmac.compare_digest(sign(secret, headers.timestamp, name, body).encode(), given.encode())
            for secret in accepted or [new_webhook_secret()]
        ]
        return bool(accepted) and any(matches)


def _dropping(response: web.Response) -> web.Response:
    # Close the connection after answering, rather than lingering to drain a body the sender may never finish.
    response.force_close()
    return response


def _problems(problems: list[str]) -> web.Response:
    return web.json_response({"ok": False, "problems": problems[:MAX_PROBLEMS]}, status=422)
