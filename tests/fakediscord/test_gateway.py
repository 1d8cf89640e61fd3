"""Gateway resilience: RESUME with replay, INVALID_SESSION, RECONNECT, heartbeats."""

from __future__ import annotations

import asyncio

import discord

from tests.fakediscord import FakeDiscord
from tests.fakediscord.clientrun import running

from .conftest import DemoBot, DemoShardedBot, World


async def test_resume_replays_missed_events_exactly_once(fake_discord: FakeDiscord, world: World, bot: DemoBot) -> None:
    resumed = asyncio.Event()

    async def on_resumed() -> None:
        resumed.set()

    bot.add_listener(on_resumed)
    before = await fake_discord.post_user_message(world.guild, world.general, world.alice, "before")
    await fake_discord.wait_until(lambda: len(bot.seen) == 1)

    async with fake_discord.gateway_outage(resumable=True):
        missed = [
            await fake_discord.post_user_message(world.guild, world.general, world.bob, f"missed {i}") for i in range(3)
        ]
        assert fake_discord.gateway.connected_shards() == set()
    await asyncio.wait_for(resumed.wait(), 10)
    after = await fake_discord.post_user_message(world.guild, world.general, world.alice, "after")

    await fake_discord.wait_until(lambda: len(bot.seen) >= 5)
    await asyncio.sleep(0.05)
    assert [m.id for m in bot.seen] == [before.id, *(m.id for m in missed), after.id]
    assert fake_discord.gateway.resume_count == 1
    assert fake_discord.gateway.identify_count == 1
    resume = next(e for e in fake_discord.gateway.log if e.get("action") == "resume")
    assert resume["replayed"] == 3


async def test_plain_drop_resumes(fake_discord: FakeDiscord, world: World, bot: DemoBot) -> None:
    await fake_discord.drop_gateway(resumable=True)
    await fake_discord.wait_until(lambda: fake_discord.gateway.resume_count == 1, 10)
    ix = await fake_discord.slash(world.guild, world.general, world.alice, "ping")
    assert (await ix.reply()).content == "pong x1"


async def test_invalid_session_leads_to_fresh_identify(fake_discord: FakeDiscord, world: World, bot: DemoBot) -> None:
    old_session = fake_discord.gateway.live_sessions()[0].session_id
    await fake_discord.invalidate_session()
    await fake_discord.wait_until(lambda: fake_discord.gateway.identify_count == 2, 10)
    await fake_discord.wait_until_connected()
    [session] = fake_discord.gateway.live_sessions()
    assert session.session_id != old_session
    assert fake_discord.gateway.resume_count == 0
    await fake_discord.wait_until(lambda: bot.is_ready(), 10)
    ix = await fake_discord.slash(world.guild, world.general, world.alice, "ping", count=2)
    assert (await ix.reply()).content == "pong x2"


async def test_non_resumable_drop_reidentifies(fake_discord: FakeDiscord, world: World, bot: DemoBot) -> None:
    await fake_discord.drop_gateway(resumable=False)
    # discord.py tries RESUME first; the fake answers INVALID_SESSION and it IDENTIFYs again
    await fake_discord.wait_until(lambda: fake_discord.gateway.identify_count == 2, 10)
    await fake_discord.wait_until_connected()
    await fake_discord.wait_until(lambda: bot.is_ready(), 10)
    ix = await fake_discord.slash(world.guild, world.general, world.alice, "ping")
    assert (await ix.reply()).content == "pong x1"


async def test_reconnect_opcode_resumes(fake_discord: FakeDiscord, world: World, bot: DemoBot) -> None:
    await fake_discord.request_reconnect()
    await fake_discord.wait_until(lambda: fake_discord.gateway.resume_count == 1, 10)
    msg = await fake_discord.post_user_message(world.guild, world.general, world.alice, "still here")
    await fake_discord.wait_until(lambda: any(m.id == msg.id for m in bot.seen))


async def test_sharded_resume_only_affects_one_shard(fake_discord: FakeDiscord) -> None:
    guilds = [fake_discord.add_guild(f"G{i}") for i in range(2)]
    for g in guilds:
        g.add_channel("general")
        g.add_member("fan")
    client = DemoShardedBot(shard_count=2, shard_ids=[0, 1])
    async with running(fake_discord, client):
        target = next(g for g in guilds if (g.id >> 22) % 2 == 1)
        async with fake_discord.gateway_outage(shard_id=1):
            msg = await fake_discord.post_user_message(
                target, target.channel("general"), target.member("fan"), "queued"
            )
            assert fake_discord.gateway.connected_shards() == {0}
        await fake_discord.wait_until(lambda: any(m.id == msg.id for m in client.seen), 10)
        assert fake_discord.gateway.resume_count == 1


async def test_heartbeats_are_acked(fake_discord: FakeDiscord, world: World, bot: DemoBot) -> None:
    # discord.py heartbeats right after HELLO; the ACK gives it a finite latency
    await fake_discord.wait_until(lambda: bot.latency != float("inf"), 5)
    assert any(e.get("op") == 1 and e["direction"] == "recv" for e in fake_discord.gateway.log)


async def test_members_intent_and_member_events(fake_discord: FakeDiscord, world: World) -> None:
    client = DemoBot(intents=discord.Intents.default() | discord.Intents(members=True))
    joined: list[discord.Member] = []

    async def on_member_join(member: discord.Member) -> None:
        joined.append(member)

    client.add_listener(on_member_join)
    async with running(fake_discord, client):
        guild = client.get_guild(world.guild.id)
        assert {m.id for m in guild.members} >= {world.alice.id, world.bob.id}  # small guild: members sent
        newbie = fake_discord.add_user("newbie")
        await fake_discord.add_member_live(world.guild, newbie)
        await fake_discord.wait_until(lambda: joined, 5)
        assert joined[0].id == newbie.id


async def test_no_members_intent_no_member_events(fake_discord: FakeDiscord, world: World, bot: DemoBot) -> None:
    joined: list[discord.Member] = []

    async def on_member_join(member: discord.Member) -> None:
        joined.append(member)

    bot.add_listener(on_member_join)
    await fake_discord.add_member_live(world.guild, fake_discord.add_user("newbie"))
    await asyncio.sleep(0.1)
    assert joined == []
    assert bot.get_guild(world.guild.id).get_member(world.alice.id) is None  # only the bot's own member was sent
