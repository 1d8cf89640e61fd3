"""/event: community events (AMAs, contests, meetups; one-off or recurring) with RSVPs and reminders."""

from labelbot.client import LabelBot
from labelbot.features.events._cog import EventsCog


async def setup(bot: LabelBot) -> None:
    await bot.add_cog(EventsCog(bot))
