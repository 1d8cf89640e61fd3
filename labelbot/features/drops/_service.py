"""The drops' rules: input checks, creating and changing a drop, and the jobs that post and edit it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from labelbot.artists.models import Artist
from labelbot.errors import InvalidInput, NotFound
from labelbot.features.drops import _repository as repository
from labelbot.features.drops._render import DropView
from labelbot.models.drops import ITEM_MAX, LINK_MAX, NOTE_MAX, Drop, DropDm, DropDmWish, DropKind

if TYPE_CHECKING:
    from labelbot.client import LabelBot

TEASER = "drops.teaser"
ANNOUNCE = "drops.announce"
REFRESH = "drops.refresh"
DM = "drops.dm"
# Drop DMs a member accepts in any 7 days unless they choose another number, and the most they may choose.
DM_BUDGET_DEFAULT = 3
DM_BUDGET_MAX = 14
DM_WINDOW = timedelta(days=7)
NO_SETUP = "Drops aren't set up here yet: a moderator picks the drops role and channel with `/drop-admin setup`."


def teaser_key(drop_id: int) -> str:
    return f"drop:{drop_id}:teaser"


def announce_key(drop_id: int) -> str:
    return f"drop:{drop_id}:announce"


def refresh_key(drop_id: int) -> str:
    return f"drop:{drop_id}:refresh"


def dm_key(drop_id: int, user_id: int) -> str:
    return f"drop:{drop_id}:dm:{user_id}"


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


@dataclass(frozen=True)
class DmBudget:
    """A member's drop DMs: whether they asked, how many a week, how many the last 7 days spent, when one frees up."""

    wanted: bool
    per_week: int
    used: int
    next_free: datetime | None

    @property
    def left(self) -> int:
        return max(0, self.per_week - self.used)


async def dm_budget(session: AsyncSession, guild_id: int, user_id: int, now: datetime) -> DmBudget:
    wish = await repository.dm_wish(session, guild_id, user_id)
    per_week = wish.weekly_budget if wish is not None else DM_BUDGET_DEFAULT
    spent = await repository.dms_since(session, guild_id, user_id, now - DM_WINDOW)
    next_free = spent[0] + DM_WINDOW if spent and len(spent) >= per_week else None
    return DmBudget(wish is not None, per_week, len(spent), next_free)


async def set_dms(
    session: AsyncSession, guild_id: int, user_id: int, *, wanted: bool | None, per_week: int | None, now: datetime
) -> DmBudget:
    """Turn the member's drop DMs on or off, or change their weekly budget (which turns them on)."""
    if per_week is not None and not 1 <= per_week <= DM_BUDGET_MAX:
        raise InvalidInput(f"Choose between 1 and {DM_BUDGET_MAX} drop DMs a week.")
    wish = await repository.dm_wish(session, guild_id, user_id)
    if wanted is False:
        if per_week is not None:
            raise InvalidInput("Leave out per_week when you turn drop DMs off.")
        if wish is not None:
            await session.delete(wish)
    elif wish is None:
        session.add(
            DropDmWish(guild_id=guild_id, user_id=user_id, weekly_budget=per_week or DM_BUDGET_DEFAULT, asked_at=now)
        )
    elif per_week is not None:
        wish.weekly_budget = per_week
    await session.flush()
    return await dm_budget(session, guild_id, user_id, now)


async def owe_dms(bot: LabelBot, session: AsyncSession, drop: Drop, now: datetime) -> int:
    """The drop is out: each member who asked for drop DMs and has budget left is owed one (spent now, sent by its
    own job). Runs again harmlessly: a member already owed this drop's DM is skipped."""
    owed = 0
    spent = await repository.dms_spent_since(session, drop.guild_id, now - DM_WINDOW)
    already = await repository.dm_recipients(session, drop.id)
    for wish in await repository.dm_wishes(session, drop.guild_id):
        if wish.user_id in already or spent.get(wish.user_id, 0) >= wish.weekly_budget:
            continue
        session.add(DropDm(guild_id=drop.guild_id, drop_id=drop.id, user_id=wish.user_id, at=now))
        await bot.jobs.schedule(
            session,
            DM,
            {"drop_id": drop.id, "user_id": wish.user_id},
            now,
            guild_id=drop.guild_id,
            key=dm_key(drop.id, wish.user_id),
        )
        owed += 1
    await session.flush()
    return owed
