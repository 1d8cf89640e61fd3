"""Collaboration requests: the collab board, skills and members' collab profiles."""

from labelbot.client import LabelBot
from labelbot.features.collabs._cog import CollabCog


async def setup(bot: LabelBot) -> None:
    await bot.add_cog(CollabCog(bot))
