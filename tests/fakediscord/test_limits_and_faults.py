"""Interaction deadlines, rate limits (headers, enforced 429s), injected failures and latency."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import discord
import pytest

from tests.fakediscord import FakeDiscord

from .conftest import DemoBot, World


async def test_callback_after_deadline_is_unknown_interaction(
    fake_discord: FakeDiscord, world: World, bot: DemoBot
) -> None:
    fake_discord.interaction_timeout = 0.2  # Discord's 3 s, shrunk so the test stays fast
    fake_discord.expect_refusals(status=404, code=10062, count=1)
    ix = await fake_discord.slash(world.guild, world.general, world.alice, "sleepy", delay=0.4)
    await fake_discord.wait_until(lambda: bot.errors, 5)
    assert isinstance(bot.errors[0], discord.NotFound)
    assert bot.errors[0].code == 10062
    assert ix.callbacks == []
    assert ix.late_callbacks == 1
    assert fake_discord.messages(world.general) == []


async def test_fast_callback_records_ack_latency(fake_discord: FakeDiscord, world: World, bot: DemoBot) -> None:
    ix = await fake_discord.slash(world.guild, world.general, world.alice, "sleepy", delay=0.05)
    assert (await ix.reply()).content == "late"
    assert 0.05 <= ix.ack_latency < 3


@pytest.mark.allow_rejections
async def test_second_initial_response_is_rejected(fake_discord: FakeDiscord, world: World, bot: DemoBot) -> None:
    ix = await fake_discord.slash(world.guild, world.general, world.alice, "double")
    await fake_discord.wait_until(lambda: bot.errors, 5)
    assert bot.errors[0].code == 40060
    assert len(ix.callbacks) == 1
    assert [m.content for m in fake_discord.messages(world.general)] == ["one"]


async def test_context_menu(fake_discord: FakeDiscord, world: World, bot: DemoBot) -> None:
    ix = await fake_discord.context_menu(
        world.guild, world.general, world.alice, "Profile", world.guild.member(world.bob)
    )
    reply = await ix.reply()
    assert reply.content == "profile of bob"
    assert reply.ephemeral


async def test_rate_limit_headers(fake_discord: FakeDiscord, world: World, bot: DemoBot) -> None:
    await bot.get_channel(world.general.id).send("hi")
    [req] = fake_discord.requests_to("/channels/{channel_id}/messages", "POST")
    assert "Authorization" in req.headers
    assert req.response_headers["X-RateLimit-Remaining"] == "4"
    async with aiohttp.ClientSession() as session:
        url = f"{fake_discord.api_base}/channels/{world.general.id}/messages"
        async with session.post(
            url, json={"content": "raw"}, headers={"Authorization": f"Bot {fake_discord.token}"}
        ) as resp:
            assert resp.status == 200
            assert resp.headers["Content-Type"] == "application/json"
            assert resp.headers["X-RateLimit-Limit"] == "5"
            assert resp.headers["X-RateLimit-Remaining"] == "3"
            assert float(resp.headers["X-RateLimit-Reset-After"]) <= 5
            assert resp.headers["X-RateLimit-Bucket"]
        fake_discord.expect_refusals("/users/@me", status=401, count=1)
        fake_discord.expect_refusals(lambda method, path, route: path == "/nope", status=404, count=1)
        async with session.get(f"{fake_discord.api_base}/users/@me") as resp:
            assert resp.status == 401
        async with session.get(
            f"{fake_discord.api_base}/nope", headers={"Authorization": f"Bot {fake_discord.token}"}
        ) as resp:
            assert resp.status == 404
    assert [r.path for r in fake_discord.unknown_routes] == ["/nope"]


@pytest.mark.fake_discord(enforce_rate_limits=True, rate_limit_scale=0.1)
async def test_burst_gets_429s_that_discord_py_waits_out(fake_discord: FakeDiscord, world: World, bot: DemoBot) -> None:
    # another process sharing the token (a second shard cluster) has just used the channel's bucket,
    # so discord.py cannot know and runs into real 429s
    async with aiohttp.ClientSession() as session:
        url = f"{fake_discord.api_base}/channels/{world.general.id}/messages"
        headers = {"Authorization": f"Bot {fake_discord.token}"}
        statuses = []
        for i in range(6):
            async with session.post(url, json={"content": f"other {i}"}, headers=headers) as resp:
                statuses.append(resp.status)
                if resp.status == 429:
                    body = await resp.json()
                    assert body["global"] is False
                    assert body["retry_after"] > 0
                    assert resp.headers["X-RateLimit-Scope"] == "user"
                    assert resp.headers["Retry-After"]
    assert statuses == [200] * 5 + [429]

    channel = bot.get_channel(world.general.id)
    sent = await asyncio.gather(*(channel.send(f"burst {i}") for i in range(20)))
    assert fake_discord.count_429 >= 2  # the raw one above and at least one discord.py waited out
    contents = [m.content for m in fake_discord.messages(world.general) if m.content.startswith("burst")]
    assert sorted(contents) == sorted(f"burst {i}" for i in range(20))  # all arrived, none twice
    assert len({m.id for m in sent}) == 20


async def test_injected_failures_are_retried(fake_discord: FakeDiscord, world: World, bot: DemoBot) -> None:
    fake_discord.inject_failures("/channels/{channel_id}/messages", status=502, count=1)
    started = time.monotonic()
    msg = await bot.get_channel(world.general.id).send("eventually")
    assert time.monotonic() - started >= 0.9  # discord.py backs off 1 s before its retry
    assert fake_discord.message(msg.id).content == "eventually"
    statuses = [r.status for r in fake_discord.requests_to("/channels/{channel_id}/messages", "POST")]
    assert statuses == [502, 200]


@pytest.mark.allow_rejections
async def test_injected_4xx_and_latency(fake_discord: FakeDiscord, world: World, bot: DemoBot) -> None:
    fake_discord.inject_failures(lambda method, path, route: method == "PUT" and "roles" in route, status=403, count=1)
    with pytest.raises(discord.Forbidden):
        await bot.http.add_role(world.guild.id, world.bob.id, world.fans.id)
    await bot.http.add_role(world.guild.id, world.bob.id, world.fans.id)
    assert world.guild.member(world.bob).has_role(world.fans)
    fake_discord.latency = 0.1
    started = time.monotonic()
    await bot.http.get_guild(world.guild.id)
    assert time.monotonic() - started >= 0.1


async def test_every_refusal_not_asked_for_is_recorded(fake_discord: FakeDiscord, world: World, bot: DemoBot) -> None:
    """Injected failures and rate-limit pacing are asked for; any other non-2xx or unknown route is a refusal."""
    channel = bot.get_channel(world.general.id)
    fake_discord.inject_failures("/channels/{channel_id}/messages", status=502, count=1)
    await channel.send("after one retry")  # discord.py retries the 502
    with pytest.raises(discord.NotFound):
        await channel.fetch_message(1)
    fake_discord.expect_refusals("/channels/{channel_id}/messages/{message_id}", status=404, code=10008, count=1)
    with pytest.raises(discord.NotFound):
        await channel.fetch_message(2)
    async with aiohttp.ClientSession() as session, session.delete(f"{fake_discord.api_base}/users/@me") as resp:
        assert resp.status == 405

    assert [(r.method, r.status) for r in fake_discord.refusals] == [("GET", 404), ("DELETE", 405)]
    assert [r.path for r in fake_discord.expected_refusals] == [f"/channels/{world.general.id}/messages/2"]
    with pytest.raises(AssertionError, match="2 thing"):
        fake_discord.assert_no_refusals()
    fake_discord.refusals.clear()  # shown; the teardown check would fail on them
