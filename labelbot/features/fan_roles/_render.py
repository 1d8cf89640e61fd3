"""Embeds of panels, panel lists, tiers and a member's standing."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import discord

from labelbot.features.fan_roles._service import TierRule, mode_words, next_tier, shown
from labelbot.models.fan_roles import FanRolePanel, FanRolePanelEntry, LoyaltyTier, PanelMode, PanelStyle
from labelbot.registry import SettingDefault
from labelbot.text import clip

COLOUR = discord.Colour.purple()
DESCRIPTION_LIMIT = 4096
FIELD_LIMIT = 1024


def fans(count: int) -> str:
    return f"{count} fan{'s' if count != 1 else ''}"


def entry_line(entry: FanRolePanelEntry, fan_counts: Mapping[str, int] | None = None) -> str:
    emoji = f"{entry.emoji} " if entry.emoji else ""
    line = f"{emoji}<@&{entry.role_id}> **{shown(entry.label)}**"
    if entry.description:
        line += f" — {shown(entry.description)}"
    count = fan_counts.get(str(entry.role_id)) if fan_counts is not None else None
    if count is not None:
        line += f" · {fans(count)}"
    return line


def shown_counts(entries: Sequence[FanRolePanelEntry], counts: Mapping[int, int] | None) -> dict[str, int] | None:
    """The counts a panel shows, keyed as stored (JSON keys are strings); None when Discord gave none."""
    if counts is None:
        return None
    return {str(entry.role_id): counts[entry.role_id] for entry in entries if entry.role_id in counts}


def how_to(panel: FanRolePanel) -> str:
    action = (
        "Press a button to get or drop a role" if panel.style == PanelStyle.BUTTONS else "Pick your roles in the menu"
    )
    rule = {
        PanelMode.ANY: "take as many as you like.",
        PanelMode.ONE: "you hold one at a time (picking another swaps it).",
        PanelMode.AT_MOST: f"you can hold up to {panel.max_roles}.",
    }[PanelMode(panel.mode)]
    text = f"{action}; {rule}"
    if panel.required_role_id is not None:
        text += f" Needs <@&{panel.required_role_id}>."
    return text


def panel_embed(
    panel: FanRolePanel,
    entries: Sequence[FanRolePanelEntry],
    part: int,
    parts: int,
    fan_counts: Mapping[str, int] | None = None,
) -> discord.Embed:
    """One message of a posted panel: its roles with their fan counts, and how to use it."""
    title = shown(panel.name) + (f" ({part + 1}/{parts})" if parts > 1 else "")
    lines = [entry_line(entry, fan_counts) for entry in entries] or ["No roles yet."]
    description = how_to(panel) + "\n\n" + "\n".join(lines)
    return discord.Embed(title=clip(title, 256), description=clip(description, DESCRIPTION_LIMIT), colour=COLOUR)


def panels_embed(panels: Sequence[FanRolePanel]) -> discord.Embed:
    embed = discord.Embed(title="Role panels", colour=COLOUR)
    if not panels:
        embed.description = "No panels yet. Create one with `/roles-admin panel create`."
        return embed
    for panel in panels[:25]:
        posted = f"posted in <#{panel.channel_id}>" if panel.message_ids else f"not posted yet (<#{panel.channel_id}>)"
        needs = f", needs <@&{panel.required_role_id}>" if panel.required_role_id else ""
        roles = ", ".join(f"<@&{entry.role_id}>" for entry in panel.entries) or "no roles"
        embed.add_field(
            name=clip(panel.name, 256),
            value=clip(
                f"{panel.style}, {mode_words(panel.mode, panel.max_roles)}{needs}; {posted}\n{roles}", FIELD_LIMIT
            ),
            inline=False,
        )
    if len(panels) > 25:
        embed.set_footer(text=f"and {len(panels) - 25} more")
    return embed


def tiers_embed(tiers: Sequence[LoyaltyTier], keep_lower: bool) -> discord.Embed:
    embed = discord.Embed(title="Loyalty tiers", colour=COLOUR)
    if not tiers:
        embed.description = "No tiers yet. Add one with `/roles-admin tiers set`."
        return embed
    lines = [f"<@&{tier.role_id}>: {tier.threshold} part{'y' if tier.threshold == 1 else 'ies'}" for tier in tiers]
    embed.description = "\n".join(lines)
    embed.set_footer(
        text="Members keep lower tiers as they climb." if keep_lower else "Members hold only their highest tier."
    )
    return embed


def standing_embed(
    member: discord.Member,
    fan_role_ids: Sequence[int],
    attended: int,
    tiers: Sequence[TierRule],
    tier_role_ids: Sequence[int],
    *,
    fan_counts: Mapping[int, int] | None = None,
) -> discord.Embed:
    """What /roles me shows a member; with `fan_counts`, how many fans each followed role has."""
    embed = discord.Embed(title=f"Your fan roles in {member.guild.name}", colour=COLOUR)

    def following(role_id: int) -> str:
        if fan_counts is None or role_id not in fan_counts:
            return f"<@&{role_id}>"
        return f"<@&{role_id}> ({fans(fan_counts[role_id])})"

    embed.add_field(
        name="Following",
        value=clip(" ".join(following(r) for r in fan_role_ids) or "Nothing yet.", FIELD_LIMIT),
        inline=False,
    )
    embed.add_field(name="Parties attended", value=str(attended))
    held = [t for t in sorted(tiers, key=lambda t: t.threshold) if t.role_id in tier_role_ids]
    embed.add_field(name="Tier", value=f"<@&{held[-1].role_id}>" if held else "None yet")
    upcoming = next_tier(attended, tiers)
    if upcoming is not None:
        more = upcoming.threshold - attended
        embed.add_field(
            name="Next tier",
            value=f"<@&{upcoming.role_id}> after {more} more part{'y' if more == 1 else 'ies'}",
            inline=False,
        )
    return embed


# How the role panel and tier actions read in the mod log and /settings audit.
AUDIT_TITLES = {
    "fan_roles.panel_create": "Role panel created",
    "fan_roles.panel_add": "Role added to a panel",
    "fan_roles.panel_remove": "Role taken off a panel",
    "fan_roles.panel_delete": "Role panel deleted",
    "fan_roles.role_gone": "Deleted role dropped from a panel",
    "fan_roles.tier_set": "Loyalty tier set",
    "fan_roles.tier_remove": "Loyalty tier removed",
}


# This feature's own server settings and what a new server starts with (registered in cog_load).
SETTING_DEFAULTS = (SettingDefault("tier_keep_lower", False, "Supporters keep the roles of lower tiers"),)
