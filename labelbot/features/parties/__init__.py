"""/party: listening parties, everybody presses play together."""

from labelbot.client import LabelBot
from labelbot.features.parties._cog import PartiesCog


async def setup(bot: LabelBot) -> None:
    await bot.add_cog(PartiesCog(bot))
