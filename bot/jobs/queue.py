"""JobQueue: schedule durable jobs in the caller's transaction, claim and run them on time, exactly once."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import os
import random
import socket
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import discord
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import ColumnElement, Executable, Row, and_, delete, event, literal, null, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from bot.config import JobSettings
from bot.db.base import utcnow
from bot.jobs.context import JobContext, JobFailed, JobHandler, MissedRule
from bot.jobs.models import JobStatus, JobWorker, ScheduledJob

log = logging.getLogger(__name__)

# A job whose kind no process has registered for this long past its due time is failed, not left pending forever.
# Long, because during a rolling deploy or a cog reload another process (or this one, shortly) may know the kind.
DEFAULT_UNKNOWN_KIND_GRACE = timedelta(hours=1)
# Rows due within this window get an alarm; the sweep arms later ones as they come near.
DEFAULT_ALARM_HORIZON = timedelta(hours=1)
# At most this many alarms are armed per pass over the table: APScheduler's add_job costs 0.1-1.5 ms each (it
# inspects the callable every time), so arming 10,000 at startup took 1-9 s. The earliest ones are armed first and
# the last of them arms the next batch.
ALARM_BATCH = 500
MAX_RETRY_DELAY = timedelta(hours=1)
ERROR_TEXT_LIMIT = 2000
DB_SLOTS = 4
PRUNE_EVERY = timedelta(hours=1)

_CLAIMABLE_STATUSES = (JobStatus.PENDING, JobStatus.CLAIMED)

HOST = socket.gethostname()[:100]
# Workers started in this process. A row with this host and pid under another id is an earlier incarnation (a
# container's bot is pid 1 after every restart), unless it is one of these (tests run several queues in one process).
_LIVE_HERE: set[str] = set()


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process, but alive
    return True


def _proven_dead(worker_id: str, host: str, pid: int) -> bool:
    """Whether a worker row names a process of this host that is gone, whatever its last beat says."""
    if host != HOST or worker_id in _LIVE_HERE:
        return False
    return pid == os.getpid() or not _pid_alive(pid)


@dataclass(frozen=True)
class _Registration:
    handler: JobHandler
    missed: MissedRule
    grace: timedelta
    max_attempts: int | None
    time_limit: timedelta | None


@dataclass(frozen=True)
class _Claim:
    """A row this worker has just claimed."""

    id: int
    kind: str
    key: str | None
    payload: dict[str, Any]
    guild_id: int | None
    due_at: datetime
    scheduled_for: datetime
    attempts: int
    generation: int
    result: dict[str, Any] | None

    @classmethod
    def from_row(cls, row: Row[Any]) -> _Claim:
        return cls(
            id=row.id,
            kind=row.kind,
            key=row.key,
            payload=dict(row.payload or {}),
            guild_id=row.guild_id,
            due_at=row.due_at,
            scheduled_for=row.scheduled_for,
            attempts=row.attempts,
            generation=row.generation,
            result=dict(row.result) if row.result else None,
        )


@dataclass
class _SessionAlarms:
    """Alarm changes made in one session, applied only once its transaction commits."""

    arm: dict[int, datetime]
    disarm: set[int]

    def cancelled(self, job_ids: list[int]) -> None:
        for job_id in job_ids:
            self.arm.pop(job_id, None)
            self.disarm.add(job_id)


class JobTimedOut(Exception):
    """A handler ran past its kind's time limit."""


def default_worker_id() -> str:
    """Name this process for claimed_by: host, pid and a random suffix (pids repeat across restarts)."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def retry_delay(base_seconds: float, attempt: int) -> timedelta:
    """Return the wait after failed attempt `attempt`: exponential, jittered so failures do not retry in lockstep."""
    exponential = min(base_seconds * 2 ** (attempt - 1), MAX_RETRY_DELAY.total_seconds())
    return timedelta(seconds=exponential * random.uniform(0.75, 1.25))


def _describe(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return text[:ERROR_TEXT_LIMIT]


def _storable_result(claim: _Claim, progress: dict[str, Any], returned: object) -> dict[str, Any] | None:
    # A result that cannot be stored must not fail the write that marks the job done: the lease would run out and
    # the job, which did its work, would run again.
    if returned is not None and not isinstance(returned, dict):
        log.error("Handler of %s returned %s, not a dict or None; ignoring it", claim.kind, type(returned).__name__)
        returned = None
    result = {**progress, **(returned or {})}
    try:
        json.dumps(result)
    except (TypeError, ValueError) as exc:
        log.error("Result of job %s (%s) cannot be stored as JSON: %s", claim.id, claim.kind, exc)
        result = {**progress, "unstorable_result": repr(returned)[:ERROR_TEXT_LIMIT]}
    return result or None


@functools.cache
def _upsert_statement(dialect: str, *, replace_done: bool) -> Any:
    """Build the INSERT ... ON CONFLICT (key) DO UPDATE once: building it per call cost more than running it."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(ScheduledJob)
    replaced = {
        name: getattr(stmt.excluded, name)
        for name in (
            "kind",
            "payload",
            "guild_id",
            "due_at",
            "scheduled_for",
            "status",
            "claimed_by",
            "lease_until",
            "attempts",
            "last_error",
            "finished_at",
            "updated_at",
        )
    }
    return stmt.on_conflict_do_update(
        index_elements=[ScheduledJob.key],
        # SQL NULL, not the JSON null a None parameter would store.
        set_={**replaced, "result": null(), "generation": ScheduledJob.generation + 1},
        where=None if replace_done else ScheduledJob.status != JobStatus.DONE,
    ).returning(ScheduledJob)


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
        concurrency: int = 16,
        alarm_horizon: timedelta = DEFAULT_ALARM_HORIZON,
        unknown_kind_grace: timedelta = DEFAULT_UNKNOWN_KIND_GRACE,
    ) -> None:
        engine = sessionmaker.kw.get("bind")
        if not isinstance(engine, AsyncEngine):
            raise TypeError("JobQueue needs a sessionmaker bound to an AsyncEngine")
        self._engine: AsyncEngine = engine
        # SQLite keeps its own BEGIN (see bot.db.engine), so only PostgreSQL runs single statements in autocommit.
        self._autocommit_engine: AsyncEngine | None = (
            engine.execution_options(isolation_level="AUTOCOMMIT") if engine.dialect.name == "postgresql" else None
        )
        # The queue's own statements share the pool with everything else; a few connections at a time is plenty
        # and never pushes the pool into its overflow, whose connections are opened and closed again each time.
        self._db_slots = asyncio.Semaphore(DB_SLOTS)
        self._sessionmaker = sessionmaker
        self._settings = settings
        self.worker_id = (worker_id or default_worker_id())[:100]
        self._concurrency = concurrency
        self._lease = timedelta(seconds=settings.lease_seconds)
        self._beat_every = timedelta(seconds=settings.heartbeat_seconds)
        self._dead_after = self._beat_every * settings.dead_after_beats
        self._started_at = utcnow()
        self._heart: asyncio.Task[None] | None = None
        self._horizon = max(alarm_horizon, timedelta(seconds=settings.sweep_seconds * 2))
        self._unknown_kind_grace = unknown_kind_grace
        self._handlers: dict[str, _Registration] = {}
        self._info_key = f"labelbot.jobs.alarms.{id(self)}"
        self._bot: Any | None = None
        self._scheduler: AsyncIOScheduler | None = None
        self._dispatcher: asyncio.Task[None] | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._stopping = False
        self._saturated = False
        self._running: dict[int, asyncio.Task[None]] = {}
        self._armed: dict[int, datetime] = {}

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
        if kind in self._handlers:
            raise ValueError(f"a handler for job kind {kind!r} is already registered")
        if max_attempts is not None and max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if time_limit is not None and time_limit <= timedelta(0):
            raise ValueError("time_limit must be positive")
        self._handlers[kind] = _Registration(handler, missed, grace, max_attempts, time_limit)
        # Jobs of this kind may have come due while it had no handler (a cog being reloaded).
        self._wake.set()

    def unregister(self, kind: str) -> None:
        """Forget the handler of `kind` (a cog being unloaded); its jobs wait until one is registered again.

        Jobs of a kind that no process registers are failed once `unknown_kind_grace` past due.
        """
        self._handlers.pop(kind, None)

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
        stmt = _upsert_statement(session.get_bind().dialect.name, replace_done=replace_done)
        result = await session.scalars(stmt, [values], execution_options={"populate_existing": True})
        job: ScheduledJob | None = result.one_or_none()
        if job is None:
            # Only reachable with replace_done=False: the key names a job that already ran.
            kept = await self.get(session, key) if key is not None else None
            if kept is None:
                raise RuntimeError(f"scheduling {kind!r} with key {key!r} returned no row")
            return kept
        self._after_commit(session).arm[job.id] = job.due_at
        return job

    async def cancel(self, session: AsyncSession, key: str) -> bool:
        """Cancel the pending or running job with this key; True if there was one.

        A running handler is not interrupted; it will not be retried, and is recorded as done only if it succeeds.
        """
        now = utcnow()
        stmt = (
            update(ScheduledJob)
            .where(ScheduledJob.key == key, ScheduledJob.status.in_(_CLAIMABLE_STATUSES))
            .values(status=JobStatus.CANCELLED, finished_at=now, updated_at=now)
            .returning(ScheduledJob.id)
            .execution_options(synchronize_session="fetch")
        )
        ids = list(await session.scalars(stmt))
        self._after_commit(session).cancelled(ids)
        return bool(ids)

    async def cancel_prefix(self, session: AsyncSession, prefix: str) -> int:
        """Cancel every pending or running job whose key starts with `prefix` (e.g. "release:12:"); return how many."""
        if not prefix:
            raise ValueError("an empty prefix would cancel every keyed job")
        now = utcnow()
        stmt = (
            update(ScheduledJob)
            .where(
                ScheduledJob.status.in_(_CLAIMABLE_STATUSES),
                ScheduledJob.key.startswith(prefix, autoescape=True),
            )
            .values(status=JobStatus.CANCELLED, finished_at=now, updated_at=now)
            .returning(ScheduledJob.id)
            .execution_options(synchronize_session="fetch")
        )
        ids = list(await session.scalars(stmt))
        self._after_commit(session).cancelled(ids)
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
        alarms = self._after_commit(session)
        for job_id in ids:
            alarms.arm[job_id] = due
        return bool(ids)

    async def get(self, session: AsyncSession, key: str) -> ScheduledJob | None:
        """Return the job with this key, whatever its status."""
        found: ScheduledJob | None = await session.scalar(select(ScheduledJob).where(ScheduledJob.key == key))
        return found

    async def pending_for_guild(self, session: AsyncSession, guild_id: int, limit: int = 10) -> list[ScheduledJob]:
        """Return a guild's jobs still to run (or running now), soonest first."""
        rows = await session.scalars(
            select(ScheduledJob)
            .where(ScheduledJob.guild_id == guild_id, ScheduledJob.status.in_(_CLAIMABLE_STATUSES))
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
            .where(JobWorker.last_beat >= utcnow() - self._dead_after)
            .order_by(JobWorker.started_at, JobWorker.id)
        )
        return list(rows)

    # -- lifecycle --------------------------------------------------------------------------------------------

    def alarm_times(self) -> dict[int, datetime]:
        """Return the alarms armed in this process, by job id (for diagnostics and tests)."""
        return dict(self._armed)

    @property
    def running(self) -> bool:
        """Whether start() was called and stop() not yet."""
        return self._scheduler is not None and not self._stopping

    async def start(self, bot: Any | None = None) -> None:
        """Arm alarms from the table, start the sweep and pruning, and run whatever came due while down."""
        if self._scheduler is not None:
            raise RuntimeError("JobQueue.start() was already called")
        self._bot = bot
        self._stopping = False
        self._wake = asyncio.Event()
        scheduler = AsyncIOScheduler(
            timezone=UTC,
            # Late wake-ups must still run (the table decides what is due), and piled-up sweeps run once.
            job_defaults={"misfire_grace_time": None, "coalesce": True, "max_instances": 1},
        )
        scheduler.start()
        self._scheduler = scheduler
        _LIVE_HERE.add(self.worker_id)
        try:
            self._started_at = utcnow()
            await self._beat()
            taken = await self._take_over(startup=True)
            armed = await self._arm_from_table()
        except BaseException:
            _LIVE_HERE.discard(self.worker_id)
            # The database is not there: leave nothing running, so start() can simply be called again.
            scheduler.shutdown(wait=False)
            self._scheduler = None
            self._armed.clear()
            raise
        scheduler.add_job(self._sweep, "interval", seconds=self._settings.sweep_seconds, id="labelbot:jobs:sweep")
        scheduler.add_job(
            self._prune_quietly,
            "interval",
            seconds=PRUNE_EVERY.total_seconds(),
            id="labelbot:jobs:prune",
            next_run_time=utcnow() + timedelta(minutes=1),
            jitter=60,
        )
        self._dispatcher = asyncio.create_task(self._dispatch_forever(), name="labelbot-jobs-dispatcher")
        self._heart = asyncio.create_task(self._beat_forever(), name="labelbot-jobs-heartbeat")
        self._wake.set()
        log.info(
            "Job queue %s started: %d alarms armed, %d kinds registered, %d jobs of earlier workers taken back",
            self.worker_id,
            armed,
            len(self._handlers),
            taken,
        )

    # The timeout bounds only the wait for running handlers; the hand-back afterwards must still happen.
    async def stop(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Stop claiming, let running handlers finish for up to `timeout` s, then hand back what is still running."""
        if self._stopping:
            return
        self._stopping = True
        self._wake.set()
        if self._heart is not None:
            self._heart.cancel()
            await asyncio.gather(self._heart, return_exceptions=True)
            self._heart = None
        if self._dispatcher is not None:
            await self._dispatcher
            self._dispatcher = None
        if self._scheduler is not None:
            if self._scheduler.running:
                self._scheduler.shutdown(wait=False)
            self._scheduler = None
            self._armed.clear()
        if self._sweeper is not None:
            await self._sweeper
            self._sweeper = None
        running = list(self._running.values())
        if running:
            _, still_running = await asyncio.wait(running, timeout=timeout)
            for task in still_running:
                task.cancel()
            if still_running:
                await asyncio.gather(*still_running, return_exceptions=True)
        released = await self._release_claims()
        if released:
            log.warning("Handed back %d unfinished jobs on shutdown; they run again at the next start", released)
        await self._retire()
        _LIVE_HERE.discard(self.worker_id)
        log.info("Job queue %s stopped", self.worker_id)

    async def run_due(self) -> int:
        """Claim and run everything due now, waiting for it to finish; return how many jobs were run."""
        await self._fail_unknown_kinds()
        count = 0
        while not self._stopping:
            free = self._concurrency - len(self._running)
            if free <= 0:
                await asyncio.wait(list(self._running.values()), return_when=asyncio.FIRST_COMPLETED)
                continue
            claims = await self._claim(free)
            if not claims:
                break
            tasks = [self._spawn(claim) for claim in claims]
            await asyncio.gather(*tasks, return_exceptions=True)
            count += len(claims)
        return count

    # -- alarms -----------------------------------------------------------------------------------------------

    def _after_commit(self, session: AsyncSession) -> _SessionAlarms:
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
            self._disarm(job_id)
        for job_id, due in alarms.arm.items():
            self._arm(job_id, due)
        alarms.arm.clear()
        alarms.disarm.clear()

    def _on_rollback(self, session: Session) -> None:
        alarms: _SessionAlarms | None = session.info.get(self._info_key)
        if alarms is not None:
            alarms.arm.clear()
            alarms.disarm.clear()

    def _arm(self, job_id: int, due_at: datetime) -> None:
        scheduler = self._scheduler
        if scheduler is None or self._stopping:
            return
        now = utcnow()
        if due_at <= now:
            self._disarm(job_id)
            self._wake.set()
            return
        if due_at > now + self._horizon or self._armed.get(job_id) == due_at:
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

    def _disarm(self, job_id: int) -> None:
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
        self._wake.set()

    async def _arm_from_table(self) -> int:
        now = utcnow()
        async with self._db_slots, self._engine.connect() as connection:
            rows = (
                await connection.execute(
                    select(ScheduledJob.id, ScheduledJob.due_at)
                    .where(
                        ScheduledJob.status == JobStatus.PENDING,
                        ScheduledJob.due_at > now,
                        ScheduledJob.due_at <= now + self._horizon,
                    )
                    .order_by(ScheduledJob.due_at)
                    .limit(ALARM_BATCH)
                )
            ).all()
        before = len(self._armed)
        for job_id, due_at in rows:
            self._arm(job_id, due_at)
        if len(rows) == ALARM_BATCH and self._scheduler is not None and not self._stopping:
            # More rows are due within the horizon than were armed: when the last armed one fires, arm the next
            # batch, so a dense stretch of jobs does not wait for the sweep.
            self._scheduler.add_job(
                self._sweep, "date", run_date=rows[-1].due_at, id="labelbot:jobs:next-batch", replace_existing=True
            )
        return len(self._armed) - before

    async def _sweep(self) -> None:
        # Run the sweep beside APScheduler, not in it: a slow one (a busy database) must not pile up skipped runs.
        if self._sweeper is None or self._sweeper.done():
            self._sweeper = asyncio.create_task(self._sweep_now(), name="labelbot-jobs-sweep")

    async def _sweep_now(self) -> None:
        # The safety net: rows scheduled by other processes, alarms beyond the horizon, expired leases.
        try:
            await self._take_over(startup=False)
            await self._fail_unknown_kinds()
            await self._arm_from_table()
        except Exception:
            log.exception("Sweeping the job table failed; the next sweep tries again")
        self._wake.set()

    # -- heartbeats and takeover --------------------------------------------------------------------------------

    async def _beat(self) -> None:
        now = utcnow()
        dialect = self._engine.dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        stmt = insert(JobWorker).values(
            id=self.worker_id, host=HOST, pid=os.getpid(), started_at=self._started_at, last_beat=now
        )
        # Upserted, not updated: a worker found dead during a long stall comes back with its next beat.
        await self._write(
            stmt.on_conflict_do_update(
                index_elements=[JobWorker.id],
                set_={"last_beat": stmt.excluded.last_beat, "host": stmt.excluded.host, "pid": stmt.excluded.pid},
            )
        )

    async def _beat_forever(self) -> None:
        interval = self._beat_every.total_seconds()
        while not self._stopping:
            await asyncio.sleep(interval)
            try:
                await self._beat()
                await self._take_over(startup=False)
            except Exception:
                # A beat missed now and then is harmless: a worker is dead only after several.
                log.exception("Recording the heartbeat of worker %s failed", self.worker_id)

    async def _retire(self) -> None:
        try:
            await self._write(delete(JobWorker).where(JobWorker.id == self.worker_id))
        except Exception:
            log.exception(
                "Removing worker %s from the workers table failed; its beat goes stale instead", self.worker_id
            )

    async def _take_over(self, *, startup: bool) -> int:
        """Make the claims of dead workers claimable now, whatever their leases say; return how many.

        A worker is dead when its beat is stale, or when it ran on this host under a pid that is gone. On SQLite (one
        process per file) a starting process also takes back every claim not held by a worker shown alive here.
        """
        now = utcnow()
        stale = now - self._dead_after
        async with self._db_slots, self._engine.connect() as connection:
            workers = (
                await connection.execute(select(JobWorker.id, JobWorker.host, JobWorker.pid, JobWorker.last_beat))
            ).all()
        others = [worker for worker in workers if worker.id != self.worker_id]
        proven = [worker.id for worker in others if _proven_dead(worker.id, worker.host, worker.pid)]
        stale_ids = select(JobWorker.id).where(JobWorker.last_beat < stale, JobWorker.id != self.worker_id)
        holder: ColumnElement[bool]
        if startup and self._engine.dialect.name == "sqlite":
            # A second process on one file (unsupported, but tested) is kept alive only when its pid shows it is.
            alive_here = [
                worker.id
                for worker in others
                if worker.host == HOST and worker.last_beat >= stale and worker.id not in proven
            ]
            holder = ScheduledJob.claimed_by.not_in([self.worker_id, *alive_here])
            gone: ColumnElement[bool] = JobWorker.id.not_in([self.worker_id, *alive_here])
        else:
            holder = or_(ScheduledJob.claimed_by.in_(proven), ScheduledJob.claimed_by.in_(stale_ids))
            gone = or_(JobWorker.id.in_(proven), and_(JobWorker.last_beat < stale, JobWorker.id != self.worker_id))
        take_back = (
            update(ScheduledJob)
            .where(ScheduledJob.status == JobStatus.CLAIMED, ScheduledJob.lease_until > now, holder)
            .values(lease_until=now, updated_at=now)
            .returning(ScheduledJob.id, ScheduledJob.claimed_by)
        )
        async with self._db_slots, self._engine.begin() as connection:
            taken = (await connection.execute(take_back)).all()
            await connection.execute(delete(JobWorker).where(gone))
        if taken:
            log.warning("Took back %d jobs of dead workers %s", len(taken), sorted({row.claimed_by for row in taken}))
            self._wake.set()
        return len(taken)

    async def _fail_unknown_kinds(self) -> None:
        if not self._handlers:
            return  # a process that runs nothing (a CLI, say) is no judge of which kinds exist
        cutoff = utcnow() - self._unknown_kind_grace
        now = utcnow()
        _, rows = await self._write(
            update(ScheduledJob)
            .where(
                ScheduledJob.kind.not_in(list(self._handlers)),
                or_(
                    and_(ScheduledJob.status == JobStatus.PENDING, ScheduledJob.due_at < cutoff),
                    and_(ScheduledJob.status == JobStatus.CLAIMED, ScheduledJob.lease_until < cutoff),
                ),
            )
            .values(
                status=JobStatus.FAILED,
                last_error=literal("no handler is registered for job kind ").concat(ScheduledJob.kind),
                lease_until=null(),
                finished_at=now,
                updated_at=now,
            )
            .returning(*ScheduledJob.__table__.columns)
        )
        for row in rows:
            job = ScheduledJob(**row._asdict())
            log.error("Failed job %s: no handler is registered for its kind %r", job.id, job.kind)
            if self._bot is not None:
                self._bot.dispatch("job_failed", job)

    async def prune(self) -> int:
        """Delete jobs that finished more than keep_done_days ago; return how many."""
        cutoff = utcnow() - timedelta(days=self._settings.keep_done_days)
        pruned, _ = await self._write(
            delete(ScheduledJob).where(
                ScheduledJob.status.in_((JobStatus.DONE, JobStatus.CANCELLED, JobStatus.FAILED)),
                ScheduledJob.finished_at < cutoff,
            )
        )
        if pruned:
            log.info("Pruned %d jobs finished before %s", pruned, cutoff.isoformat())
        return pruned

    async def _prune_quietly(self) -> None:
        try:
            await self.prune()
        except Exception:
            log.exception("Pruning finished jobs failed; the next prune tries again")

    # -- dispatching ------------------------------------------------------------------------------------------

    async def _dispatch_forever(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            if self._stopping:
                return
            try:
                await self._dispatch_pass()
            except Exception:
                # The database may be away; the next alarm or sweep tries again.
                log.exception("Claiming due jobs failed")

    async def _dispatch_pass(self) -> None:
        while not self._stopping:
            free = self._concurrency - len(self._running)
            if free <= 0:
                # Claim no more than can run: a claimed row waiting for a slot would burn its lease.
                self._saturated = True
                return
            claims = await self._claim(free)
            for claim in claims:
                self._spawn(claim)
            if len(claims) < free:
                return

    def _spawn(self, claim: _Claim) -> asyncio.Task[None]:
        task = asyncio.create_task(self._execute(claim), name=f"labelbot-job-{claim.id}")
        self._running[claim.id] = task
        task.add_done_callback(functools.partial(self._finished, claim.id))
        return task

    def _finished(self, job_id: int, _task: asyncio.Task[None]) -> None:
        self._running.pop(job_id, None)
        if self._saturated:
            self._saturated = False
            self._wake.set()

    def _claimable(self, now: datetime) -> ColumnElement[bool]:
        return and_(
            # Only kinds this process can run: during a rolling deploy an older process leaves newer kinds alone.
            ScheduledJob.kind.in_(list(self._handlers)),
            or_(
                and_(ScheduledJob.status == JobStatus.PENDING, ScheduledJob.due_at <= now),
                # A worker that died mid-run: its lease ran out, so the job is retried rather than lost.
                # (A dead worker's claims are taken back by setting their lease to the moment it was found dead.)
                and_(ScheduledJob.status == JobStatus.CLAIMED, ScheduledJob.lease_until <= now),
            ),
        )

    async def _claim(self, limit: int) -> list[_Claim]:
        now = utcnow()
        claimable = self._claimable(now)
        # Materialized, so PostgreSQL runs the locking LIMIT query once: inlined into a semi-join it can be rescanned
        # once per outer row, each rescan skipping the rows already locked and taking the next ones, which claimed
        # the whole table in one statement (seen in the multi-process test).
        candidates = (
            select(ScheduledJob.id)
            .where(claimable)
            .order_by(ScheduledJob.due_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
            .cte("claimable")
            .prefix_with("MATERIALIZED", dialect="postgresql")
        )
        stmt = (
            update(ScheduledJob)
            # No second filter here: the rows are locked, and FOR UPDATE re-checked them against their latest version.
            .where(ScheduledJob.id.in_(select(candidates.c.id)))
            .values(
                status=JobStatus.CLAIMED,
                claimed_by=self.worker_id,
                lease_until=now + self._lease,
                attempts=ScheduledJob.attempts + 1,
                updated_at=now,
            )
            .returning(
                ScheduledJob.id,
                ScheduledJob.kind,
                ScheduledJob.key,
                ScheduledJob.payload,
                ScheduledJob.guild_id,
                ScheduledJob.due_at,
                ScheduledJob.scheduled_for,
                ScheduledJob.attempts,
                ScheduledJob.generation,
                ScheduledJob.result,
            )
        )
        async with self._db_slots, self._engine.connect() as connection:
            if self._engine.dialect.name == "sqlite":
                # SQLite has no row locks: take the write lock up front so two processes cannot claim one row.
                await connection.execution_options(sqlite_begin="IMMEDIATE")
            async with connection.begin():
                rows = (await connection.execute(stmt)).all()
        claims = sorted((_Claim.from_row(row) for row in rows), key=lambda claim: (claim.due_at, claim.id))
        if claims:
            log.debug("Worker %s claimed jobs %s", self.worker_id, [claim.id for claim in claims])
        return claims

    async def _execute(self, claim: _Claim) -> None:
        stop_renewing = asyncio.Event()
        renewer = asyncio.create_task(self._renew_lease(claim.id, stop_renewing), name=f"labelbot-lease-{claim.id}")
        try:
            await self._run(claim)
        except Exception:
            # Recording the outcome failed (the database, most likely); the lease runs out and the job is retried.
            log.exception("Job %s (%s) ran but its outcome could not be recorded", claim.id, claim.kind)
        finally:
            stop_renewing.set()
            await asyncio.shield(renewer)

    async def _renew_lease(self, job_id: int, stop: asyncio.Event) -> None:
        interval = self._lease.total_seconds() / 3
        while True:
            try:
                await asyncio.wait_for(stop.wait(), timeout=interval)
                return
            except TimeoutError:
                pass
            try:
                renewed, _ = await self._write(
                    update(ScheduledJob).where(*self._held(job_id)).values(lease_until=utcnow() + self._lease)
                )
            except Exception:
                log.exception("Renewing the lease of job %s failed", job_id)
                continue
            if renewed == 0:
                log.info("Job %s was cancelled, replaced or taken over while running", job_id)
                return

    def _held(self, job_id: int) -> tuple[ColumnElement[bool], ...]:
        return (
            ScheduledJob.id == job_id,
            ScheduledJob.claimed_by == self.worker_id,
            ScheduledJob.status == JobStatus.CLAIMED,
        )

    async def _run(self, claim: _Claim) -> None:
        registration = self._handlers.get(claim.kind)
        if registration is None:
            # Unregistered since the claim (a cog being reloaded): hand it back for when the kind returns.
            log.info("Job %s (%s) lost its handler before it ran; handing it back", claim.id, claim.kind)
            await self._write(
                update(ScheduledJob)
                .where(*self._held(claim.id))
                .values(status=JobStatus.PENDING, claimed_by=null(), lease_until=null(), attempts=claim.attempts - 1)
            )
            return
        max_attempts = registration.max_attempts or self._settings.max_attempts
        if claim.attempts > max_attempts:
            await self._finish(
                claim,
                JobStatus.FAILED,
                error=f"gave up after {max_attempts} attempts; the last one never finished (its worker stopped)",
            )
            return
        lateness = max(utcnow() - claim.scheduled_for, timedelta(0))
        late = lateness > registration.grace
        if late and registration.missed is not MissedRule.RUN_LATE:
            missed = {"late_seconds": round(lateness.total_seconds(), 3)}
            if registration.missed is MissedRule.SKIP:
                log.info("Skipping job %s (%s): %s late", claim.id, claim.kind, lateness)
                await self._finish(claim, JobStatus.DONE, result={"skipped": "missed", **missed})
            else:
                log.info("Dropping job %s (%s): %s late", claim.id, claim.kind, lateness)
                await self._finish(claim, JobStatus.CANCELLED, result={"dropped": "missed", **missed})
            return

        progress_lock = asyncio.Lock()

        async def record(progress: dict[str, Any]) -> None:
            async with progress_lock:
                await self._record_progress(claim.id, dict(progress))

        context = JobContext(
            id=claim.id,
            kind=claim.kind,
            key=claim.key,
            payload=claim.payload,
            guild_id=claim.guild_id,
            due_at=claim.scheduled_for,
            attempt=claim.attempts,
            late=late,
            lateness=lateness,
            generation=claim.generation,
            progress=dict(claim.result or {}),
            recorder=record,
        )
        limit = (registration.time_limit or timedelta(seconds=self._settings.time_limit_seconds)).total_seconds()
        deadline = asyncio.timeout(limit)
        try:
            async with deadline:
                returned = await registration.handler(context)
        except JobFailed as exc:
            log.warning("Job %s (%s) failed for good: %s", claim.id, claim.kind, exc)
            await self._finish(claim, JobStatus.FAILED, error=_describe(exc), result=context.progress or None)
            return
        except Exception as caught:
            error = _describe(caught)
            if isinstance(caught, TimeoutError) and deadline.expired():
                error = _describe(JobTimedOut(f"it ran longer than its time limit of {limit:g} s and was abandoned"))
            if claim.attempts >= max_attempts:
                log.exception("Job %s (%s) failed on its last attempt (%d)", claim.id, claim.kind, claim.attempts)
                await self._finish(claim, JobStatus.FAILED, error=error, result=context.progress or None)
            else:
                delay = retry_delay(self._settings.retry_base_seconds, claim.attempts)
                if isinstance(caught, discord.RateLimited):
                    # A 429 longer than the client waits out (max_ratelimit_timeout): come back once it has passed.
                    delay = max(delay, timedelta(seconds=caught.retry_after))
                log.warning(
                    "Job %s (%s) failed on attempt %d; retrying in %.1f s",
                    claim.id,
                    claim.kind,
                    claim.attempts,
                    delay.total_seconds(),
                    exc_info=True,
                )
                await self._retry(claim, error, utcnow() + delay)
            return
        await self._finish(claim, JobStatus.DONE, result=_storable_result(claim, context.progress, returned))

    async def _record_progress(self, job_id: int, progress: dict[str, Any]) -> None:
        recorded, _ = await self._write(
            update(ScheduledJob).where(*self._held(job_id)).values(result=progress, updated_at=utcnow())
        )
        if recorded == 0:
            log.warning("Job %s no longer holds its claim; its progress %s is not recorded", job_id, progress)

    async def _retry(self, claim: _Claim, error: str, due_at: datetime) -> None:
        retried, _ = await self._write(
            update(ScheduledJob)
            .where(*self._held(claim.id))
            .values(
                status=JobStatus.PENDING,
                due_at=due_at,
                claimed_by=null(),
                lease_until=null(),
                last_error=error,
                updated_at=utcnow(),
            )
        )
        if retried == 0:
            log.info("Job %s was cancelled or replaced while running; not retrying it", claim.id)
            return
        self._arm(claim.id, due_at)

    async def _finish(
        self,
        claim: _Claim,
        status: JobStatus,
        *,
        error: str | None = None,
        result: dict[str, Any] | None = None,
    ) -> None:
        now = utcnow()
        # A job cancelled while its handler ran still records a success: the message is out, say so.
        holding = (JobStatus.CLAIMED, JobStatus.CANCELLED) if status is JobStatus.DONE else (JobStatus.CLAIMED,)
        values: dict[str, Any] = {
            "status": status,
            "lease_until": null(),
            "finished_at": now,
            "updated_at": now,
        }
        if result is not None:
            values["result"] = result
        if error is not None:
            values["last_error"] = error
        _, rows = await self._write(
            update(ScheduledJob)
            .where(
                ScheduledJob.id == claim.id,
                ScheduledJob.claimed_by == self.worker_id,
                ScheduledJob.status.in_(holding),
            )
            .values(values)
            .returning(*ScheduledJob.__table__.columns)
        )
        if not rows:
            log.warning(
                "Job %s (%s) was cancelled, replaced or taken over while running; its outcome (%s) is not recorded",
                claim.id,
                claim.kind,
                status,
            )
            return
        # Listeners get a detached copy of the row as it is now.
        job = ScheduledJob(**rows[0]._asdict())
        if status is JobStatus.FAILED:
            log.error("Job %s (%s) failed after %d attempts: %s", job.id, job.kind, job.attempts, job.last_error)
        if self._bot is not None:
            if status is JobStatus.FAILED:
                self._bot.dispatch("job_failed", job)
            elif status is JobStatus.DONE:
                self._bot.dispatch("job_done", job)

    async def _release_claims(self) -> int:
        # Interrupted by our own shutdown, not by the job: the attempt does not count.
        try:
            released, _ = await self._write(
                update(ScheduledJob)
                .where(ScheduledJob.claimed_by == self.worker_id, ScheduledJob.status == JobStatus.CLAIMED)
                .values(
                    status=JobStatus.PENDING,
                    claimed_by=null(),
                    lease_until=null(),
                    attempts=ScheduledJob.attempts - 1,
                    updated_at=utcnow(),
                )
            )
        except Exception:
            log.exception("Handing back unfinished jobs failed; their leases run out and they are retried")
            return 0
        return released

    async def _write(self, statement: Executable) -> tuple[int, list[Row[Any]]]:
        """Run one UPDATE or DELETE as a transaction of its own; return its row count and RETURNING rows."""
        async with self._db_slots:
            if self._autocommit_engine is not None:
                # One statement needs no BEGIN/COMMIT round trips around it.
                async with self._autocommit_engine.connect() as connection:
                    result = await connection.execute(statement)
                    rows = list(result.all()) if result.returns_rows else []
                    return result.rowcount, rows
            async with self._engine.begin() as connection:
                result = await connection.execute(statement)
                rows = list(result.all()) if result.returns_rows else []
                return result.rowcount, rows
