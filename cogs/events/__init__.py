"""/event: community events (AMAs, contests, meetups; one-off or recurring) with RSVPs and reminders."""

from bot.client import LabelBot


async def setup(bot: LabelBot) -> None:
    """Nothing yet: the commands land with the rest of the feature."""
