"""Signed webhooks: POST /hooks/{name} verified by HMAC-SHA256, idempotent by the sender's id."""

from __future__ import annotations

import json
import time
from typing import Any

import aiohttp
import pytest
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import BotState
from bot.web.hooks import Delivery, HookRejected, WebhookDelivery, hooks, rotate_webhook_secret, sign
from tests.harness import BotHarness, free_port


class Track(BaseModel):
    id: str
    title: str = Field(min_length=1)
    plays: int = Field(ge=0)


class Intake:
    """A test feature's intake: stores the track's title under its id, and remembers each call."""

    def __init__(self) -> None:
        self.calls: list[Delivery] = []

    async def __call__(self, session: AsyncSession, delivery: Delivery) -> dict[str, Any]:
        try:
            track = Track.model_validate(delivery.body)
        except ValidationError as error:
            raise HookRejected.from_validation(error) from None
        self.calls.append(delivery)
        await session.merge(BotState(key=f"track:{delivery.guild_id}:{track.id}", value=track.title))
        return {"stored": track.id, "first": delivery.first}


class Sender:
    """A label's website posting to the bot."""

    def __init__(self, http: aiohttp.ClientSession, base: str, guild_id: int, secret: str) -> None:
        self.http = http
        self.base = base
        self.guild_id = guild_id
        self.secret = secret

    async def post(
        self,
        body: bytes | dict[str, Any],
        *,
        hook: str = "tracks",
        secret: str | None = None,
        timestamp: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, Any], aiohttp.typedefs.LooseHeaders]:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        stamp = int(time.time()) if timestamp is None else timestamp
        sent = {
            "Content-Type": "application/json",
            "X-Labelbot-Guild": str(self.guild_id),
            "X-Labelbot-Timestamp": str(stamp),
            "X-Labelbot-Signature": sign(secret or self.secret, stamp, raw),
            **(headers or {}),
        }
        async with self.http.post(f"{self.base}/hooks/{hook}", data=raw, headers=sent) as response:
            answer = await response.json()
            return response.status, answer, response.headers


@pytest.fixture
async def webhook(harness: BotHarness) -> tuple[BotHarness, Intake, str, int]:
    port = free_port()
    harness.extra_env.update({"LABELBOT_WEB__ENABLED": "true", "LABELBOT_WEB__PORT": str(port)})
    bot = await harness.start()
    intake = Intake()
    hooks(bot).register("tracks", intake)
    async with bot.sessionmaker.begin() as session:
        secret = await rotate_webhook_secret(session, harness.guild.id)
    return harness, intake, secret, port


async def stored_state(harness: BotHarness) -> tuple[dict[str, str], int]:
    assert harness.bot is not None
    async with harness.bot.sessionmaker() as session:
        rows = await session.scalars(select(BotState).where(BotState.key.like("track:%")))
        deliveries = await session.scalar(select(func.count()).select_from(WebhookDelivery))
    return {row.key: row.value for row in rows}, int(deliveries or 0)


async def test_signed_delivery_is_taken_once_and_updates_by_the_senders_id(
    webhook: tuple[BotHarness, Intake, str, int],
) -> None:
    harness, intake, secret, port = webhook
    key = f"track:{harness.guild.id}:t-1"
    async with aiohttp.ClientSession() as http:
        sender = Sender(http, f"http://127.0.0.1:{port}", harness.guild.id, secret)
        status, answer, _ = await sender.post({"id": "t-1", "title": "Night Drive", "plays": 3})
        assert status == 200, answer
        assert answer["result"] == {"stored": "t-1", "first": True}
        assert await stored_state(harness) == ({key: "Night Drive"}, 1)

        # The sender retries (a timeout on its side): same id, same content, other key order.
        status, again, headers = await sender.post({"plays": 3, "title": "Night Drive", "id": "t-1"})
        assert status == 200
        assert again == answer
        assert headers["X-Labelbot-Duplicate"] == "true"
        assert len(intake.calls) == 1

        # The same release, changed: the intake runs again, told it is an update.
        status, updated, _ = await sender.post({"id": "t-1", "title": "Night Drive (Remaster)", "plays": 3})
        assert status == 200
        assert updated["result"] == {"stored": "t-1", "first": False}
        assert await stored_state(harness) == ({key: "Night Drive (Remaster)"}, 1)
        assert len(intake.calls) == 2


async def test_bad_signature_or_timestamp_is_refused_and_changes_nothing(
    webhook: tuple[BotHarness, Intake, str, int],
) -> None:
    harness, intake, secret, port = webhook
    body = {"id": "t-2", "title": "Forged", "plays": 1}
    now = int(time.time())
    async with aiohttp.ClientSession() as http:
        sender = Sender(http, f"http://127.0.0.1:{port}", harness.guild.id, secret)
        refusals = [
            await sender.post(body, secret="not-the-secret"),
            await sender.post(body, timestamp=now - 600),  # signed correctly, but ten minutes old
            await sender.post(body, timestamp=now + 600),
            await sender.post(body, headers={"X-Labelbot-Signature": "sha256=" + "0" * 64}),
            await sender.post(body, headers={"X-Labelbot-Timestamp": "yesterday"}),
            # Signed for this server but sent as another (which has no secret at all).
            await sender.post(body, headers={"X-Labelbot-Guild": "4242"}),
            # Tampered body under the original signature.
            await sender.post(
                json.dumps({**body, "title": "Tampered"}).encode(),
                headers={"X-Labelbot-Signature": sign(secret, now, json.dumps(body).encode())},
                timestamp=now,
            ),
        ]
        for status, answer, _ in refusals:
            assert status == 401
            assert answer == {"ok": False, "error": "invalid signature or timestamp"}
        assert intake.calls == []
        assert await stored_state(harness) == ({}, 0)

        # A rotated secret: the old one stops working at once.
        assert harness.bot is not None
        async with harness.bot.sessionmaker.begin() as session:
            fresh = await rotate_webhook_secret(session, harness.guild.id)
        status, _, _ = await sender.post(body)
        assert status == 401
        status, _, _ = await sender.post(body, secret=fresh)
        assert status == 200


async def test_invalid_body_gets_422_with_its_problems(webhook: tuple[BotHarness, Intake, str, int]) -> None:
    harness, intake, secret, port = webhook
    async with aiohttp.ClientSession() as http:
        sender = Sender(http, f"http://127.0.0.1:{port}", harness.guild.id, secret)
        status, answer, _ = await sender.post({"id": "t-3", "title": "", "plays": -1})
        assert status == 422
        assert answer["ok"] is False
        assert any(problem.startswith("title:") for problem in answer["problems"])
        assert any(problem.startswith("plays:") for problem in answer["problems"])

        status, answer, _ = await sender.post(b"{not json")
        assert status == 422
        assert answer["problems"][0].startswith("body:")
        status, answer, _ = await sender.post(b"[1, 2]")
        assert status == 422
        status, answer, _ = await sender.post({"title": "No id", "plays": 1})
        assert status == 422
        assert answer["problems"][0].startswith("id:")

        assert intake.calls == []
        assert await stored_state(harness) == ({}, 0)

        status, _, _ = await sender.post({"id": "t-3", "title": "x", "plays": 1}, hook="nope")
        assert status == 404
