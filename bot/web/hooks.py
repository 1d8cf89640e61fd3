"""Signed webhooks: a label's website or distributor posts JSON to `POST /hooks/{name}`.

Each request carries
    X-Labelbot-Guild: <server id>
    X-Labelbot-Timestamp: <unix seconds>
    X-Labelbot-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>" under the server's webhook secret>
and is refused with 401 if the signature or the timestamp (more than five minutes off) is wrong, whatever else is
wrong with it, so a stranger learns nothing. A feature registers an intake handler by name (the releases feature
registers "releases"); the handler checks the body and raises `HookRejected` with the problems (422), or changes
what it must in the transaction it is given. Deliveries are idempotent by the sender's id: the same id with the
same body is answered from the deliveries table without running the handler again; the same id with a new body
runs the handler again, which updates what the first delivery created.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from aiohttp import web
from pydantic import ValidationError
from sqlalchemy import Integer, String, UniqueConstraint, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.base import Base, RowId, utcnow
from bot.guilds.models import GuildSettings
from bot.guilds.service import get_guild_settings

if TYPE_CHECKING:
    from bot.client import LabelBot

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
EXTERNAL_ID_LENGTH = 200


UNAUTHORIZED = {"ok": False, "error": "invalid signature or timestamp"}


class WebhookDelivery(Base):
    """The last body received from a sender for one of its ids, and what we answered."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (UniqueConstraint("guild_id", "hook", "external_id"),)

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    guild_id: Mapped[int]
    hook: Mapped[str] = mapped_column(String(64))
    external_id: Mapped[str] = mapped_column(String(EXTERNAL_ID_LENGTH))
    body_sha256: Mapped[str] = mapped_column(String(64))
    response: Mapped[dict[str, Any]]
    deliveries: Mapped[int] = mapped_column(Integer, default=1)
    first_received_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_received_at: Mapped[datetime] = mapped_column(default=utcnow)


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


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    """The X-Labelbot-Signature value for this body (senders do the same; tests use it)."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return SIGNATURE_PREFIX + digest


def new_webhook_secret() -> str:
    return secrets.token_hex(SECRET_BYTES)


async def rotate_webhook_secret(session: AsyncSession, guild_id: int) -> str:
    """Give the server a new webhook secret (the old one stops working at once); return it to show once."""
    settings = await get_guild_settings(session, guild_id)
    settings.webhook_secret = new_webhook_secret()
    await session.flush()
    return settings.webhook_secret


class HookRegistry:
    """The intake handlers by name, and the route that verifies requests and hands them over."""

    def __init__(self, bot: LabelBot) -> None:
        self.bot = bot
        self._intakes: dict[str, _Intake] = {}

    def register(self, name: str, handler: IntakeHandler, *, id_field: str = "id") -> None:
        """Take `POST /hooks/<name>`; `id_field` is the body's field holding the sender's id for this thing."""
        if name in self._intakes:
            raise ValueError(f"a webhook intake named {name!r} is already registered")
        self._intakes[name] = _Intake(handler, id_field)

    def unregister(self, name: str) -> None:
        self._intakes.pop(name, None)

    @property
    def names(self) -> list[str]:
        return sorted(self._intakes)

    async def receive(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        intake = self._intakes.get(name)
        if intake is None:
            return web.json_response({"ok": False, "error": "no such webhook"}, status=404)
        body = await request.read()
        guild_id = await self._verify(request, body)
        if guild_id is None:
            return web.json_response(UNAUTHORIZED, status=401)

        try:
            parsed = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            return _problems([f"body: not valid JSON ({error})"])
        if not isinstance(parsed, dict):
            return _problems(["body: must be a JSON object"])
        external = parsed.get(intake.id_field)
        if isinstance(external, bool) or not isinstance(external, str | int) or str(external).strip() == "":
            return _problems([f"{intake.id_field}: the sender's id is required (a non-empty string or number)"])
        external_id = str(external).strip()
        if len(external_id) > EXTERNAL_ID_LENGTH:
            return _problems([f"{intake.id_field}: must be at most {EXTERNAL_ID_LENGTH} characters"])
        # The canonical form, so the same content sent with other key order or spacing counts as the same.
        digest = hashlib.sha256(json.dumps(parsed, sort_keys=True, separators=(",", ":")).encode()).hexdigest()

        try:
            return await self._deliver(name, intake, guild_id, external_id, parsed, digest)
        except IntegrityError:
            # The same id delivered twice at once: the other request stored it; answer from what it stored.
            return await self._deliver(name, intake, guild_id, external_id, parsed, digest)

    async def _deliver(
        self, name: str, intake: _Intake, guild_id: int, external_id: str, body: dict[str, Any], digest: str
    ) -> web.Response:
        now = utcnow()
        try:
            async with self.bot.sessionmaker.begin() as session:
                stored = await session.scalar(
                    select(WebhookDelivery).where(
                        WebhookDelivery.guild_id == guild_id,
                        WebhookDelivery.hook == name,
                        WebhookDelivery.external_id == external_id,
                    )
                )
                if stored is not None and stored.body_sha256 == digest:
                    stored.deliveries += 1
                    stored.last_received_at = now
                    return web.json_response(stored.response, headers={DUPLICATE_HEADER: "true"})
                delivery = Delivery(guild_id, name, external_id, body, now, first=stored is None)
                result = await intake.handler(session, delivery)
                response: dict[str, Any] = {"ok": True, "id": external_id, "result": result or {}}
                if stored is None:
                    session.add(
                        WebhookDelivery(
                            guild_id=guild_id,
                            hook=name,
                            external_id=external_id,
                            body_sha256=digest,
                            response=response,
                            first_received_at=now,
                            last_received_at=now,
                        )
                    )
                else:
                    stored.body_sha256 = digest
                    stored.response = response
                    stored.deliveries += 1
                    stored.last_received_at = now
                await session.flush()
        except HookRejected as rejected:
            return _problems(rejected.problems)
        log.info("Webhook %s delivered %s for guild %s", name, external_id, guild_id)
        return web.json_response(response)

    async def _verify(self, request: web.Request, body: bytes) -> int | None:
        """The server the request is signed for, or None when anything about the signature is wrong."""
        try:
            guild_id = int(request.headers.get(GUILD_HEADER, ""))
            timestamp = int(request.headers.get(TIMESTAMP_HEADER, ""))
        except ValueError:
            return None
        if abs(time.time() - timestamp) > TIMESTAMP_TOLERANCE:
            return None
        given = request.headers.get(SIGNATURE_HEADER, "")
        async with self.bot.sessionmaker() as session:
            settings = await session.get(GuildSettings, guild_id)
        secret = settings.webhook_secret if settings is not None else None
        # Compute a signature even without a secret, so timing does not tell which servers exist.
        expected = sign(secret or new_webhook_secret(), timestamp, body)
        if not hmac.compare_digest(expected.encode(), given.encode()) or secret is None:
            return None
        return guild_id


def _problems(problems: list[str]) -> web.Response:
    return web.json_response({"ok": False, "problems": problems[:MAX_PROBLEMS]}, status=422)


HOOKS_KEY = web.AppKey("labelbot_hooks", HookRegistry)


def hooks(bot: LabelBot) -> HookRegistry:
    """The bot's webhook registry, with its route on the web app (added on first use, before the server starts)."""
    app = bot.web.app
    registry = app.get(HOOKS_KEY)
    if registry is None:
        registry = HookRegistry(bot)
        app[HOOKS_KEY] = registry
        app.router.add_post("/hooks/{name}", registry.receive)
    return registry
