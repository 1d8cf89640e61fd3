"""The drops' rules: input checks, creating and changing a drop, and the jobs that post and edit it."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from bot.artists.models import Artist
from bot.errors import InvalidInput, NotFound
from bot.models.drops import ITEM_MAX, LINK_MAX, NOTE_MAX, Drop, DropKind
from cogs.drops import _repository as repository
from cogs.drops._render import DropView

if TYPE_CHECKING:
    from bot.client import LabelBot

TEASER = "drops.teaser"
ANNOUNCE = "drops.announce"
REFRESH = "drops.refresh"
NO_SETUP = "Drops aren't set up here yet: a moderator picks the drops role and channel with `/drop setup`."


def teaser_key(drop_id: int) -> str:
    return f"drop:{drop_id}:teaser"


def announce_key(drop_id: int) -> str:
    return f"drop:{drop_id}:announce"


def refresh_key(drop_id: int) -> str:
    return f"drop:{drop_id}:refresh"


def check_item(text: str) -> str:
    item = " ".join(text.split())
    if not item or len(item) > ITEM_MAX:
        raise InvalidInput(f"Name the item in 1 to {ITEM_MAX} characters.")
    return item


def check_link(text: str) -> str:
    link = text.strip()
    if not link.startswith("https://") or len(link) > LINK_MAX or any(c.isspace() for c in link) or len(link) < 12:
        raise InvalidInput("The link must be an https:// address (where fans buy it).")
    return link


def check_note(text: str | None, what: str) -> str | None:
    if text is None:
        return None
    note = " ".join(text.split())
    if len(note) > NOTE_MAX:
        raise InvalidInput(f"The {what} can be at most {NOTE_MAX} characters.")
    return note or None


def view_of(drop: Drop, artist_name: str) -> DropView:
    return DropView(
        id=drop.id,
        item=drop.item,
        kind=drop.kind,
        artist=artist_name,
        drop_at=drop.drop_at,
        link=drop.link,
        stock=drop.stock,
        price=drop.price,
        image_url=drop.image_url,
        sold_out=drop.sold_out,
    )


async def create(
    bot: LabelBot,
    session: AsyncSession,
    *,
    artist: Artist,
    item: str,
    kind: DropKind,
    drop_at: datetime,
    zone: str,
    link: str,
    stock: str | None,
    price: str | None,
    image_url: str | None,
    ping_fans: bool,
    actor_id: int,
) -> Drop:
    """Record the drop; its teaser goes up now and its announcement at its minute (both jobs, in this transaction)."""
    found = await repository.settings(session, artist.guild_id)
    if found is None:
        raise InvalidInput(NO_SETUP)
    if ping_fans and artist.fan_role_id is None:
        raise InvalidInput(f"{artist.name} has no fan role to ping; leave ping_fans off or give them one.")
    drop = Drop(
        guild_id=artist.guild_id,
        artist_id=artist.id,
        item=item,
        kind=kind.value,
        drop_at=drop_at,
        zone=zone,
        link=link,
        stock=stock,
        price=price,
        image_url=image_url,
        ping_fans=ping_fans,
        channel_id=found.channel_id,
        created_by=actor_id,
    )
    session.add(drop)
    await session.flush()
    payload = {"drop_id": drop.id}
    await bot.jobs.schedule(session, TEASER, payload, drop.created_at, guild_id=drop.guild_id, key=teaser_key(drop.id))
    await bot.jobs.schedule(session, ANNOUNCE, payload, drop_at, guild_id=drop.guild_id, key=announce_key(drop.id))
    return drop


async def find(session: AsyncSession, guild_id: int, text: str) -> Drop:
    """The drop named by its number (autocomplete sends it), in this server."""
    number = text.strip().lstrip("#")
    drop = await repository.drop(session, guild_id, int(number)) if number.isdigit() and len(number) < 19 else None
    if drop is None:
        raise NotFound("There is no such drop here; pick one from the list.")
    return drop


async def refresh_posts(bot: LabelBot, session: AsyncSession, drop: Drop, now: datetime) -> None:
    """Have the drop's posts show its current state (stock, sold out), in the caller's transaction."""
    await bot.jobs.schedule(
        session, REFRESH, {"drop_id": drop.id}, now, guild_id=drop.guild_id, key=refresh_key(drop.id)
    )
