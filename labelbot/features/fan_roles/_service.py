"""The rules of fan-role panels and loyalty tiers, and their state changes (the caller owns the transaction)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING

import discord
from sqlalchemy.ext.asyncio import AsyncSession

from labelbot.audit.service import record
from labelbot.db.base import utcnow
from labelbot.db.batch import after_commit
from labelbot.db.readcache import ReadCache
from labelbot.errors import BotLacksPermissions, Conflict, InvalidInput, NotAllowed, NotFound, TryAgainLater
from labelbot.features.fan_roles import _repository as repository
from labelbot.guilds.models import GuildSettings
from labelbot.jobs import JobStatus
from labelbot.models.fan_roles import (
    DESCRIPTION_MAX,
    EMOJI_MAX,
    LABEL_MAX,
    PANEL_NAME_MAX,
    FanRolePanel,
    FanRolePanelEntry,
    LoyaltyTier,
    PanelMode,
    PanelStyle,
)
from labelbot.permissions import role_refusal
from labelbot.role_requests import RoleOutcome, RoleRequestFailed
from labelbot.text import plain

if TYPE_CHECKING:
    from labelbot.client import LabelBot

# Discord: a message holds 5 rows of 5 buttons, a select menu 25 options (one menu per panel message here).
BUTTONS_PER_MESSAGE = 25
OPTIONS_PER_SELECT = 25
# A panel is posted as at most this many messages, so one post stays within a channel's 5 messages / 5 s.
MAX_MESSAGES_PER_PANEL = 5
MAX_PANEL_ROLES = BUTTONS_PER_MESSAGE * MAX_MESSAGES_PER_PANEL
MAX_TIERS = 25

MODE_WORDS = {PanelMode.ANY: "any number", PanelMode.ONE: "exactly one", PanelMode.AT_MOST: "at most {n}"}


def mode_words(mode: str, max_roles: int | None) -> str:
    """How a mode reads to a member: "any number", "exactly one", "at most 2"."""
    return MODE_WORDS[PanelMode(mode)].format(n=max_roles)


def shown(text: str) -> str:
    """Text a member typed, safe to echo back: no pings, no markdown tricks, one line."""
    return plain(" ".join(text.split()))


async def find_panel(session: AsyncSession, guild_id: int, name: str) -> FanRolePanel:
    """The server's panel with this name, or NotFound saying so."""
    panel = await repository.panel_by_name(session, guild_id, name)
    if panel is None:
        raise NotFound(f"There is no role panel called “{shown(name)[:100]}” in this server.")
    return panel


@dataclass(frozen=True)
class PanelSpec:
    """What a moderator asked for when creating a panel, before it is checked."""

    name: str
    style: str
    mode: str
    max_roles: int | None
    required_role_id: int | None
    channel_id: int


def check_panel_spec(spec: PanelSpec) -> PanelSpec:
    """Refuse a panel that can't work; return it with the name tidied."""
    name = " ".join(spec.name.split())
    if not name:
        raise InvalidInput("Give the panel a name.")
    if len(name) > PANEL_NAME_MAX:
        raise InvalidInput(f"A panel name can be at most {PANEL_NAME_MAX} characters.")
    if spec.style not in set(PanelStyle):
        raise InvalidInput("The style must be buttons or select.")
    if spec.mode not in set(PanelMode):
        raise InvalidInput("The mode must be any number, exactly one or at most N.")
    if spec.mode == PanelMode.AT_MOST:
        if spec.max_roles is None:
            raise InvalidInput("Mode “at most N” needs `max`: how many of the panel's roles a member may hold.")
        if spec.max_roles < 1:
            raise InvalidInput("`max` must be at least 1 for mode “at most N”.")
    elif spec.max_roles is not None:
        raise InvalidInput("`max` only applies to mode “at most N”; leave it out for this mode.")
    return PanelSpec(name, spec.style, spec.mode, spec.max_roles, spec.required_role_id, spec.channel_id)


async def create_panel(session: AsyncSession, guild_id: int, spec: PanelSpec, actor_id: int) -> FanRolePanel:
    """Store a new, empty panel (checked first)."""
    spec = check_panel_spec(spec)
    if await repository.panel_by_name(session, guild_id, spec.name) is not None:
        raise Conflict(f"There is already a role panel called “{shown(spec.name)}”.")
    panel = FanRolePanel(
        guild_id=guild_id,
        name=spec.name,
        name_key=repository.name_key(spec.name),
        style=spec.style,
        mode=spec.mode,
        max_roles=spec.max_roles,
        required_role_id=spec.required_role_id,
        channel_id=spec.channel_id,
        message_ids=[],
        created_by=actor_id,
    )
    session.add(panel)
    await session.flush()
    return panel


@dataclass(frozen=True)
class EntrySpec:
    role_id: int
    artist_id: int | None
    label: str
    emoji: str | None
    description: str | None


def check_entry_spec(panel: FanRolePanel, entries: Sequence[FanRolePanelEntry], spec: EntrySpec) -> EntrySpec:
    """Refuse a role the panel can't take; return the entry with its texts tidied."""
    label = " ".join(spec.label.split())
    if not label:
        raise InvalidInput("The label can't be empty.")
    if len(label) > LABEL_MAX:
        raise InvalidInput(f"A label can be at most {LABEL_MAX} characters.")
    description = " ".join(spec.description.split()) if spec.description else None
    if description and len(description) > DESCRIPTION_MAX:
        raise InvalidInput(f"A description can be at most {DESCRIPTION_MAX} characters.")
    emoji = spec.emoji.strip() if spec.emoji else None
    if emoji and len(emoji) > EMOJI_MAX:
        raise InvalidInput("That emoji is too long; use one emoji.")
    if any(entry.role_id == spec.role_id for entry in entries):
        raise Conflict(f"<@&{spec.role_id}> is already on the panel “{shown(panel.name)}”.")
    if panel.required_role_id == spec.role_id:
        raise InvalidInput("The panel's required role can't also be one of its choices.")
    if len(entries) >= MAX_PANEL_ROLES:
        raise InvalidInput(f"A panel holds at most {MAX_PANEL_ROLES} roles; make a second panel.")
    return EntrySpec(spec.role_id, spec.artist_id, label, emoji or None, description or None)


async def add_entry(session: AsyncSession, panel: FanRolePanel, spec: EntrySpec, actor_id: int) -> FanRolePanelEntry:
    """Put a role on the panel, last (checked first)."""
    entries = await repository.entries_of(session, panel.id)
    spec = check_entry_spec(panel, entries, spec)
    entry = FanRolePanelEntry(
        panel_id=panel.id,
        role_id=spec.role_id,
        artist_id=spec.artist_id,
        label=spec.label,
        emoji=spec.emoji,
        description=spec.description,
        position=max((e.position for e in entries), default=-1) + 1,
        added_by=actor_id,
    )
    session.add(entry)
    await session.flush()
    return entry


def split_entries(entries: Sequence[FanRolePanelEntry], style: str) -> list[list[FanRolePanelEntry]]:
    """The panel's roles, message by message: 25 buttons (5 rows of 5) or one menu of 25 options per message."""
    size = BUTTONS_PER_MESSAGE if style == PanelStyle.BUTTONS else OPTIONS_PER_SELECT
    ordered = sorted(entries, key=lambda e: e.position)
    return [list(ordered[i : i + size]) for i in range(0, len(ordered), size)] or [[]]


# -- what a member's pick changes ------------------------------------------------------------------------------


@dataclass
class RoleChange:
    """Roles to give and to take away, by id."""

    added: list[int] = field(default_factory=list)
    removed: list[int] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.added or self.removed)


def toggle(
    mode: str, max_roles: int | None, panel_roles: Sequence[int], held: Collection[int], role_id: int
) -> RoleChange:
    """A button press: take the role away if held, else give it, keeping to the panel's mode."""
    if role_id in held:
        return RoleChange(removed=[role_id])
    held_here = [r for r in panel_roles if r in held]
    if mode == PanelMode.ONE:
        return RoleChange(added=[role_id], removed=held_here)
    if mode == PanelMode.AT_MOST and max_roles is not None and len(held_here) >= max_roles:
        raise NotAllowed(
            f"You can hold at most {max_roles} of this panel's roles; remove one of yours before picking another."
        )
    return RoleChange(added=[role_id])


def choose(
    mode: str,
    max_roles: int | None,
    panel_roles: Sequence[int],
    menu_roles: Sequence[int],
    held: Collection[int],
    chosen: Collection[int],
) -> RoleChange:
    """A select menu: the member holds exactly the chosen roles among the menu's, keeping to the panel's mode."""
    unknown = [r for r in chosen if r not in menu_roles]
    if unknown:
        raise NotFound("Some of those roles are no longer on this panel; open it again to see what's there now.")
    held_here = {r for r in panel_roles if r in held}
    wanted = {r for r in held_here if r not in menu_roles} | set(chosen)
    if mode == PanelMode.ONE:
        if len(chosen) > 1:
            raise NotAllowed("You can hold only one of this panel's roles; pick one.")
        if chosen:
            wanted = set(chosen)
    if mode == PanelMode.AT_MOST and max_roles is not None and len(wanted) > max_roles:
        raise NotAllowed(f"You can hold at most {max_roles} of this panel's roles; pick fewer.")
    return RoleChange(
        added=[r for r in panel_roles if r in wanted and r not in held_here],
        removed=[r for r in panel_roles if r in held_here and r not in wanted],
    )


def describe_change(change: RoleChange) -> str:
    """One sentence saying what changed, roles as mentions (sent without pinging)."""

    def listed(role_ids: Sequence[int]) -> str:
        mentions = [f"<@&{r}>" for r in role_ids]
        return mentions[0] if len(mentions) == 1 else ", ".join(mentions[:-1]) + " and " + mentions[-1]

    if change.added and change.removed:
        return f"Gave you {listed(change.added)} and took away {listed(change.removed)}."
    if change.added:
        return f"Gave you {listed(change.added)}."
    if change.removed:
        return f"Took away {listed(change.removed)}."
    return "Nothing changed: you already have exactly those roles."


# -- loyalty tiers ---------------------------------------------------------------------------------------------


def check_threshold(threshold: int) -> None:
    if threshold < 1:
        raise InvalidInput("The threshold is a number of parties attended and must be at least 1.")


async def set_tier(session: AsyncSession, guild_id: int, role_id: int, threshold: int, actor_id: int) -> int | None:
    """Make the role a tier earned at `threshold` parties (or move its threshold); return the old threshold."""
    check_threshold(threshold)
    existing = await repository.tier_by_role(session, guild_id, role_id)
    same_threshold = await repository.tier_by_threshold(session, guild_id, threshold)
    if same_threshold is not None and same_threshold.role_id != role_id:
        raise Conflict(
            f"<@&{same_threshold.role_id}> is already the tier for {threshold} parties; pick another number."
        )
    if existing is not None:
        before = existing.threshold
        existing.threshold = threshold
        await session.flush()
        return before
    if len(await repository.tiers(session, guild_id)) >= MAX_TIERS:
        raise InvalidInput(f"A server can have at most {MAX_TIERS} loyalty tiers.")
    session.add(LoyaltyTier(guild_id=guild_id, role_id=role_id, threshold=threshold, created_by=actor_id))
    await session.flush()
    return None


async def remove_tier(session: AsyncSession, guild_id: int, role_id: int) -> LoyaltyTier:
    tier = await repository.tier_by_role(session, guild_id, role_id)
    if tier is None:
        raise NotFound(f"<@&{role_id}> is not a loyalty tier.")
    await session.delete(tier)
    await session.flush()
    return tier


@dataclass(frozen=True)
class TierRule:
    role_id: int
    threshold: int


def tier_roles_for(attended: int, tiers: Sequence[TierRule], keep_lower: bool) -> set[int]:
    """The tier roles a member with this many parties should hold: the highest reached, plus lower ones if kept."""
    reached = sorted((t for t in tiers if t.threshold <= attended), key=lambda t: t.threshold)
    if not reached:
        return set()
    if keep_lower:
        return {t.role_id for t in reached}
    return {reached[-1].role_id}


def tier_change(attended: int, tiers: Sequence[TierRule], keep_lower: bool, held: Collection[int]) -> RoleChange:
    """What to give and take so the member holds exactly the tier roles they should."""
    wanted = tier_roles_for(attended, tiers, keep_lower)
    ordered = [t.role_id for t in sorted(tiers, key=lambda t: t.threshold)]
    return RoleChange(
        added=[r for r in ordered if r in wanted and r not in held],
        removed=[r for r in ordered if r not in wanted and r in held],
    )


def next_tier(attended: int, tiers: Sequence[TierRule]) -> TierRule | None:
    """The lowest tier the member has not reached yet."""
    ahead = sorted((t for t in tiers if t.threshold > attended), key=lambda t: t.threshold)
    return ahead[0] if ahead else None


# -- a fan at a panel ------------------------------------------------------------------------------------------


def check_role_safe(guild: discord.Guild, role: discord.Role, settings: GuildSettings) -> None:
    """Refuse, with the reason, a role the bot must not hand out (asked when set up and again at every grant)."""
    me = guild.me
    refusal = role_refusal(role, me, settings)
    if refusal is None:
        return
    if not me.guild_permissions.manage_roles or role >= me.top_role:
        raise BotLacksPermissions(refusal)
    raise NotAllowed(refusal)


# A pressed panel and the server's settings, kept between presses until either is written (labelbot/db/readcache.py);
# a change this process cannot see (another process, the CLI) is read after this many seconds at most.
PANEL_CACHE_SECONDS = 10.0
PRESSED_PANELS = "fan_roles.pressed_panels"


def _pressed_cache(bot: LabelBot) -> ReadCache[tuple[FanRolePanel, GuildSettings]]:
    cache: ReadCache[tuple[FanRolePanel, GuildSettings]] | None = bot.memos.get(PRESSED_PANELS)
    if cache is None:
        tables = [FanRolePanel.__table__, FanRolePanelEntry.__table__, GuildSettings.__table__]
        cache = bot.memos[PRESSED_PANELS] = ReadCache(tables, ttl=PANEL_CACHE_SECONDS)  # type: ignore[arg-type]
    return cache


def known_panel_for_member(
    bot: LabelBot, guild_id: int, member: discord.Member, panel_id: int
) -> tuple[FanRolePanel, GuildSettings] | None:
    """The pressed panel and the settings as read by an earlier press, if neither was written since; no query.

    200 simultaneous presses of one panel read it once: on SQLite's one connection each read queued them all.
    """
    found = _pressed_cache(bot).get((guild_id, panel_id))
    if found is not None:
        _check_required_role(found[0], member)
    return found


async def panel_for_member(
    session: AsyncSession, guild_id: int, member: discord.Member, panel_id: int, *, bot: LabelBot | None = None
) -> tuple[FanRolePanel, GuildSettings]:
    """The panel a member pressed and the server's settings, or why the member can't use it.

    With `bot`, what was read is kept for the next presses (see `known_panel_for_member`).
    """
    # Settings are read with the panel (the moderator role may have been set since the panel was posted), in the
    # panel's query: on SQLite's one connection each extra query of 200 simultaneous presses queues them all.
    cache = _pressed_cache(bot) if bot is not None else None
    stamp = cache.stamp() if cache is not None else ()
    panel, stored = await repository.panel_with_settings(session, guild_id, panel_id)
    if panel is None:
        raise NotFound("This role panel no longer exists.")
    settings = stored if stored is not None else GuildSettings(guild_id=guild_id)
    if cache is not None:
        cache.put((guild_id, panel_id), (panel, settings), stamp)
    _check_required_role(panel, member)
    return panel, settings


def _check_required_role(panel: FanRolePanel, member: discord.Member) -> None:
    if panel.required_role_id is not None and not any(r.id == panel.required_role_id for r in member.roles):
        raise NotAllowed(f"This panel is only for members with <@&{panel.required_role_id}>.")


async def apply_change(
    bot: LabelBot,
    guild: discord.Guild,
    member: discord.Member,
    change: RoleChange,
    why: str,
    settings: GuildSettings,
) -> None:
    """Give, then take away, the roles (a failed swap leaves the member with both, never with neither).

    Every role given is checked again first, so nothing changes when one of them has become powerful.
    Called with no session open: each role change is a request to Discord.
    """
    for role_id in change.added:
        role = guild.get_role(role_id)
        if role is None:
            raise NotFound("That role no longer exists in this server.")
        check_role_safe(guild, role, settings)
    requests = bot.features.role_grants.requests(bot)
    try:
        for role_id in change.added:
            outcome = await requests.add(guild.id, member.id, role_id, reason=f"Picked on the {why}")
            if outcome is RoleOutcome.ROLE_GONE:
                raise NotFound("That role no longer exists in this server.")
        for role_id in change.removed:
            await requests.remove(guild.id, member.id, role_id, reason=f"Dropped on the {why}")
    except RoleRequestFailed as error:
        if error.status == 403:
            raise BotLacksPermissions(
                "Discord won't let me change that role; a moderator needs to give me Manage Roles "
                "and put my role above it."
            ) from error
        raise TryAgainLater("Discord didn't take the role change; try again in a moment.") from error


def count_change(session: AsyncSession, guild_id: int, change: RoleChange) -> None:
    """Count what a panel click changed, once Discord took it (the dashboard's fan-role growth)."""
    repository.count_changes(session, guild_id, change.added, change.removed)


# -- panels and tiers as the commands read and change them ----------------------------------------------------


async def panels(session: AsyncSession, guild_id: int) -> Sequence[FanRolePanel]:
    return await repository.panels(session, guild_id)


async def panel_by_id(session: AsyncSession, guild_id: int, panel_id: int) -> FanRolePanel | None:
    return await repository.panel_by_id(session, guild_id, panel_id)


async def tiers(session: AsyncSession, guild_id: int) -> Sequence[LoyaltyTier]:
    return await repository.tiers(session, guild_id)


async def attendee_count(session: AsyncSession, guild_id: int) -> int:
    return await repository.attendee_count(session, guild_id)


async def record_attendance(session: AsyncSession, guild_id: int, user_id: int, party_id: int) -> None:
    await repository.record_attendance(session, guild_id, user_id, party_id)


async def standing(
    session: AsyncSession, guild_id: int, member_id: int
) -> tuple[Sequence[FanRolePanel], int, list[TierRule]]:
    """What /roles me shows: the server's panels, the member's parties attended and the tiers."""
    found = await repository.panels(session, guild_id)
    attended = await repository.attendance_count(session, guild_id, member_id)
    rules = [TierRule(t.role_id, t.threshold) for t in await repository.tiers(session, guild_id)]
    return found, attended, rules


async def remove_entry(session: AsyncSession, panel: FanRolePanel, role: discord.Role) -> FanRolePanelEntry:
    """Take a role off a panel (the caller records it)."""
    entry = next((e for e in panel.entries if e.role_id == role.id), None)
    if entry is None:
        raise NotFound(f"{role.mention} is not on the panel “{shown(panel.name)}”.")
    await repository.delete_entries(session, [entry.id])
    return entry


async def drop_gone_roles(
    bot: LabelBot, session: AsyncSession, guild: discord.Guild, panel: FanRolePanel, actor_id: int
) -> list[FanRolePanelEntry]:
    """Drop the panel's roles deleted in Discord, each noted in the mod log; the ones dropped."""
    gone = [entry for entry in panel.entries if guild.get_role(entry.role_id) is None]
    for entry in gone:
        await record(
            bot,
            session,
            guild_id=guild.id,
            actor_id=actor_id,
            action="fan_roles.role_gone",
            target=f"role panel {panel.name}",
            before={"role_id": entry.role_id, "label": entry.label, "reason": "role deleted in Discord"},
            after=None,
        )
    await repository.delete_entries(session, [entry.id for entry in gone])
    return gone


# -- fan counts on posted panels --------------------------------------------------------------------------------

COUNTS_REFRESH = "fan_roles.panel_counts"
# After a press, the panels' counts catch up within this: presses in the meantime share one count request.
COUNTS_AFTER_PRESS = timedelta(seconds=60)
# Roles also change outside the panels (moderators, other bots): the counts are refreshed this often anyway.
COUNTS_EVERY = timedelta(hours=6)


# Per server, when the refresh this process knows to be pending comes due (in the bot's memos): presses before
# then need no query.
REFRESH_SOON = "fan_roles.refresh_soon"


def counts_key(guild_id: int) -> str:
    return f"fan_roles:panel_counts:{guild_id}"


async def schedule_counts_refresh(bot: LabelBot, session: AsyncSession, guild_id: int, *, periodic: bool) -> None:
    """Have the server's posted panels' counts refreshed soon (after a press) or at the next periodic time.

    A refresh already due sooner is left alone, so a burst of presses costs one count request and one edit per
    panel message, not one per press.
    """
    now = utcnow()
    known: dict[int, datetime] = bot.memos.setdefault(REFRESH_SOON, {})
    if not periodic and known.get(guild_id, now) > now:
        # This process saw a refresh pending after now: it runs after this press, so it counts it. No query.
        return
    due = now + (COUNTS_EVERY if periodic else COUNTS_AFTER_PRESS)
    current = await bot.jobs.get(session, counts_key(guild_id))
    if current is not None and current.status == JobStatus.PENDING and current.due_at <= due:
        due = current.due_at
    else:
        await bot.jobs.schedule(
            session, COUNTS_REFRESH, {"guild_id": guild_id}, due, guild_id=guild_id, key=counts_key(guild_id)
        )
    if not periodic:
        # Remembered once the job is kept: a press whose transaction is rolled back and run again must schedule it.
        after_commit(session, partial(known.__setitem__, guild_id, due))
