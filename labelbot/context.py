"""Who is acting, loaded once per interaction: the server's settings, the member, their zone and their access.

Before this, each layer asked again (the command, the modal, the preview, the service, the permission check), so
one `/release create` read the server's settings about eleven times and ran the access check three times. Now the
first layer that needs it loads a `MemberContext` in the session it already holds and keeps it on the interaction
(`interaction.extras`), so an option transformer, the command and its helpers share one; the layers below are
handed the context (or its settings) and read nothing again.

A later interaction of the same member (a modal submitted minutes later, a button) loads its own: access may have
changed in between, and each interaction is one step of the member's flow with its one session.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import discord
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from labelbot.artists.models import Artist, ArtistManager
from labelbot.errors import NotAllowed
from labelbot.guilds.models import GuildSettings, MemberSettings
from labelbot.interactions import member_of
from labelbot.permissions import MODERATORS_ONLY, is_moderator

if TYPE_CHECKING:
    from labelbot.client import LabelBot

# The key under which an interaction keeps its context (discord.py leaves `Interaction.extras` to the bot).
EXTRAS_KEY = "labelbot.member_context"


@dataclass(frozen=True)
class MemberContext:
    """The member behind one interaction and what they may do, as read at its start.

    `settings` is the server's row as loaded (or unsaved defaults), read-only by convention: a command that
    changes settings reads and writes them in its own transaction.
    """

    guild_id: int
    member: discord.Member
    settings: GuildSettings
    # The zone the member's times are read in: their own, else the server's.
    zone: str
    is_moderator: bool
    # Artists the member is linked to as a manager (empty for moderators: they may act for every artist anyway).
    managed_artist_ids: frozenset[int]

    @property
    def user_id(self) -> int:
        return self.member.id

    def manages(self, artist: Artist) -> bool:
        """Whether the member may act for the artist: a moderator, or one of its linked managers."""
        if artist.guild_id != self.guild_id:
            return False
        return self.is_moderator or artist.id in self.managed_artist_ids

    def require_artist_access(self, artist: Artist) -> None:
        """Refuse anyone but the artist's managers and moderators."""
        if not self.manages(artist):
            raise NotAllowed(f"Only {artist.name}'s managers and moderators can do that.")

    def require_moderator(self) -> None:
        if not self.is_moderator:
            raise NotAllowed(MODERATORS_ONLY)

    @property
    def release_needs_approval(self) -> bool:
        """Whether what this member schedules waits for a moderator (the server's toggle, and they are none)."""
        return self.settings.release_approval and not self.is_moderator


async def load_member_context(
    session: AsyncSession, member: discord.Member, owner_ids: Collection[int] | None
) -> MemberContext:
    """Read the member's context in the caller's session: the settings, their own zone, the artists they manage."""
    guild_id = member.guild.id
    settings = await session.get(GuildSettings, guild_id)
    if settings is None:
        settings = GuildSettings(guild_id=guild_id)
    own = await session.get(MemberSettings, member.id)
    zone = own.timezone if own is not None and own.timezone else settings.timezone
    moderator = is_moderator(member, settings, owner_ids)
    managed: frozenset[int] = frozenset()
    if not moderator:
        rows = await session.scalars(
            select(ArtistManager.artist_id)
            .join(Artist, Artist.id == ArtistManager.artist_id)
            .where(ArtistManager.user_id == member.id, Artist.guild_id == guild_id)
        )
        managed = frozenset(rows)
    return MemberContext(
        guild_id=guild_id,
        member=member,
        settings=settings,
        zone=zone,
        is_moderator=moderator,
        managed_artist_ids=managed,
    )


def cached_context(interaction: discord.Interaction[Any]) -> MemberContext | None:
    """The context this interaction already loaded, if any."""
    found = interaction.extras.get(EXTRAS_KEY)
    return found if isinstance(found, MemberContext) else None


async def member_context(
    interaction: discord.Interaction[LabelBot], session: AsyncSession | None = None
) -> MemberContext:
    """The interaction's context: loaded once (in `session`, or in a short one of its own), then kept on it."""
    found = cached_context(interaction)
    if found is not None:
        return found
    member = member_of(interaction)
    owner_ids = interaction.client.settings.discord.owner_ids
    if session is not None:
        context = await load_member_context(session, member, owner_ids)
    else:
        async with interaction.client.sessionmaker() as own_session:
            context = await load_member_context(own_session, member, owner_ids)
    interaction.extras[EXTRAS_KEY] = context
    return context
