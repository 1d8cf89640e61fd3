"""Fan roles: panels where fans pick who they follow, and loyalty tiers earned by coming to parties."""

from bot.client import LabelBot
from cogs.fan_roles._cog import FanRolesCog


async def setup(bot: LabelBot) -> None:
    await bot.add_cog(FanRolesCog(bot))
