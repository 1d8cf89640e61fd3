"""App-command options naming an artist: autocomplete from the roster, resolved to an Artist."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands

from labelbot.artists import repository
from labelbot.artists.models import Artist
from labelbot.artists.service import find_artist
from labelbot.context import member_context
from labelbot.guilds.service import peek_guild_settings
from labelbot.permissions import is_moderator

if TYPE_CHECKING:
    from labelbot.client import LabelBot

CHOICES_MAX = 25


class ArtistTransformer(app_commands.Transformer["LabelBot"]):
    """Any artist on the server's roster."""

    @property
    def type(self) -> discord.AppCommandOptionType:
        return discord.AppCommandOptionType.string

    @property
    def max_value(self) -> int:
        return 100

    async def transform(self, interaction: discord.Interaction[LabelBot], value: str, /) -> Artist:
        if interaction.guild_id is None:
            raise app_commands.NoPrivateMessage()
        async with interaction.client.sessionmaker() as session:
            return await find_artist(session, interaction.guild_id, value)

    async def choose_from(self, interaction: discord.Interaction[LabelBot], current: str) -> list[Artist]:
        assert interaction.guild_id is not None
        async with interaction.client.sessionmaker() as session:
            return await repository.search_active(session, interaction.guild_id, current, limit=CHOICES_MAX)

    async def autocomplete(  # type: ignore[override]
        self, interaction: discord.Interaction[LabelBot], value: str, /
    ) -> list[app_commands.Choice[str]]:
        if interaction.guild_id is None:
            return []
        artists = await self.choose_from(interaction, value)
        return [app_commands.Choice(name=artist.name, value=artist.name) for artist in artists]


class ManagedArtistTransformer(ArtistTransformer):
    """An artist the member manages; autocomplete offers only those (every artist to moderators).

    The option still accepts any artist's name: whether the member may act for it is the command's check. The
    member's context is loaded in the same session and kept on the interaction, so the command reads nothing again.
    """

    async def transform(self, interaction: discord.Interaction[LabelBot], value: str, /) -> Artist:
        if interaction.guild_id is None:
            raise app_commands.NoPrivateMessage()
        async with interaction.client.sessionmaker() as session:
            artist = await find_artist(session, interaction.guild_id, value)
            if isinstance(interaction.user, discord.Member):
                await member_context(interaction, session)
            return artist

    async def choose_from(self, interaction: discord.Interaction[LabelBot], current: str) -> list[Artist]:
        assert interaction.guild_id is not None
        async with interaction.client.sessionmaker() as session:
            managed_by: int | None = interaction.user.id
            if isinstance(interaction.user, discord.Member):
                settings = await peek_guild_settings(session, interaction.guild_id)
                if is_moderator(interaction.user, settings, interaction.client.settings.discord.owner_ids):
                    managed_by = None
            return await repository.search_active(
                session, interaction.guild_id, current, limit=CHOICES_MAX, managed_by=managed_by
            )


ArtistOption = app_commands.Transform[Artist, ArtistTransformer]
ManagedArtistOption = app_commands.Transform[Artist, ManagedArtistTransformer]
