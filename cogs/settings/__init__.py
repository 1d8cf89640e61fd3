"""/settings: how Labelbot works in this server."""

from bot.client import LabelBot
from cogs.settings._cog import SettingsCog


async def setup(bot: LabelBot) -> None:
    await bot.add_cog(SettingsCog(bot))
