"""The worker: claim what is due, run its handler within the kind's time limit, retry or record the outcome."""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import discord

from labelbot.config import JobSettings
from labelbot.db.base import utcnow
from labelbot.db.outage import log_failure
from labelbot.jobs.alarms import AlarmClock
from labelbot.jobs.context import ComeBackLater, JobContext, JobFailed, JobHandler, MissedRule
from labelbot.jobs.models import JobStatus
from labelbot.jobs.store import LIVE_HERE, Claim, JobStore
from labelbot.pacing import rate_limit_patience

log = logging.getLogger(__name__)

# At most this many alarms are armed per pass over the table: APScheduler's add_job costs 0.1-1.5 ms each (it
# inspects the callable every time), so arming 10,000 at startup took 1-9 s. The earliest ones are armed first and
# the last of them arms the next batch.
ALARM_BATCH = 500
MAX_RETRY_DELAY = timedelta(hours=1)
ERROR_TEXT_LIMIT = 2000
PRUNE_EVERY = timedelta(hours=1)
# A 429 wait a job sits out in place; a longer one hands the job back until the wait is over (labelbot.pacing).
RATE_LIMIT_PATIENCE_SECONDS = 10.0
# With every slot busy, a finished job wakes the dispatcher this much later, so the slots freed meanwhile are
# claimed in one statement rather than one claim per finished job.
REFILL_DELAY_SECONDS = 0.01


class JobTimedOut(Exception):
    """A handler ran past its kind's time limit."""


@dataclass(frozen=True)
class Registration:
    handler: JobHandler
    missed: MissedRule
    grace: timedelta
    max_attempts: int | None
    time_limit: timedelta | None


def retry_delay(base_seconds: float, attempt: int) -> timedelta:
    """Return the wait after failed attempt `attempt`: exponential, jittered so failures do not retry in lockstep."""
    exponential = min(base_seconds * 2 ** (attempt - 1), MAX_RETRY_DELAY.total_seconds())
    return timedelta(seconds=exponential * random.uniform(0.75, 1.25))


def _describe(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return text[:ERROR_TEXT_LIMIT]


def _storable_result(claim: Claim, progress: dict[str, Any], returned: object) -> dict[str, Any] | None:
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


class Worker:
    """Runs the jobs of the registered kinds: wakes on alarms, beats, sweeps, claims, runs and records."""

    def __init__(
        self,
        store: JobStore,
        settings: JobSettings,
        *,
        concurrency: int,
        alarm_horizon: timedelta,
        unknown_kind_grace: timedelta,
    ) -> None:
        self.store = store
        self._settings = settings
        self._concurrency = concurrency
        self._unknown_kind_grace = unknown_kind_grace
        self.handlers: dict[str, Registration] = {}
        self._wake = asyncio.Event()
        self.alarms = AlarmClock(self.wake, max(alarm_horizon, timedelta(seconds=settings.sweep_seconds * 2)))
        self._bot: Any | None = None
        self._dispatcher: asyncio.Task[None] | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self._heart: asyncio.Task[None] | None = None
        self._lease_keeper: asyncio.Task[None] | None = None
        self.stopping = False
        self._saturated = False
        self._refill: asyncio.TimerHandle | None = None
        self._running: dict[int, asyncio.Task[None]] = {}

    @property
    def worker_id(self) -> str:
        return self.store.worker_id

    def wake(self) -> None:
        """Have the dispatcher look for due jobs now."""
        self._wake.set()

    def arm(self, job_id: int, due_at: datetime) -> None:
        if not self.stopping:
            self.alarms.arm(job_id, due_at)

    # -- lifecycle --------------------------------------------------------------------------------------------

    async def start(self, bot: Any | None) -> None:
        self._bot = bot
        self.stopping = False
        self._wake = asyncio.Event()
        self.alarms.start()
        LIVE_HERE.add(self.worker_id)
        try:
            self.store.started_at = utcnow()
            await self.store.beat()
            taken = await self.store.take_over(startup=True)
            armed = await self._arm_from_table()
        except BaseException:
            # The database is not there: leave nothing running, so start() can simply be called again.
            LIVE_HERE.discard(self.worker_id)
            self.alarms.stop()
            raise
        self.alarms.every(self._sweep, self._settings.sweep_seconds, "labelbot:jobs:sweep")
        self.alarms.every(
            self._prune_quietly,
            PRUNE_EVERY.total_seconds(),
            "labelbot:jobs:prune",
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
            len(self.handlers),
            taken,
        )

    async def stop(self, timeout: float) -> None:  # noqa: ASYNC109
        self.stopping = True
        self._wake.set()
        if self._heart is not None:
            self._heart.cancel()
            await asyncio.gather(self._heart, return_exceptions=True)
            self._heart = None
        if self._dispatcher is not None:
            await self._dispatcher
            self._dispatcher = None
        self.alarms.stop()
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
        if self._lease_keeper is not None:
            self._lease_keeper.cancel()
            await asyncio.gather(self._lease_keeper, return_exceptions=True)
            self._lease_keeper = None
        try:
            released = await self.store.release_claims()
        except Exception:
            log_failure(log, "Handing back unfinished jobs failed; their leases run out and they are retried")
            released = 0
        if released:
            log.warning("Handed back %d unfinished jobs on shutdown; they run again at the next start", released)
        try:
            await self.store.retire()
        except Exception:
            log_failure(
                log, "Removing worker %s from the workers table failed; its beat goes stale instead", self.worker_id
            )
        LIVE_HERE.discard(self.worker_id)
        log.info("Job queue %s stopped", self.worker_id)

    async def run_due(self) -> int:
        """Claim and run everything due now, waiting for it to finish; return how many jobs were run."""
        await self._fail_unknown_kinds()
        count = 0
        while not self.stopping:
            free = self._concurrency - len(self._running)
            if free <= 0:
                await asyncio.wait(list(self._running.values()), return_when=asyncio.FIRST_COMPLETED)
                continue
            claims = await self.store.claim(list(self.handlers), free)
            if not claims:
                break
            tasks = [self._spawn(claim) for claim in claims]
            await asyncio.gather(*tasks, return_exceptions=True)
            count += len(claims)
        return count

    # -- heartbeat, sweep, housekeeping ------------------------------------------------------------------------

    async def _beat_forever(self) -> None:
        interval = self._settings.heartbeat_seconds
        while not self.stopping:
            await asyncio.sleep(interval)
            try:
                await self.store.beat()
                if await self.store.take_over(startup=False):
                    self._wake.set()
            except Exception:
                # A beat missed now and then is harmless: a worker is dead only after several.
                log_failure(log, "Recording the heartbeat of worker %s failed", self.worker_id)

    async def _arm_from_table(self) -> int:
        rows = await self.store.due_soon(self.alarms.horizon, ALARM_BATCH)
        before = len(self.alarms.armed())
        for job_id, due_at in rows:
            self.arm(job_id, due_at)
        if len(rows) == ALARM_BATCH and self.alarms.ticking and not self.stopping:
            # More rows are due within the horizon than were armed: when the last armed one fires, arm the next
            # batch, so a dense stretch of jobs does not wait for the sweep.
            self.alarms.once(self._sweep, rows[-1][1], "labelbot:jobs:next-batch")
        return len(self.alarms.armed()) - before

    async def _sweep(self) -> None:
        # Run the sweep beside APScheduler, not in it: a slow one (a busy database) must not pile up skipped runs.
        if self._sweeper is None or self._sweeper.done():
            self._sweeper = asyncio.create_task(self.sweep_now(), name="labelbot-jobs-sweep")

    async def sweep_now(self) -> None:
        # The safety net: dead workers' claims, rows scheduled by other processes, alarms beyond the horizon.
        try:
            await self.store.take_over(startup=False)
            await self._fail_unknown_kinds()
            await self._arm_from_table()
        except Exception:
            log_failure(log, "Sweeping the job table failed; the next sweep tries again")
        self._wake.set()

    async def _fail_unknown_kinds(self) -> None:
        if not self.handlers:
            return  # a process that runs nothing (a CLI, say) is no judge of which kinds exist
        for job in await self.store.fail_unknown_kinds(list(self.handlers), self._unknown_kind_grace):
            log.error("Failed job %s: no handler is registered for its kind %r", job.id, job.kind)
            if self._bot is not None:
                self._bot.dispatch("job_failed", job)

    async def prune(self) -> int:
        return await self.store.prune(timedelta(days=self._settings.keep_done_days))

    async def _prune_quietly(self) -> None:
        try:
            await self.prune()
        except Exception:
            log_failure(log, "Pruning finished jobs failed; the next prune tries again")

    # -- dispatching ------------------------------------------------------------------------------------------

    async def _dispatch_forever(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            if self.stopping:
                return
            try:
                await self._dispatch_pass()
            except Exception:
                # The database may be away; the next alarm or sweep tries again.
                log_failure(log, "Claiming due jobs failed")

    async def _dispatch_pass(self) -> None:
        while not self.stopping:
            free = self._concurrency - len(self._running)
            if free <= 0:
                # Claim no more than can run: a claimed row waiting for a slot would burn its lease.
                self._saturated = True
                return
            claims = await self.store.claim(list(self.handlers), free)
            for claim in claims:
                self._spawn(claim)
            if len(claims) < free:
                return

    def _spawn(self, claim: Claim) -> asyncio.Task[None]:
        task = asyncio.create_task(self._execute(claim), name=f"labelbot-job-{claim.id}")
        self._running[claim.id] = task
        self._keep_leases()
        task.add_done_callback(functools.partial(self._finished, claim.id))
        return task

    def _finished(self, job_id: int, _task: asyncio.Task[None]) -> None:
        self._running.pop(job_id, None)
        if self._saturated:
            self._saturated = False
            self._refill = asyncio.get_running_loop().call_later(REFILL_DELAY_SECONDS, self._wake.set)

    async def _execute(self, claim: Claim) -> None:
        try:
            await self._run(claim)
        except Exception:
            # Recording the outcome failed (the database, most likely); the lease runs out and the job is retried.
            log.exception("Job %s (%s) ran but its outcome could not be recorded", claim.id, claim.kind)

    def _keep_leases(self) -> None:
        if self._lease_keeper is None or self._lease_keeper.done():
            self._lease_keeper = asyncio.create_task(self._renew_leases(), name="labelbot-jobs-leases")

    async def _renew_leases(self) -> None:
        # One statement for every running job each third of a lease, not a task and a transaction per job: in a
        # fan-out hundreds of jobs wait for their channel's window at once (measured: ~6 renewals per post with the
        # 5 s lease of the benchmarks, each a write on SQLite's one connection).
        interval = self.store.lease.total_seconds() / 3
        while self._running:
            await asyncio.sleep(interval)
            running = list(self._running)
            if not running:
                return
            try:
                ours = await self.store.renew(running)
            except Exception:
                log_failure(log, "Renewing the leases of %d running jobs failed", len(running))
                continue
            for job_id in running:
                if job_id not in ours and job_id in self._running:
                    log.info("Job %s was cancelled, replaced or taken over while running", job_id)

    async def _run(self, claim: Claim) -> None:
        registration = self.handlers.get(claim.kind)
        if registration is None:
            # Unregistered since the claim (a cog being reloaded): hand it back for when the kind returns.
            log.info("Job %s (%s) lost its handler before it ran; handing it back", claim.id, claim.kind)
            await self.store.hand_back(claim)
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
                await self.store.record_progress(claim.id, dict(progress))

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
            pacer=getattr(self._bot, "pacer", None),
        )
        limit = (registration.time_limit or timedelta(seconds=self._settings.time_limit_seconds)).total_seconds()
        deadline = asyncio.timeout(limit)
        patience = rate_limit_patience.set(min(RATE_LIMIT_PATIENCE_SECONDS, limit / 2))
        try:
            async with deadline:
                returned = await registration.handler(context)
        except discord.RateLimited as limited:
            # A 429 longer than the job's patience (labelbot.pacing): Discord's own pacing, not a failure of the job.
            log.info(
                "Job %s (%s) rate limited for %.1f s; it comes back then", claim.id, claim.kind, limited.retry_after
            )
            due_at = utcnow() + timedelta(seconds=limited.retry_after)
            if await self.store.postpone(claim, due_at):
                self.arm(claim.id, due_at)
            return
        except ComeBackLater as later:
            log.info("Job %s (%s) handed back: %s", claim.id, claim.kind, later)
            due_at = utcnow() + timedelta(seconds=later.seconds)
            if await self.store.postpone(claim, due_at):
                self.arm(claim.id, due_at)
            return
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
                log.warning(
                    "Job %s (%s) failed on attempt %d; retrying in %.1f s",
                    claim.id,
                    claim.kind,
                    claim.attempts,
                    delay.total_seconds(),
                    exc_info=True,
                )
                due_at = utcnow() + delay
                if await self.store.retry(claim, error, due_at):
                    self.arm(claim.id, due_at)
                else:
                    log.info("Job %s was cancelled or replaced while running; not retrying it", claim.id)
            return
        finally:
            rate_limit_patience.reset(patience)
        await self._finish(claim, JobStatus.DONE, result=_storable_result(claim, context.progress, returned))

    async def _finish(
        self,
        claim: Claim,
        status: JobStatus,
        *,
        error: str | None = None,
        result: dict[str, Any] | None = None,
    ) -> None:
        job = await self.store.finish(claim, status, error=error, result=result)
        if job is None:
            log.warning(
                "Job %s (%s) was cancelled, replaced or taken over while running; its outcome (%s) is not recorded",
                claim.id,
                claim.kind,
                status,
            )
            return
        if status is JobStatus.FAILED:
            log.error("Job %s (%s) failed after %d attempts: %s", job.id, job.kind, job.attempts, job.last_error)
        if self._bot is not None:
            if status is JobStatus.FAILED:
                self._bot.dispatch("job_failed", job)
            elif status is JobStatus.DONE:
                self._bot.dispatch("job_done", job)
