"""The supporters' section of the moderators' dashboard: each perk's figures, and supporters week by week.

Plain figures for `bot.features.dashboard`; the web page draws them. Registered by the cog; shown once the server
has a perk.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from labelbot.dashboard import BarFigures, DashboardSection, DashboardTable, LineFigures, cumulative, week_label, weeks
from labelbot.features.supporters import _repository as repository

NAME = "supporters"
ORDER = 50


def _month(now: datetime) -> tuple[datetime, datetime]:
    start = datetime(now.year, now.month, 1, tzinfo=UTC)
    end = datetime(now.year + (now.month == 12), now.month % 12 + 1, 1, tzinfo=UTC)
    return start, end


def _number(value: object) -> float:
    return float(value) if isinstance(value, int | float) else 0.0


async def section(session: AsyncSession, guild_id: int, now: datetime) -> DashboardSection | None:
    perks = await repository.perks(session, guild_id)
    if not perks:
        return None
    figures = [await repository.perk_figures(session, perk, now, *_month(now)) for perk in perks]
    first_grant: dict[int, datetime] = {}
    for user_id, at in await repository.grant_times(session, guild_id):
        first_grant.setdefault(user_id, at)
    starts = weeks(now)
    labels = [week_label(start) for start in starts]
    ever = cumulative(list(first_grant.values()), starts)
    columns = ["active", "new_this_month", "expiring_this_month", "codes_issued", "codes_redeemed"]
    return DashboardSection(
        "Supporters",
        [
            BarFigures("Active supporters by perk", [(str(f["perk"])[:16], _number(f["active"])) for f in figures]),
            LineFigures("Supporters ever, by week", labels, {"members with a perk": ever}),
        ],
        [
            DashboardTable(
                "supporters",
                "Supporter perks",
                ["Perk", "Active", "New this month", "Expiring this month", "Codes issued", "Codes redeemed"],
                [[f["perk"], *(f[column] for column in columns)] for f in figures],
            )
        ],
    )
