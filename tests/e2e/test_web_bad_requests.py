"""The web side answers bad requests with 4xx and a database outage with 503, never 500; slow bodies are dropped."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from labelbot.features.calendar import _service as calendar_service
from labelbot.web import hooks as hooks_module
from labelbot.web.hooks import rotate_webhook_secret, sign
from tests.databases import postgres_base_url
from tests.e2e.test_webhooks import Intake, Sender
from tests.harness import BotHarness, free_port
from tests.support.tcpproxy import TcpProxy

OVERFLOWING_ID = "9" * 30
JUST_OVER_64_BITS = str(2**63)


class Web:
    def __init__(self, harness: BotHarness, intake: Intake, secret: str, port: int) -> None:
        self.harness = harness
        self.intake = intake
        self.secret = secret
        self.base = f"http://127.0.0.1:{port}"
        self.port = port


async def start_web(harness: BotHarness) -> Web:
    port = free_port()
    harness.extra_env.update({"LABELBOT_WEB__ENABLED": "true", "LABELBOT_WEB__PORT": str(port)})
    bot = await harness.start()
    intake = Intake()
    bot.features.webhooks.register("tracks", intake)
    async with bot.sessionmaker.begin() as session:
        secret = await rotate_webhook_secret(session, harness.guild.id)
    return Web(harness, intake, secret, port)


def signed_headers(web: Web, body: bytes, **overrides: str) -> dict[str, str]:
    stamp = int(time.time())
    return {
        "Content-Type": "application/json",
        "X-Labelbot-Guild": str(web.harness.guild.id),
        "X-Labelbot-Timestamp": str(stamp),
        "X-Labelbot-Signature": sign(web.secret, stamp, "tracks", body),
        **overrides,
    }


async def test_malformed_signing_headers_and_ids_get_400(harness: BotHarness) -> None:
    web = await start_web(harness)
    body = json.dumps({"id": "t-1", "title": "Night Drive", "plays": 1}).encode()
    async with aiohttp.ClientSession() as http:
        for overrides in (
            {"X-Labelbot-Guild": OVERFLOWING_ID},
            {"X-Labelbot-Guild": JUST_OVER_64_BITS},
            {"X-Labelbot-Guild": "-5"},
            {"X-Labelbot-Timestamp": "1" * 400},
            {"X-Labelbot-Timestamp": "1e9"},
        ):
            async with http.post(
                f"{web.base}/hooks/tracks", data=body, headers=signed_headers(web, body, **overrides)
            ) as r:
                answer = await r.json()
                assert r.status == 400, (overrides, r.status, answer)
                assert answer["ok"] is False
                assert answer["error"].startswith("X-Labelbot-")

        # An id too large for any server in the calendar feed's address.
        async with http.get(f"{web.base}/calendar/{OVERFLOWING_ID}/abcdef.ics") as r:
            assert r.status == 400
        async with http.get(f"{web.base}/calendar/{JUST_OVER_64_BITS}/abcdef.ics") as r:
            assert r.status == 400
    assert web.intake.calls == []


async def test_a_signed_body_of_deeply_nested_json_gets_422_and_changes_nothing(harness: BotHarness) -> None:
    web = await start_web(harness)
    nested = b'{"id": "t-1", "title": "x", "plays": 1, "extra": ' + b"[" * 50_000 + b"]" * 50_000 + b"}"
    shallow_but_deep = {"id": "t-2", "title": "x", "plays": 1, "extra": json.loads("[" * 40 + "]" * 40)}
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{web.base}/hooks/tracks", data=nested, headers=signed_headers(web, nested)) as r:
            answer = await r.json()
            assert r.status == 422, answer
            assert answer["problems"][0].startswith("body: nested deeper")
        raw = json.dumps(shallow_but_deep).encode()
        async with http.post(f"{web.base}/hooks/tracks", data=raw, headers=signed_headers(web, raw)) as r:
            assert r.status == 422
    assert web.intake.calls == []


async def test_an_oversized_body_gets_413_and_bad_headers_are_answered_before_the_body(harness: BotHarness) -> None:
    web = await start_web(harness)
    huge = json.dumps({"id": "t-1", "title": "x" * (hooks_module.MAX_BODY_BYTES + 1), "plays": 1}).encode()
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{web.base}/hooks/tracks", data=huge, headers=signed_headers(web, huge)) as r,
    ):
        assert r.status == 413

    # Headers that cannot be right, and a body that never comes: the answer does not wait for the body.
    reader, writer = await asyncio.open_connection("127.0.0.1", web.port)
    try:
        writer.write(
            b"POST /hooks/tracks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"X-Labelbot-Guild: " + OVERFLOWING_ID.encode() + b"\r\nX-Labelbot-Timestamp: 1\r\n"
            b"X-Labelbot-Signature: sha256=00\r\nContent-Length: 1000\r\n\r\n{"
        )
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), timeout=3)
        assert status_line.startswith(b"HTTP/1.1 400"), status_line
    finally:
        writer.close()
    assert web.intake.calls == []


async def test_a_client_that_never_finishes_its_body_is_dropped_within_seconds(
    harness: BotHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hooks_module, "BODY_READ_SECONDS", 1.0)
    web = await start_web(harness)
    headers = signed_headers(web, b"{}")
    reader, writer = await asyncio.open_connection("127.0.0.1", web.port)
    started = time.monotonic()
    try:
        writer.write(
            b"POST /hooks/tracks HTTP/1.1\r\nHost: x\r\n"
            + b"".join(f"{name}: {value}\r\n".encode() for name, value in headers.items())
            + b'Content-Length: 1000\r\n\r\n{"id": '
        )
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(-1), timeout=5)  # to the end: the server must close
    finally:
        writer.close()
    assert answer.startswith(b"HTTP/1.1 408"), answer[:80]
    assert time.monotonic() - started < 5
    assert web.intake.calls == []


@pytest.fixture
async def cut_database(harness: BotHarness, backend: str) -> AsyncIterator[TcpProxy | None]:
    """PostgreSQL through a proxy the test can cut; on SQLite nothing (the test points the bot at a lost file)."""
    if backend != "postgres":
        yield None
        return
    url = make_url(postgres_base_url() or "")
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    await proxy.start()
    through = make_url(harness.database_url).set(host="127.0.0.1", port=proxy.port)
    harness.database_url = through.render_as_string(hide_password=False)
    yield proxy
    await proxy.stop()


async def test_a_database_outage_answers_503_with_retry_after(
    harness: BotHarness, cut_database: TcpProxy | None, monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    web = await start_web(harness)
    bot = harness.bot
    assert bot is not None
    async with bot.sessionmaker.begin() as session:
        calendar_secret = await calendar_service.calendar_secret(session, harness.guild.id)
    lost = None
    if cut_database is not None:
        await cut_database.cut()
    else:
        # The database file's directory is gone (a lost volume): every connection fails to open.
        lost = create_async_engine(f"sqlite+aiosqlite:///{tmp_path}/gone/labelbot.db")
        monkeypatch.setattr(bot, "sessionmaker", async_sessionmaker(lost, expire_on_commit=False))
    try:
        async with aiohttp.ClientSession() as http:
            sender = Sender(http, web.base, harness.guild.id, web.secret)
            status, answer, headers = await sender.post({"id": "t-1", "title": "Night Drive", "plays": 1})
            assert status == 503, answer
            assert int(headers["Retry-After"]) > 0
            feed = f"{web.base}/calendar/{harness.guild.id}/{calendar_secret}.ics"
            async with http.get(feed) as r:
                assert r.status == 503
                assert int(r.headers["Retry-After"]) > 0
    finally:
        if lost is not None:
            await lost.dispose()
    assert web.intake.calls == []
