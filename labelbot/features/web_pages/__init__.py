"""The label's pages on the web: the public page fans see, and the moderators' dashboard (/dashboard)."""

from labelbot.client import LabelBot
from labelbot.features.web_pages._cog import WebPagesCog


async def setup(bot: LabelBot) -> None:
    await bot.add_cog(WebPagesCog(bot))
