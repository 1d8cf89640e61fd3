"""The alarm clock: APScheduler wakes the worker when a job falls due; alarms set in a session wait for its commit."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.executors.base import BaseExecutor
from apscheduler.job import Job
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from labelbot.db.base import utcnow

log = logging.getLogger(__name__)


@dataclass
class _SessionAlarms:
    """Alarm changes made in one session, applied only once its transaction commits."""

    arm: dict[int, datetime]
    disarm: set[int]

    def cancelled(self, job_ids: list[int]) -> None:
        for job_id in job_ids:
            self.arm.pop(job_id, None)
            self.disarm.add(job_id)


class _ChoresOnTheLoop(BaseExecutor):  # type: ignore[misc]
    """Runs the clock's chores as tasks on the bot's loop, and cancels them the moment the clock stops.

    APScheduler's own AsyncIOExecutor cancels running chores only on its loop's next turn, lets chores start in
    between, and logs a chore cancelled by the bot's shutdown as an error with a traceback.
    """

    def __init__(self) -> None:
        super().__init__()
        self._tasks: set[asyncio.Task[None]] = set()

    def shutdown(self, wait: bool = True) -> None:
        for task in self._tasks:
            task.cancel()
        self._tasks.clear()

    def _do_submit_job(self, job: Job, run_times: list[datetime]) -> None:
        task = asyncio.get_running_loop().create_task(self._run(job), name=f"labelbot-alarm:{job.id}")
        self._tasks.add(task)
        task.add_done_callback(lambda done: self._finished(job, done))

    def _finished(self, job: Job, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._run_job_success(job.id, [])  # frees the job's instance; APScheduler's listeners are not used here

    @staticmethod
    async def _run(job: Job) -> None:
        # One run however many were missed: the jobs coalesce, and the table, not the alarm, says what is due.
        try:
            await job.func(*job.args, **job.kwargs)
        except Exception:
            log.exception('Alarm chore "%s" failed', job.id)


class AlarmClock:
    """One date alarm per job due within the horizon, plus the engine's interval chores; never the source of truth."""

    def __init__(self, wake: Callable[[], None], horizon: timedelta) -> None:
        self._wake = wake
        self.horizon = horizon
        self._info_key = f"labelbot.jobs.alarms.{id(self)}"
        self._scheduler: AsyncIOScheduler | None = None
        self._chores: _ChoresOnTheLoop | None = None
        self._armed: dict[int, datetime] = {}

    @property
    def ticking(self) -> bool:
        return self._scheduler is not None

    def armed(self) -> dict[int, datetime]:
        return dict(self._armed)

    def start(self) -> None:
        self._chores = _ChoresOnTheLoop()
        scheduler = AsyncIOScheduler(
            timezone=UTC,
            executors={"default": self._chores},
            # Late wake-ups must still run (the table decides what is due), and piled-up sweeps run once.
            job_defaults={"misfire_grace_time": None, "coalesce": True, "max_instances": 1},
        )
        scheduler.start()
        self._scheduler = scheduler

    def stop(self) -> None:
        if self._chores is not None:
            self._chores.shutdown()  # now: APScheduler's own shutdown waits for the loop's next turn
            self._chores = None
        if self._scheduler is not None:
            if self._scheduler.running:
                self._scheduler.shutdown(wait=False)
            self._scheduler = None
        self._armed.clear()

    def every(self, chore: Callable[[], Awaitable[None]], seconds: float, name: str, **options: Any) -> None:
        """Run `chore` every `seconds` (the sweep, pruning)."""
        if self._scheduler is not None:
            self._scheduler.add_job(chore, "interval", seconds=seconds, id=name, **options)

    def once(self, chore: Callable[[], Awaitable[None]], at: datetime, name: str) -> None:
        """Run `chore` once at `at`, replacing an earlier one of the same name."""
        if self._scheduler is not None:
            self._scheduler.add_job(chore, "date", run_date=at, id=name, replace_existing=True)

    # -- alarms set in a caller's transaction ------------------------------------------------------------------

    def after_commit(self, session: AsyncSession) -> _SessionAlarms:
        """The alarm changes of this session, applied when (and only if) it commits."""
        sync_session = session.sync_session
        alarms: _SessionAlarms | None = sync_session.info.get(self._info_key)
        if alarms is None:
            alarms = _SessionAlarms(arm={}, disarm=set())
            sync_session.info[self._info_key] = alarms
            event.listen(sync_session, "after_commit", self._on_commit)
            event.listen(sync_session, "after_rollback", self._on_rollback)
        return alarms

    def _on_commit(self, session: Session) -> None:
        alarms: _SessionAlarms | None = session.info.get(self._info_key)
        if alarms is None:
            return
        for job_id in alarms.disarm:
            self.disarm(job_id)
        for job_id, due in alarms.arm.items():
            self.arm(job_id, due)
        alarms.arm.clear()
        alarms.disarm.clear()

    def _on_rollback(self, session: Session) -> None:
        alarms: _SessionAlarms | None = session.info.get(self._info_key)
        if alarms is not None:
            alarms.arm.clear()
            alarms.disarm.clear()

    # -- alarms -----------------------------------------------------------------------------------------------

    def arm(self, job_id: int, due_at: datetime) -> None:
        scheduler = self._scheduler
        if scheduler is None:
            return
        now = utcnow()
        if due_at <= now:
            self.disarm(job_id)
            self._wake()
            return
        if due_at > now + self.horizon or self._armed.get(job_id) == due_at:
            return
        scheduler.add_job(
            self._alarm,
            "date",
            run_date=due_at,
            args=[job_id, due_at],
            id=f"labelbot:job:{job_id}",
            replace_existing=True,
        )
        self._armed[job_id] = due_at

    def disarm(self, job_id: int) -> None:
        if self._armed.pop(job_id, None) is None or self._scheduler is None:
            return
        with contextlib.suppress(JobLookupError):  # it fired meanwhile
            self._scheduler.remove_job(f"labelbot:job:{job_id}")

    async def _alarm(self, job_id: int, due_at: datetime) -> None:
        if self._armed.get(job_id) == due_at:
            del self._armed[job_id]
        # The event loop may fire a timer a hair early; a claim then would find the row not yet due.
        early = (due_at - utcnow()).total_seconds()
        if early > 0:
            await asyncio.sleep(early)
        self._wake()
