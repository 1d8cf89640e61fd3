"""Fan roles: panels where fans pick who they follow, and loyalty tiers earned by coming to parties."""

from labelbot.client import LabelBot
from labelbot.features.fan_roles._cog import FanRolesCog


async def setup(bot: LabelBot) -> None:
    await bot.add_cog(FanRolesCog(bot))
