"""Cluster mode without processes: which jobs go back to the process serving their server; the compose file's shape."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, cast

import discord
import pytest

from labelbot.channels import RestGuilds, cached_job_guild, job_guild, served_elsewhere
from labelbot.jobs import ComeBackLater, JobFailed
from tests.unit.test_cli import ROOT


@dataclass
class StubBot:
    shard_count: int | None
    shard_ids: list[int] | None
    guilds: dict[int, Any] = field(default_factory=dict)
    # What Discord has, for REST: servers by id (a missing one answers 404), and how often each was fetched.
    discord_guilds: dict[int, Any] = field(default_factory=dict)
    fetched: list[int] = field(default_factory=list)
    rest_guilds: RestGuilds = field(default_factory=RestGuilds)
    user: Any = None

    def get_guild(self, guild_id: int) -> Any:
        return self.guilds.get(guild_id)

    async def fetch_guild(self, guild_id: int, *, with_counts: bool = True) -> Any:
        self.fetched.append(guild_id)
        await asyncio.sleep(0.01)
        if guild_id not in self.discord_guilds:
            raise discord.NotFound(cast(Any, SimpleNamespace(status=404, reason="Not Found")), "Unknown Guild")
        return self.discord_guilds[guild_id]


def on_shard(shard: int, count: int = 4) -> int:
    """A server id Discord puts on `shard` of `count` ((id >> 22) % count)."""
    return (1_000 * count + shard) << 22


def test_gateway_only_work_on_another_process_s_server_is_handed_back_to_it() -> None:
    bot = cast(Any, StubBot(shard_count=4, shard_ids=[0, 1]))
    assert served_elsewhere(bot, on_shard(2))
    assert not served_elsewhere(bot, on_shard(1))
    with pytest.raises(ComeBackLater):
        cached_job_guild(bot, on_shard(3), "gone")
    # On one of its own shards and not cached: the bot left that server.
    with pytest.raises(JobFailed, match="gone"):
        cached_job_guild(bot, on_shard(0), "gone")


async def test_a_job_on_another_process_s_server_runs_here_through_rest() -> None:
    elsewhere, left = on_shard(2), on_shard(3)
    fetched = object()
    stub = StubBot(shard_count=4, shard_ids=[0, 1], discord_guilds={elsewhere: fetched})
    bot = cast(Any, stub)
    # Jobs of one moment (a hundred perks ending at the same minute) share one fetch.
    found = await asyncio.gather(*(job_guild(bot, elsewhere, "gone") for _ in range(5)))
    assert all(guild is fetched for guild in found)
    assert stub.fetched == [elsewhere]
    # Discord says the bot is no longer in it: the job fails, and the next one asks Discord again.
    for _ in range(2):
        with pytest.raises(JobFailed, match="gone"):
            await job_guild(bot, left, "gone")
    assert stub.fetched == [elsewhere, left, left]
    # On one of its own shards and not cached: the bot left that server, no request needed to know it.
    with pytest.raises(JobFailed, match="gone"):
        await job_guild(bot, on_shard(0), "gone")
    assert stub.fetched == [elsewhere, left, left]


async def test_a_single_process_never_hands_a_job_back() -> None:
    for bot in (StubBot(shard_count=None, shard_ids=None), StubBot(shard_count=4, shard_ids=None)):
        assert not served_elsewhere(cast(Any, bot), on_shard(2))
        with pytest.raises(JobFailed):
            cached_job_guild(cast(Any, bot), on_shard(2), "gone")
        with pytest.raises(JobFailed):
            await job_guild(cast(Any, bot), on_shard(2), "gone")
        assert bot.fetched == []
    cached = object()
    bot = StubBot(shard_count=4, shard_ids=[0, 1], guilds={on_shard(2): cached})
    assert cached_job_guild(cast(Any, bot), on_shard(2), "gone") is cached
    assert await job_guild(cast(Any, bot), on_shard(2), "gone") is cached


def test_the_cluster_compose_file_runs_two_processes_on_disjoint_shards_through_the_proxy() -> None:
    # Read as text: the project has no YAML parser, and the file is small.
    text = (ROOT / "deploy" / "compose.cluster.yaml").read_text()
    for service in ("db:", "proxy:", "bot-0:", "bot-1:"):
        assert f"\n  {service}\n" in text
    assert "LABELBOT_DISCORD__API_BASE: http://proxy:8080/api/v10" in text
    assert "LABELBOT_DISCORD__SHARD_COUNT: ${SHARD_COUNT:-4}" in text
    ranges = [
        set(json.loads(line.split(":", 1)[1].strip().strip('"')))
        for line in text.splitlines()
        if line.strip().startswith("LABELBOT_DISCORD__SHARD_IDS:")
    ]
    assert len(ranges) == 2
    assert ranges[0] | ranges[1] == {0, 1, 2, 3}
    assert not ranges[0] & ranges[1]


def test_the_proxy_is_pinned() -> None:
    package = json.loads((ROOT / "deploy" / "proxy" / "package.json").read_text())
    lock = json.loads((ROOT / "deploy" / "proxy" / "package-lock.json").read_text())
    for name, version in package["dependencies"].items():
        assert version[0].isdigit(), f"{name} is not pinned to one version"
        assert lock["packages"][f"node_modules/{name}"]["version"] == version
