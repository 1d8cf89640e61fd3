"""The attendee CSV of an event: names members chose cannot run as formulas in a moderator's spreadsheet.

(The end-to-end test shows the names fetched through the fake Discord; here the render gets hostile ones directly.)
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from labelbot.features.events._render import attendees_csv
from labelbot.gatherings import rsvp
from labelbot.gatherings.models import Gathering, GatheringRsvp

NAMES = ['=HYPERLINK("https://evil.example","x")', "+1+1", "-2", "@SUM(A1)", "\tTab", "\rReturn", "Plain - Name"]


async def test_cells_starting_like_a_formula_get_a_leading_quote(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    now = datetime.now(UTC)
    members = {1000 + index: name for index, name in enumerate(NAMES)}
    async with sessionmaker.begin() as session:
        gathering = Gathering(kind="event", ref_id=1, guild_id=1, title="Contest", starts_at=now,
                              ends_at=now + timedelta(hours=1))  # fmt: skip
        session.add(gathering)
        await session.flush()
        for user_id in members:
            session.add(GatheringRsvp(gathering_id=gathering.id, user_id=user_id, answer="going"))
        await session.flush()
        answers = await rsvp.all_answers(session, gathering.id)
    data = attendees_csv(answers, members)
    rows = list(csv.DictReader(io.StringIO(data.decode(), newline="")))
    shown = {int(row["user_id"]): row["name"] for row in rows}
    assert shown == {user_id: ("'" + name if name[0] in "=+-@\t\r" else name) for user_id, name in members.items()}
