"""/collab, /collab-admin and /profile: the collab board, the server's skill list, and members' collab profiles."""

from __future__ import annotations

from datetime import timedelta

import discord
from discord import app_commands
from discord.ext import commands
from sqlalchemy.ext.asyncio import AsyncSession

from labelbot.audit.service import record as audit_record
from labelbot.client import LabelBot
from labelbot.errors import InvalidInput, NotFound
from labelbot.features.collabs import _dashboard, _jobs, _privacy
from labelbot.features.collabs import _repository as repo
from labelbot.features.collabs import _service as service
from labelbot.features.collabs import _views as views
from labelbot.features.collabs._board import board
from labelbot.features.collabs._render import (
    AUDIT_TITLES,
    SETTING_DEFAULTS,
    own_profile_embed,
    profile_embed,
    request_line,
)
from labelbot.features.collabs._views import DYNAMIC_ITEMS, PostContext, PostModal, SkillPicker
from labelbot.guilds.service import member_zone, peek_guild_settings
from labelbot.interactions import NO_MENTIONS, defer, reply
from labelbot.models.collabs import ACTIVE_STATUSES
from labelbot.permissions import moderator_group, moderator_only, require_moderator
from labelbot.privacy import AfterCommit
from labelbot.text import clip, plain
from labelbot.timeparse import parse_duration
from labelbot.ui.confirm import Option, ask
from labelbot.ui.paginator import Paginator, pages_of_lines

COMPENSATION_CHOICES = [
    app_commands.Choice(name=label.lower(), value=value) for value, label in service.COMPENSATIONS.items()
]


def _guild_id(interaction: discord.Interaction[LabelBot]) -> int:
    if interaction.guild_id is None:
        raise app_commands.NoPrivateMessage()
    return interaction.guild_id


class CollabCog(commands.Cog, name="Collabs"):
    """Collaboration requests: post what you need, members with the skill hear about it, and you meet in private."""

    collab = app_commands.Group(name="collab", description="Collaboration requests", guild_only=True)
    skills = app_commands.Group(name="skills", description="The server's skill list", parent=collab)
    admin = moderator_group("collab", "Collaboration requests (moderators)")
    admin_skills = app_commands.Group(name="skills", description="The server's skill list", parent=admin)
    profile = app_commands.Group(name="profile", description="Your collab profile", guild_only=True)

    def __init__(self, bot: LabelBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(*DYNAMIC_ITEMS)
        _jobs.register(self.bot)
        self.bot.features.privacy.add_forget_hook("collabs", self._forget_member)
        self.bot.features.audit_titles.add(AUDIT_TITLES)
        self.bot.features.dashboard.add(_dashboard.NAME, _dashboard.section, order=_dashboard.ORDER)
        self.bot.features.settings.add("collabs", *SETTING_DEFAULTS)

    async def cog_unload(self) -> None:
        self.bot.features.dashboard.remove(_dashboard.NAME)
        self.bot.remove_dynamic_items(*DYNAMIC_ITEMS)
        _jobs.unregister(self.bot)
        self.bot.features.privacy.remove_forget_hook("collabs")
        self.bot.features.audit_titles.remove(AUDIT_TITLES)
        self.bot.features.settings.remove("collabs")

    async def _forget_member(self, session: AsyncSession, guild_id: int, user_id: int) -> AfterCommit | None:
        return await _privacy.forget_member(self.bot, session, guild_id, user_id)

    # -- autocomplete -----------------------------------------------------------------------------------------

    async def _skill_names(self, interaction: discord.Interaction[LabelBot]) -> list[str]:
        if interaction.guild_id is None:
            return []
        async with self.bot.sessionmaker.begin() as session:
            return [skill.name for skill in await service.skills(session, interaction.guild_id)]

    async def skill_list_autocomplete(
        self, interaction: discord.Interaction[LabelBot], current: str
    ) -> list[app_commands.Choice[str]]:
        """Complete the last of comma-separated skills."""
        *done, last = current.split(",") if current else [""]
        chosen = [" ".join(part.split()) for part in done if part.strip()]
        taken = {service.skill_key(name) for name in chosen}
        fragment = service.skill_key(last)
        prefix = ", ".join(chosen)
        choices: list[app_commands.Choice[str]] = []
        for name in await self._skill_names(interaction):
            if service.skill_key(name) in taken or fragment not in service.skill_key(name):
                continue
            value = f"{prefix}, {name}" if prefix else name
            if len(value) <= 100:
                choices.append(app_commands.Choice(name=value, value=value))
        return choices[:25]

    async def skill_autocomplete(
        self, interaction: discord.Interaction[LabelBot], current: str
    ) -> list[app_commands.Choice[str]]:
        fragment = service.skill_key(current)
        names = [name for name in await self._skill_names(interaction) if fragment in service.skill_key(name)]
        return [app_commands.Choice(name=name, value=name) for name in names[:25]]

    async def request_autocomplete(
        self, interaction: discord.Interaction[LabelBot], current: str
    ) -> list[app_commands.Choice[int]]:
        """The member's own open requests; a moderator's choice covers everyone's."""
        if interaction.guild_id is None:
            return []
        async with self.bot.sessionmaker() as session:
            if await views.moderator_of(interaction, session, interaction.guild_id):
                rows = await repo.open_requests(session, interaction.guild_id)
            else:
                rows = [
                    r
                    for r in await repo.requests_of(session, interaction.guild_id, interaction.user.id)
                    if r.status in ACTIVE_STATUSES
                ]
        needle = current.casefold().strip()
        return [
            app_commands.Choice(name=clip(f"#{r.id} {r.title}", 100), value=r.id)
            for r in rows
            if needle in f"#{r.id} {r.title}".casefold()
        ][:25]

    # -- /collab ----------------------------------------------------------------------------------------------

    @collab.command(name="post")
    @app_commands.rename(expires_in="open_for")
    @app_commands.choices(compensation=COMPENSATION_CHOICES)
    async def post(
        self,
        interaction: discord.Interaction[LabelBot],
        skills: str,
        compensation: app_commands.Choice[str],
        expires_in: str | None = None,
    ) -> None:
        """Post a collaboration request to the collab board; a form asks for the details.

        Args:
            skills: The skills you are looking for, separated by commas (e.g. "mixing engineer, mastering engineer").
            compensation: Paid, unpaid, revenue share or negotiable.
            expires_in: How long it stays open, e.g. "2 weeks" (default: the server's setting, usually 30 days).
        """
        guild_id = _guild_id(interaction)
        # The answer is a modal, which must be the first response, so this can't defer: only quick reads here.
        async with self.bot.sessionmaker.begin() as session:
            settings = await peek_guild_settings(session, guild_id)
            chosen = await service.resolve_skills(session, guild_id, skills)
            lifetime = parse_duration(expires_in) if expires_in else timedelta(days=max(1, settings.collab_expiry_days))
            if lifetime > service.MAX_LIFETIME:
                raise InvalidInput("A request can stay open for at most a year.")
            await service.check_may_post(
                session,
                guild_id,
                interaction.user.id,
                max_open=settings.collab_max_open,
                daily_posts=settings.collab_daily_posts,
            )
            if not settings.collab_approval:
                await board(self.bot, settings.collab_board_channel_id)
            zone = await member_zone(session, interaction.user.id, guild_id)
        context = PostContext(
            guild_id=guild_id,
            skill_ids=tuple(skill.id for skill in chosen),
            compensation=compensation.value,
            lifetime=lifetime,
            zone=zone,
            origin_channel_id=interaction.channel_id,
        )
        await interaction.response.send_modal(PostModal(context))

    @post.autocomplete("skills")
    async def _post_skills(
        self, interaction: discord.Interaction[LabelBot], current: str
    ) -> list[app_commands.Choice[str]]:
        return await self.skill_list_autocomplete(interaction, current)

    @collab.command(name="list")
    async def list_requests(
        self, interaction: discord.Interaction[LabelBot], skill: str | None = None, genre: str | None = None
    ) -> None:
        """Browse open collaboration requests.

        Args:
            skill: Only requests looking for this skill.
            genre: Only requests whose genre or references mention this.
        """
        guild_id = _guild_id(interaction)
        await defer(interaction)
        async with self.bot.sessionmaker.begin() as session:
            skill_id = (await service.find_skill(session, guild_id, skill)).id if skill else None
            rows = await repo.open_requests(session, guild_id, skill_id=skill_id, genre=genre)
            lines = [request_line(r, await service.request_skills(session, r.id)) for r in rows]
        title = "Open collab requests" + (f" · {skill}" if skill else "") + (f" · {genre}" if genre else "")
        pages = pages_of_lines(title, lines, empty="No open requests match; post one with /collab post.")
        await Paginator(interaction.user.id, pages).send(interaction)

    @list_requests.autocomplete("skill")
    async def _list_skill(
        self, interaction: discord.Interaction[LabelBot], current: str
    ) -> list[app_commands.Choice[str]]:
        return await self.skill_autocomplete(interaction, current)

    @collab.command(name="mine")
    async def mine(self, interaction: discord.Interaction[LabelBot]) -> None:
        """Your collaboration requests, open and past."""
        guild_id = _guild_id(interaction)
        await defer(interaction)
        async with self.bot.sessionmaker() as session:
            rows = await repo.requests_of(session, guild_id, interaction.user.id)
            lines = [request_line(r, await service.request_skills(session, r.id)) for r in rows]
        pages = pages_of_lines("Your collab requests", lines, empty="You haven't posted any; try /collab post.")
        await Paginator(interaction.user.id, pages).send(interaction)

    @collab.command(name="close")
    async def close(
        self,
        interaction: discord.Interaction[LabelBot],
        request: int,
        filled_by: discord.Member | None = None,
    ) -> None:
        """Close a collaboration request, optionally recording who filled it.

        Args:
            request: The request to close.
            filled_by: The member who filled it, if anyone.
        """
        guild_id = _guild_id(interaction)
        await defer(interaction)
        closed = await views.close(
            interaction, request, filled_by=filled_by.id if filled_by else None, guild_id=guild_id
        )
        who = f", filled by {filled_by.mention}" if filled_by else ""
        await reply(interaction, f"Closed “{plain(clip(closed.title, 100))}”{who}.")

    @close.autocomplete("request")
    async def _close_request(
        self, interaction: discord.Interaction[LabelBot], current: str
    ) -> list[app_commands.Choice[int]]:
        return await self.request_autocomplete(interaction, current)

    # -- /collab skills, /collab-admin skills -----------------------------------------------------------------

    @skills.command(name="list")
    async def skills_list(self, interaction: discord.Interaction[LabelBot]) -> None:
        """Show the server's skill list."""
        guild_id = _guild_id(interaction)
        await defer(interaction)
        async with self.bot.sessionmaker.begin() as session:
            names = [skill.name for skill in await service.skills(session, guild_id)]
        embed = discord.Embed(
            title=f"Skills ({len(names)}/{service.MAX_SKILLS})",
            description=", ".join(names) or "No skills; moderators can add some with /collab-admin skills add.",
        )
        await reply(interaction, embed=embed)

    @admin_skills.command(name="add")
    @moderator_only()
    async def skills_add(self, interaction: discord.Interaction[LabelBot], name: str) -> None:
        """Add a skill to the server's list (moderators).

        Args:
            name: The skill, e.g. "sound designer".
        """
        guild_id = _guild_id(interaction)
        await defer(interaction)
        async with self.bot.sessionmaker.begin() as session:
            await require_moderator(interaction, session)
            skill = await service.add_skill(session, guild_id, name)
            await audit_record(
                self.bot, session, guild_id=guild_id, actor_id=interaction.user.id, action="collab.skill_add",
                target=skill.name, before=None, after={"skill": skill.name},
            )  # fmt: skip
        await reply(interaction, f"Added “{plain(skill.name)}” to the skill list.")

    @admin_skills.command(name="remove")
    @moderator_only()
    async def skills_remove(self, interaction: discord.Interaction[LabelBot], name: str) -> None:
        """Remove a skill from the server's list (moderators).

        Args:
            name: The skill to remove.
        """
        guild_id = _guild_id(interaction)
        await defer(interaction)
        async with self.bot.sessionmaker.begin() as session:
            await require_moderator(interaction, session)
            skill = await service.remove_skill(session, guild_id, name)
            await audit_record(
                self.bot, session, guild_id=guild_id, actor_id=interaction.user.id, action="collab.skill_remove",
                target=skill.name, before={"skill": skill.name}, after=None,
            )  # fmt: skip
        await reply(interaction, f"Removed “{plain(skill.name)}” from the skill list.")

    @skills_remove.autocomplete("name")
    async def _remove_name(
        self, interaction: discord.Interaction[LabelBot], current: str
    ) -> list[app_commands.Choice[str]]:
        return await self.skill_autocomplete(interaction, current)

    # -- /profile ---------------------------------------------------------------------------------------------

    @profile.command(name="skills")
    @app_commands.choices(
        alerts_in=[
            app_commands.Choice(name="the collab board", value="board"),
            app_commands.Choice(name="DMs", value="dm"),
        ]
    )
    async def profile_skills(
        self,
        interaction: discord.Interaction[LabelBot],
        alerts: bool | None = None,
        alerts_in: app_commands.Choice[str] | None = None,
        bio: app_commands.Range[str, 0, service.BIO_MAX] | None = None,
        links: app_commands.Range[str, 0, service.LINKS_MAX] | None = None,
    ) -> None:
        """Pick your skills, and choose whether and where you hear about matching requests.

        Args:
            alerts: Hear about new requests that want one of your skills.
            alerts_in: Where: a ping in the collab board, or a DM.
            bio: A short bio (a single space clears it).
            links: Links to your work (a single space clears them).
        """
        guild_id = _guild_id(interaction)
        await defer(interaction)
        async with self.bot.sessionmaker.begin() as session:
            await service.update_profile(
                session,
                guild_id,
                interaction.user.id,
                alerts=alerts,
                alert_via=alerts_in.value if alerts_in else None,
                bio=bio,
                links=links,
            )
            available = await service.skills(session, guild_id)
            profile = await service.load_profile(session, guild_id, interaction.user.id)
        picker = SkillPicker(interaction.user.id, guild_id, available, {skill.id for skill in profile.skills})
        await reply(
            interaction,
            "Pick your skills below; your profile is saved as you go.",
            embed=own_profile_embed(profile, interaction.user.display_name),
            view=picker,
        )
        picker.message = await interaction.original_response()

    @profile.command(name="show")
    async def profile_show(
        self, interaction: discord.Interaction[LabelBot], member: discord.Member | None = None
    ) -> None:
        """Show a member's collab profile (yours if you name nobody).

        Args:
            member: Whose profile to show.
        """
        guild_id = _guild_id(interaction)
        await defer(interaction)
        target = member or interaction.user
        async with self.bot.sessionmaker.begin() as session:
            profile = await service.load_profile(session, guild_id, target.id)
            # Contact is shared on acceptance only (see /collab): others see links once an introduction happened.
            show_links = await _privacy.links_shared(session, guild_id, target.id, interaction.user.id)
        if profile.row is None and not profile.skills:
            if target.id == interaction.user.id:
                raise NotFound("You have no collab profile yet; set one up with /profile skills.")
            raise NotFound(f"{target.display_name} has no collab profile yet.")
        if target.id == interaction.user.id:
            embed = own_profile_embed(profile, target.display_name)
        else:
            embed = profile_embed(profile, target.display_name, with_links=show_links)
        await reply(interaction, embed=embed)

    @profile.command(name="delete")
    async def profile_delete(self, interaction: discord.Interaction[LabelBot]) -> None:
        """Delete your collab profile here: skills, bio, links, alert choice and the alerts you got."""
        guild_id = _guild_id(interaction)
        async with self.bot.sessionmaker() as session:
            profile = await service.load_profile(session, guild_id, interaction.user.id)
        if profile.row is None and not profile.skills:
            raise NotFound("You have no collab profile to delete.")
        question = (
            "Delete your collab profile? Your skills, bio, links and alert choice go, and you stop hearing about "
            "matching requests. Your requests and interests stay (use /forget-me to remove everything)."
        )
        answer, click = await ask(interaction, question, [Option("Delete my profile", "delete")])
        if click is None:
            return  # timed out; ask() said so
        if answer is None:
            await click.edit_original_response(content="Your profile is unchanged.", allowed_mentions=NO_MENTIONS)
            return
        async with self.bot.sessionmaker.begin() as session:
            await _privacy.delete_profile(session, guild_id, interaction.user.id)
        await click.edit_original_response(
            content="Deleted your collab profile. Set up a new one any time with /profile skills.",
            view=None,
            allowed_mentions=NO_MENTIONS,
        )
