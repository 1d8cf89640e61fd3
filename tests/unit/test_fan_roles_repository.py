"""Attendance and panel queries on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from labelbot.features.fan_roles import _repository as repository
from labelbot.features.fan_roles import _service as service
from labelbot.guilds.models import GuildSettings

GUILD = 1


async def test_attendance_counts_each_party_once_and_pages_by_member(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with sessionmaker.begin() as session:
        assert await repository.record_attendance(session, GUILD, 30, 1)
        assert not await repository.record_attendance(session, GUILD, 30, 1)
        for party in (2, 3):
            await repository.record_attendance(session, GUILD, 30, party)
        for user in (10, 20):
            await repository.record_attendance(session, GUILD, user, 1)
        await repository.record_attendance(session, 2, 99, 1)
    async with sessionmaker() as session:
        assert await repository.attendance_count(session, GUILD, 30) == 3
        assert await repository.attendee_count(session, GUILD) == 3
        assert await repository.attendance_after(session, GUILD, 0, 2) == [(10, 1), (20, 1)]
        assert await repository.attendance_after(session, GUILD, 20, 2) == [(30, 3)]
        assert await repository.attendance_after(session, GUILD, 30, 2) == []


async def test_panels_are_found_by_name_in_any_case_and_keep_role_order(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with sessionmaker.begin() as session:
        panel = await service.create_panel(
            session, GUILD, service.PanelSpec("Big  Genres", "select", "one", None, None, 5), actor_id=7
        )
        for role_id in (300, 100, 200):
            found = await repository.panel_by_id(session, GUILD, panel.id)
            assert found is not None
            await service.add_entry(session, found, service.EntrySpec(role_id, None, f"R{role_id}", None, None), 7)
    async with sessionmaker() as session:
        found = await repository.panel_by_name(session, GUILD, "big genres")
        assert found is not None
        assert [e.role_id for e in found.entries] == [300, 100, 200]
        assert await repository.search_panels(session, GUILD, "gen") == ["Big Genres"]
        assert await repository.panel_by_id(session, 2, panel.id) is None


async def test_tier_thresholds_are_unique_per_server(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    import pytest

    from labelbot.errors import Conflict

    async with sessionmaker.begin() as session:
        assert await service.set_tier(session, GUILD, 10, 3, actor_id=7) is None
        assert await service.set_tier(session, GUILD, 10, 4, actor_id=7) == 3
        with pytest.raises(Conflict):
            await service.set_tier(session, GUILD, 11, 4, actor_id=7)
    async with sessionmaker() as session:
        assert [(t.role_id, t.threshold) for t in await repository.tiers(session, GUILD)] == [(10, 4)]


async def test_a_press_reads_its_panel_roles_and_settings_in_one_query(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """On SQLite's one connection, each extra query of 200 simultaneous presses queues them all."""
    async with sessionmaker.begin() as session:
        panel = await service.create_panel(
            session, GUILD, service.PanelSpec("Fans", "buttons", "any", None, None, 5), actor_id=7
        )
        for role_id in (300, 100):
            await service.add_entry(session, panel, service.EntrySpec(role_id, None, f"R{role_id}", None, None), 7)
        session.add(GuildSettings(guild_id=GUILD, moderator_role_id=55))
    selects: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            selects.append(statement)

    engine = sessionmaker.kw["bind"].sync_engine
    event.listen(engine, "before_cursor_execute", note)
    try:
        async with sessionmaker() as session:
            found, settings = await repository.panel_with_settings(session, GUILD, panel.id)
            missing = await repository.panel_with_settings(session, 2, panel.id)
    finally:
        event.remove(engine, "before_cursor_execute", note)
    assert found is not None
    assert settings is not None
    assert ([e.role_id for e in found.entries], settings.moderator_role_id) == ([300, 100], 55)
    assert missing == (None, None)
    assert len(selects) == 2, selects  # one per press
