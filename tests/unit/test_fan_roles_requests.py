"""Role requests paced by the fake Discord's rate-limit headers: no 429s, room left for fans, 429s waited out."""

from __future__ import annotations

import asyncio

import aiohttp

from bot.role_requests import RoleOutcome, RoleRequests
from tests.fakediscord import FakeDiscord
from tests.fakediscord.ratelimit import Limit

ROUTES = [
    ("PUT", "/guilds/{guild_id}/members/{user_id}/roles/{role_id}"),
    ("DELETE", "/guilds/{guild_id}/members/{user_id}/roles/{role_id}"),
]


def narrow(fake: FakeDiscord, limit: int = 5, per: float = 0.2) -> None:
    for route in ROUTES:
        fake.ratelimiter.limits[route] = Limit("member.roles", limit, per)
    fake.enforce_rate_limits = True


async def test_background_changes_are_paced_without_429s_and_leave_room(fake_discord: FakeDiscord) -> None:
    guild = fake_discord.add_guild("Pacing")
    role = guild.add_role("Fans")
    members = [guild.add_member(f"m{n}") for n in range(30)]
    narrow(fake_discord)
    async with aiohttp.ClientSession() as session:
        requests = RoleRequests(session, fake_discord.api_base, fake_discord.token, "DiscordBot (test, 1)")
        for member in members[:20]:
            assert await requests.add(guild.id, member.id, role.id, reason="test", background=True) is RoleOutcome.DONE
        # A fan's click goes straight through: background work left it room in the window.
        waited = requests.stats.waited_seconds
        await requests.add(guild.id, members[20].id, role.id, reason="click")
        assert requests.stats.waited_seconds == waited
        await asyncio.gather(
            *(requests.remove(guild.id, m.id, role.id, reason="test", background=True) for m in members[:10])
        )
    assert fake_discord.count_429 == 0
    assert requests.stats.rate_limited == 0
    assert {m.id for m in members if role.id in guild.member(m).role_ids} == {m.id for m in members[10:21]}


async def test_a_429_from_elsewhere_is_waited_out_as_discord_asks(fake_discord: FakeDiscord) -> None:
    guild = fake_discord.add_guild("Shared token")
    role = guild.add_role("Fans")
    member = guild.add_member("m")
    narrow(fake_discord, limit=5, per=0.3)
    async with aiohttp.ClientSession() as session:
        requests = RoleRequests(session, fake_discord.api_base, fake_discord.token, "DiscordBot (test, 1)")
        # Another process sharing the token used the whole bucket.
        fake_discord.ratelimiter.exhaust(*ROUTES[0], str(guild.id))
        assert await requests.add(guild.id, member.id, role.id, reason="test") is RoleOutcome.DONE
        assert requests.stats.rate_limited == 1
        gone = fake_discord.add_user("stranger")
        fake_discord.expect_refusals(status=404, code=10007, count=1)  # Unknown Member: the outcome under test
        assert await requests.add(guild.id, gone.id, role.id, reason="test") is RoleOutcome.MEMBER_GONE
    assert role.id in guild.member(member).role_ids
