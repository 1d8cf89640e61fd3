"""The listening parties' section of the moderators' dashboard: RSVP → check-in, and the stars tracks got.

Plain figures for `bot.features.dashboard`; the web page draws them. Registered by the cog.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from labelbot.dashboard import BarFigures, DashboardSection, DashboardTable, LineFigures
from labelbot.features.parties import _repository as repository
from labelbot.gatherings.models import Answer

NAME = "parties"
ORDER = 20
LOOK_BACK = timedelta(days=90)
# Bars of the stars chart: the best-rated tracks, so the chart stays readable on a phone.
TOP_TRACKS = 6


def _track_title(tracks: list[object], index: int) -> str:
    track = tracks[index] if 0 <= index < len(tracks) else None
    return str(track.get("title", "")) if isinstance(track, dict) else ""


async def section(session: AsyncSession, guild_id: int, now: datetime) -> DashboardSection | None:
    parties = await repository.parties_since(session, guild_id, now - LOOK_BACK)
    party_ids = [party.id for party in parties]
    check_ins = await repository.attendance_counts(session, party_ids)
    ratings = await repository.track_ratings(session, party_ids)
    answers = await repository.answer_counts(session, [p.gathering_id for p in parties if p.gathering_id is not None])
    totals = Counter[str]()
    party_rows: list[list[object]] = []
    for party in parties:
        gathering = party.gathering_id or 0
        going = answers.get((gathering, Answer.GOING), 0)
        maybe = answers.get((gathering, Answer.MAYBE), 0) + answers.get((gathering, Answer.REMIND), 0)
        here = check_ins.get(party.id, 0)
        rated = [(average, number) for (p, _), (average, number) in ratings.items() if p == party.id]
        number = sum(n for _, n in rated)
        average = sum(a * n for a, n in rated) / number if number else None
        totals["interested"] += going + maybe
        totals["going"] += going
        totals["checked in"] += here
        party_rows.append(
            [
                party.title,
                party.starts_at.strftime("%Y-%m-%d %H:%M"),
                party.status,
                going,
                maybe,
                here,
                number,
                "" if average is None else f"{average:.2f}",
            ]
        )
    titles = {party.id: party.title for party in parties}
    tracks = {party.id: list(party.tracks or []) for party in parties}
    track_rows = sorted(
        (
            [titles[p], index + 1, _track_title(tracks[p], index), number, f"{average:.2f}"]
            for (p, index), (average, number) in ratings.items()
        ),
        key=lambda row: (str(row[0]), int(str(row[1]))),
    )
    best = sorted(ratings.items(), key=lambda item: (-item[1][0], -item[1][1]))[:TOP_TRACKS]
    charts: list[BarFigures | LineFigures] = [
        BarFigures(
            "Parties: RSVP → check-in (last 90 days)",
            [(name, totals[name]) for name in ("interested", "going", "checked in")],
        )
    ]
    if best:
        charts.append(
            BarFigures(
                "Best-rated tracks (average stars)",
                [
                    (_track_title(tracks[p], index)[:16] or f"track {index + 1}", round(average, 2))
                    for (p, index), (average, _) in best
                ],
            )
        )
    return DashboardSection(
        "Listening parties",
        charts,
        [
            DashboardTable(
                "parties",
                "Parties: RSVPs, check-ins and ratings",
                [
                    "Party",
                    "Starts (UTC)",
                    "Status",
                    "Going",
                    "Maybe / remind me",
                    "Checked in",
                    "Ratings",
                    "Average stars",
                ],
                party_rows,
            ),
            DashboardTable(
                "ratings", "Track ratings", ["Party", "Track #", "Track", "Ratings", "Average stars"], track_rows
            ),
        ],
        note="Check-ins are members who pressed “I'm here”; stars are from 1 to 5.",
    )
