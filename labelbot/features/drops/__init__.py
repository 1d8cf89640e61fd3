"""Drops: vinyl, merch, ticket and bundle drops announced at their minute to exactly the fans who asked."""

from labelbot.client import LabelBot
from labelbot.features.drops._cog import DropsCog


async def setup(bot: LabelBot) -> None:
    await bot.add_cog(DropsCog(bot))
