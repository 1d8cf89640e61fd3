"""Catalogue anniversaries and label dates: a silent post on a release's 1st, 5th, 10th... birthday, and on the label's days."""

from bot.client import LabelBot
from cogs.anniversaries._cog import AnniversariesCog


async def setup(bot: LabelBot) -> None:
    await bot.add_cog(AnniversariesCog(bot))
