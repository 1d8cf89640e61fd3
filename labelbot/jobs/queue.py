"""JobQueue, the facade features use: register kinds, schedule in the caller's transaction, cancel, reschedule.

The engine behind it is split by what changes together: labelbot.jobs.store (the SQL of claims, leases, heartbeats and
outcomes), labelbot.jobs.alarms (APScheduler and the after-commit hook) and labelbot.jobs.worker (claim, run, retry, limits).
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from labelbot.config import JobSettings
from labelbot.db.base import utcnow
from labelbot.jobs.context import JobHandler, MissedRule
from labelbot.jobs.models import JobStatus, JobWorker, ScheduledJob
from labelbot.jobs.store import CLAIMABLE_STATUSES, HOST, JobStore, upsert_statement
from labelbot.jobs.worker import JobTimedOut, Registration, Worker, retry_delay

__all__ = ["HOST", "JobQueue", "JobTimedOut", "default_worker_id", "retry_delay"]

log = logging.getLogger(__name__)

# A job whose kind no process has registered for this long past its due time is failed, not left pending forever.
# Long, because during a rolling deploy or a cog reload another process (or this one, shortly) may know the kind.
DEFAULT_UNKNOWN_KIND_GRACE = timedelta(hours=1)
# Rows due within this window get an alarm; the sweep arms later ones as they come near.
DEFAULT_ALARM_HORIZON = timedelta(hours=1)
# Jobs run at once. Not Discord's pace: the bot's pacer (labelbot.pacing) keeps sends within the limits, and a job waiting
# for its channel's window holds a slot meanwhile, so there must be room for the other channels' jobs to go out
# (500 posts over 50 channels: 2.2x the limits' minimum with 256 slots, the later channels starting late). A job
# whose channel is booked far ahead is handed back instead (labelbot.jobs.sending), so parked jobs stay few.
DEFAULT_CONCURRENCY = 1000


def default_worker_id() -> str:
    """Name this process for claimed_by: host, pid and a random suffix (pids repeat across restarts)."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def _aware_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("due_at must be timezone-aware")
    return moment.astimezone(UTC)


class JobQueue:
    """Durable scheduled work: rows in scheduled_jobs, claimed with a lease, APScheduler only as the alarm clock."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        settings: JobSettings,
        *,
        worker_id: str | None = None,
        concurrency: int | None = None,
        alarm_horizon: timedelta = DEFAULT_ALARM_HORIZON,
        unknown_kind_grace: timedelta = DEFAULT_UNKNOWN_KIND_GRACE,
        shards: tuple[int, list[int]] | None = None,
    ) -> None:
        engine = sessionmaker.kw.get("bind")
        if not isinstance(engine, AsyncEngine):
            raise TypeError("JobQueue needs a sessionmaker bound to an AsyncEngine")
        self.worker_id = (worker_id or default_worker_id())[:100]
        beat = timedelta(seconds=settings.heartbeat_seconds)
        self._store = JobStore(
            engine,
            self.worker_id,
            lease=timedelta(seconds=settings.lease_seconds),
            dead_after=beat * settings.dead_after_beats,
            shards=shards,
        )
        self._worker = Worker(
            self._store,
            settings,
            concurrency=concurrency if concurrency is not None else settings.concurrency,
            alarm_horizon=alarm_horizon,
            unknown_kind_grace=unknown_kind_grace,
        )
        self._alarms = self._worker.alarms

    # -- registration and scheduling (features call these) ----------------------------------------------------

    def register(
        self,
        kind: str,
        handler: JobHandler,
        *,
        missed: MissedRule = MissedRule.RUN_LATE,
        grace: timedelta = timedelta(minutes=5),
        max_attempts: int | None = None,
        time_limit: timedelta | None = None,
    ) -> None:
        """Run `handler` for jobs of `kind`; `missed` says what to do when one is more than `grace` late.

        A run longer than `time_limit` (default: the jobs.time_limit_seconds setting) is abandoned and retried as a
        failure, so a handler that hangs cannot hold a worker's slot forever.
        """
        if kind in self._worker.handlers:
            raise ValueError(f"a handler for job kind {kind!r} is already registered")
        if max_attempts is not None and max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if time_limit is not None and time_limit <= timedelta(0):
            raise ValueError("time_limit must be positive")
        self._worker.handlers[kind] = Registration(handler, missed, grace, max_attempts, time_limit)
        # Jobs of this kind may have come due while it had no handler (a cog being reloaded).
        self._worker.wake()

    def unregister(self, kind: str) -> None:
        """Forget the handler of `kind` (a cog being unloaded); its jobs wait until one is registered again.

        Jobs of a kind that no process registers are failed once `unknown_kind_grace` past due.
        """
        self._worker.handlers.pop(kind, None)

    async def schedule(
        self,
        session: AsyncSession,
        kind: str,
        payload: dict[str, Any],
        due_at: datetime,
        *,
        guild_id: int | None = None,
        key: str | None = None,
        replace_done: bool = True,
    ) -> ScheduledJob:
        """Add a job in the caller's transaction; its alarm is set only once that transaction commits.

        A job with the same `key` is replaced whatever its status (new payload and due time, pending, attempts
        reset, result cleared), so there is never a duplicate. That includes a done job (scheduling it again
        re-runs it, e.g. a re-announcement) unless `replace_done` is False, in which case the done row is returned
        untouched. A replaced job that is running right now finishes, but its outcome is not recorded.
        """
        due = _aware_utc(due_at)
        now = utcnow()
        values: dict[str, Any] = {
            "kind": kind,
            "key": key,
            "payload": payload,
            "guild_id": guild_id,
            "due_at": due,
            "scheduled_for": due,
            "status": JobStatus.PENDING,
            "attempts": 0,
            "generation": 0,
            "claimed_by": None,
            "lease_until": None,
            "last_error": None,
            "finished_at": None,
            "created_at": now,
            "updated_at": now,
        }
        stmt = upsert_statement(session.get_bind().dialect.name, replace_done=replace_done)
        result = await session.scalars(stmt, [values], execution_options={"populate_existing": True})
        job: ScheduledJob | None = result.one_or_none()
        if job is None:
            # Only reachable with replace_done=False: the key names a job that already ran.
            kept = await self.get(session, key) if key is not None else None
            if kept is None:
                raise RuntimeError(f"scheduling {kind!r} with key {key!r} returned no row")
            return kept
        self._alarms.after_commit(session).arm[job.id] = job.due_at
        return job

    async def cancel(self, session: AsyncSession, key: str) -> bool:
        """Cancel the pending or running job with this key; True if there was one.

        A running handler is not interrupted; it will not be retried, and is recorded as done only if it succeeds.
        """
        now = utcnow()
        stmt = (
            update(ScheduledJob)
            .where(ScheduledJob.key == key, ScheduledJob.status.in_(CLAIMABLE_STATUSES))
            .values(status=JobStatus.CANCELLED, finished_at=now, updated_at=now)
            .returning(ScheduledJob.id)
            .execution_options(synchronize_session="fetch")
        )
        ids = list(await session.scalars(stmt))
        self._alarms.after_commit(session).cancelled(ids)
        return bool(ids)

    async def cancel_prefix(self, session: AsyncSession, prefix: str) -> int:
        """Cancel every pending or running job whose key starts with `prefix` (e.g. "release:12:"); return how many."""
        if not prefix:
            raise ValueError("an empty prefix would cancel every keyed job")
        now = utcnow()
        stmt = (
            update(ScheduledJob)
            .where(
                ScheduledJob.status.in_(CLAIMABLE_STATUSES),
                ScheduledJob.key.startswith(prefix, autoescape=True),
            )
            .values(status=JobStatus.CANCELLED, finished_at=now, updated_at=now)
            .returning(ScheduledJob.id)
            .execution_options(synchronize_session="fetch")
        )
        ids = list(await session.scalars(stmt))
        self._alarms.after_commit(session).cancelled(ids)
        return len(ids)

    async def reschedule(self, session: AsyncSession, key: str, due_at: datetime) -> bool:
        """Move the pending job with this key to `due_at`; True if there was one."""
        due = _aware_utc(due_at)
        stmt = (
            update(ScheduledJob)
            .where(ScheduledJob.key == key, ScheduledJob.status == JobStatus.PENDING)
            .values(due_at=due, scheduled_for=due, updated_at=utcnow())
            .returning(ScheduledJob.id)
            .execution_options(synchronize_session="fetch")
        )
        ids = list(await session.scalars(stmt))
        alarms = self._alarms.after_commit(session)
        for job_id in ids:
            alarms.arm[job_id] = due
        return bool(ids)

    # -- what /settings jobs shows ------------------------------------------------------------------------------

    async def get(self, session: AsyncSession, key: str) -> ScheduledJob | None:
        """Return the job with this key, whatever its status."""
        found: ScheduledJob | None = await session.scalar(select(ScheduledJob).where(ScheduledJob.key == key))
        return found

    async def pending_for_guild(self, session: AsyncSession, guild_id: int, limit: int = 10) -> list[ScheduledJob]:
        """Return a guild's jobs still to run (or running now), soonest first."""
        rows = await session.scalars(
            select(ScheduledJob)
            .where(ScheduledJob.guild_id == guild_id, ScheduledJob.status.in_(CLAIMABLE_STATUSES))
            .order_by(ScheduledJob.due_at, ScheduledJob.id)
            .limit(limit)
        )
        return list(rows)

    async def failed_for_guild(
        self, session: AsyncSession, guild_id: int, limit: int = 10, since: timedelta = timedelta(days=7)
    ) -> list[ScheduledJob]:
        """Return a guild's jobs that failed for good within `since`, latest first."""
        rows = await session.scalars(
            select(ScheduledJob)
            .where(
                ScheduledJob.guild_id == guild_id,
                ScheduledJob.status == JobStatus.FAILED,
                ScheduledJob.finished_at >= utcnow() - since,
            )
            .order_by(ScheduledJob.finished_at.desc(), ScheduledJob.id.desc())
            .limit(limit)
        )
        return list(rows)

    async def workers_alive(self, session: AsyncSession) -> list[JobWorker]:
        """Return the workers whose heartbeat is recent enough to count them alive, longest running first."""
        rows = await session.scalars(
            select(JobWorker)
            .where(JobWorker.last_beat >= utcnow() - self._store.dead_after)
            .order_by(JobWorker.started_at, JobWorker.id)
        )
        return list(rows)

    # -- lifecycle --------------------------------------------------------------------------------------------

    def alarm_times(self) -> dict[int, datetime]:
        """Return the alarms armed in this process, by job id (for diagnostics and tests)."""
        return self._alarms.armed()

    @property
    def running(self) -> bool:
        """Whether start() was called and stop() not yet."""
        return self._alarms.ticking and not self._worker.stopping

    async def start(self, bot: Any | None = None) -> None:
        """Beat, take back dead workers' claims, arm alarms from the table, and run whatever came due while down."""
        if self._alarms.ticking:
            raise RuntimeError("JobQueue.start() was already called")
        await self._worker.start(bot)

    # The timeout bounds only the wait for running handlers; the hand-back afterwards must still happen.
    async def stop(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Stop claiming, let running handlers finish for up to `timeout` s, then hand back what is still running."""
        if self._worker.stopping:
            return
        await self._worker.stop(timeout)

    async def run_due(self) -> int:
        """Claim and run everything due now, waiting for it to finish; return how many jobs were run."""
        return await self._worker.run_due()

    async def sweep(self) -> None:
        """Run the safety net once, now: take back dead workers' claims, fail unknown kinds, arm near alarms."""
        await self._worker.sweep_now()

    async def prune(self) -> int:
        """Delete jobs that finished more than keep_done_days ago; return how many."""
        return await self._worker.prune()
