"""Queries of panels, tiers and attendance; takes the caller's session and never commits."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload, selectinload

from labelbot.guilds.models import GuildSettings
from labelbot.models.fan_roles import FanRoleChange, FanRolePanel, FanRolePanelEntry, LoyaltyTier, PartyAttendance


def name_key(name: str) -> str:
    """The form panel names are compared in: case-folded, runs of spaces collapsed."""
    return " ".join(name.split()).casefold()


async def panel_by_name(session: AsyncSession, guild_id: int, name: str) -> FanRolePanel | None:
    """The server's panel with this name (any case), with its roles."""
    found: FanRolePanel | None = await session.scalar(
        select(FanRolePanel)
        .where(FanRolePanel.guild_id == guild_id, FanRolePanel.name_key == name_key(name))
        .options(selectinload(FanRolePanel.entries))
    )
    return found


async def panel_by_id(session: AsyncSession, guild_id: int, panel_id: int) -> FanRolePanel | None:
    """The panel with this id if it belongs to the server, with its roles (joined in: one query per press)."""
    rows = await session.scalars(
        select(FanRolePanel)
        .where(FanRolePanel.id == panel_id, FanRolePanel.guild_id == guild_id)
        .options(joinedload(FanRolePanel.entries))
    )
    found: FanRolePanel | None = rows.unique().one_or_none()
    return found


async def panel_with_settings(
    session: AsyncSession, guild_id: int, panel_id: int
) -> tuple[FanRolePanel | None, GuildSettings | None]:
    """A pressed panel with its roles and the server's stored settings, in one query (a press reads both)."""
    rows = await session.execute(
        select(FanRolePanel, GuildSettings)
        .outerjoin(GuildSettings, GuildSettings.guild_id == FanRolePanel.guild_id)
        .where(FanRolePanel.id == panel_id, FanRolePanel.guild_id == guild_id)
        .options(joinedload(FanRolePanel.entries))
    )
    row = rows.unique().one_or_none()
    return (None, None) if row is None else (row[0], row[1])


async def panels(session: AsyncSession, guild_id: int) -> list[FanRolePanel]:
    """The server's panels by name, with their roles."""
    rows = await session.scalars(
        select(FanRolePanel)
        .where(FanRolePanel.guild_id == guild_id)
        .order_by(FanRolePanel.name_key)
        .options(selectinload(FanRolePanel.entries))
    )
    return list(rows)


async def entries_of(session: AsyncSession, panel_id: int) -> list[FanRolePanelEntry]:
    """The panel's roles as stored now (not as a panel loaded earlier in the session remembers them)."""
    rows = await session.scalars(
        select(FanRolePanelEntry).where(FanRolePanelEntry.panel_id == panel_id).order_by(FanRolePanelEntry.position)
    )
    return list(rows)


async def search_panels(session: AsyncSession, guild_id: int, text: str, limit: int = 25) -> list[str]:
    """Names of the server's panels containing what was typed, those starting with it first."""
    key = name_key(text)
    query = select(FanRolePanel.name).where(FanRolePanel.guild_id == guild_id)
    if key:
        query = query.where(FanRolePanel.name_key.contains(key, autoescape=True)).order_by(
            FanRolePanel.name_key.startswith(key, autoescape=True).desc()
        )
    rows = await session.scalars(query.order_by(FanRolePanel.name_key).limit(limit))
    return list(rows)


async def tiers(session: AsyncSession, guild_id: int) -> list[LoyaltyTier]:
    """The server's loyalty tiers, lowest threshold first."""
    rows = await session.scalars(
        select(LoyaltyTier).where(LoyaltyTier.guild_id == guild_id).order_by(LoyaltyTier.threshold)
    )
    return list(rows)


async def tier_by_role(session: AsyncSession, guild_id: int, role_id: int) -> LoyaltyTier | None:
    found: LoyaltyTier | None = await session.scalar(
        select(LoyaltyTier).where(LoyaltyTier.guild_id == guild_id, LoyaltyTier.role_id == role_id)
    )
    return found


async def tier_by_threshold(session: AsyncSession, guild_id: int, threshold: int) -> LoyaltyTier | None:
    found: LoyaltyTier | None = await session.scalar(
        select(LoyaltyTier).where(LoyaltyTier.guild_id == guild_id, LoyaltyTier.threshold == threshold)
    )
    return found


async def record_attendance(session: AsyncSession, guild_id: int, user_id: int, party_id: int) -> bool:
    """Note that the member attended the party; False if it was already noted."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    result = await session.execute(
        insert(PartyAttendance)
        .values(guild_id=guild_id, user_id=user_id, party_id=party_id)
        .on_conflict_do_nothing(index_elements=["guild_id", "party_id", "user_id"])
        .returning(PartyAttendance.user_id)
    )
    return result.first() is not None


async def attendance_count(session: AsyncSession, guild_id: int, user_id: int) -> int:
    """How many parties the member attended in this server."""
    count = await session.scalar(
        select(func.count())
        .select_from(PartyAttendance)
        .where(PartyAttendance.guild_id == guild_id, PartyAttendance.user_id == user_id)
    )
    return int(count or 0)


async def attendance_after(
    session: AsyncSession, guild_id: int, after_user_id: int, limit: int
) -> list[tuple[int, int]]:
    """(member, parties attended) for the next `limit` members with attendance, by member id, after the given one."""
    rows = await session.execute(
        select(PartyAttendance.user_id, func.count())
        .where(PartyAttendance.guild_id == guild_id, PartyAttendance.user_id > after_user_id)
        .group_by(PartyAttendance.user_id)
        .order_by(PartyAttendance.user_id)
        .limit(limit)
    )
    return [(int(user_id), int(count)) for user_id, count in rows]


async def attendee_count(session: AsyncSession, guild_id: int) -> int:
    """How many members of the server have attended at least one party."""
    count = await session.scalar(
        select(func.count(func.distinct(PartyAttendance.user_id))).where(PartyAttendance.guild_id == guild_id)
    )
    return int(count or 0)


async def delete_entries(session: AsyncSession, entry_ids: list[int]) -> None:
    if entry_ids:
        await session.execute(delete(FanRolePanelEntry).where(FanRolePanelEntry.id.in_(entry_ids)))


async def role_handed_out_as(session: AsyncSession, guild_id: int, role_id: int) -> str | None:
    """How the server's panels or loyalty tiers hand this role out, in words, or None."""
    panel_name = await session.scalar(
        select(FanRolePanel.name)
        .join(FanRolePanelEntry, FanRolePanelEntry.panel_id == FanRolePanel.id)
        .where(FanRolePanel.guild_id == guild_id, FanRolePanelEntry.role_id == role_id)
        .order_by(FanRolePanel.name_key)
        .limit(1)
    )
    if panel_name is not None:
        return f"on the role panel “{panel_name}”"
    if await tier_by_role(session, guild_id, role_id) is not None:
        return "a loyalty tier"
    return None


# -- the moderators' dashboard ----------------------------------------------------------------------------------


def count_changes(session: AsyncSession, guild_id: int, added: list[int], removed: list[int]) -> None:
    """Count roles picked and dropped on a panel (no member kept)."""
    session.add_all(
        [FanRoleChange(guild_id=guild_id, role_id=role_id, delta=1) for role_id in added]
        + [FanRoleChange(guild_id=guild_id, role_id=role_id, delta=-1) for role_id in removed]
    )


async def role_changes(session: AsyncSession, guild_id: int) -> list[tuple[int, int, datetime]]:
    """(role, +1/-1, when) of every counted pick and drop, oldest first."""
    rows = await session.execute(
        select(FanRoleChange.role_id, FanRoleChange.delta, FanRoleChange.at)
        .where(FanRoleChange.guild_id == guild_id)
        .order_by(FanRoleChange.at, FanRoleChange.id)
    )
    return [(int(role_id), int(delta), at) for role_id, delta, at in rows]


async def entry_labels(session: AsyncSession, guild_id: int) -> dict[int, str]:
    """Each panel role's label as fans see it, by role."""
    rows = await session.execute(
        select(FanRolePanelEntry.role_id, FanRolePanelEntry.label)
        .join(FanRolePanel, FanRolePanel.id == FanRolePanelEntry.panel_id)
        .where(FanRolePanel.guild_id == guild_id)
    )
    return {int(role_id): str(label) for role_id, label in rows}


async def attendance_times(session: AsyncSession, guild_id: int) -> list[tuple[int, datetime]]:
    """(member, when) of every party attended, oldest first: what loyalty tiers count."""
    rows = await session.execute(
        select(PartyAttendance.user_id, PartyAttendance.attended_at)
        .where(PartyAttendance.guild_id == guild_id)
        .order_by(PartyAttendance.attended_at)
    )
    return [(int(user_id), at) for user_id, at in rows]
