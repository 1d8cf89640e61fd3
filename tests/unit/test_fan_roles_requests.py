"""Role changes through discord.py's HTTP client and the bot's pacer: no 429s, room left for fans, 429s waited out."""

from __future__ import annotations

import asyncio

import discord

from labelbot.pacing import Pacer
from labelbot.role_requests import RoleOutcome, RoleRequests
from tests.fakediscord import FakeDiscord
from tests.fakediscord.clientrun import running
from tests.fakediscord.ratelimit import Limit

ROUTES = [
    ("PUT", "/guilds/{guild_id}/members/{user_id}/roles/{role_id}"),
    ("DELETE", "/guilds/{guild_id}/members/{user_id}/roles/{role_id}"),
]
ROLE_ROUTE = ROUTES[0][1]


def narrow(fake: FakeDiscord, limit: int = 5, per: float = 0.2) -> None:
    for route in ROUTES:
        fake.ratelimiter.limits[route] = Limit("member.roles", limit, per)
    fake.enforce_rate_limits = True


def client_paced_by(fake: FakeDiscord) -> tuple[discord.Client, Pacer]:
    pacer = Pacer(fake.api_base)
    client = discord.Client(
        intents=discord.Intents(guilds=True), guild_ready_timeout=0.05, http_trace=pacer.trace_config()
    )
    return client, pacer


async def test_background_changes_are_paced_without_429s_and_leave_room(fake_discord: FakeDiscord) -> None:
    guild = fake_discord.add_guild("Pacing")
    role = guild.add_role("Fans")
    members = [guild.add_member(f"m{n}") for n in range(30)]
    client, pacer = client_paced_by(fake_discord)
    async with running(fake_discord, client):
        narrow(fake_discord)
        # A click budget of 0: the reserve is kept to the end of each window (its reset is never near enough).
        requests = RoleRequests(client.http, pacer, click_budget=0.0)
        for member in members[:20]:
            assert await requests.add(guild.id, member.id, role.id, reason="test", background=True) is RoleOutcome.DONE
        # Background work never takes the last request of a window: a fan's click finds it free.
        assert pacer.role_bucket(guild.id).remaining
        await requests.add(guild.id, members[20].id, role.id, reason="click")
        await asyncio.gather(
            *(requests.remove(guild.id, m.id, role.id, reason="test", background=True) for m in members[:10])
        )
    assert fake_discord.count_429 == 0
    assert pacer.stats.rate_limited == 0
    assert {m.id for m in members if role.id in guild.member(m).role_ids} == {m.id for m in members[10:21]}


async def test_a_sync_uses_every_request_of_windows_shorter_than_a_clicks_budget(fake_discord: FakeDiscord) -> None:
    guild = fake_discord.add_guild("Quick windows")
    role = guild.add_role("Fans")
    members = [guild.add_member(f"m{n}") for n in range(15)]
    client, pacer = client_paced_by(fake_discord)
    async with running(fake_discord, client):
        narrow(fake_discord, limit=5, per=0.2)
        requests = RoleRequests(client.http, pacer)
        await requests.add(guild.id, members[0].id, role.id, reason="test", background=True)
        await asyncio.gather(
            *(requests.add(guild.id, m.id, role.id, reason="test", background=True) for m in members[1:])
        )
    remaining = [r.response_headers.get("X-RateLimit-Remaining") for r in fake_discord.requests_to(ROLE_ROUTE)]
    # A click arriving now would wait at most 0.2 s for the reset, so the sync holds nothing back: fifteen changes
    # in three full windows of five (each window's first answer says 4 are left, its last says 0).
    assert remaining.count("4") == 3
    assert remaining.count("0") == 3
    assert fake_discord.count_429 == 0
    assert all(role.id in guild.member(m).role_ids for m in members)


async def test_a_click_goes_before_a_syncs_backlog_and_finds_its_requests_free(fake_discord: FakeDiscord) -> None:
    guild = fake_discord.add_guild("Long windows")
    role = guild.add_role("Fans")
    members = [guild.add_member(f"m{n}") for n in range(8)]
    fan = guild.add_member("fan")
    client, pacer = client_paced_by(fake_discord)
    async with running(fake_discord, client):
        narrow(fake_discord, limit=5, per=1.5)
        requests = RoleRequests(client.http, pacer, click_budget=0.1)
        await requests.add(guild.id, members[0].id, role.id, reason="test", background=True)
        sync = asyncio.gather(
            *(requests.add(guild.id, m.id, role.id, reason="test", background=True) for m in members[1:])
        )
        while len(fake_discord.requests_to(ROLE_ROUTE)) < 3:
            await asyncio.sleep(0.01)
        await requests.add(guild.id, fan.id, role.id, reason="click")
        await sync
    order = [int(r.path.split("/")[4]) for r in fake_discord.requests_to(ROLE_ROUTE)]
    # The sync left two requests of the window free while the reset was far: the click took one at once, ahead of
    # the five background changes still waiting.
    assert order.index(fan.id) == 3
    assert fake_discord.count_429 == 0
    assert all(role.id in guild.member(m).role_ids for m in [*members, fan])


async def test_a_429_from_elsewhere_is_waited_out_as_discord_asks(fake_discord: FakeDiscord) -> None:
    guild = fake_discord.add_guild("Shared token")
    role = guild.add_role("Fans")
    member = guild.add_member("m")
    client, pacer = client_paced_by(fake_discord)
    async with running(fake_discord, client):
        narrow(fake_discord, limit=5, per=0.3)
        requests = RoleRequests(client.http, pacer)
        # Another process sharing the token used the whole bucket.
        fake_discord.ratelimiter.exhaust(*ROUTES[0], str(guild.id))
        assert await requests.add(guild.id, member.id, role.id, reason="test") is RoleOutcome.DONE
        assert pacer.stats.rate_limited == 1
        gone = fake_discord.add_user("stranger")
        fake_discord.expect_refusals(status=404, code=10007, count=1)  # Unknown Member: the outcome under test
        assert await requests.add(guild.id, gone.id, role.id, reason="test") is RoleOutcome.MEMBER_GONE
    assert role.id in guild.member(member).role_ids
