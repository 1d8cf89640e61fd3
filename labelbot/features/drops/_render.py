"""What a drop looks like: the teaser with its Notify me button, the announcement, and their edits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import discord

KIND_WORDS = {"vinyl": "Vinyl", "merch": "Merch", "tickets": "Tickets", "bundle": "Bundle"}


@dataclass(frozen=True)
class DropView:
    """A drop as plain data, read before talking to Discord."""

    id: int
    item: str
    kind: str
    artist: str
    drop_at: datetime
    link: str
    stock: str | None
    price: str | None
    image_url: str | None
    sold_out: bool


def clip(text: str, limit: int = 2000) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def shown(text: str) -> str:
    return discord.utils.escape_mentions(discord.utils.escape_markdown(text))


def drop_embed(drop: DropView, *, out: bool) -> discord.Embed:
    """The card of a drop: a teaser before its minute, the drop itself after; sold out says so first."""
    kind = KIND_WORDS.get(drop.kind, drop.kind)
    title = f"{kind}: {drop.item} by {drop.artist}"
    if drop.sold_out:
        title = "SOLD OUT · " + title
    when = discord.utils.format_dt(drop.drop_at, "F")
    if out:
        description = f"Out now, since {when}."
    else:
        description = f"Drops {when} ({discord.utils.format_dt(drop.drop_at, 'R')}). Press **Notify me** to be pinged."
    embed = discord.Embed(
        title=title[:256],
        url=drop.link,
        description=description,
        colour=discord.Colour.dark_grey() if drop.sold_out else discord.Colour.orange(),
    )
    if drop.price:
        embed.add_field(name="Price", value=drop.price[:1024])
    embed.add_field(name="Stock", value="Sold out" if drop.sold_out else (drop.stock or "—")[:1024])
    embed.add_field(name="Where", value=drop.link[:1024], inline=False)
    if drop.image_url:
        embed.set_image(url=drop.image_url)
    embed.set_footer(text=f"Drop #{drop.id}")
    return embed


def announcement(drop: DropView, role_ids: list[int]) -> str:
    mentions = " ".join(f"<@&{role_id}>" for role_id in role_ids)
    return f"{mentions} **{shown(drop.item)}** by **{shown(drop.artist)}** is out now: {drop.link}"[:2000]


def dm_text(drop: DropView) -> str:
    return (
        f"**{shown(drop.item)}** by **{shown(drop.artist)}** is out now: {drop.link}\n"
        "-# You asked for drop DMs; `/drop dms` shows what is left of your weekly budget, or turns them off."
    )[:2000]


def list_line(drop: DropView, *, out: bool, reach: tuple[int, int] | None = None) -> str:
    """One drop in /drop list; `reach` (DMs sent, members skipped because they left) for those who run it."""
    kind = KIND_WORDS.get(drop.kind, drop.kind)
    when = discord.utils.format_dt(drop.drop_at, "f")
    state = " · **sold out**" if drop.sold_out else (f" · {shown(drop.stock)}" if drop.stock else "")
    price = f" · {shown(drop.price)}" if drop.price else ""
    where = f" · <{drop.link}>" if out else ""
    dms = f" · DMs: {reach[0]} sent, {reach[1]} left the server" if reach is not None else ""
    return f"#{drop.id} {kind}: **{shown(drop.item)}** by {shown(drop.artist)}, {when}{price}{state}{where}{dms}"


def budget_text(wanted: bool, per_week: int, used: int, left: int, next_free: datetime | None) -> str:
    if not wanted:
        return (
            f"You don't get drop DMs. Turn them on with `/drop dms send:True` (up to {per_week} a week; "
            "choose another number with `per_week`)."
        )
    text = f"You get drop DMs: up to {per_week} a week. The last 7 days used {used}, so {left} left."
    if next_free is not None:
        text += f" The next one frees up {discord.utils.format_dt(next_free, 'R')}."
    return text


AUDIT_TITLES = {
    "drops.setup": "Drops role and channel set",
    "drops.create": "Drop created",
    "drops.edit": "Drop changed",
}
