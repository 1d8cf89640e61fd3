"""Drops: vinyl, merch, ticket and bundle drops announced at their minute to exactly the fans who asked."""

from bot.client import LabelBot
from cogs.drops._cog import DropsCog


async def setup(bot: LabelBot) -> None:
    await bot.add_cog(DropsCog(bot))
