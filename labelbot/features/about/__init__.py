"""/about: what this bot is and how it is doing."""

from labelbot.client import LabelBot
from labelbot.features.about._cog import AboutCog


async def setup(bot: LabelBot) -> None:
    await bot.add_cog(AboutCog(bot))
