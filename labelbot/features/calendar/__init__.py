"""/calendar: the server's private iCalendar feed of releases, parties and events."""

from labelbot.client import LabelBot
from labelbot.features.calendar._cog import CalendarCog


async def setup(bot: LabelBot) -> None:
    await bot.add_cog(CalendarCog(bot))
