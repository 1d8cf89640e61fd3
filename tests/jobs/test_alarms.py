"""The alarm clock's own chores: stopping the clock while they run or wait is a quiet stop, not an error."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from labelbot.db.base import utcnow
from labelbot.jobs.alarms import AlarmClock
from tests.conftest import LoggedErrors


async def test_stopping_while_chores_are_due_or_running_logs_no_error(
    no_error_logged_with_a_traceback: LoggedErrors,
) -> None:
    clock = AlarmClock(wake=lambda: None, horizon=timedelta(minutes=1))
    clock.start()
    started: list[str] = []
    stopped = asyncio.Event()

    async def stop_the_clock() -> None:
        # The bot's shutdown, in the middle of a pass: one sweep is under way, the other has not taken a step yet.
        started.append("stopper")
        clock.stop()
        stopped.set()

    async def sweep() -> None:
        started.append("sweep")
        await asyncio.sleep(60)

    due = utcnow() + timedelta(milliseconds=50)
    # APScheduler runs jobs due at the same moment in the order of their names.
    clock.once(sweep, due, "1-sweep")
    clock.once(stop_the_clock, due, "2-stopper")
    clock.once(sweep, due, "3-sweep")
    await asyncio.wait_for(stopped.wait(), 5)
    await asyncio.sleep(0.05)

    assert sorted(started) == ["stopper", "sweep"]
    assert not clock.ticking
    assert no_error_logged_with_a_traceback.records == []


async def test_a_chore_that_fails_is_logged_with_its_name_and_the_clock_goes_on(
    no_error_logged_with_a_traceback: LoggedErrors,
) -> None:
    clock = AlarmClock(wake=lambda: None, horizon=timedelta(minutes=1))
    clock.start()
    runs: list[int] = []

    async def chore() -> None:
        runs.append(len(runs))
        if len(runs) == 1:
            raise RuntimeError("the sweep's database went away")

    try:
        clock.every(chore, 0.05, "flaky-chore")
        for _ in range(100):
            if len(runs) >= 3:
                break
            await asyncio.sleep(0.02)
    finally:
        clock.stop()
    assert len(runs) >= 3
    logged = no_error_logged_with_a_traceback.records
    assert [r.getMessage() for r in logged] == ['Alarm chore "flaky-chore" failed']
    no_error_logged_with_a_traceback.records.clear()
