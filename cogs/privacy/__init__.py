"""/forget-me: a member removes what the bot keeps about them in a server."""

from bot.client import LabelBot
from cogs.privacy._cog import PrivacyCog


async def setup(bot: LabelBot) -> None:
    await bot.add_cog(PrivacyCog(bot))
