"""/artist: the label's artists, their profiles, fan roles and the members who manage them."""

from labelbot.client import LabelBot
from labelbot.features.artists._cog import ArtistsCog


async def setup(bot: LabelBot) -> None:
    await bot.add_cog(ArtistsCog(bot))
