"""The unit-of-work guard: a Discord request made while the same task holds a database session fails the test."""

from __future__ import annotations

import asyncio

import discord
import pytest
from sqlalchemy import select

from labelbot.db import guard
from labelbot.guilds.models import GuildSettings
from tests.e2e.helpers import run, running
from tests.harness import BotHarness


async def test_a_rest_call_inside_a_session_fails_with_the_place_it_was_opened(labelbot: BotHarness) -> None:
    bot = running(labelbot)

    async with bot.sessionmaker.begin() as session:
        await session.scalar(select(GuildSettings).limit(1))
        channel = await bot.fetch_channel(labelbot.general.id)  # the deliberate offence

    assert isinstance(channel, discord.TextChannel)
    found = guard.violations()
    assert len(found) == 1
    assert found[0].request == "GET /channels/{channel_id}"
    assert "test_session_guard.py" in found[0].opening.place
    assert "async with bot.sessionmaker.begin() as session" in found[0].opening.stack
    with pytest.raises(AssertionError, match="while a database session was open") as failure:
        labelbot.assert_no_held_sessions()
    assert "test_a_rest_call_inside_a_session_fails" in str(failure.value)


async def test_an_interaction_answer_inside_a_session_is_caught_too(labelbot: BotHarness) -> None:
    bot = running(labelbot)
    answered = asyncio.Event()

    @bot.tree.command(name="held", guild=discord.Object(labelbot.guild.id))
    async def held(interaction: discord.Interaction) -> None:
        async with bot.sessionmaker() as session:
            await session.scalar(select(GuildSettings).limit(1))
            await interaction.response.send_message("held", ephemeral=True)  # the deliberate offence
        answered.set()

    await bot.tree.sync(guild=discord.Object(labelbot.guild.id))
    reply = await run(labelbot, labelbot.moderator, "held")

    assert reply.content == "held"
    await asyncio.wait_for(answered.wait(), 5)
    found = guard.violations()
    assert [violation.request for violation in found] == ["POST /interactions/{webhook_id}/{webhook_token}/callback"]
    assert "in held" in found[0].opening.place
    guard.reset()


async def test_reading_then_talking_to_discord_then_writing_passes(labelbot: BotHarness) -> None:
    bot = running(labelbot)

    async with bot.sessionmaker() as session:
        await session.scalar(select(GuildSettings).limit(1))
    channel = await bot.fetch_channel(labelbot.general.id)
    async with bot.sessionmaker.begin() as session:
        await session.scalar(select(GuildSettings).limit(1))
    # Another task holding a session does not make this one's request an offence.
    release = asyncio.Event()

    async def hold() -> None:
        async with bot.sessionmaker() as session:
            await session.scalar(select(GuildSettings).limit(1))
            await release.wait()

    holder = asyncio.create_task(hold())
    await asyncio.sleep(0.05)
    await bot.fetch_channel(labelbot.general.id)
    release.set()
    await holder

    assert isinstance(channel, discord.TextChannel)
    assert guard.violations() == []
