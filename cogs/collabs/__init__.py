"""Collaboration requests: the collab board, skills and members' collab profiles."""

from bot.client import LabelBot
from cogs.collabs._cog import CollabCog


async def setup(bot: LabelBot) -> None:
    await bot.add_cog(CollabCog(bot))
