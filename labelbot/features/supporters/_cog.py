"""/supporters (perks, codes, a member's perks, figures) and /claim; the purchases webhook is registered here."""

from __future__ import annotations

import io
import logging
from datetime import UTC, datetime
from functools import partial

import discord
from discord import app_commands
from discord.app_commands import Choice
from discord.ext import commands

from labelbot.artists.transformers import ArtistOption
from labelbot.audit import service as audit
from labelbot.catalog.models import Release, ReleaseStatus
from labelbot.client import LabelBot
from labelbot.db.base import utcnow
from labelbot.errors import BotLacksPermissions, Conflict, InvalidInput, NotAllowed
from labelbot.features.supporters import _dashboard as dashboard
from labelbot.features.supporters import _intake as intake
from labelbot.features.supporters import _jobs as jobs
from labelbot.features.supporters import _parsing as parsing
from labelbot.features.supporters import _render as render
from labelbot.features.supporters import _repository as repository
from labelbot.features.supporters import _service as service
from labelbot.guilds.models import GuildSettings
from labelbot.interactions import NO_MENTIONS, defer, guild_of, member_of, reply
from labelbot.models.supporters import EarlyWindow, EarnedBy, SupporterGrant, SupporterPerk
from labelbot.permissions import require_moderator, role_refusal
from labelbot.timeparse import parse_when

log = logging.getLogger(__name__)

ROLE_GRANTS = "supporters"
MOVES = "supporters"
EARNED_BY = [Choice(name=words, value=value) for value, words in service.EARNED_BY_WORDS.items()]


def check_role_safe(guild: discord.Guild, role: discord.Role, settings: GuildSettings) -> None:
    """Refuse, with the reason, a role the bot must not hand out (the fan roles' allowlist)."""
    refusal = role_refusal(role, guild.me, settings)
    if refusal is None:
        return
    if not guild.me.guild_permissions.manage_roles or role >= guild.me.top_role:
        raise BotLacksPermissions(refusal)
    raise NotAllowed(refusal)


def _perk_values(perk: SupporterPerk) -> dict[str, object]:
    """A perk as its audit entries show it (its name is their target)."""
    return {
        "role_id": perk.role_id,
        "earned_by": perk.earned_by,
        "days": perk.duration_days,
        "artist_id": perk.artist_id,
    }


def _month(now: datetime) -> tuple[datetime, datetime]:
    start = datetime(now.year, now.month, 1, tzinfo=UTC)
    end = datetime(now.year + (now.month == 12), now.month % 12 + 1, 1, tzinfo=UTC)
    return start, end


class SupportersCog(commands.Cog, name="Supporters"):
    """Purchases, memberships and codes become supporter roles, for as long as they last."""

    # Moderators' commands only, so Discord hides them from members; members have /perks and /claim.
    supporters = app_commands.Group(
        name="supporters",
        description="Supporter perks: roles earned by purchases and codes (moderators).",
        guild_only=True,
        default_permissions=discord.Permissions(manage_guild=True),
    )
    perk = app_commands.Group(name="perk", description="Supporter perks (moderators).", parent=supporters)
    codes = app_commands.Group(name="codes", description="Single-use claim codes (moderators).", parent=supporters)
    windows = app_commands.Group(
        name="early", description="Supporters' early windows before a release (moderators).", parent=supporters
    )

    def __init__(self, bot: LabelBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        self.bot.features.role_grants.add_source(ROLE_GRANTS, repository.role_handed_out_as)
        self.bot.features.audit_titles.add(render.AUDIT_TITLES)
        jobs.register(self.bot)
        self.bot.features.dashboard.add(dashboard.NAME, dashboard.section, order=dashboard.ORDER)
        self.bot.features.release_moves.add(MOVES, partial(service.release_moved, self.bot))
        self.bot.features.webhooks.register(
            intake.HOOK, intake.intake(self.bot), id_field="order_id", unstored=frozenset({intake.CLAIM_CODE})
        )

    async def cog_unload(self) -> None:
        self.bot.features.role_grants.remove_source(ROLE_GRANTS)
        self.bot.features.audit_titles.remove(render.AUDIT_TITLES)
        jobs.unregister(self.bot)
        self.bot.features.dashboard.remove(dashboard.NAME)
        self.bot.features.release_moves.remove(MOVES)
        self.bot.features.webhooks.unregister(intake.HOOK)

    async def perk_names(self, interaction: discord.Interaction[LabelBot], current: str) -> list[Choice[str]]:
        if interaction.guild_id is None:
            return []
        async with self.bot.sessionmaker() as session:
            names = await repository.search_perks(session, interaction.guild_id, current)
        return [Choice(name=name[:100], value=name[:100]) for name in names]

    # -- perks (moderators) ----------------------------------------------------------------------------------

    @perk.command(name="create")
    @app_commands.choices(earned_by=EARNED_BY)
    async def perk_create(
        self,
        interaction: discord.Interaction[LabelBot],
        name: str,
        role: discord.Role,
        earned_by: Choice[str],
        days: app_commands.Range[int, 1, service.MAX_DURATION_DAYS] | None = None,
        artist: ArtistOption | None = None,
    ) -> None:
        """Define a supporter perk: the role it grants and what earns it.

        Args:
            name: What the perk is called, e.g. "Vinyl club".
            role: The role supporters get (no moderator, artist or powerful role).
            earned_by: What earns it.
            days: How long it lasts (e.g. 31 for a monthly membership; a renewal extends it). Leave out: for good.
            artist: The artist it belongs to (for their figures in /supporters stats); leave out for the label's.
        """
        await defer(interaction)
        guild = guild_of(interaction)
        async with self.bot.sessionmaker.begin() as session:
            settings = await require_moderator(interaction, session)
            check_role_safe(guild, role, settings)
            perk = await service.create_perk(
                session,
                guild.id,
                name=name,
                role_id=role.id,
                earned_by=EarnedBy(earned_by.value),
                duration_days=days,
                actor_id=interaction.user.id,
            )
            perk.artist_id = artist.id if artist is not None else None
            await audit.record_command(
                interaction,
                session,
                action="supporters.perk_create",
                target=f"supporter perk {perk.name}",
                before=None,
                after=_perk_values(perk),
            )
            line = render.perk_line(perk)
        await reply(interaction, f"Created the perk {line}.")

    @perk.command(name="edit")
    @app_commands.autocomplete(perk=perk_names)
    @app_commands.choices(earned_by=EARNED_BY)
    async def perk_edit(
        self,
        interaction: discord.Interaction[LabelBot],
        perk: str,
        name: str | None = None,
        role: discord.Role | None = None,
        earned_by: Choice[str] | None = None,
        days: app_commands.Range[int, 0, service.MAX_DURATION_DAYS] | None = None,
        artist: ArtistOption | None = None,
        no_artist: bool | None = None,
    ) -> None:
        """Change a supporter perk (grants already made keep their end date).

        Args:
            perk: The perk to change.
            name: A new name.
            role: A new role (members who hold the perk get it as their role is next checked).
            earned_by: What earns it from now on.
            days: How long new grants last; 0 means for good.
            artist: The artist it belongs to from now on.
            no_artist: True: it belongs to the label, no longer to an artist.
        """
        await defer(interaction)
        guild = guild_of(interaction)
        if artist is not None and no_artist:
            raise InvalidInput("Give an artist or no_artist, not both.")
        if name is None and role is None and earned_by is None and days is None and artist is None and not no_artist:
            raise InvalidInput("Say what to change: a name, role, what earns it, days or the artist.")
        async with self.bot.sessionmaker.begin() as session:
            settings = await require_moderator(interaction, session)
            found = await service.find_perk(session, guild.id, perk)
            before = {"name": found.name, **_perk_values(found)}
            if role is not None:
                check_role_safe(guild, role, settings)
                found.role_id = role.id
            if name is not None:
                new_name = parsing.perk_name(name)
                other = await repository.perk_by_name(session, guild.id, new_name)
                if other is not None and other.id != found.id:
                    raise Conflict(f"There is already a perk called “{render.shown(new_name)}”.")
                found.name, found.name_key = new_name, parsing.name_key(new_name)
            if earned_by is not None:
                found.earned_by = EarnedBy(earned_by.value).value
            if days is not None:
                found.duration_days = days or None
            if artist is not None:
                found.artist_id = artist.id
            if no_artist:
                found.artist_id = None
            await session.flush()
            await audit.record_command(
                interaction,
                session,
                action="supporters.perk_edit",
                target=f"supporter perk {found.name}",
                before=before,
                after={"name": found.name, **_perk_values(found)},
            )
            line = render.perk_line(found)
        await reply(interaction, f"Changed the perk: {line}.")

    @perk.command(name="list")
    async def perk_list(self, interaction: discord.Interaction[LabelBot]) -> None:
        """List the server's supporter perks."""
        await defer(interaction)
        guild = guild_of(interaction)
        async with self.bot.sessionmaker() as session:
            await require_moderator(interaction, session)
            lines = [render.perk_line(perk) for perk in await repository.perks(session, guild.id)]
        if not lines:
            await reply(interaction, "There are no supporter perks yet; add one with `/supporters perk create`.")
            return
        await reply(interaction, render.clip_lines(lines))

    @perk.command(name="remove")
    @app_commands.autocomplete(perk=perk_names)
    async def perk_remove(self, interaction: discord.Interaction[LabelBot], perk: str) -> None:
        """Remove a supporter perk nobody holds any more.

        Args:
            perk: The perk to remove.
        """
        await defer(interaction)
        guild = guild_of(interaction)
        async with self.bot.sessionmaker.begin() as session:
            await require_moderator(interaction, session)
            found = await service.find_perk(session, guild.id, perk)
            holders = await repository.perk_figures(session, found, utcnow(), *_month(utcnow()))
            if holders["active"]:
                raise Conflict(
                    f"{holders['active']} supporter(s) hold “{render.shown(found.name)}”; "
                    "it can be removed once their grants end or are refunded."
                )
            name = found.name
            await session.delete(found)
            await audit.record_command(
                interaction,
                session,
                action="supporters.perk_remove",
                target=f"supporter perk {name}",
                before={"role_id": found.role_id},
                after=None,
            )
        await reply(interaction, f"Removed the perk **{render.shown(name)}**.")

    # -- codes -----------------------------------------------------------------------------------------------

    @codes.command(name="create")
    @app_commands.autocomplete(perk=perk_names)
    async def codes_create(
        self,
        interaction: discord.Interaction[LabelBot],
        perk: str,
        count: app_commands.Range[int, 1, service.MAX_CODES],
        expires: str | None = None,
    ) -> None:
        """Make single-use claim codes for a perk (download cards, vinyl inserts), as a CSV file.

        Args:
            perk: The perk the codes grant.
            count: How many codes.
            expires: When they stop working, e.g. "2027-06-30 23:59" (leave out: never).
        """
        await defer(interaction)
        guild = guild_of(interaction)
        async with self.bot.sessionmaker.begin() as session:
            settings = await require_moderator(interaction, session)
            found = await service.find_perk(session, guild.id, perk)
            expires_at = parse_when(expires, zone=settings.timezone).at if expires else None
            made = await service.issue_codes(session, found, count, expires_at, interaction.user.id)
            await audit.record_command(
                interaction,
                session,
                action="supporters.codes_create",
                target=f"supporter perk {found.name}",
                before=None,
                after={"codes": count, "expires": expires_at.isoformat() if expires_at else None},
            )
            name = found.name
        data = render.codes_csv(name, made, expires_at)
        await reply(
            interaction,
            f"Here are {count} single-use code(s) for **{render.shown(name)}**. Only their fingerprints are kept, "
            "so this file is the only copy: keep it safe.",
            file=discord.File(io.BytesIO(data), filename=f"codes-{parsing.name_key(name).replace(' ', '-')}.csv"),
        )

    @supporters.command(name="import")
    async def import_orders(self, interaction: discord.Interaction[LabelBot], orders: discord.Attachment) -> None:
        """Import a shop's orders from a CSV (order id, product, and optionally the code printed for it).

        Args:
            orders: A CSV file whose first row names the columns: order id, product, code.
        """
        await defer(interaction)
        guild = guild_of(interaction)
        async with self.bot.sessionmaker() as session:
            await require_moderator(interaction, session)
        if orders.size > parsing.IMPORT_MAX_BYTES:
            raise InvalidInput("That file is over 1 MiB; split it into smaller files.")
        try:
            data = await orders.read()
        except discord.HTTPException:
            raise InvalidInput("I couldn't download that file from Discord; attach it again.") from None
        rows = parsing.orders_csv(data)
        async with self.bot.sessionmaker.begin() as session:
            result = await service.import_orders(session, guild.id, rows, interaction.user.id)
            await audit.record_command(
                interaction,
                session,
                action="supporters.import",
                target=f"orders file {orders.filename}",
                before=None,
                after={"added": result.added, "already_known": result.known, "codes_made": len(result.made_codes)},
            )
        text = f"Imported {result.added} order(s); {result.known} were already known."
        if not result.made_codes:
            await reply(interaction, text + " Buyers claim them with `/claim` and the code on their order.")
            return
        await reply(
            interaction,
            text + f" {len(result.made_codes)} had no code, so I made one each: send them to the buyers "
            "(this file is the only copy).",
            file=discord.File(io.BytesIO(render.order_codes_csv(result.made_codes)), filename="order-codes.csv"),
        )

    # -- members ---------------------------------------------------------------------------------------------

    @app_commands.command(name="perks")
    @app_commands.guild_only()
    async def me(self, interaction: discord.Interaction[LabelBot]) -> None:
        """Show your supporter perks: since when, and until when."""
        await defer(interaction)
        member = member_of(interaction)
        now = utcnow()
        async with self.bot.sessionmaker() as session:
            grants = await repository.member_grants(session, member.guild.id, member.id, now)
            by_perk: dict[int, list[SupporterGrant]] = {}
            for grant in grants:
                by_perk.setdefault(grant.perk_id, []).append(grant)
            lines = []
            for perk_id, held in by_perk.items():
                found = await session.get(SupporterPerk, perk_id)
                if found is not None:
                    since = min(grant.starts_at for grant in held)
                    lines.append(render.my_perk_line(found.name, found.role_id, since, service.supporter_until(held)))
        if not lines:
            await reply(interaction, "You have no supporter perks here yet; a code from a purchase goes in `/claim`.")
            return
        await reply(interaction, render.clip_lines(lines))

    @supporters.command(name="stats")
    async def stats(self, interaction: discord.Interaction[LabelBot], artist: ArtistOption | None = None) -> None:
        """Supporter figures per perk (active, new and expiring this month, codes), with a CSV export.

        Args:
            artist: Only this artist's perks (leave out: every perk).
        """
        await defer(interaction)
        guild = guild_of(interaction)
        now = utcnow()
        async with self.bot.sessionmaker() as session:
            await require_moderator(interaction, session)
            rows = [
                await repository.perk_figures(session, perk, now, *_month(now))
                for perk in await repository.perks(session, guild.id, artist.id if artist is not None else None)
            ]
            signups = await repository.drop_signups(session, guild.id)
        if not rows:
            whose = f"{render.shown(artist.name)} has no supporter perks" if artist else "There are no supporter perks"
            await reply(interaction, f"{whose} yet; {signups} member(s) asked to hear about drops.")
            return
        lines = [
            f"**{render.shown(str(row['perk']))}**: {row['active']} active, {row['new_this_month']} new and "
            f"{row['expiring_this_month']} ending this month, codes {row['codes_redeemed']}/{row['codes_issued']} "
            "claimed"
            for row in rows
        ]
        lines.append(f"Drop sign-ups (Notify me): {signups}")
        await reply(
            interaction,
            render.clip_lines(lines),
            file=discord.File(io.BytesIO(render.stats_csv(rows)), filename="supporters.csv"),
        )

    # -- early windows ---------------------------------------------------------------------------------------

    async def release_choices(self, interaction: discord.Interaction[LabelBot], current: str) -> list[Choice[str]]:
        if interaction.guild_id is None:
            return []
        async with self.bot.sessionmaker() as session:
            found = await repository.coming_releases(
                session, interaction.guild_id, utcnow(), current.replace("\x00", "")
            )
        return [Choice(name=f"{release.title} · #{release.id}"[:100], value=str(release.id)) for release in found]

    async def window_choices(self, interaction: discord.Interaction[LabelBot], current: str) -> list[Choice[str]]:
        if interaction.guild_id is None:
            return []
        async with self.bot.sessionmaker() as session:
            found = await repository.early_windows(
                session, interaction.guild_id, unclosed=True, current=current.replace("\x00", ""), limit=25
            )
        return [
            Choice(name=f"{release.title} · {perk.name} · #{window.id}"[:100], value=str(window.id))
            for window, release, perk in found
        ]

    @windows.command(name="create")
    @app_commands.autocomplete(release=release_choices, perk=perk_names)
    async def early(
        self,
        interaction: discord.Interaction[LabelBot],
        release: str,
        perk: str,
        channel: discord.TextChannel,
        hours: app_commands.Range[int, 1, service.EARLY_HOURS_MAX],
        links: app_commands.Range[str, 1, 1500],
        close_after: app_commands.Range[int, 1, service.EARLY_CLOSE_HOURS_MAX] | None = None,
    ) -> None:
        """Give a perk's supporters an early listen: a private channel opens to them before the release.

        Args:
            release: The scheduled release.
            perk: Whose holders listen early.
            channel: A channel hidden from @everyone, where the listen-early post goes.
            hours: How many hours before the public announcement the channel opens.
            links: The private links (https://), separated by spaces.
            close_after: Close the channel again this many hours after the public announcement (leave out: stays).
        """
        await defer(interaction)
        guild = guild_of(interaction)
        clean_links = service.check_links(links)
        if channel.permissions_for(guild.default_role).view_channel:
            raise InvalidInput(
                f"{channel.mention} is visible to everyone: hide it from @everyone first, so only supporters get in."
            )
        mine = channel.permissions_for(guild.me)
        if not (mine.view_channel and mine.send_messages and mine.manage_roles):
            raise BotLacksPermissions(
                f"I need View Channel, Send Messages and Manage Permissions in {channel.mention} to open it."
            )
        number = release.strip().lstrip("#")
        async with self.bot.sessionmaker.begin() as session:
            await require_moderator(interaction, session)
            found = await service.find_perk(session, guild.id, perk)
            chosen = await session.get(Release, int(number)) if number.isdigit() and len(number) < 19 else None
            if chosen is None or chosen.guild_id != guild.id or chosen.status != ReleaseStatus.SCHEDULED:
                raise InvalidInput("Pick a scheduled release from the list.")
            window = await service.create_early_window(
                self.bot,
                session,
                perk=found,
                release=chosen,
                channel_id=channel.id,
                hours=hours,
                close_after=close_after,
                links=clean_links,
                actor_id=interaction.user.id,
                now=utcnow(),
            )
            await audit.record_command(
                interaction,
                session,
                action="supporters.early_window",
                target=f"release {chosen.title}",
                before=None,
                after={
                    "perk": found.name,
                    "channel_id": channel.id,
                    "opens_at": window.opens_at.isoformat(),
                    "closes_at": window.closes_at.isoformat() if window.closes_at else None,
                },
            )
            role_id, opens_at, closes_at, public_at = (
                found.role_id,
                window.opens_at,
                window.closes_at,
                chosen.release_at,
            )
        closes = f"; it closes again {discord.utils.format_dt(closes_at, 'F')}" if closes_at is not None else ""
        await reply(
            interaction,
            f"{channel.mention} opens to <@&{role_id}> {discord.utils.format_dt(opens_at, 'F')} with the "
            f"listen-early post, {hours} hour(s) before everyone hears it "
            f"({discord.utils.format_dt(public_at, 'F')}){closes}.",
            allowed_mentions=NO_MENTIONS,
        )

    @windows.command(name="list")
    async def early_list(self, interaction: discord.Interaction[LabelBot]) -> None:
        """List the server's early windows, coming and past: release, perk, channel, opening and closing."""
        await defer(interaction)
        guild = guild_of(interaction)
        now = utcnow()
        async with self.bot.sessionmaker() as session:
            await require_moderator(interaction, session)
            rows = await repository.early_windows(session, guild.id)
            coming = [render.window_line(*row, now) for row in rows if row[0].closed_at is None]
            past = [render.window_line(*row, now) for row in reversed(rows) if row[0].closed_at is not None]
        if not coming and not past:
            await reply(interaction, "There are no early windows yet; set one with `/supporters early create`.")
            return
        lines = (["**Coming and open**", *coming] if coming else []) + (["**Closed**", *past] if past else [])
        await reply(interaction, render.clip_lines(lines), allowed_mentions=NO_MENTIONS)

    @windows.command(name="cancel")
    @app_commands.autocomplete(window=window_choices)
    async def early_cancel(self, interaction: discord.Interaction[LabelBot], window: str) -> None:
        """Cancel an early window: one not yet open is dropped; an open one closes to the supporters now.

        Args:
            window: The early window (see /supporters early list).
        """
        await defer(interaction)
        guild = guild_of(interaction)
        number = window.strip().lstrip("#")
        async with self.bot.sessionmaker.begin() as session:
            await require_moderator(interaction, session)
            found = await session.get(EarlyWindow, int(number)) if number.isdigit() and len(number) < 19 else None
            if found is None or found.guild_id != guild.id:
                raise InvalidInput("Pick an early window from the list.")
            release = await session.get(Release, found.release_id)
            title = release.title if release is not None else "the release"
            channel_id = found.channel_id
            before = {"channel_id": channel_id, "opens_at": found.opens_at.isoformat(), "opened": bool(found.opened_at)}
            dropped = await service.cancel_early_window(self.bot, session, found, utcnow())
            await audit.record_command(
                interaction,
                session,
                action="supporters.early_cancel",
                target=f"release {title}",
                before=before,
                after={"dropped": dropped, "closing_now": not dropped},
            )
        if dropped:
            text = f"Cancelled the early window of **{render.shown(title)}**: <#{channel_id}> will not open."
        else:
            text = (
                f"The early window of **{render.shown(title)}** was already open: <#{channel_id}> closes to its "
                "supporters now."
            )
        await reply(interaction, text, allowed_mentions=NO_MENTIONS)

    @app_commands.command(name="claim")
    @app_commands.guild_only()
    async def claim(self, interaction: discord.Interaction[LabelBot], code: app_commands.Range[str, 1, 64]) -> None:
        """Claim a supporter perk with the code from your card, receipt or ticket.

        Args:
            code: The code, e.g. K7QH-2MXA-PZ4D-RT6B.
        """
        await defer(interaction)
        member = member_of(interaction)
        async with self.bot.sessionmaker.begin() as session:
            outcome = await service.claim(self.bot, session, member.guild.id, member.id, code)
            if outcome.newly_throttled:
                await audit.record_command(
                    interaction,
                    session,
                    action="supporters.claim_throttled",
                    target=f"member {member.id}",
                    before=None,
                    after={"user_id": member.id, "wrong_codes_in_an_hour": service.CLAIM_MISSES},
                )
            granted = outcome.granted
            perk = outcome.perk
            role_id, perk_name = (perk.role_id, perk.name) if perk is not None else (0, "")
        if granted is None:
            await reply(interaction, outcome.message)
            return
        until = granted.expires_at
        ends = f", until {discord.utils.format_dt(until, 'F')}" if until is not None else ""
        await reply(
            interaction,
            f"Thank you for your support! You have the perk **{render.shown(perk_name)}** (<@&{role_id}>){ends}; "
            "the role arrives in a moment.",
            allowed_mentions=NO_MENTIONS,
        )
