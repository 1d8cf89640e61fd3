"""Sharded logins: automatic shard count (GET /gateway/bot) and a fixed shard range."""

from __future__ import annotations

import discord
import pytest

from tests.fakediscord import ChannelType, FakeDiscord
from tests.fakediscord.clientrun import running

from .conftest import DemoBot, DemoShardedBot


def _guilds(fake: FakeDiscord, n: int) -> list:
    out = []
    for i in range(n):
        g = fake.add_guild(f"Guild {i}")
        g.add_channel("general", type=ChannelType.text)
        g.add_member("fan")
        out.append(g)
    return out


async def test_plain_client_automatic(fake_discord: FakeDiscord) -> None:
    guilds = _guilds(fake_discord, 2)
    client = DemoBot()
    async with running(fake_discord, client):
        assert {g.id for g in client.guilds} == {g.id for g in guilds}
        ix = await fake_discord.slash(guilds[1], guilds[1].channel("general"), guilds[1].member("fan").user, "ping")
        assert (await ix.reply()).content == "pong x1"
    # a plain Client sends no shard in IDENTIFY: one session covers every guild
    idents = [e for e in fake_discord.gateway.log if e.get("action") == "identify"]
    assert [(e["shard"], e["shard_count"]) for e in idents] == [(0, 1)]


@pytest.mark.parametrize("recommended", [1, 2])
async def test_autosharded_automatic_shard_count(fake_discord: FakeDiscord, recommended: int) -> None:
    fake_discord.recommended_shards = recommended
    guilds = _guilds(fake_discord, 4)
    client = DemoShardedBot()
    async with running(fake_discord, client):
        assert client.shard_count == recommended
        assert {g.id for g in client.guilds} == {g.id for g in guilds}
        for g in guilds:
            assert client.get_guild(g.id).shard_id == (g.id >> 22) % recommended
            ix = await fake_discord.slash(g, g.channel("general"), g.member("fan").user, "ping", count=2)
            assert (await ix.reply()).content == "pong x2"
    assert any(r.path == "/gateway/bot" for r in fake_discord.requests)


async def test_autosharded_fixed_shards(fake_discord: FakeDiscord) -> None:
    guilds = _guilds(fake_discord, 4)
    client = DemoShardedBot(shard_count=2, shard_ids=[0, 1])
    async with running(fake_discord, client):
        # with a fixed range discord.py skips /gateway/bot and uses DEFAULT_GATEWAY
        assert not any(r.path == "/gateway/bot" for r in fake_discord.requests)
        idents = sorted(
            (e["shard"], e["shard_count"]) for e in fake_discord.gateway.log if e.get("action") == "identify"
        )
        assert idents == [(0, 2), (1, 2)]
        shards = {client.get_guild(g.id).shard_id for g in guilds}
        assert shards == {0, 1}  # consecutive guild ids land on both shards
        # each shard only received its own guilds
        for session in fake_discord.gateway.live_sessions():
            created = [p["d"]["id"] for p in session.buffer if p["t"] == "GUILD_CREATE"]
            assert all((int(gid) >> 22) % 2 == session.shard_id for gid in created)
        # events go to the shard that owns the guild
        for g in guilds:
            msg = await fake_discord.post_user_message(g, g.channel("general"), g.member("fan").user, f"hi {g.name}")
            await fake_discord.wait_until(lambda m=msg: any(s.id == m.id for s in client.seen))
        assert sorted(m.guild.id for m in client.seen) == sorted(g.id for g in guilds)


async def test_only_some_shards_of_a_larger_count(fake_discord: FakeDiscord) -> None:
    guilds = _guilds(fake_discord, 4)
    client = DemoShardedBot(shard_count=2, shard_ids=[1])
    async with running(fake_discord, client):
        assert {g.id for g in client.guilds} == {g.id for g in guilds if (g.id >> 22) % 2 == 1}


async def test_large_guild_sends_few_members(fake_discord: FakeDiscord) -> None:
    g = fake_discord.add_guild("Huge", member_count=120_000)
    for i in range(5):
        g.add_member(f"fan{i}")
    client = DemoBot(intents=discord.Intents.default() | discord.Intents(members=True), chunk_guilds_at_startup=False)
    async with running(fake_discord, client):
        guild = client.get_guild(g.id)
        assert guild.member_count == 120_000
        assert guild.large
        assert [m.id for m in guild.members] == [fake_discord.bot_user.id]


async def test_bad_token_fails_login(fake_discord: FakeDiscord) -> None:
    fake_discord.expect_refusals("/users/@me", status=401)
    client = DemoBot()
    try:
        with pytest.raises(discord.LoginFailure):
            await client.start("not-the-token")
    finally:
        await client.close()
    assert fake_discord.requests[0].status == 401


async def test_disallowed_privileged_intent(fake_discord: FakeDiscord) -> None:
    fake_discord.privileged_intents = 0  # the app has no privileged intents enabled in the portal
    client = DemoBot(intents=discord.Intents.default() | discord.Intents(message_content=True))
    try:
        with pytest.raises(discord.PrivilegedIntentsRequired):
            await client.start(fake_discord.token)
    finally:
        await client.close()


async def test_plain_client_with_a_fixed_shard(fake_discord: FakeDiscord) -> None:
    guilds = _guilds(fake_discord, 4)
    client = DemoBot(shard_id=1, shard_count=2)
    async with running(fake_discord, client):
        assert {g.id for g in client.guilds} == {g.id for g in guilds if (g.id >> 22) % 2 == 1}
        target = next(g for g in guilds if (g.id >> 22) % 2 == 1)
        ix = await fake_discord.slash(target, target.channel("general"), target.member("fan"), "ping")
        assert (await ix.reply()).content == "pong x1"
        other = next(g for g in guilds if (g.id >> 22) % 2 == 0)
        with pytest.raises(AssertionError, match="no connected shard"):
            await fake_discord.slash(other, other.channel("general"), other.member("fan"), "ping")
