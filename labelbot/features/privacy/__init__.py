"""/forget-me: a member removes what the bot keeps about them in a server."""

from labelbot.client import LabelBot
from labelbot.features.privacy._cog import PrivacyCog


async def setup(bot: LabelBot) -> None:
    await bot.add_cog(PrivacyCog(bot))
