"""Supporters: a purchase, pre-order, membership, ticket or code becomes a supporter role for as long as it lasts."""

from labelbot.client import LabelBot
from labelbot.features.supporters._cog import SupportersCog


async def setup(bot: LabelBot) -> None:
    await bot.add_cog(SupportersCog(bot))
