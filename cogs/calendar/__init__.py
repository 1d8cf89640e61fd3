"""/calendar: the server's private iCalendar feed of releases, parties and events."""

from bot.client import LabelBot
from cogs.calendar._cog import CalendarCog


async def setup(bot: LabelBot) -> None:
    await bot.add_cog(CalendarCog(bot))
