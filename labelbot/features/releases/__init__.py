"""Release announcements: schedule a drop once; it goes out at the embargo minute to the fans who asked."""

from labelbot.client import LabelBot
from labelbot.features.releases._cog import ReleasesCog


async def setup(bot: LabelBot) -> None:
    await bot.add_cog(ReleasesCog(bot))
