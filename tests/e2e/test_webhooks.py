"""Signed webhooks: POST /hooks/{name} verified by HMAC-SHA256, idempotent by the sender's id."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from labelbot.db.models import BotState
from labelbot.guilds.models import GuildSettings
from labelbot.web.hooks import (
    SECRET_ROTATION_GRACE,
    UNAUTHORIZED,
    Delivery,
    HookRejected,
    rotate_webhook_secret,
    sign,
)
from labelbot.web.models import WebhookDelivery
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
        self.last_stamp = 0

    def next_stamp(self) -> int:
        """Now, but later than this sender's last request: a real sender signs each change after the last."""
        self.last_stamp = max(int(time.time()), self.last_stamp + 1)
        return self.last_stamp

    async def post(
        self,
        body: bytes | dict[str, Any],
        *,
        hook: str = "tracks",
        secret: str | None = None,
        timestamp: int | None = None,
        headers: dict[str, str] | None = None,
        signed_for: str | None = None,
    ) -> tuple[int, dict[str, Any], aiohttp.typedefs.LooseHeaders]:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        stamp = self.next_stamp() if timestamp is None else timestamp
        sent = {
            "Content-Type": "application/json",
            "X-Labelbot-Guild": str(self.guild_id),
            "X-Labelbot-Timestamp": str(stamp),
            "X-Labelbot-Signature": sign(secret or self.secret, stamp, signed_for or hook, raw),
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
    bot.features.webhooks.register("tracks", intake)
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
            # Signed for this server but sent as another (which has no secret at all).
            await sender.post(body, headers={"X-Labelbot-Guild": "4242"}),
            # Tampered body under the original signature.
            await sender.post(
                json.dumps({**body, "title": "Tampered"}).encode(),
                headers={"X-Labelbot-Signature": sign(secret, now, "tracks", json.dumps(body).encode())},
                timestamp=now,
            ),
        ]
        for status, answer, _ in refusals:
            assert status == 401
            assert answer == {"ok": False, "error": "invalid signature or timestamp"}
        # A timestamp that is not unix seconds is not a signing header at all: refused before anything else.
        status, answer, _ = await sender.post(body, headers={"X-Labelbot-Timestamp": "yesterday"})
        assert status == 400
        assert answer == {"ok": False, "error": "X-Labelbot-Timestamp must be unix seconds"}
        assert intake.calls == []
        assert await stored_state(harness) == ({}, 0)


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


async def test_an_older_delivery_replayed_after_a_newer_one_is_refused_and_changes_nothing(
    webhook: tuple[BotHarness, Intake, str, int],
) -> None:
    harness, intake, secret, port = webhook
    key = f"track:{harness.guild.id}:t-4"
    now = int(time.time())
    first = {"id": "t-4", "title": "Night Drive", "plays": 1}
    corrected = {"id": "t-4", "title": "Night Drive (Remaster)", "plays": 2}
    async with aiohttp.ClientSession() as http:
        sender = Sender(http, f"http://127.0.0.1:{port}", harness.guild.id, secret)
        assert (await sender.post(first, timestamp=now - 20))[0] == 200
        assert (await sender.post(corrected, timestamp=now - 10))[0] == 200
        assert await stored_state(harness) == ({key: "Night Drive (Remaster)"}, 1)

        # Someone who captured the first delivery sends it again, byte for byte, inside the five minutes.
        status, answer, _ = await sender.post(first, timestamp=now - 20)
        assert status == 409, answer
        assert answer["ok"] is False
        assert "stale delivery" in answer["error"]
        # Another body under the same timestamp as the applied one is no newer either.
        status, _, _ = await sender.post({**first, "title": "Hijacked"}, timestamp=now - 10)
        assert status == 409
        assert await stored_state(harness) == ({key: "Night Drive (Remaster)"}, 1)
        assert len(intake.calls) == 2

        # The delivery in force, replayed, is answered as the duplicate it is and runs nothing again.
        status, _, headers = await sender.post(corrected, timestamp=now - 10)
        assert status == 200
        assert headers["X-Labelbot-Duplicate"] == "true"
        assert len(intake.calls) == 2

        # The sender's own next change, signed later, goes through.
        status, _, _ = await sender.post({**first, "title": "Night Drive (Live)"}, timestamp=now)
        assert status == 200
        assert await stored_state(harness) == ({key: "Night Drive (Live)"}, 1)


async def test_a_delivery_signed_for_another_hook_is_refused(webhook: tuple[BotHarness, Intake, str, int]) -> None:
    harness, intake, secret, port = webhook
    setlists = Intake()
    assert harness.bot is not None
    harness.bot.features.webhooks.register("setlists", setlists)
    body = {"id": "t-5", "title": "Night Drive", "plays": 1}
    async with aiohttp.ClientSession() as http:
        sender = Sender(http, f"http://127.0.0.1:{port}", harness.guild.id, secret)
        status, answer, _ = await sender.post(body, hook="setlists", signed_for="tracks")
        assert status == 401
        assert answer == {"ok": False, "error": "invalid signature or timestamp"}
        assert setlists.calls == []
        assert intake.calls == []
        status, _, _ = await sender.post(body, hook="setlists")
        assert status == 200
        assert len(setlists.calls) == 1


async def test_the_previous_secret_verifies_for_a_day_after_rotation_then_not(
    webhook: tuple[BotHarness, Intake, str, int],
) -> None:
    harness, intake, old, port = webhook
    assert harness.bot is not None
    async with harness.bot.sessionmaker.begin() as session:
        fresh = await rotate_webhook_secret(session, harness.guild.id)
    async with aiohttp.ClientSession() as http:
        sender = Sender(http, f"http://127.0.0.1:{port}", harness.guild.id, fresh)
        # Mid-deploy: the website still signs with the old secret, and is not cut off.
        status, answer, _ = await sender.post({"id": "t-6", "title": "Old secret", "plays": 1}, secret=old)
        assert status == 200, answer
        status, _, _ = await sender.post({"id": "t-7", "title": "New secret", "plays": 1})
        assert status == 200

        # A day later the old secret is refused; the new one goes on working.
        async with harness.bot.sessionmaker.begin() as session:
            settings = await session.get(GuildSettings, harness.guild.id)
            assert settings is not None
            assert settings.webhook_secret_rotated_at is not None
            settings.webhook_secret_rotated_at -= SECRET_ROTATION_GRACE + timedelta(minutes=1)
        status, answer, _ = await sender.post({"id": "t-8", "title": "Too late", "plays": 1}, secret=old)
        assert status == 401
        assert answer == UNAUTHORIZED
        status, _, _ = await sender.post({"id": "t-9", "title": "Still fine", "plays": 1})
        assert status == 200
        assert {call.external_id for call in intake.calls} == {"t-6", "t-7", "t-9"}

        # Rotating again forgets the secret two rotations back at once.
        async with harness.bot.sessionmaker.begin() as session:
            newest = await rotate_webhook_secret(session, harness.guild.id)
        assert (await sender.post({"id": "t-10", "title": "x", "plays": 1}, secret=old))[0] == 401
        assert (await sender.post({"id": "t-11", "title": "x", "plays": 1}, secret=fresh))[0] == 200
        assert (await sender.post({"id": "t-12", "title": "x", "plays": 1}, secret=newest))[0] == 200
