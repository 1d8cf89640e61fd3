"""RSVPs on both backends: seats up to capacity, a waitlist in answer order, promotion when a seat frees up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from labelbot.errors import Conflict
from labelbot.gatherings import rsvp
from labelbot.gatherings.models import Answer, Gathering

# A year from today at 20:00 UTC: upcoming whenever the suite runs.
START = datetime.now(UTC).replace(hour=20, minute=0, second=0, microsecond=0) + timedelta(days=365)


async def new_gathering(sessionmaker: async_sessionmaker[AsyncSession], capacity: int | None) -> int:
    async with sessionmaker.begin() as session:
        gathering = Gathering(
            kind="party",
            ref_id=1,
            guild_id=42,
            title="Test",
            starts_at=START,
            ends_at=START + timedelta(hours=1),
            zone="UTC",
            capacity=capacity,
            dm_cap=10,
            dms_sent=0,
        )
        session.add(gathering)
        await session.flush()
        return gathering.id


async def say(
    sessionmaker: async_sessionmaker[AsyncSession], gathering_id: int, user: int, answer: Answer
) -> rsvp.RsvpOutcome:
    async with sessionmaker.begin() as session:
        return await rsvp.answer(session, gathering_id, user, answer)


async def test_going_fills_the_seats_then_waits_in_line(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    gid = await new_gathering(sessionmaker, capacity=2)
    first, second = await say(sessionmaker, gid, 1, Answer.GOING), await say(sessionmaker, gid, 2, Answer.GOING)
    assert not first.waitlisted
    assert not second.waitlisted
    third = await say(sessionmaker, gid, 3, Answer.GOING)
    fourth = await say(sessionmaker, gid, 4, Answer.GOING)
    assert (third.waitlisted, third.position) == (True, 1)
    assert (fourth.waitlisted, fourth.position) == (True, 2)
    async with sessionmaker() as session:
        assert await rsvp.counts(session, gid) == rsvp.Counts(going=2, waitlisted=2)


async def test_a_freed_seat_goes_to_the_first_in_line(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    gid = await new_gathering(sessionmaker, capacity=1)
    await say(sessionmaker, gid, 1, Answer.GOING)
    await say(sessionmaker, gid, 2, Answer.GOING)
    await say(sessionmaker, gid, 3, Answer.GOING)
    left = await say(sessionmaker, gid, 1, Answer.CANT)
    assert left.promoted == [2]
    async with sessionmaker() as session:
        assert await rsvp.counts(session, gid) == rsvp.Counts(going=1, waitlisted=1, cant=1)
    # A waiting member who gives up frees no seat and promotes nobody.
    assert (await say(sessionmaker, gid, 3, Answer.MAYBE)).promoted == []


async def test_saying_the_same_again_changes_nothing(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    gid = await new_gathering(sessionmaker, capacity=None)
    assert (await say(sessionmaker, gid, 1, Answer.GOING)).changed
    assert not (await say(sessionmaker, gid, 1, Answer.GOING)).changed


async def test_remind_me_turns_dms_on_and_cant_turns_them_off(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    gid = await new_gathering(sessionmaker, capacity=None)
    await say(sessionmaker, gid, 1, Answer.REMIND)
    await say(sessionmaker, gid, 1, Answer.GOING)
    async with sessionmaker() as session:
        found = await rsvp.get_rsvp(session, gid, 1)
        assert found is not None
        assert found.wants_dm
    await say(sessionmaker, gid, 1, Answer.CANT)
    async with sessionmaker() as session:
        found = await rsvp.get_rsvp(session, gid, 1)
        assert found is not None
        assert not found.wants_dm


async def test_more_seats_let_waiting_members_in(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    gid = await new_gathering(sessionmaker, capacity=0)
    for user in (1, 2, 3):
        assert (await say(sessionmaker, gid, user, Answer.GOING)).waitlisted
    async with sessionmaker.begin() as session:
        gathering = await rsvp.lock_gathering(session, gid)
        gathering.capacity = 2
        assert await rsvp.fill_from_waitlist(session, gathering) == [1, 2]


async def test_a_cancelled_gathering_takes_no_answers(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    gid = await new_gathering(sessionmaker, capacity=None)
    async with sessionmaker.begin() as session:
        (await rsvp.lock_gathering(session, gid)).cancelled_at = START
    with pytest.raises(Conflict, match="cancelled"):
        await say(sessionmaker, gid, 1, Answer.GOING)
    async with sessionmaker() as session:
        assert await rsvp.all_answers(session, gid) == []


async def test_reminder_audience_is_going_with_a_seat_and_maybe(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    gid = await new_gathering(sessionmaker, capacity=1)
    await say(sessionmaker, gid, 1, Answer.GOING)
    await say(sessionmaker, gid, 2, Answer.GOING)  # waiting
    await say(sessionmaker, gid, 3, Answer.MAYBE)
    await say(sessionmaker, gid, 4, Answer.REMIND)
    await say(sessionmaker, gid, 5, Answer.CANT)
    async with sessionmaker() as session:
        members = await rsvp.members(session, gid, [Answer.GOING, Answer.MAYBE])
    assert [m.user_id for m in members] == [1, 3]


async def test_an_answer_without_a_capacity_counts_no_seats(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    """Counting thousands of Going answers was most of a click; only a capped gathering needs the count."""
    gid = await new_gathering(sessionmaker, capacity=None)
    counted: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "count(" in statement.lower():
            counted.append(statement)

    engine = sessionmaker.kw["bind"].sync_engine
    event.listen(engine, "before_cursor_execute", note)
    try:
        outcome = await say(sessionmaker, gid, 1, Answer.GOING)
    finally:
        event.remove(engine, "before_cursor_execute", note)
    assert (outcome.answer, outcome.waitlisted, outcome.changed) == (Answer.GOING, False, True)
    assert counted == []
