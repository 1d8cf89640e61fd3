"""The dashboard's registry: each feature's section in its order, none from a feature gone or with nothing to show."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from labelbot.dashboard import UNAVAILABLE, WEEK, DashboardSection, DashboardSections, cumulative, per_week, weeks
from labelbot.features.web_pages._charts import bar_chart

NOW = datetime(2020, 1, 1, 12, tzinfo=UTC)


class Session:
    """Just enough of a session for the registry: savepoints, counted."""

    def __init__(self) -> None:
        self.savepoints = 0

    @contextlib.asynccontextmanager
    async def begin_nested(self) -> AsyncIterator[None]:
        self.savepoints += 1
        yield


def source(title: str | None) -> Any:
    async def section(session: Any, guild_id: int, now: datetime) -> DashboardSection | None:
        return None if title is None else DashboardSection(f"{title} of {guild_id}")

    return section


async def test_sections_come_in_order_and_a_removed_or_empty_one_is_left_out() -> None:
    sections = DashboardSections()
    sections.add("b", source("Second"), order=20)
    sections.add("a", source("First"), order=10)
    sections.add("empty", source(None), order=5)
    sections.add("gone", source("Gone"), order=1)
    sections.remove("gone")
    found = await sections.collect(Session(), 7, NOW)  # type: ignore[arg-type]
    assert [section.title for section in found] == ["First of 7", "Second of 7"]
    assert "gone" not in sections


@pytest.mark.expect_error_log("boom")
async def test_a_failing_source_gives_its_titled_note_and_the_others_still_come() -> None:
    async def failing(session: Any, guild_id: int, now: datetime) -> DashboardSection | None:
        raise RuntimeError("boom")

    sections = DashboardSections()
    sections.add("fan_roles", failing, order=1)
    sections.add("named", failing, order=2, title="Named figures")
    sections.add("after", source("After"), order=3)
    session = Session()
    found = await sections.collect(session, 7, NOW)  # type: ignore[arg-type]
    assert [(section.title, section.note) for section in found] == [
        ("Fan roles", UNAVAILABLE),
        ("Named figures", UNAVAILABLE),
        ("After of 7", None),
    ]
    assert session.savepoints == 3


def test_weekly_figures_count_within_and_up_to_each_week() -> None:
    starts = weeks(NOW, 3)
    assert starts[-1] == NOW  # the last week starts now: it holds what happens from now on
    times = [starts[0], starts[1], starts[1], NOW, starts[0] - WEEK]
    assert per_week(times, starts) == [1, 2, 1]
    assert cumulative(times, starts) == [2, 4, 5]


def test_an_average_bar_reads_with_one_decimal_and_a_count_without() -> None:
    chart = bar_chart("Stars", [("Intro", 4.5), ("Outro", 3.0)])
    assert [bar.shown for bar in chart.bars] == ["4.5", "3"]
    assert chart.top_value == 5
    assert chart.description == "Intro: 4.5; Outro: 3"
