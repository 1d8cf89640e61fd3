"""/party: listening parties, everybody presses play together."""

from bot.client import LabelBot
from cogs.parties._cog import PartiesCog


async def setup(bot: LabelBot) -> None:
    await bot.add_cog(PartiesCog(bot))
