"""Fixtures for the fake's own tests: small discord.py bots with app commands and views."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import discord
import pytest
import pytest_asyncio
from discord import app_commands
from discord.ext import commands

from tests.fakediscord import ChannelType, FakeDiscord, FakeGuild
from tests.fakediscord.clientrun import running

# The ``fake_discord`` fixture comes from tests.fakediscord.pytest_plugin, loaded by tests/conftest.py.


class World:
    def __init__(self, fake: FakeDiscord) -> None:
        self.fake = fake
        self.guild: FakeGuild = fake.add_guild("Label HQ")
        self.general = self.guild.add_channel("general", type=ChannelType.text)
        self.news = self.guild.add_channel("announcements", type=ChannelType.news)
        self.forum = self.guild.add_channel("releases", type=ChannelType.forum, tags=["single", "album"])
        self.voice = self.guild.add_channel("Listening Room", type=ChannelType.voice)
        self.stage = self.guild.add_channel("Stage", type=ChannelType.stage)
        self.fans = self.guild.add_role("Fans", mentionable=True)
        self.alice = self.guild.add_member(fake.add_user("alice"), roles=[self.fans]).user
        self.bob = self.guild.add_member("bob").user


@pytest.fixture
def world(fake_discord: FakeDiscord) -> World:
    return World(fake_discord)


class Confirm(discord.ui.View):
    def __init__(self) -> None:
        super().__init__(timeout=None)

    @discord.ui.button(label="Going", style=discord.ButtonStyle.success, custom_id="party:rsvp:12:going")
    async def going(self, interaction: discord.Interaction, button: discord.ui.Button[Any]) -> None:
        await interaction.response.send_message(f"{interaction.user.name} is going", ephemeral=True)

    @discord.ui.select(
        custom_id="party:pick",
        placeholder="Pick",
        min_values=1,
        max_values=2,
        options=[discord.SelectOption(label="A", value="a"), discord.SelectOption(label="B", value="b")],
    )
    async def pick(self, interaction: discord.Interaction, select: discord.ui.Select[Any]) -> None:
        await interaction.response.edit_message(content=f"picked {','.join(select.values)}", view=self)


class ReleaseModal(discord.ui.Modal, title="New release"):
    description = discord.ui.TextInput(label="Description", custom_id="description", style=discord.TextStyle.long)
    links = discord.ui.TextInput(label="Links", custom_id="links", required=False)

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(f"saved: {self.description.value} | {self.links.value}", ephemeral=True)


ARTISTS = ["Nova", "Nocturne", "Echo Park", "Moss"]


def build_tree(tree: app_commands.CommandTree[Any], guild: discord.abc.Snowflake | None) -> None:
    release = app_commands.Group(name="release", description="Releases")

    @release.command(name="create", description="Create a release")
    @app_commands.describe(title="Title", when="When", artist="Artist")
    async def release_create(
        interaction: discord.Interaction, title: str, when: str, artist: str | None = None
    ) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        await interaction.followup.send(f"created {title} ({when}) by {artist}", ephemeral=True)

    @release_create.autocomplete("artist")
    async def artist_ac(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=a, value=a) for a in ARTISTS if a.lower().startswith(current.lower())]

    @release.command(name="form", description="Open the release form")
    async def release_form(interaction: discord.Interaction) -> None:
        await interaction.response.send_modal(ReleaseModal())

    @app_commands.command(name="ping", description="Ping")
    async def ping(interaction: discord.Interaction, count: int = 1) -> None:
        await interaction.response.send_message(f"pong x{count}")

    @app_commands.command(name="secret", description="Ephemeral")
    async def secret(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("only you", ephemeral=True)

    @app_commands.command(name="party", description="Post a party")
    async def party(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("Party!", view=Confirm())

    @app_commands.command(name="slow", description="Deferred, then edited")
    async def slow(interaction: discord.Interaction) -> None:
        await interaction.response.defer()
        await interaction.edit_original_response(content="done slowly")

    @app_commands.command(name="sleepy", description="Answers after a delay")
    async def sleepy(interaction: discord.Interaction, delay: float) -> None:
        await asyncio.sleep(delay)
        try:
            await interaction.response.send_message("late")
        except discord.NotFound as exc:
            interaction.client.errors.append(exc)  # type: ignore[attr-defined]

    @app_commands.command(name="double", description="Answers twice (a bug)")
    async def double(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("one")
        # discord.py refuses a second response locally; send it raw, as a buggy bot would
        from discord.webhook.async_ import async_context, interaction_response_params

        try:
            await async_context.get().create_interaction_response(
                interaction.id,
                interaction.token,
                session=interaction._session,
                params=interaction_response_params(4, {"content": "two"}),
            )
        except discord.HTTPException as exc:
            interaction.client.errors.append(exc)  # type: ignore[attr-defined]

    @app_commands.context_menu(name="Profile")
    async def profile(interaction: discord.Interaction, member: discord.Member) -> None:
        await interaction.response.send_message(f"profile of {member.name}", ephemeral=True)

    for cmd in (release, ping, secret, party, slow, sleepy, double, profile):
        tree.add_command(cmd, guild=guild)


class DemoBot(commands.Bot):
    """A bare bot: syncs its commands to ``sync_guild`` (or globally) in setup_hook."""

    def __init__(self, sync_guild: int | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("intents", discord.Intents.default())
        kwargs.setdefault("guild_ready_timeout", 0.05)
        super().__init__(command_prefix="!", **kwargs)
        self.sync_guild = discord.Object(sync_guild) if sync_guild else None
        self.seen: list[discord.Message] = []
        self.errors: list[Exception] = []

    async def setup_hook(self) -> None:
        build_tree(self.tree, self.sync_guild)
        self.add_view(Confirm())
        await self.tree.sync(guild=self.sync_guild)

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        return None  # the default sleeps 5 s between IDENTIFYs (a real-Discord courtesy)

    async def on_message(self, message: discord.Message) -> None:
        self.seen.append(message)


class DemoShardedBot(commands.AutoShardedBot):
    def __init__(self, sync_guild: int | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("intents", discord.Intents.default())
        kwargs.setdefault("guild_ready_timeout", 0.05)
        super().__init__(command_prefix="!", **kwargs)
        self.sync_guild = discord.Object(sync_guild) if sync_guild else None
        self.seen: list[discord.Message] = []
        self.errors: list[Exception] = []

    async def setup_hook(self) -> None:
        build_tree(self.tree, self.sync_guild)
        self.add_view(Confirm())
        await self.tree.sync(guild=self.sync_guild)

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        return None

    async def on_message(self, message: discord.Message) -> None:
        self.seen.append(message)


@pytest_asyncio.fixture
async def bot(fake_discord: FakeDiscord, world: World) -> AsyncIterator[DemoBot]:
    client = DemoBot(sync_guild=world.guild.id)
    async with running(fake_discord, client):
        yield client
