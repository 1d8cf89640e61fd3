"""Catalogue anniversaries and label dates: a silent post on a release's 1st, 5th, 10th... birthday, and on the label's days."""

from labelbot.client import LabelBot
from labelbot.features.anniversaries._cog import AnniversariesCog


async def setup(bot: LabelBot) -> None:
    await bot.add_cog(AnniversariesCog(bot))
