"""/metrics: labels members cannot multiply, and an address or a token that keeps it private."""

from __future__ import annotations

import re

import aiohttp

from tests.e2e.test_collabs import World
from tests.fakediscord import ChannelType
from tests.harness import BotHarness, free_port

SERIES = re.compile(r"^(labelbot_commands_total\{[^}]*\}) ", re.MULTILINE)


async def command_series(base: str, headers: dict[str, str] | None = None) -> dict[str, float]:
    async with aiohttp.ClientSession() as http, http.get(f"{base}/metrics", headers=headers) as response:
        assert response.status == 200
        text = await response.text()
    return {
        match.group(1): float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if (match := SERIES.match(line + " "))
    }


async def test_five_refused_modal_submits_add_no_new_series_and_none_counts_as_ok(harness: BotHarness) -> None:
    port = free_port()
    harness.extra_env.update({"LABELBOT_WEB__ENABLED": "true", "LABELBOT_WEB__PORT": str(port)})
    world = World(harness, ChannelType.text)
    await harness.start()
    await world.configure()
    base = f"http://127.0.0.1:{port}"

    reply = await world.post(world.poster, "mixing engineer", deadline="2020-01-01")
    assert "already passed" in reply.text
    after_one = await command_series(base)
    for _ in range(4):
        reply = await world.post(world.poster, "mixing engineer", deadline="2020-01-01")
        assert "already passed" in reply.text
    after_five = await command_series(base)

    # Each submit came through a modal discord.py gave a random custom_id: none of it may reach a label.
    assert set(after_five) == set(after_one), sorted(set(after_five) - set(after_one))
    refused = {series: count for series, count in after_five.items() if 'outcome="refused"' in series}
    assert list(refused.values()) == [5.0], after_five
    [label] = refused
    assert 'command="collabs:PostModal"' in label
    # The five commands that opened the modal count as ok; the five refused submits do not.
    assert sum(count for series, count in after_five.items() if 'outcome="ok"' in series) == 5.0


async def test_metrics_behind_a_bearer_token(harness: BotHarness) -> None:
    port = free_port()
    harness.extra_env.update(
        {"LABELBOT_WEB__ENABLED": "true", "LABELBOT_WEB__PORT": str(port), "LABELBOT_WEB__METRICS_TOKEN": "s3cret"}
    )
    await harness.start()
    base = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base}/metrics") as response:
            assert response.status == 401
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
            assert "labelbot_" not in await response.text()
        async with http.get(f"{base}/metrics", headers={"Authorization": "Bearer wrong"}) as response:
            assert response.status == 401

        # The health probe is not behind the token (an orchestrator has none); it answers 503 until the gateway's
        # first heartbeat and the scheduler are up, which can trail READY by a moment on a busy machine.
        async def healthy() -> bool:
            async with http.get(f"{base}/healthz") as response:
                assert response.status in (200, 503), response.status
                return response.status == 200

        await harness.wait_until(healthy, timeout=15)
    assert await command_series(base, {"Authorization": "Bearer s3cret"}) is not None


async def test_metrics_on_their_own_address(harness: BotHarness) -> None:
    port, metrics_port = free_port(), free_port()
    harness.extra_env.update(
        {
            "LABELBOT_WEB__ENABLED": "true",
            "LABELBOT_WEB__PORT": str(port),
            "LABELBOT_WEB__METRICS_HOST": "127.0.0.1",
            "LABELBOT_WEB__METRICS_PORT": str(metrics_port),
        }
    )
    await harness.start()
    await (await harness.fake.slash(harness.guild, harness.general, harness.moderator, "about")).reply()
    async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}/metrics") as response:
        assert response.status == 404
    series = await command_series(f"http://127.0.0.1:{metrics_port}")
    assert series['labelbot_commands_total{command="about",outcome="ok"}'] == 1.0
