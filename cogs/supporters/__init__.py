"""Supporters: a purchase, pre-order, membership, ticket or code becomes a supporter role for as long as it lasts."""

from bot.client import LabelBot
from cogs.supporters._cog import SupportersCog


async def setup(bot: LabelBot) -> None:
    await bot.add_cog(SupportersCog(bot))
