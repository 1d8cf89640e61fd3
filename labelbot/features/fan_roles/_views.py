"""The buttons and menus of posted panels and of the private picker: persistent, keyed by panel and role ids."""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from typing import Any, cast

import discord
from sqlalchemy.ext.asyncio import AsyncSession

from labelbot.errors import NotFound
from labelbot.features.fan_roles import _service as service
from labelbot.features.fan_roles._service import shown, split_entries
from labelbot.guilds.models import GuildSettings
from labelbot.interactions import defer, guild_of, member_of, reply
from labelbot.models.fan_roles import FanRolePanel, FanRolePanelEntry, PanelMode, PanelStyle
from labelbot.ui.dynamic import PersistentItem

TOGGLE_PREFIX = "fan_roles:toggle"
MENU_PREFIX = "fan_roles:menu"


async def _pressed_panel(
    interaction: discord.Interaction[Any], guild_id: int, member: discord.Member, panel_id: int
) -> tuple[FanRolePanel, GuildSettings]:
    """The panel and settings as an earlier press read them (unless written since), else read now."""
    bot = interaction.client
    known = service.known_panel_for_member(bot, guild_id, member, panel_id)
    if known is not None:
        return known
    async with bot.sessionmaker() as session:
        return await service.panel_for_member(session, guild_id, member, panel_id, bot=bot)


async def _counts_changed(interaction: discord.Interaction[Any], guild_id: int, change: service.RoleChange) -> None:
    """Count the change for the dashboard, and the panels' fan counts catch up shortly (one refresh for a burst of
    presses); after the reply, so the fan never waits on it. A burst's counts share one transaction."""
    if change:
        bot = interaction.client

        async def count(session: AsyncSession) -> None:
            service.count_change(session, guild_id, change)
            await service.schedule_counts_refresh(bot, session, guild_id, periodic=False)

        await bot.batcher.run(count)


def _emoji(text: str | None) -> discord.PartialEmoji | None:
    return discord.PartialEmoji.from_str(text) if text else None


class PanelRoleButton(
    PersistentItem[discord.ui.Button[Any]], template=r"fan_roles:toggle:(?P<panel_id>\d+):(?P<role_id>\d+)"
):
    """A panel button: gives or takes one role."""

    def __init__(self, panel_id: int, role_id: int, *, label: str | None = None, emoji: str | None = None) -> None:
        super().__init__(
            discord.ui.Button(
                style=discord.ButtonStyle.secondary,
                label=label,
                emoji=_emoji(emoji),
                custom_id=f"{TOGGLE_PREFIX}:{panel_id}:{role_id}",
            )
        )
        self.panel_id = panel_id
        self.role_id = role_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> PanelRoleButton:
        return cls(int(match["panel_id"]), int(match["role_id"]))

    async def run(self, interaction: discord.Interaction[Any]) -> None:
        """A fan pressed a panel button: give or take its role."""
        await defer(interaction)
        guild = guild_of(interaction)
        member = member_of(interaction)
        panel, settings = await _pressed_panel(interaction, guild.id, member, self.panel_id)
        panel_roles = [entry.role_id for entry in panel.entries]
        if self.role_id not in panel_roles:
            raise NotFound("That role is no longer on this panel.")
        held = {role.id for role in member.roles}
        change = service.toggle(panel.mode, panel.max_roles, panel_roles, held, self.role_id)
        await service.apply_change(interaction.client, guild, member, change, f"role panel {panel.name}", settings)
        await reply(interaction, service.describe_change(change))
        await _counts_changed(interaction, guild.id, change)


class PanelRoleMenu(PersistentItem[discord.ui.Select[Any]], template=r"fan_roles:menu:(?P<panel_id>\d+):(?P<part>\d+)"):
    """A panel's select menu (one per message of the panel): the member holds exactly what they chose in it."""

    def __init__(
        self,
        panel_id: int,
        part: int,
        *,
        options: Sequence[discord.SelectOption] = (),
        placeholder: str | None = None,
        max_values: int = 1,
    ) -> None:
        super().__init__(
            discord.ui.Select(
                custom_id=f"{MENU_PREFIX}:{panel_id}:{part}",
                options=list(options),
                placeholder=placeholder,
                min_values=0,
                max_values=max(1, max_values),
            )
        )
        self.panel_id = panel_id
        self.part = part

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> PanelRoleMenu:
        return cls(int(match["panel_id"]), int(match["part"]))

    async def run(self, interaction: discord.Interaction[Any]) -> None:
        data = cast("dict[str, Any]", interaction.data or {})
        values = [int(v) for v in data.get("values", []) if str(v).isdigit()]
        await defer(interaction)
        guild = guild_of(interaction)
        member = member_of(interaction)
        panel, settings = await _pressed_panel(interaction, guild.id, member, self.panel_id)
        parts = split_entries(panel.entries, PanelStyle.SELECT)
        menu_roles = [entry.role_id for entry in parts[self.part]] if self.part < len(parts) else []
        held = {role.id for role in member.roles}
        change = service.choose(
            panel.mode, panel.max_roles, [e.role_id for e in panel.entries], menu_roles, held, values
        )
        await service.apply_change(interaction.client, guild, member, change, f"role panel {panel.name}", settings)
        await reply(interaction, service.describe_change(change))
        await _counts_changed(interaction, guild.id, change)


def _menu(panel: FanRolePanel, part: int, entries: Sequence[FanRolePanelEntry], held: Collection[int]) -> PanelRoleMenu:
    options = [
        discord.SelectOption(
            label=entry.label,
            value=str(entry.role_id),
            description=entry.description,
            emoji=_emoji(entry.emoji),
            default=entry.role_id in held,
        )
        for entry in entries
    ]
    if panel.mode == PanelMode.ONE:
        most = 1
    elif panel.mode == PanelMode.AT_MOST and panel.max_roles is not None:
        most = min(panel.max_roles, len(options))
    else:
        most = len(options)
    return PanelRoleMenu(
        panel.id, part, options=options, placeholder=shown(panel.name)[:150], max_values=max(1, min(most, len(options)))
    )


def panel_views(panel: FanRolePanel) -> list[discord.ui.View]:
    """The components of each message of a posted panel (one view per message)."""
    views = []
    for part, entries in enumerate(split_entries(panel.entries, panel.style)):
        view = discord.ui.View(timeout=None)
        if panel.style == PanelStyle.BUTTONS:
            for entry in entries:
                view.add_item(PanelRoleButton(panel.id, entry.role_id, label=entry.label, emoji=entry.emoji))
        elif entries:
            view.add_item(_menu(panel, part, entries, held=()))
        views.append(view)
    return views


# A message holds 5 rows; each menu takes a whole row.
MENUS_PER_MESSAGE = 5


def picker_views(panels: Sequence[FanRolePanel], held: Collection[int]) -> list[discord.ui.View]:
    """The private picker: a menu per panel (per 25 roles), showing what the member holds, 5 menus per message."""
    menus = [
        _menu(panel, part, entries, held)
        for panel in panels
        for part, entries in enumerate(split_entries(panel.entries, PanelStyle.SELECT))
        if entries
    ]
    views = []
    for start in range(0, len(menus), MENUS_PER_MESSAGE):
        view = discord.ui.View(timeout=None)
        for menu in menus[start : start + MENUS_PER_MESSAGE]:
            view.add_item(menu)
        views.append(view)
    return views
