"""Text members paste (even a NUL character) is stored the same on every backend instead of crashing."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from labelbot.config import JobSettings
from labelbot.db import utcnow
from labelbot.db.models import BotState
from labelbot.jobs import JobQueue, ScheduledJob


async def test_nul_characters_are_dropped_from_text_and_json(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    async with sessionmaker.begin() as session:
        session.add(BotState(key="nova\x00", value="Night\x00 Drive"))
        await JobQueue(sessionmaker, JobSettings()).schedule(
            session, "test.kind", {"title": "a\x00b", "tracks": ["x\x00"]}, utcnow(), key="nul\x00key"
        )
    async with sessionmaker() as session:
        state = await session.scalar(select(BotState).where(BotState.key == "nova\x00"))
        job = await session.scalar(select(ScheduledJob).where(ScheduledJob.key == "nulkey"))
    assert state is not None, "a lookup with the same pasted text finds the row"
    assert (state.key, state.value) == ("nova", "Night Drive")
    assert job is not None
    assert job.payload == {"title": "ab", "tracks": ["x"]}
