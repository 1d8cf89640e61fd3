"""/about: what this bot is and how it is doing."""

from bot.client import LabelBot
from cogs.about._cog import AboutCog


async def setup(bot: LabelBot) -> None:
    await bot.add_cog(AboutCog(bot))
