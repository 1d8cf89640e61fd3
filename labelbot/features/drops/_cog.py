"""/drop: set up the drops role and channel, create a drop, change its stock or price, list them."""

from __future__ import annotations

import logging

import discord
from discord import app_commands
from discord.app_commands import Choice
from discord.ext import commands

from labelbot.artists.models import Artist
from labelbot.artists.transformers import ManagedArtistOption
from labelbot.audit import service as audit
from labelbot.client import LabelBot
from labelbot.context import member_context
from labelbot.db.base import utcnow
from labelbot.errors import BotLacksPermissions, InvalidInput, NotAllowed
from labelbot.features.drops import _intake as intake
from labelbot.features.drops import _jobs as jobs
from labelbot.features.drops import _render as render
from labelbot.features.drops import _repository as repository
from labelbot.features.drops import _service as service
from labelbot.features.drops._render import KIND_WORDS, shown
from labelbot.features.drops._views import NotifyButton
from labelbot.interactions import defer, guild_of, member_of, reply
from labelbot.models.drops import Drop, DropKind, DropSettings
from labelbot.permissions import moderator_group, require_moderator, role_refusal
from labelbot.timeparse import parse_when

log = logging.getLogger(__name__)

ROLE_GRANTS = "drops"
LIST_SIZE = 10
KINDS = [Choice(name=words, value=kind) for kind, words in KIND_WORDS.items()]


def _sale_state(drop: Drop) -> dict[str, object]:
    """What /drop edit changes, as its audit entry shows it."""
    return {"stock": drop.stock, "price": drop.price, "sold_out": drop.sold_out}


class DropsCog(commands.Cog, name="Drops"):
    """Vinyl, merch and ticket drops reach exactly the fans who asked."""

    # Members list drops and choose their DMs, artists create and edit theirs; moderators set drops up in
    # /drop-admin, hidden from members like every feature's moderators' half (labelbot.permissions.moderator_group).
    drop = app_commands.Group(name="drop", description="Vinyl, merch, ticket and bundle drops.", guild_only=True)
    drop_admin = moderator_group("drop", "Set drops up (moderators).")

    def __init__(self, bot: LabelBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(NotifyButton)
        self.bot.features.role_grants.add_source(ROLE_GRANTS, repository.role_handed_out_as)
        self.bot.features.audit_titles.add(render.AUDIT_TITLES)
        jobs.register(self.bot)
        self.bot.features.webhooks.register(intake.HOOK, intake.intake(self.bot))

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(NotifyButton)
        self.bot.features.role_grants.remove_source(ROLE_GRANTS)
        self.bot.features.audit_titles.remove(render.AUDIT_TITLES)
        jobs.unregister(self.bot)
        self.bot.features.webhooks.unregister(intake.HOOK)

    async def drop_choices(self, interaction: discord.Interaction[LabelBot], current: str) -> list[Choice[str]]:
        if interaction.guild_id is None:
            return []
        async with self.bot.sessionmaker() as session:
            found = await repository.recent(session, interaction.guild_id, current.replace("\x00", ""))
        return [Choice(name=f"#{drop.id} {drop.item}"[:100], value=str(drop.id)) for drop in found]

    @drop_admin.command(name="setup")
    async def setup_drops(
        self, interaction: discord.Interaction[LabelBot], role: discord.Role, channel: discord.TextChannel
    ) -> None:
        """Pick the role fans take with Notify me, and the channel drops are posted in.

        Args:
            role: The drops role (pinged at every drop; no moderator, artist or powerful role).
            channel: Where teasers and drops are posted.
        """
        await defer(interaction)
        guild = guild_of(interaction)
        permissions = channel.permissions_for(guild.me)
        if not (permissions.view_channel and permissions.send_messages and permissions.embed_links):
            raise BotLacksPermissions(
                f"I can't post in {channel.mention}: I need View Channel, Send Messages and Embed Links there."
            )
        async with self.bot.sessionmaker.begin() as session:
            settings = await require_moderator(interaction, session)
            refusal = role_refusal(role, guild.me, settings)
            if refusal is not None:
                raise NotAllowed(refusal)
            found = await repository.settings(session, guild.id)
            before = None if found is None else {"role_id": found.role_id, "channel_id": found.channel_id}
            if found is None:
                session.add(DropSettings(guild_id=guild.id, role_id=role.id, channel_id=channel.id))
            else:
                found.role_id, found.channel_id = role.id, channel.id
            await session.flush()
            await audit.record_command(
                interaction,
                session,
                action="drops.setup",
                target="drops",
                before=before,
                after={"role_id": role.id, "channel_id": channel.id},
            )
        await reply(
            interaction, f"Drops go to {channel.mention}, pinging {role.mention} (fans take it with Notify me)."
        )

    @drop.command(name="create")
    @app_commands.choices(kind=KINDS)
    async def create(
        self,
        interaction: discord.Interaction[LabelBot],
        artist: ManagedArtistOption,
        item: str,
        kind: Choice[str],
        when: str,
        link: str,
        stock: str | None = None,
        price: str | None = None,
        image: discord.Attachment | None = None,
        ping_fans: bool = False,
    ) -> None:
        """Announce a drop at its minute to the drops role (and the artist's fans if you choose); a teaser goes up now.

        Args:
            artist: Whose drop it is (artists you manage; moderators: any).
            item: What drops, e.g. "Night Drive 12-inch, red vinyl".
            kind: Vinyl, merch, tickets or a bundle.
            when: When it goes on sale, e.g. "friday 10am" or "in 2h" (your time zone).
            link: Where fans buy it (https://).
            stock: How many there are, as you'd say it, e.g. "300 copies".
            price: The price, as you'd say it, e.g. "€28".
            image: A picture of it.
            ping_fans: Ping the artist's fan role too.
        """
        await defer(interaction)
        context = await member_context(interaction)
        context.require_artist_access(artist)
        parsed = parse_when(when, zone=context.zone)
        clean_item = service.check_item(item)
        clean_link = service.check_link(link)
        stock_text, price_text = service.check_note(stock, "stock"), service.check_note(price, "price")
        if image is not None and not (image.content_type or "").startswith("image/"):
            raise InvalidInput("The image must be a picture (PNG, JPEG, GIF or WebP).")
        async with self.bot.sessionmaker.begin() as session:
            current = await session.get(Artist, artist.id)
            if current is None:
                raise InvalidInput("That artist is no longer on the roster.")
            drop = await service.create(
                self.bot,
                session,
                artist=current,
                item=clean_item,
                kind=DropKind(kind.value),
                drop_at=parsed.at,
                zone=parsed.zone,
                link=clean_link,
                stock=stock_text,
                price=price_text,
                image_url=image.url if image is not None else None,
                ping_fans=ping_fans,
                actor_id=interaction.user.id,
            )
            await audit.record_command(
                interaction,
                session,
                action="drops.create",
                target=f"drop #{drop.id} {drop.item}",
                before=None,
                after={"drop_at": drop.drop_at.isoformat(), "kind": drop.kind, "ping_fans": drop.ping_fans},
            )
            drop_id, channel_id = drop.id, drop.channel_id
        await reply(
            interaction,
            f"Drop #{drop_id} **{shown(clean_item)}** goes live {discord.utils.format_dt(parsed.at, 'F')} in "
            f"<#{channel_id}>; its teaser with **Notify me** is going up now.",
        )

    @drop.command(name="edit")
    @app_commands.autocomplete(drop=drop_choices)
    async def edit(
        self,
        interaction: discord.Interaction[LabelBot],
        drop: str,
        stock: str | None = None,
        price: str | None = None,
        sold_out: bool | None = None,
    ) -> None:
        """Change a drop's stock or price, or mark it sold out; its posts are edited.

        Args:
            drop: The drop.
            stock: The stock now, e.g. "40 left".
            price: The price now.
            sold_out: Whether it is sold out.
        """
        await defer(interaction)
        guild = guild_of(interaction)
        if stock is None and price is None and sold_out is None:
            raise InvalidInput("Say what changed: the stock, the price, or sold out.")
        stock_text, price_text = service.check_note(stock, "stock"), service.check_note(price, "price")
        async with self.bot.sessionmaker.begin() as session:
            context = await member_context(interaction, session)
            found = await service.find(session, guild.id, drop)
            artist = await session.get(Artist, found.artist_id)
            if artist is None:
                raise InvalidInput("That drop's artist is gone.")
            context.require_artist_access(artist)
            before = _sale_state(found)
            if stock is not None:
                found.stock = stock_text
            if price is not None:
                found.price = price_text
            if sold_out is not None:
                found.sold_out = sold_out
            await service.refresh_posts(self.bot, session, found, utcnow())
            await audit.record_command(
                interaction,
                session,
                action="drops.edit",
                target=f"drop #{found.id} {found.item}",
                before=before,
                after=_sale_state(found),
            )
            item = found.item
        await reply(interaction, f"Updated **{shown(item)}**; its posts are being edited.")

    @drop.command(name="list")
    async def list_drops(self, interaction: discord.Interaction[LabelBot]) -> None:
        """The coming drops, and the latest ones with where to buy them."""
        await defer(interaction)
        guild = guild_of(interaction)
        async with self.bot.sessionmaker() as session:
            context = await member_context(interaction, session)
            coming = await repository.upcoming(session, guild.id, LIST_SIZE)
            latest = await repository.past(session, guild.id, LIST_SIZE)
            artists: dict[int, Artist | None] = {}
            for found in (*coming, *latest):
                if found.artist_id not in artists:
                    artists[found.artist_id] = await session.get(Artist, found.artist_id)
            names = {key: artist.name if artist is not None else "an artist" for key, artist in artists.items()}
            # Those who run a drop see whom its DMs reached; members see the drops only.
            managed = [d.id for d in latest if (a := artists[d.artist_id]) is not None and context.manages(a)]
            reach = await repository.dm_reach(session, managed)
            coming_lines = [render.list_line(service.view_of(d, names[d.artist_id]), out=False) for d in coming]
            latest_lines = [
                render.list_line(service.view_of(d, names[d.artist_id]), out=True, reach=reach.get(d.id))
                for d in latest
            ]
        if not coming_lines and not latest_lines:
            await reply(interaction, "There are no drops yet.")
            return
        parts = []
        if coming_lines:
            parts.append("**Coming**\n" + "\n".join(coming_lines))
        if latest_lines:
            parts.append("**Out**\n" + "\n".join(latest_lines))
        await reply(interaction, render.clip("\n\n".join(parts)))

    @drop.command(name="dms")
    async def dms(
        self,
        interaction: discord.Interaction[LabelBot],
        send: bool | None = None,
        per_week: app_commands.Range[int, 1, service.DM_BUDGET_MAX] | None = None,
    ) -> None:
        """Get a DM when a drop goes live, within a weekly budget; with no options, see what is left of it.

        Args:
            send: True to get drop DMs, False to stop them.
            per_week: The most drop DMs you want in any 7 days.
        """
        await defer(interaction)
        member = member_of(interaction)
        now = utcnow()
        if send is None and per_week is None:
            async with self.bot.sessionmaker() as session:
                budget = await service.dm_budget(session, member.guild.id, member.id, now)
        else:
            async with self.bot.sessionmaker.begin() as session:
                budget = await service.set_dms(
                    session, member.guild.id, member.id, wanted=send, per_week=per_week, now=now
                )
        text = render.budget_text(budget.wanted, budget.per_week, budget.used, budget.left, budget.next_free)
        await reply(interaction, text)
