"""The fan roles' section of the moderators' dashboard: fan roles held and loyalty tiers reached, week by week.

Plain figures for `bot.features.dashboard`; the web page draws them. Registered by the cog.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from labelbot.dashboard import (
    WEEK,
    BarFigures,
    DashboardSection,
    DashboardTable,
    LineFigures,
    cumulative,
    week_label,
    weeks,
)
from labelbot.features.fan_roles import _repository as repository

NAME = "fan_roles"
ORDER = 30
# Lines of the fan-role chart: the most-held roles, the rest only in the table's total.
TOP_ROLES = 4


async def section(session: AsyncSession, guild_id: int, now: datetime) -> DashboardSection | None:
    starts = weeks(now)
    labels = [week_label(start) for start in starts]
    tables: list[DashboardTable] = []
    charts: list[BarFigures | LineFigures] = []

    # Fan roles: the running net of picks and drops on the panels, at the end of each week.
    changes = await repository.role_changes(session, guild_id)
    names = await repository.entry_labels(session, guild_id)
    held: dict[int, list[int]] = {}
    for role_id in dict.fromkeys(role_id for role_id, _, _ in changes):
        held[role_id] = [
            sum(delta for role, delta, at in changes if role == role_id and at < end)
            for end in (start + WEEK for start in starts)
        ]
    total = [sum(values[index] for values in held.values()) for index in range(len(starts))]
    top = sorted(held, key=lambda role_id: -held[role_id][-1])[:TOP_ROLES]
    roles_series = {"all fan roles": total} | {names.get(role_id, f"role {role_id}"): held[role_id] for role_id in top}
    charts.append(LineFigures("Fan roles held (picked on panels), by week", labels, roles_series))
    tables.append(
        DashboardTable(
            "fanroles",
            "Fan roles held by week",
            ["Week of", "All fan roles", *(names.get(role_id, f"role {role_id}") for role_id in held)],
            [[label, total[index], *(held[r][index] for r in held)] for index, label in enumerate(labels)],
        )
    )

    # Loyalty tiers: a member reaches a tier at the attendance that makes its threshold.
    tiers = await repository.tiers(session, guild_id)
    attended = await repository.attendance_times(session, guild_id)
    reached: dict[int, list[datetime]] = {tier.threshold: [] for tier in tiers}
    first_seen: dict[int, datetime] = {}
    running = Counter[int]()
    for user_id, at in attended:
        running[user_id] += 1
        first_seen.setdefault(user_id, at)
        if running[user_id] in reached:
            reached[running[user_id]].append(at)
    tier_series = {"fans who attended a party": cumulative(list(first_seen.values()), starts)}
    for tier in tiers:
        tier_series[f"tier {tier.threshold}+"] = cumulative(reached[tier.threshold], starts)
    charts.append(LineFigures("Fans and loyalty tiers, by week", labels, tier_series))
    tables.append(
        DashboardTable(
            "tiers",
            "Fans and tiers by week",
            ["Week of", *tier_series],
            [[label, *(values[index] for values in tier_series.values())] for index, label in enumerate(labels)],
        )
    )
    return DashboardSection(
        "Fan roles and loyalty tiers",
        charts,
        tables,
        note="Fan roles count picks and drops on the role panels (counted since this version); tiers count parties attended.",
    )
