"""A loyalty tier sync over many members: paced to the role rate limit, resumable after a restart, reported.

The fake enforces Discord's rate limits; the role bucket is narrowed from 10 per 10 s to 10 per 0.25 s so the
test stays quick (benchmarks/bench_fan_roles.py runs 2,000 members). The bot must read the bucket from the
headers: a bot pacing itself to a hard-coded limit would either crawl here or meet 429s.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select

from labelbot.db import create_engine, create_sessionmaker
from labelbot.guilds.models import GuildSettings
from labelbot.jobs import ScheduledJob
from labelbot.models.fan_roles import PartyAttendance
from tests.fakediscord.ratelimit import Limit
from tests.fakediscord.state import ChannelType
from tests.harness import BotHarness

MEMBERS = 300
ROLE_ROUTES = [
    ("PUT", "/guilds/{guild_id}/members/{user_id}/roles/{role_id}"),
    ("DELETE", "/guilds/{guild_id}/members/{user_id}/roles/{role_id}"),
]


def expected_tier(attended: int, tiers: list[tuple[int, int]]) -> set[int]:
    """The one tier role a member with this attendance holds (the server keeps only the highest)."""
    reached = [role_id for role_id, threshold in tiers if threshold <= attended]
    return {reached[-1]} if reached else set()


async def test_tier_sync_is_paced_without_429s_resumes_after_restart_and_gets_every_member_right(
    harness: BotHarness,
) -> None:
    h = harness
    guild = h.guild
    bronze, silver, gold = guild.add_role("Bronze"), guild.add_role("Silver"), guild.add_role("Gold")
    unrelated = guild.add_role("Night owls")
    mod_log = guild.add_channel("mod-log", type=ChannelType.text)
    attendance: dict[int, int] = {}
    fans = []
    for n in range(MEMBERS):
        # Some hold a wrong tier already (given by hand, or thresholds moved), some an unrelated role. Members who
        # never attended are not in the attendance table, so the bot (without the members intent) never sees them.
        held = [gold] if n % 7 == 3 else [bronze] if n % 5 == 0 and n % 7 else []
        if n % 4 == 0:
            held.append(unrelated)
        fan = guild.add_member(f"fan{n}", roles=held)
        fans.append(fan)
        attendance[fan.id] = n % 7
    gone = guild.add_member("left-later")
    attendance[gone.id] = 6
    attendees = sum(1 for count in attendance.values() if count)
    await h.start()
    assert h.bot is not None
    async with h.bot.sessionmaker.begin() as session:
        session.add(GuildSettings(guild_id=guild.id, mod_log_channel_id=mod_log.id))
        rows = [
            {"guild_id": guild.id, "user_id": user_id, "party_id": party}
            for user_id, count in attendance.items()
            for party in range(1, count + 1)
        ]
        await session.execute(insert(PartyAttendance), rows)
    guild._members.pop(gone.id)
    tiers = [(bronze.id, 1), (silver.id, 3), (gold.id, 5)]
    for role_id, threshold in tiers:
        await (
            await h.fake.slash(
                guild, h.general, h.moderator, "roles-admin tiers set", role=guild.role(role_id), threshold=threshold
            )
        ).reply()
    await h.stop()

    # The sync runs in a bot process that is killed (SIGKILL) part way; the next bot carries on where it stopped.
    engine = create_engine(h.database_url)
    sessions = create_sessionmaker(engine)
    identified = h.fake.gateway.identify_count
    process = h.spawn()
    await h.wait_until(lambda: h.fake.gateway.identify_count > identified, timeout=30)
    for route in ROLE_ROUTES:
        h.fake.ratelimiter.limits[route] = Limit("member.roles", 10, 0.25)
    h.fake.enforce_rate_limits = True
    answer = await (await h.fake.slash(guild, h.general, h.moderator, "roles-admin tiers sync")).reply(timeout=15)
    assert answer.content == (
        f"Tier sync started for the {attendees} members who have attended parties. Progress is posted in the mod log."
    )
    again = await (await h.fake.slash(guild, h.general, h.moderator, "roles-admin tiers sync")).reply(timeout=15)
    assert "already running" in again.content

    async def sync_job() -> ScheduledJob | None:
        async with sessions() as session:
            return await session.scalar(select(ScheduledJob).where(ScheduledJob.kind == "fan_roles.tier_sync"))

    async def part_done() -> bool:
        job = await sync_job()
        return job is not None and int((job.result or {}).get("checked", 0)) >= 100

    try:
        await h.wait_until(part_done, timeout=60)
    finally:
        process.kill()
    await h.start()

    async def finished() -> bool:
        job = await sync_job()
        return job is not None and job.status == "done"

    await h.wait_until(finished, timeout=120)
    job = await sync_job()
    await engine.dispose()
    assert job is not None
    result: dict[str, Any] = job.result or {}
    assert result["checked"] == attendees
    assert result["gone"] == 1
    assert result["runs"] == 2
    assert result["resumed_at"] >= 100

    assert h.fake.count_429 == 0
    role_requests = [r for r in h.fake.requests if r.route == ROLE_ROUTES[0][1]]
    assert role_requests
    assert all(r.status == 204 for r in role_requests)
    tier_ids = {role_id for role_id, _ in tiers}
    for fan in fans:
        held = {role.id for role in guild.member(fan).roles}
        assert held & tier_ids == expected_tier(attendance[fan.id], tiers), fan
        assert (unrelated.id in held) == (fans.index(fan) % 4 == 0)

    progress = [m for m in h.fake.messages(mod_log) if any(e.get("title") == "Loyalty tier sync" for e in m.embeds)]
    assert len(progress) == 1
    await h.wait_until(lambda: "Finished." in progress[0].embeds[0]["description"], timeout=10)
    assert f"{attendees} of {attendees} members checked" in progress[0].embeds[0]["description"]
    assert "1 are no longer in the server" in progress[0].embeds[0]["description"]
