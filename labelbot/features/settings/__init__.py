"""/settings: how Labelbot works in this server."""

from labelbot.client import LabelBot
from labelbot.features.settings._cog import SettingsCog


async def setup(bot: LabelBot) -> None:
    await bot.add_cog(SettingsCog(bot))
