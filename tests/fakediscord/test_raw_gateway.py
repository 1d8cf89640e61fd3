"""The gateway protocol spoken by hand (no discord.py): frames, close codes, zlib-stream."""

from __future__ import annotations

import json
import zlib
from typing import Any

import aiohttp

from tests.fakediscord import FakeDiscord


async def _recv(ws: aiohttp.ClientWebSocketResponse, inflator: Any = None) -> dict[str, Any]:
    msg = await ws.receive(timeout=5)
    if msg.type == aiohttp.WSMsgType.BINARY:
        assert inflator is not None
        assert msg.data.endswith(b"\x00\x00\xff\xff")
        return json.loads(inflator.decompress(msg.data))
    assert msg.type == aiohttp.WSMsgType.TEXT, msg
    return json.loads(msg.data)


async def test_identify_heartbeat_and_shard_routing(fake_discord: FakeDiscord) -> None:
    guilds = [fake_discord.add_guild(f"G{i}") for i in range(4)]
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(fake_discord.gateway_url + "?v=10&encoding=json") as ws,
    ):
        hello = await _recv(ws)
        assert hello["op"] == 10
        assert hello["d"]["heartbeat_interval"] > 0
        await ws.send_json({"op": 1, "d": None})
        assert (await _recv(ws))["op"] == 11
        await ws.send_json(
            {"op": 2, "d": {"token": fake_discord.token, "intents": 1, "shard": [1, 2], "properties": {}}}
        )
        ready = await _recv(ws)
        assert ready["t"] == "READY"
        assert ready["s"] == 1
        assert ready["d"]["shard"] == [1, 2]
        assert ready["d"]["application"]["id"] == str(fake_discord.application_id)
        assert ready["d"]["resume_gateway_url"] == fake_discord.gateway_url
        mine = {str(g.id) for g in guilds if (g.id >> 22) % 2 == 1}
        assert {g["id"] for g in ready["d"]["guilds"]} == mine
        assert all(g["unavailable"] for g in ready["d"]["guilds"])
        creates = [await _recv(ws) for _ in mine]
        assert {c["d"]["id"] for c in creates} == mine
        assert [c["s"] for c in creates] == list(range(2, 2 + len(mine)))


async def test_close_codes_and_invalid_resume(fake_discord: FakeDiscord) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(fake_discord.gateway_url + "?v=10&encoding=json") as ws:
            await _recv(ws)
            await ws.send_json({"op": 2, "d": {"token": "wrong", "intents": 1, "properties": {}}})
            msg = await ws.receive(timeout=5)
            assert msg.type == aiohttp.WSMsgType.CLOSE
            assert msg.data == 4004
        async with session.ws_connect(fake_discord.gateway_url + "?v=10&encoding=json") as ws:
            await _recv(ws)
            await ws.send_json(
                {"op": 2, "d": {"token": fake_discord.token, "intents": 1, "shard": [2, 2], "properties": {}}}
            )
            msg = await ws.receive(timeout=5)
            assert msg.data == 4010
        async with session.ws_connect(fake_discord.gateway_url + "?v=10&encoding=json") as ws:
            await _recv(ws)
            await ws.send_json({"op": 6, "d": {"token": fake_discord.token, "session_id": "nope", "seq": 3}})
            invalid = await _recv(ws)
            assert invalid == {"op": 9, "d": False, "s": None, "t": None}


async def test_zlib_stream_transport(fake_discord: FakeDiscord) -> None:
    fake_discord.add_guild("Z")
    async with aiohttp.ClientSession() as session:
        url = fake_discord.gateway_url + "?v=10&encoding=json&compress=zlib-stream"
        async with session.ws_connect(url) as ws:
            inflator = zlib.decompressobj()
            hello = await _recv(ws, inflator)
            assert hello["op"] == 10
            await ws.send_json({"op": 2, "d": {"token": fake_discord.token, "intents": 1, "properties": {}}})
            ready = await _recv(ws, inflator)
            assert ready["t"] == "READY"
            assert "shard" not in ready["d"]  # not asked for
            created = await _recv(ws, inflator)  # one shared zlib context across messages
            assert created["t"] == "GUILD_CREATE"
