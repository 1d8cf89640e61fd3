"""The collab board's section of the moderators' dashboard: requests opened and filled, week by week.

Plain figures for `bot.features.dashboard`; the web page draws them. Registered by the cog.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from labelbot.dashboard import BarFigures, DashboardSection, DashboardTable, LineFigures, per_week, week_label, weeks
from labelbot.features.collabs import _repository as repository
from labelbot.models.collabs import RequestStatus

NAME = "collabs"
ORDER = 40


async def section(session: AsyncSession, guild_id: int, now: datetime) -> DashboardSection | None:
    requests = await repository.request_history(session, guild_id)
    starts = weeks(now)
    labels = [week_label(start) for start in starts]
    opened = per_week([opened_at for opened_at, _, _ in requests], starts)
    filled = per_week(
        [closed for _, status, closed in requests if status == RequestStatus.FILLED and closed is not None], starts
    )
    by_status = Counter(status for _, status, _ in requests)
    return DashboardSection(
        "Collab requests",
        [
            LineFigures("Collab requests opened and filled, per week", labels, {"opened": opened, "filled": filled}),
            BarFigures("Collab requests by state", [(str(s), by_status.get(s, 0)) for s in RequestStatus]),
        ],
        [
            DashboardTable(
                "collabs",
                "Collab requests by week",
                ["Week of", "Opened", "Filled"],
                [[label, opened[index], filled[index]] for index, label in enumerate(labels)],
            )
        ],
    )
