"""The /forget-me command: every feature's rows of the member in this server go, their audit entries stay nameless."""

from __future__ import annotations

import logging

import discord
from discord import app_commands
from discord.ext import commands

from labelbot.client import LabelBot
from labelbot.interactions import NO_MENTIONS
from labelbot.ui.confirm import Option, ask

log = logging.getLogger(__name__)

FORGET = "forget"
QUESTION = (
    "This removes everything the bot keeps about you in this server: your RSVPs, parties attended, collab profile, "
    "requests and interests, artist links, and your time zone (which is the same in every server, so it goes "
    "everywhere). Audit entries of what you changed stay, without your name. This cannot be undone."
)
DONE = "Done: the bot no longer keeps anything about you in this server."


class PrivacyCog(commands.Cog, name="Privacy"):
    """Members' data is theirs: they can have the bot forget them."""

    def __init__(self, bot: LabelBot) -> None:
        self.bot = bot

    @app_commands.command(name="forget-me")
    @app_commands.guild_only()
    async def forget_me(self, interaction: discord.Interaction[LabelBot]) -> None:
        """Have the bot forget you in this server: your answers, attendance, profile, requests and time zone."""
        if interaction.guild_id is None:
            raise app_commands.NoPrivateMessage()
        guild_id = interaction.guild_id
        answer, click = await ask(interaction, QUESTION, [Option("Forget me", FORGET)])
        if click is None:
            return  # timed out; ask() said so
        if answer != FORGET:
            await click.edit_original_response(content="Nothing was removed.", allowed_mentions=NO_MENTIONS)
            return
        async with self.bot.sessionmaker.begin() as session:
            after = await self.bot.features.privacy.forget(session, guild_id, interaction.user.id)
        for work in after:
            # Discord-side tidying (cards, board posts) is best effort: the data is already gone.
            try:
                await work()
            except discord.HTTPException:
                log.warning("Tidying up after forgetting a member of guild %s failed", guild_id, exc_info=True)
        await click.edit_original_response(content=DONE, view=None, allowed_mentions=NO_MENTIONS)
