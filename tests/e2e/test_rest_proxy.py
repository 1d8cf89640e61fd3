"""The bot behind the cluster's REST proxy (deploy/proxy, discord.js's @discordjs/proxy) in front of the fake Discord."""

from __future__ import annotations

import time

import discord
import pytest

from tests.fakediscord import ChannelType
from tests.harness import BotHarness
from tests.support.restproxy import run_proxy

CROSSPOST = "/channels/{channel_id}/messages/{message_id}/crosspost"


async def test_the_bot_logs_in_syncs_and_answers_through_the_proxy(harness: BotHarness) -> None:
    async with run_proxy(harness.fake.api_base, harness.workdir / "proxy.log") as proxy:
        harness.extra_env["LABELBOT_DISCORD__API_BASE"] = proxy.api_base
        await harness.start()
        reply = await (await harness.fake.slash(harness.guild, harness.general, harness.moderator, "about")).reply()
        assert reply.ephemeral
        assert "about" in {command["name"] for command in harness.fake.synced_commands(guild=harness.guild)}
        # Everything the bot asked reached the fake through the proxy, with the bot's own token.
        assert harness.fake.requests_to("/applications/{application_id}/guilds/{guild_id}/commands", "PUT")
        await harness.stop()


async def test_a_long_limit_is_refused_by_the_proxy_at_once_and_the_bot_does_not_retry(harness: BotHarness) -> None:
    news = harness.guild.add_channel("announcements", type=ChannelType.news)
    async with run_proxy(harness.fake.api_base, harness.workdir / "proxy.log") as proxy:
        harness.extra_env["LABELBOT_DISCORD__API_BASE"] = proxy.api_base
        bot = await harness.start()
        channel = bot.get_channel(news.id)
        assert isinstance(channel, discord.TextChannel)
        message = await channel.send("Night Drive is out")
        # Another process of the cluster used up the channel's crossposts for the hour.
        harness.fake.enforce_rate_limits = True
        harness.fake.ratelimiter.exhaust("POST", CROSSPOST, str(news.id))
        harness.fake.expect_refusals(CROSSPOST, status=429)
        asked = []
        for _ in range(3):
            started = time.monotonic()
            with pytest.raises(discord.RateLimited) as limited:
                await message.publish()
            assert time.monotonic() - started < 5, "the proxy must refuse an hour-long wait, not hold the request"
            assert limited.value.retry_after > 3000
            asked.append(len(harness.fake.requests_to(CROSSPOST, "POST")))
        # The proxy learns the bucket from the fake's 429s (keyed first by route, then by the bucket's hash: two at
        # most); from then on the bot's tries stop at the proxy.
        assert asked[-1] <= 2
        assert asked[-1] == asked[-2]
        await harness.stop()
