"""The SQL of the job engine: claims, leases, heartbeats and outcomes, each one short transaction of its own."""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Executable,
    Row,
    and_,
    case,
    delete,
    literal,
    literal_column,
    null,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from labelbot.db.base import utcnow
from labelbot.db.outage import is_worth_retrying
from labelbot.jobs.models import JobStatus, JobWorker, ScheduledJob

log = logging.getLogger(__name__)

# The engine's own statements share the pool with everything else; a few connections at a time is plenty and never
# pushes the pool into its overflow, whose connections are opened and closed again each time.
DB_SLOTS = 4
# Outcomes recorded together in one transaction: at the embargo minute hundreds of jobs finish within a second, and
# one BEGIN/COMMIT each queued them all behind SQLite's single connection.
FINISH_BATCH = 100
CLAIMABLE_STATUSES = (JobStatus.PENDING, JobStatus.CLAIMED)

HOST = socket.gethostname()[:100]
# Leases renewed per statement: well under SQLite's limit of bound parameters.
RENEW_BATCH = 500
# How often a batch of outcomes is tried when PostgreSQL answers "deadlock" or "serialization failure".
OUTCOME_ATTEMPTS = 3
# Workers started in this process. A row with this host and pid under another id is an earlier incarnation (a
# container's bot is pid 1 after every restart), unless it is one of these (tests run several queues in one process).
LIVE_HERE: set[str] = set()


def in_id_order(*conditions: ColumnElement[bool]) -> ColumnElement[bool]:
    """The rows matching `conditions`, locked in id order (PostgreSQL) before a statement changes several of them.

    Every statement of the engine that changes several rows locks them in one order, and the outcomes of a batch are
    written in that order too: two transactions of one worker (a lease renewal and a batch of outcomes, on their own
    connections) otherwise take the same rows' locks in opposite orders and deadlock. SQLite has one writer.
    """
    return ScheduledJob.id.in_(select(ScheduledJob.id).where(*conditions).order_by(ScheduledJob.id).with_for_update())


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
    if host != HOST or worker_id in LIVE_HERE:
        return False
    return pid == os.getpid() or not _pid_alive(pid)


@dataclass(frozen=True)
class Claim:
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
    def from_row(cls, row: Row[Any]) -> Claim:
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


@functools.cache
def upsert_statement(dialect: str, *, replace_done: bool) -> Any:
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


class JobStore:
    """What one worker reads and writes in scheduled_jobs and job_workers, outside any caller's transaction."""

    def __init__(
        self,
        engine: AsyncEngine,
        worker_id: str,
        *,
        lease: timedelta,
        dead_after: timedelta,
        shards: tuple[int, list[int]] | None = None,
    ) -> None:
        self.engine = engine
        # In a cluster, (shard_count, this process's shard_ids): due jobs of its own servers are claimed first.
        self.shards = shards
        # SQLite keeps its own BEGIN (see labelbot.db.engine), so only PostgreSQL runs single statements in autocommit.
        self._autocommit_engine: AsyncEngine | None = (
            engine.execution_options(isolation_level="AUTOCOMMIT") if engine.dialect.name == "postgresql" else None
        )
        self.slots = asyncio.Semaphore(DB_SLOTS)
        # The heartbeat's own connection (PostgreSQL): when a burst's handlers hold every pooled connection for
        # longer than dead_after, a beat through the shared pool failed and the other processes of the cluster took
        # this live worker's claims (measured: 1,000 announcements claimed at once by one process of a cluster).
        self._beat_engine: AsyncEngine | None = (
            create_async_engine(
                engine.url, pool_size=1, max_overflow=0, pool_pre_ping=True, isolation_level="AUTOCOMMIT"
            )
            if engine.dialect.name == "postgresql"
            else None
        )
        self.worker_id = worker_id
        self.lease = lease
        self.dead_after = dead_after
        self.started_at = utcnow()
        self._finishing: list[tuple[int, Executable, asyncio.Future[ScheduledJob | None]]] = []
        self._finisher: asyncio.Task[None] | None = None

    async def write(self, statement: Executable) -> tuple[int, list[Row[Any]]]:
        """Run one UPDATE or DELETE as a transaction of its own; return its row count and RETURNING rows."""
        async with self.slots:
            if self._autocommit_engine is not None:
                # One statement needs no BEGIN/COMMIT round trips around it.
                async with self._autocommit_engine.connect() as connection:
                    result = await connection.execute(statement)
                    rows = list(result.all()) if result.returns_rows else []
                    return result.rowcount, rows
            async with self.engine.begin() as connection:
                result = await connection.execute(statement)
                rows = list(result.all()) if result.returns_rows else []
                return result.rowcount, rows

    # -- claims and leases ------------------------------------------------------------------------------------

    async def claim(self, kinds: list[str], limit: int) -> list[Claim]:
        """Claim up to `limit` due jobs of these kinds (and claims whose lease ran out), soonest first."""
        now = utcnow()
        claimable = and_(
            # Only kinds this process can run: during a rolling deploy an older process leaves newer kinds alone.
            ScheduledJob.kind.in_(kinds),
            or_(
                and_(ScheduledJob.status == JobStatus.PENDING, ScheduledJob.due_at <= now),
                # A worker that died mid-run: its lease ran out, so the job is retried rather than lost.
                # (A dead worker's claims are taken back by setting their lease to the moment it was found dead.)
                and_(ScheduledJob.status == JobStatus.CLAIMED, ScheduledJob.lease_until <= now),
            ),
        )
        # Materialized, so PostgreSQL runs the locking LIMIT query once: inlined into a semi-join it can be rescanned
        # once per outer row, each rescan skipping the rows already locked and taking the next ones, which claimed
        # the whole table in one statement (seen in the multi-process test).
        candidates = (
            select(ScheduledJob.id)
            .where(claimable)
            .order_by(*self._claim_order())
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
                lease_until=now + self.lease,
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
        async with self.slots, self.engine.connect() as connection:
            if self.engine.dialect.name == "sqlite":
                # SQLite has no row locks: take the write lock up front so two processes cannot claim one row.
                await connection.execution_options(sqlite_begin="IMMEDIATE")
            async with connection.begin():
                rows = (await connection.execute(stmt)).all()
        claims = sorted((Claim.from_row(row) for row in rows), key=lambda claim: (claim.due_at, claim.id))
        if claims:
            log.debug("Worker %s claimed jobs %s", self.worker_id, [claim.id for claim in claims])
        return claims

    def _claim_order(self) -> list[Any]:
        """Soonest first; in a cluster, the jobs of this process's own servers before the others' (those it would
        have to look up through REST). Another process's jobs are still claimed once its own are out: that is how a
        dead process's work, or a backlog the other cannot keep up with, is taken over."""
        if self.shards is None:
            return [ScheduledJob.due_at]
        count, ids = self.shards
        elsewhere = case(
            (
                and_(
                    ScheduledJob.guild_id.is_not(None),
                    ScheduledJob.guild_id.op(">>")(literal_column("22")).op("%")(count).not_in(ids),
                ),
                1,
            ),
            else_=0,
        )
        return [elsewhere, ScheduledJob.due_at]

    def held(self, job_id: int) -> tuple[ColumnElement[bool], ...]:
        return (
            ScheduledJob.id == job_id,
            ScheduledJob.claimed_by == self.worker_id,
            ScheduledJob.status == JobStatus.CLAIMED,
        )

    async def renew(self, job_ids: list[int]) -> set[int]:
        """Push the leases of running jobs on, a statement per 500; return the ids still ours."""
        ours: set[int] = set()
        for start in range(0, len(job_ids), RENEW_BATCH):
            _, rows = await self.write(
                update(ScheduledJob)
                .where(
                    in_id_order(
                        ScheduledJob.id.in_(job_ids[start : start + RENEW_BATCH]),
                        ScheduledJob.claimed_by == self.worker_id,
                        ScheduledJob.status == JobStatus.CLAIMED,
                    ),
                    ScheduledJob.claimed_by == self.worker_id,
                    ScheduledJob.status == JobStatus.CLAIMED,
                )
                .values(lease_until=utcnow() + self.lease)
                .returning(ScheduledJob.id)
            )
            ours.update(row[0] for row in rows)
        return ours

    async def record_progress(self, job_id: int, progress: dict[str, Any]) -> None:
        recorded, _ = await self.write(
            update(ScheduledJob).where(*self.held(job_id)).values(result=progress, updated_at=utcnow())
        )
        if recorded == 0:
            log.warning("Job %s no longer holds its claim; its progress %s is not recorded", job_id, progress)

    async def hand_back(self, claim: Claim) -> None:
        """Give a claimed job back unrun, its attempt not counted."""
        await self.write(
            update(ScheduledJob)
            .where(*self.held(claim.id))
            .values(status=JobStatus.PENDING, claimed_by=null(), lease_until=null(), attempts=claim.attempts - 1)
        )

    async def postpone(self, claim: Claim, due_at: datetime) -> bool:
        """Give a claimed job back to run at `due_at`, its attempt not counted; False if no longer ours."""
        postponed, _ = await self.write(
            update(ScheduledJob)
            .where(*self.held(claim.id))
            .values(
                status=JobStatus.PENDING,
                due_at=due_at,
                claimed_by=null(),
                lease_until=null(),
                attempts=claim.attempts - 1,
                updated_at=utcnow(),
            )
        )
        return postponed > 0

    async def retry(self, claim: Claim, error: str, due_at: datetime) -> bool:
        """Make a failed attempt pending again at `due_at`; False if it was cancelled or replaced meanwhile."""
        retried, _ = await self.write(
            update(ScheduledJob)
            .where(*self.held(claim.id))
            .values(
                status=JobStatus.PENDING,
                due_at=due_at,
                claimed_by=null(),
                lease_until=null(),
                last_error=error,
                updated_at=utcnow(),
            )
        )
        return retried > 0

    async def finish(
        self,
        claim: Claim,
        status: JobStatus,
        *,
        error: str | None = None,
        result: dict[str, Any] | None = None,
    ) -> ScheduledJob | None:
        """Record the outcome while the claim is still ours; return a detached copy of the row, or None if not.

        Outcomes of the same moment are written together, in one transaction (see FINISH_BATCH).
        """
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
        statement = (
            update(ScheduledJob)
            .where(
                ScheduledJob.id == claim.id,
                ScheduledJob.claimed_by == self.worker_id,
                ScheduledJob.status.in_(holding),
            )
            .values(values)
            .returning(*ScheduledJob.__table__.columns)
        )
        recorded: asyncio.Future[ScheduledJob | None] = asyncio.get_running_loop().create_future()
        self._finishing.append((claim.id, statement, recorded))
        if self._finisher is None or self._finisher.done():
            self._finisher = asyncio.create_task(self._record_outcomes(), name="labelbot-jobs-finish")
        return await recorded

    async def _record_outcomes(self) -> None:
        # Outcomes arriving while a batch is written join the next one.
        while self._finishing:
            batch, self._finishing = self._finishing[:FINISH_BATCH], self._finishing[FINISH_BATCH:]
            batch.sort(key=lambda outcome: outcome[0])  # row locks in id order, as in_id_order takes them
            try:
                found = await self._write_outcomes([statement for _, statement, _ in batch])
            except Exception as exc:
                for _, _, recorded in batch:
                    if not recorded.done():
                        recorded.set_exception(exc)
                continue
            for (_, _, recorded), rows in zip(batch, found, strict=True):
                if not recorded.done():
                    recorded.set_result(ScheduledJob(**rows[0]._asdict()) if rows else None)

    async def _write_outcomes(self, statements: list[Executable]) -> list[list[Row[Any]]]:
        # An outcome not recorded means the job runs again: a transaction PostgreSQL refused only for now is retried.
        for attempt in range(1, OUTCOME_ATTEMPTS + 1):
            try:
                async with self.slots, self.engine.begin() as connection:
                    return [list((await connection.execute(statement)).all()) for statement in statements]
            except DBAPIError as error:
                if attempt == OUTCOME_ATTEMPTS or not is_worth_retrying(error):
                    raise
                log.warning("Recording %d job outcomes met %s; trying again", len(statements), error.orig)
        raise AssertionError("unreachable")

    async def release_claims(self) -> int:
        """Hand back everything this worker still holds; interrupted by our own shutdown, the attempt does not count."""
        released, _ = await self.write(
            update(ScheduledJob)
            .where(
                in_id_order(ScheduledJob.claimed_by == self.worker_id, ScheduledJob.status == JobStatus.CLAIMED),
                ScheduledJob.claimed_by == self.worker_id,
                ScheduledJob.status == JobStatus.CLAIMED,
            )
            .values(
                status=JobStatus.PENDING,
                claimed_by=null(),
                lease_until=null(),
                attempts=ScheduledJob.attempts - 1,
                updated_at=utcnow(),
            )
        )
        return released

    # -- heartbeats and takeover --------------------------------------------------------------------------------

    async def beat(self) -> None:
        """Record that this worker is alive now."""
        now = utcnow()
        insert = postgresql.insert if self.engine.dialect.name == "postgresql" else sqlite.insert
        stmt = insert(JobWorker).values(
            id=self.worker_id, host=HOST, pid=os.getpid(), started_at=self.started_at, last_beat=now
        )
        # Upserted, not updated: a worker found dead during a long stall comes back with its next beat.
        upsert = stmt.on_conflict_do_update(
            index_elements=[JobWorker.id],
            set_={"last_beat": stmt.excluded.last_beat, "host": stmt.excluded.host, "pid": stmt.excluded.pid},
        )
        if self._beat_engine is None:
            await self.write(upsert)
            return
        async with self._beat_engine.connect() as connection:
            await connection.execute(upsert)

    async def retire(self) -> None:
        try:
            await self.write(delete(JobWorker).where(JobWorker.id == self.worker_id))
        finally:
            if self._beat_engine is not None:
                await self._beat_engine.dispose()

    async def take_over(self, *, startup: bool) -> int:
        """Make the claims of dead workers claimable now, whatever their leases say; return how many.

        A worker is dead when its beat is stale, or when it ran on this host under a pid that is gone. On SQLite (one
        process per file) a starting process also takes back every claim not held by a worker shown alive here.
        """
        now = utcnow()
        stale = now - self.dead_after
        async with self.slots, self.engine.connect() as connection:
            workers = (
                await connection.execute(select(JobWorker.id, JobWorker.host, JobWorker.pid, JobWorker.last_beat))
            ).all()
        others = [worker for worker in workers if worker.id != self.worker_id]
        proven = [worker.id for worker in others if _proven_dead(worker.id, worker.host, worker.pid)]
        stale_ids = select(JobWorker.id).where(JobWorker.last_beat < stale, JobWorker.id != self.worker_id)
        holder: ColumnElement[bool]
        gone: ColumnElement[bool]
        if startup and self.engine.dialect.name == "sqlite":
            # A second process on one file (unsupported, but tested) is kept alive only when its pid shows it is.
            alive_here = [
                worker.id
                for worker in others
                if worker.host == HOST and worker.last_beat >= stale and worker.id not in proven
            ]
            holder = ScheduledJob.claimed_by.not_in([self.worker_id, *alive_here])
            gone = JobWorker.id.not_in([self.worker_id, *alive_here])
        else:
            holder = or_(ScheduledJob.claimed_by.in_(proven), ScheduledJob.claimed_by.in_(stale_ids))
            gone = or_(JobWorker.id.in_(proven), and_(JobWorker.last_beat < stale, JobWorker.id != self.worker_id))
        take_back = (
            update(ScheduledJob)
            .where(
                in_id_order(ScheduledJob.status == JobStatus.CLAIMED, ScheduledJob.lease_until > now, holder),
                ScheduledJob.status == JobStatus.CLAIMED,
                ScheduledJob.lease_until > now,
                holder,
            )
            .values(lease_until=now, updated_at=now)
            .returning(ScheduledJob.id, ScheduledJob.claimed_by)
        )
        async with self.slots, self.engine.begin() as connection:
            taken = (await connection.execute(take_back)).all()
            await connection.execute(delete(JobWorker).where(gone))
        if taken:
            log.warning("Took back %d jobs of dead workers %s", len(taken), sorted({row.claimed_by for row in taken}))
        return len(taken)

    # -- housekeeping -------------------------------------------------------------------------------------------

    async def due_soon(self, horizon: timedelta, limit: int) -> list[tuple[int, datetime]]:
        """Return pending jobs due within `horizon` (not yet due), soonest first."""
        now = utcnow()
        async with self.slots, self.engine.connect() as connection:
            rows = (
                await connection.execute(
                    select(ScheduledJob.id, ScheduledJob.due_at)
                    .where(
                        ScheduledJob.status == JobStatus.PENDING,
                        ScheduledJob.due_at > now,
                        ScheduledJob.due_at <= now + horizon,
                    )
                    .order_by(ScheduledJob.due_at)
                    .limit(limit)
                )
            ).all()
        return [(job_id, due_at) for job_id, due_at in rows]

    async def fail_unknown_kinds(self, known: list[str], grace: timedelta) -> list[ScheduledJob]:
        """Fail jobs of kinds not in `known` that are more than `grace` past due; return them."""
        now = utcnow()
        cutoff = now - grace
        _, rows = await self.write(
            update(ScheduledJob)
            .where(
                ScheduledJob.kind.not_in(known),
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
        return [ScheduledJob(**row._asdict()) for row in rows]

    async def prune(self, keep: timedelta) -> int:
        """Delete jobs that finished more than `keep` ago; return how many."""
        cutoff = utcnow() - keep
        pruned, _ = await self.write(
            delete(ScheduledJob).where(
                ScheduledJob.status.in_((JobStatus.DONE, JobStatus.CANCELLED, JobStatus.FAILED)),
                ScheduledJob.finished_at < cutoff,
            )
        )
        if pruned:
            log.info("Pruned %d jobs finished before %s", pruned, cutoff.isoformat())
        return pruned
