"""/roles and /roles-admin: panels fans pick roles from, the private picker, /roles me, and loyalty tiers."""

from __future__ import annotations

import logging

import discord
from discord import app_commands
from discord.app_commands import Choice
from discord.ext import commands
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from labelbot.artists import repository as artists
from labelbot.artists.service import find_artist
from labelbot.audit import service as audit
from labelbot.client import LabelBot
from labelbot.errors import BotLacksPermissions, Conflict, InvalidInput, NotFound
from labelbot.features.fan_roles import _dashboard as dashboard
from labelbot.features.fan_roles import _jobs as jobs
from labelbot.features.fan_roles import _render as render
from labelbot.features.fan_roles import _repository as repository
from labelbot.features.fan_roles import _service as service
from labelbot.features.fan_roles._jobs import (
    TIER_MEMBER,
    TIER_SYNC,
    member_key,
    sync_key,
)
from labelbot.features.fan_roles._views import PanelRoleButton, PanelRoleMenu, panel_views, picker_views
from labelbot.guilds.service import peek_guild_settings
from labelbot.interactions import NO_MENTIONS, defer, guild_of, member_of, reply
from labelbot.jobs import JobStatus, ScheduledJob
from labelbot.models.fan_roles import FanRolePanel, PanelStyle
from labelbot.permissions import moderator_group, require_moderator
from labelbot.role_counts import role_member_counts

log = logging.getLogger(__name__)

STYLES = [
    Choice(name="buttons", value=PanelStyle.BUTTONS.value),
    Choice(name="select menu", value=PanelStyle.SELECT.value),
]
MODES = [
    Choice(name="any number", value="any"),
    Choice(name="exactly one", value="one"),
    Choice(name="at most N (set max)", value="at_most"),
]


ROLE_GRANTS = "fan_roles"


COG_NAME = "Fan roles"


class FanRolesCog(commands.Cog, name=COG_NAME):
    """Fans pick the artists and genres they follow; loyal fans earn tiers by coming to parties."""

    roles = app_commands.Group(
        name="roles", description="Pick your fan roles; see yours and the loyalty tiers.", guild_only=True
    )
    tiers = app_commands.Group(name="tiers", description="Loyalty tiers earned by attending parties.", parent=roles)
    # Moderators build panels and tiers under /roles-admin, hidden from members (labelbot.permissions.moderator_group).
    admin = moderator_group("roles", "Role panels and loyalty tiers (moderators).")
    panel = app_commands.Group(name="panel", description="Role panels fans pick from (moderators).", parent=admin)
    admin_tiers = app_commands.Group(
        name="tiers", description="Loyalty tiers earned by attending parties (moderators).", parent=admin
    )

    def __init__(self, bot: LabelBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(PanelRoleButton, PanelRoleMenu)
        self.bot.features.role_grants.add_source(ROLE_GRANTS, repository.role_handed_out_as)
        self.bot.features.audit_titles.add(render.AUDIT_TITLES)
        self.bot.features.settings.add("fan_roles", *render.SETTING_DEFAULTS)
        jobs.register(self.bot)
        self.bot.features.privacy.add_forget_hook("fan_roles", self._forget_member)
        self.bot.features.dashboard.add(dashboard.NAME, dashboard.section, order=dashboard.ORDER)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(PanelRoleButton, PanelRoleMenu)
        self.bot.features.role_grants.remove_source(ROLE_GRANTS)
        self.bot.features.audit_titles.remove(render.AUDIT_TITLES)
        self.bot.features.settings.remove("fan_roles")
        jobs.unregister(self.bot)
        self.bot.features.privacy.remove_forget_hook("fan_roles")
        self.bot.features.dashboard.remove(dashboard.NAME)

    async def _forget_member(self, session: AsyncSession, guild_id: int, user_id: int) -> None:
        """A forgotten member's pending tier update would carry their id on: cancel it and drop its row."""
        key = member_key(guild_id, user_id)
        await self.bot.jobs.cancel(session, key)
        await session.execute(delete(ScheduledJob).where(ScheduledJob.key == key))

    # -- autocomplete ----------------------------------------------------------------------------------------

    async def panel_names(self, interaction: discord.Interaction[LabelBot], current: str) -> list[Choice[str]]:
        if interaction.guild_id is None:
            return []
        async with self.bot.sessionmaker() as session:
            names = await repository.search_panels(session, interaction.guild_id, current)
        return [Choice(name=name[:100], value=name[:100]) for name in names]

    async def artist_names(self, interaction: discord.Interaction[LabelBot], current: str) -> list[Choice[str]]:
        if interaction.guild_id is None:
            return []
        async with self.bot.sessionmaker() as session:
            found = await artists.search_active(session, interaction.guild_id, current)
        return [Choice(name=artist.name[:100], value=artist.name[:100]) for artist in found]

    # -- panels (moderators) ---------------------------------------------------------------------------------

    @panel.command(name="create")
    @app_commands.rename(max_roles="max")
    @app_commands.choices(style=STYLES, mode=MODES)
    async def panel_create(
        self,
        interaction: discord.Interaction[LabelBot],
        name: str,
        style: Choice[str],
        mode: Choice[str],
        max_roles: app_commands.Range[int, 1] | None = None,
        required_role: discord.Role | None = None,
        channel: discord.TextChannel | None = None,
    ) -> None:
        """Create a role panel; add roles to it, then post it.

        Args:
            name: What the panel is called, e.g. "Artists" or "Genres".
            style: Buttons (one per role) or a select menu.
            mode: How many of the panel's roles a member may hold at once.
            max_roles: For mode "at most N": the N.
            required_role: Only members with this role may use the panel.
            channel: Where the panel is posted (default: this channel).
        """
        await defer(interaction)
        guild = guild_of(interaction)
        target = channel or interaction.channel
        if not isinstance(target, discord.TextChannel):
            raise InvalidInput("Pick a text channel to post the panel in.")
        permissions = target.permissions_for(guild.me)
        if not (permissions.view_channel and permissions.send_messages and permissions.embed_links):
            raise BotLacksPermissions(
                f"I can't post in {target.mention}: I need View Channel, Send Messages and Embed Links there."
            )
        if required_role is not None and required_role.is_default():
            raise InvalidInput("Everyone has @everyone; leave the required role out instead.")
        spec = service.PanelSpec(
            name=name,
            style=style.value,
            mode=mode.value,
            max_roles=max_roles,
            required_role_id=required_role.id if required_role else None,
            channel_id=target.id,
        )
        async with self.bot.sessionmaker.begin() as session:
            await require_moderator(interaction, session)
            panel = await service.create_panel(session, guild.id, spec, interaction.user.id)
            await audit.record(
                self.bot,
                session,
                guild_id=guild.id,
                actor_id=interaction.user.id,
                action="fan_roles.panel_create",
                target=f"role panel {panel.name}",
                before=None,
                after={
                    "style": panel.style,
                    "mode": service.mode_words(panel.mode, panel.max_roles),
                    "required_role_id": panel.required_role_id,
                    "channel_id": panel.channel_id,
                },
            )
            created = panel.name
        await reply(
            interaction,
            f"Created the role panel **{service.shown(created)}** ({style.name}, "
            f"{service.mode_words(spec.mode, spec.max_roles)}) for {target.mention}. "
            "Add roles with `/roles-admin panel add`, then post it with `/roles-admin panel post`.",
        )

    @panel.command(name="add")
    @app_commands.autocomplete(panel=panel_names, artist=artist_names)
    async def panel_add(
        self,
        interaction: discord.Interaction[LabelBot],
        panel: str,
        role: discord.Role | None = None,
        artist: str | None = None,
        label: str | None = None,
        emoji: str | None = None,
        description: str | None = None,
    ) -> None:
        """Put a role (or an artist's fan role) on a panel.

        Args:
            panel: The panel's name.
            role: The role fans get.
            artist: Or an artist: fans get the artist's fan role.
            label: The button or option text (default: the role's or artist's name).
            emoji: An emoji shown with it.
            description: A short line under the option (select menus) or beside it in the panel.
        """
        await defer(interaction)
        guild = guild_of(interaction)
        if (role is None) == (artist is None):
            raise InvalidInput("Give either a role or an artist (whose fan role fans get), not both.")
        if emoji:
            parsed = discord.PartialEmoji.from_str(emoji.strip())
            if parsed.id is None and (len(parsed.name) > 8 or parsed.name.isascii()):
                raise InvalidInput("That isn't an emoji; use one emoji such as 🎸 or a custom emoji of this server.")
        async with self.bot.sessionmaker.begin() as session:
            settings = await require_moderator(interaction, session)
            found = await service.find_panel(session, guild.id, panel)
            artist_id: int | None = None
            if artist is not None:
                chosen = await find_artist(session, guild.id, artist)
                if chosen.fan_role_id is None:
                    raise InvalidInput(f"{service.shown(chosen.name)} has no fan role yet; give them one first.")
                role = guild.get_role(chosen.fan_role_id)
                if role is None:
                    raise NotFound(f"{service.shown(chosen.name)}'s fan role no longer exists in Discord.")
                artist_id = chosen.id
                default_label = chosen.name
            else:
                assert role is not None
                default_label = role.name
            service.check_role_safe(guild, role, settings)
            entry = await service.add_entry(
                session,
                found,
                service.EntrySpec(
                    role_id=role.id,
                    artist_id=artist_id,
                    label=label if label is not None else default_label[:80],
                    emoji=emoji,
                    description=description,
                ),
                interaction.user.id,
            )
            await audit.record(
                self.bot,
                session,
                guild_id=guild.id,
                actor_id=interaction.user.id,
                action="fan_roles.panel_add",
                target=f"role panel {found.name}",
                before=None,
                after={"role_id": entry.role_id, "label": entry.label},
            )
            count = len(found.entries) + 1
            posted = bool(found.message_ids)
            panel_name = found.name
        hint = (
            "Run `/roles-admin panel post` to update the posted panel."
            if posted
            else "Post it with `/roles-admin panel post`."
        )
        await reply(
            interaction,
            f"Added {role.mention} to **{service.shown(panel_name)}** ({count} role{'s' * (count != 1)}). {hint}",
        )

    @panel.command(name="remove")
    @app_commands.autocomplete(panel=panel_names)
    async def panel_remove(self, interaction: discord.Interaction[LabelBot], panel: str, role: discord.Role) -> None:
        """Take a role off a panel (members keep the role).

        Args:
            panel: The panel's name.
            role: The role to take off it.
        """
        await defer(interaction)
        guild = guild_of(interaction)
        async with self.bot.sessionmaker.begin() as session:
            await require_moderator(interaction, session)
            found = await service.find_panel(session, guild.id, panel)
            entry = await service.remove_entry(session, found, role)
            await audit.record(
                self.bot,
                session,
                guild_id=guild.id,
                actor_id=interaction.user.id,
                action="fan_roles.panel_remove",
                target=f"role panel {found.name}",
                before={"role_id": entry.role_id, "label": entry.label},
                after=None,
            )
            posted = bool(found.message_ids)
            panel_name = found.name
        hint = " Run `/roles-admin panel post` to update the posted panel." if posted else ""
        await reply(interaction, f"Took {role.mention} off **{service.shown(panel_name)}**.{hint}")

    @panel.command(name="post")
    @app_commands.autocomplete(panel=panel_names)
    async def panel_post(
        self, interaction: discord.Interaction[LabelBot], panel: str, channel: discord.TextChannel | None = None
    ) -> None:
        """Post a panel, or update it in place after a change.

        Args:
            panel: The panel's name.
            channel: Move the panel to this channel (default: where it is).
        """
        await defer(interaction)
        guild = guild_of(interaction)
        # First drop roles deleted in Discord, and tell the mod log; that stands even if posting fails.
        async with self.bot.sessionmaker.begin() as session:
            await require_moderator(interaction, session)
            found = await service.find_panel(session, guild.id, panel)
            gone = await service.drop_gone_roles(self.bot, session, guild, found, interaction.user.id)
            panel_id = found.id
        async with self.bot.sessionmaker() as session:
            current = await service.panel_by_id(session, guild.id, panel_id)
        if current is None:
            raise NotFound("That panel was deleted meanwhile.")
        gone_text = ""
        if gone:
            labels = ", ".join(f"“{service.shown(entry.label)}”" for entry in gone)
            gone_text = f" Dropped {labels}: deleted in Discord (noted in the mod log)."
        if not current.entries:
            raise InvalidInput(f"The panel has no roles yet; add some with `/roles-admin panel add`.{gone_text}")
        channel_id = channel.id if channel is not None else current.channel_id
        target = guild.get_channel(channel_id)
        if not isinstance(target, discord.TextChannel):
            raise NotFound("The panel's channel no longer exists; post it with a `channel`.")
        permissions = target.permissions_for(guild.me)
        if not (permissions.view_channel and permissions.send_messages and permissions.embed_links):
            raise BotLacksPermissions(
                f"I can't post in {target.mention}: I need View Channel, Send Messages and Embed Links there."
            )
        # One count of every role per post (Discord counts them without the members intent); fans' presses later
        # refresh it through one paced job per server, not one request each.
        counts = render.shown_counts(current.entries, await role_member_counts(self.bot, guild.id))
        message_ids, edited = await self._post(guild, current, target, counts)
        try:
            async with self.bot.sessionmaker.begin() as session:
                stored = await session.get(FanRolePanel, panel_id)
                if stored is not None:
                    stored.message_ids = message_ids
                    stored.channel_id = target.id
                    stored.fan_counts = counts
                    await service.schedule_counts_refresh(self.bot, session, guild.id, periodic=True)
        except Exception:
            # Unrecorded messages could never be edited or deleted by the bot again: take the new ones down.
            fresh = [m for m in message_ids if m not in current.message_ids]
            await self._delete_messages(guild, target.id, fresh)
            raise
        parts = len(message_ids)
        what = "Updated" if edited and channel_id == current.channel_id else "Posted"
        await reply(
            interaction,
            f"{what} **{service.shown(current.name)}** in {target.mention}"
            f"{f' ({parts} messages: more roles than one message holds)' if parts > 1 else ''}.{gone_text}",
        )

    async def _post(
        self,
        guild: discord.Guild,
        panel: FanRolePanel,
        target: discord.TextChannel,
        fan_counts: dict[str, int] | None,
    ) -> tuple[list[int], bool]:
        """Post or edit the panel's messages in place; return their ids and whether any was edited."""
        views = panel_views(panel)
        parts = service.split_entries(panel.entries, panel.style)
        old_ids = list(panel.message_ids) if panel.channel_id == target.id else []
        if panel.channel_id != target.id:
            await self._delete_messages(guild, panel.channel_id, panel.message_ids)
        ids: list[int] = []
        edited = False
        for index, (view, entries) in enumerate(zip(views, parts, strict=True)):
            embed = render.panel_embed(panel, entries, index, len(parts), fan_counts)
            if index < len(old_ids):
                try:
                    message = await target.get_partial_message(old_ids[index]).edit(
                        content=None, embed=embed, view=view, allowed_mentions=NO_MENTIONS
                    )
                    ids.append(message.id)
                    edited = True
                    continue
                except discord.NotFound:
                    pass  # deleted by hand: post it again
            message = await target.send(embed=embed, view=view, allowed_mentions=NO_MENTIONS)
            ids.append(message.id)
        await self._delete_messages(guild, target.id, old_ids[len(ids) :])
        return ids, edited

    async def _delete_messages(self, guild: discord.Guild, channel_id: int, message_ids: list[int]) -> None:
        channel = guild.get_channel(channel_id)
        if not isinstance(channel, discord.TextChannel):
            return
        for message_id in message_ids:
            try:
                await channel.get_partial_message(message_id).delete()
            except (discord.NotFound, discord.Forbidden):
                log.info("Panel message %s in channel %s was already gone or is out of reach", message_id, channel_id)

    @panel.command(name="list")
    async def panel_list(self, interaction: discord.Interaction[LabelBot]) -> None:
        """Show the server's role panels."""
        await defer(interaction)
        guild = guild_of(interaction)
        async with self.bot.sessionmaker() as session:
            await require_moderator(interaction, session)
            found = await service.panels(session, guild.id)
            embed = render.panels_embed(found)
        await reply(interaction, embed=embed)

    @panel.command(name="delete")
    @app_commands.autocomplete(panel=panel_names)
    async def panel_delete(self, interaction: discord.Interaction[LabelBot], panel: str) -> None:
        """Delete a panel and its posted messages (members keep their roles).

        Args:
            panel: The panel's name.
        """
        await defer(interaction)
        guild = guild_of(interaction)
        async with self.bot.sessionmaker.begin() as session:
            await require_moderator(interaction, session)
            found = await service.find_panel(session, guild.id, panel)
            channel_id, message_ids, name = found.channel_id, list(found.message_ids), found.name
            await audit.record(
                self.bot,
                session,
                guild_id=guild.id,
                actor_id=interaction.user.id,
                action="fan_roles.panel_delete",
                target=f"role panel {found.name}",
                before={"roles": [f"<@&{e.role_id}>" for e in found.entries], "channel_id": found.channel_id},
                after=None,
            )
            await session.delete(found)
        await self._delete_messages(guild, channel_id, message_ids)
        await reply(
            interaction, f"Deleted the role panel **{service.shown(name)}**. Members keep the roles they picked."
        )

    # -- fans ------------------------------------------------------------------------------------------------

    @roles.command(name="pick")
    async def pick(self, interaction: discord.Interaction[LabelBot]) -> None:
        """Pick your roles from every panel, privately."""
        await defer(interaction)
        guild = guild_of(interaction)
        member = member_of(interaction)
        held = {role.id for role in member.roles}
        async with self.bot.sessionmaker() as session:
            found = await service.panels(session, guild.id)
        usable = [p for p in found if p.entries and (p.required_role_id is None or p.required_role_id in held)]
        if not usable:
            raise NotFound("There are no role panels you can pick from yet.")
        views = picker_views(usable, held)
        await reply(interaction, "Pick your roles; what you hold now is already selected.", view=views[0])
        for view in views[1:]:
            await reply(interaction, view=view)

    @roles.command(name="me")
    async def me(self, interaction: discord.Interaction[LabelBot]) -> None:
        """Show your fan roles, your loyalty tier and how many parties you attended."""
        await defer(interaction)
        guild = guild_of(interaction)
        member = member_of(interaction)
        held = {role.id for role in member.roles}
        async with self.bot.sessionmaker() as session:
            found, attended, tiers = await service.standing(session, guild.id, member.id)
        fan_roles = list(dict.fromkeys(e.role_id for p in found for e in p.entries if e.role_id in held))
        counts = await role_member_counts(self.bot, guild.id) if fan_roles else None
        embed = render.standing_embed(
            member, fan_roles, attended, tiers, [t.role_id for t in tiers if t.role_id in held], fan_counts=counts
        )
        await reply(interaction, embed=embed)

    # -- loyalty tiers ---------------------------------------------------------------------------------------

    @admin_tiers.command(name="set")
    async def tiers_set(
        self, interaction: discord.Interaction[LabelBot], role: discord.Role, threshold: app_commands.Range[int, 1]
    ) -> None:
        """Make a role a loyalty tier, earned by attending this many parties.

        Args:
            role: The tier's role.
            threshold: Parties attended to earn it (at least 1).
        """
        await defer(interaction)
        guild = guild_of(interaction)
        service.check_threshold(threshold)
        async with self.bot.sessionmaker.begin() as session:
            settings = await require_moderator(interaction, session)
            service.check_role_safe(guild, role, settings)
            before = await service.set_tier(session, guild.id, role.id, threshold, interaction.user.id)
            await audit.record(
                self.bot,
                session,
                guild_id=guild.id,
                actor_id=interaction.user.id,
                action="fan_roles.tier_set",
                target=f"loyalty tier {role.name}",
                before=None if before is None else {"role_id": role.id, "threshold": before},
                after={"role_id": role.id, "threshold": threshold},
            )
        parties = f"{threshold} part{'y' if threshold == 1 else 'ies'}"
        await reply(
            interaction,
            f"{role.mention} is now earned at {parties}. Members get it at their next party; "
            "run `/roles-admin tiers sync` to apply it now to everyone who already qualifies.",
        )

    @tiers.command(name="list")
    async def tiers_list(self, interaction: discord.Interaction[LabelBot]) -> None:
        """Show the loyalty tiers."""
        await defer(interaction)
        guild = guild_of(interaction)
        async with self.bot.sessionmaker() as session:
            found = await service.tiers(session, guild.id)
            keep_lower = (await peek_guild_settings(session, guild.id)).tier_keep_lower
        await reply(interaction, embed=render.tiers_embed(found, keep_lower))

    @admin_tiers.command(name="remove")
    async def tiers_remove(self, interaction: discord.Interaction[LabelBot], role: discord.Role) -> None:
        """Stop a role being a loyalty tier (members who hold it keep it).

        Args:
            role: The tier's role.
        """
        await defer(interaction)
        guild = guild_of(interaction)
        async with self.bot.sessionmaker.begin() as session:
            await require_moderator(interaction, session)
            tier = await service.remove_tier(session, guild.id, role.id)
            await audit.record(
                self.bot,
                session,
                guild_id=guild.id,
                actor_id=interaction.user.id,
                action="fan_roles.tier_remove",
                target=f"loyalty tier {role.name}",
                before={"role_id": role.id, "threshold": tier.threshold},
                after=None,
            )
        await reply(interaction, f"{role.mention} is no longer a loyalty tier; members who hold it keep it.")

    @admin_tiers.command(name="sync")
    async def tiers_sync(self, interaction: discord.Interaction[LabelBot]) -> None:
        """Recompute everyone's tier (after thresholds change), in the background; progress goes to the mod log."""
        await defer(interaction)
        guild = guild_of(interaction)
        async with self.bot.sessionmaker.begin() as session:
            await require_moderator(interaction, session)
            if not await service.tiers(session, guild.id):
                raise InvalidInput("There are no loyalty tiers yet; add one with `/roles-admin tiers set`.")
            running = await self.bot.jobs.get(session, sync_key(guild.id))
            if running is not None and running.status in (JobStatus.PENDING, JobStatus.CLAIMED):
                done = (running.result or {}).get("checked", 0)
                raise Conflict(
                    f"A tier sync is already running ({done} members checked so far); wait for it to finish."
                )
            members = await service.attendee_count(session, guild.id)
            await self.bot.jobs.schedule(
                session,
                TIER_SYNC,
                {"requested_by": interaction.user.id},
                discord.utils.utcnow(),
                guild_id=guild.id,
                key=sync_key(guild.id),
            )
            has_mod_log = (await peek_guild_settings(session, guild.id)).mod_log_channel_id is not None
        where = "Progress is posted in the mod log." if has_mod_log else "Set a mod-log channel to see its progress."
        await reply(
            interaction,
            f"Tier sync started for the {members} member{'s' * (members != 1)} who have attended parties. {where}",
        )

    @commands.Cog.listener()
    async def on_party_attended(self, guild_id: int, user_id: int, party_id: int) -> None:
        """Count the party and (as scheduled work, so it survives a crash) bring the member's tier up to date."""
        async with self.bot.sessionmaker.begin() as session:
            await service.record_attendance(session, guild_id, user_id, party_id)
            await self.bot.jobs.schedule(
                session,
                TIER_MEMBER,
                {"user_id": user_id},
                discord.utils.utcnow(),
                guild_id=guild_id,
                key=member_key(guild_id, user_id),
            )
