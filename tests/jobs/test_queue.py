"""The job queue against a real database (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from labelbot.db import create_engine, create_sessionmaker, utcnow
from labelbot.jobs import JobContext, JobFailed, JobQueue, JobStatus, MissedRule, ScheduledJob
from tests.jobs.conftest import RecordingBot, fast_settings

Sessions = async_sessionmaker[AsyncSession]


async def schedule(
    queue: JobQueue,
    sessionmaker: Sessions,
    kind: str,
    due_at: datetime | None = None,
    *,
    payload: dict[str, Any] | None = None,
    **kwargs: Any,
) -> ScheduledJob:
    async with sessionmaker.begin() as session:
        return await queue.schedule(session, kind, payload or {}, due_at or utcnow(), **kwargs)


async def load(sessionmaker: Sessions, job_id: int) -> ScheduledJob:
    async with sessionmaker() as session:
        job = await session.get(ScheduledJob, job_id)
        assert job is not None
        return job


async def count_jobs(sessionmaker: Sessions) -> int:
    async with sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(ScheduledJob)) or 0)


async def wait_for(predicate: Any, timeout: float = 10.0) -> None:
    """Poll an async predicate until it holds; the timeout is only a guard against hanging."""
    async with asyncio.timeout(timeout):
        while not await predicate():
            await asyncio.sleep(0.02)


class Calls:
    """A handler that records each context it was called with."""

    def __init__(self, result: dict[str, Any] | None = None) -> None:
        self.contexts: list[JobContext] = []
        self.result = result
        self.called = asyncio.Event()

    async def __call__(self, ctx: JobContext) -> dict[str, Any] | None:
        self.contexts.append(ctx)
        self.called.set()
        return self.result


async def test_due_job_runs_once_and_is_marked_done(queue: JobQueue, sessionmaker: Sessions) -> None:
    calls = Calls(result={"message_id": 42})
    queue.register("release.announce", calls)
    job = await schedule(queue, sessionmaker, "release.announce", payload={"release_id": 7}, guild_id=99, key="r:7")

    assert await queue.run_due() == 1
    assert await queue.run_due() == 0

    assert len(calls.contexts) == 1
    ctx = calls.contexts[0]
    assert (ctx.id, ctx.kind, ctx.key, ctx.payload, ctx.guild_id, ctx.attempt) == (
        job.id,
        "release.announce",
        "r:7",
        {"release_id": 7},
        99,
        1,
    )
    assert ctx.late is False
    assert ctx.due_at.tzinfo is not None
    done = await load(sessionmaker, job.id)
    assert done.status == JobStatus.DONE
    assert done.result == {"message_id": 42}
    assert done.finished_at is not None
    assert done.lease_until is None
    assert done.claimed_by == "test-worker"


async def test_future_job_is_not_run_early(queue: JobQueue, sessionmaker: Sessions) -> None:
    calls = Calls()
    queue.register("later", calls)
    await schedule(queue, sessionmaker, "later", utcnow() + timedelta(hours=1))

    assert await queue.run_due() == 0
    assert calls.contexts == []


async def test_two_workers_claim_each_job_once(database_url: str, sessionmaker: Sessions) -> None:
    # Separate engines, as separate processes would have.
    other_engine = create_engine(database_url)
    other_sessions = create_sessionmaker(other_engine)
    runs: list[tuple[str, int]] = []

    def handler(worker: str) -> Any:
        async def run(ctx: JobContext) -> None:
            runs.append((worker, ctx.id))
            await asyncio.sleep(0.005)

        return run

    first = JobQueue(sessionmaker, fast_settings(), worker_id="first", concurrency=4)
    second = JobQueue(other_sessions, fast_settings(), worker_id="second", concurrency=4)
    first.register("work", handler("first"))
    second.register("work", handler("second"))
    async with sessionmaker.begin() as session:
        for number in range(40):
            await first.schedule(session, "work", {"n": number}, utcnow())
    try:
        counts = await asyncio.gather(first.run_due(), second.run_due())
    finally:
        await other_engine.dispose()

    assert sum(counts) == 40
    job_ids = [job_id for _, job_id in runs]
    assert len(job_ids) == len(set(job_ids)) == 40
    async with sessionmaker() as session:
        statuses = set(await session.scalars(select(ScheduledJob.status)))
    assert statuses == {JobStatus.DONE}


async def test_expired_lease_of_a_dead_worker_is_run_again(queue: JobQueue, sessionmaker: Sessions) -> None:
    calls = Calls()
    queue.register("release.announce", calls)
    now = utcnow()
    common = {"payload": {}, "due_at": now - timedelta(minutes=1), "scheduled_for": now - timedelta(minutes=1)}
    async with sessionmaker.begin() as session:
        # A worker that died mid-send an hour ago, and one that is alive and still holds its lease.
        dead, alive = (
            await session.scalars(
                insert(ScheduledJob).returning(ScheduledJob.id),
                [
                    {
                        **common,
                        "kind": "release.announce",
                        "status": JobStatus.CLAIMED,
                        "claimed_by": "dead-worker",
                        "lease_until": now - timedelta(seconds=30),
                        "attempts": 1,
                    },
                    {
                        **common,
                        "kind": "release.announce",
                        "status": JobStatus.CLAIMED,
                        "claimed_by": "live-worker",
                        "lease_until": now + timedelta(minutes=5),
                        "attempts": 1,
                    },
                ],
            )
        ).all()

    assert await queue.run_due() == 1

    assert [ctx.id for ctx in calls.contexts] == [dead]
    assert calls.contexts[0].attempt == 2
    recovered = await load(sessionmaker, dead)
    assert (recovered.status, recovered.claimed_by) == (JobStatus.DONE, "test-worker")
    untouched = await load(sessionmaker, alive)
    assert (untouched.status, untouched.claimed_by) == (JobStatus.CLAIMED, "live-worker")


async def test_job_that_keeps_dying_is_failed_instead_of_run_forever(queue: JobQueue, sessionmaker: Sessions) -> None:
    calls = Calls()
    queue.register("poison", calls, max_attempts=2)
    now = utcnow()
    async with sessionmaker.begin() as session:
        job_id = await session.scalar(
            insert(ScheduledJob)
            .values(
                kind="poison",
                payload={},
                due_at=now,
                scheduled_for=now,
                status=JobStatus.CLAIMED,
                claimed_by="crashed-twice",
                lease_until=now - timedelta(seconds=1),
                attempts=2,
            )
            .returning(ScheduledJob.id)
        )
    assert job_id is not None

    await queue.run_due()

    assert calls.contexts == []
    failed = await load(sessionmaker, job_id)
    assert failed.status == JobStatus.FAILED
    assert failed.last_error is not None
    assert "never finished" in failed.last_error


@pytest.mark.expect_error_log("Discord said no")
async def test_failing_job_is_retried_with_backoff_then_failed_with_its_error(
    sessionmaker: Sessions,
) -> None:
    bot = RecordingBot()
    queue = JobQueue(sessionmaker, fast_settings(max_attempts=3, retry_base_seconds=0.2), worker_id="w")
    attempts: list[int] = []

    async def broken(ctx: JobContext) -> None:
        attempts.append(ctx.attempt)
        raise RuntimeError(f"Discord said no (attempt {ctx.attempt})")

    queue.register("broken", broken)
    await queue.start(bot)
    try:
        job = await schedule(queue, sessionmaker, "broken")
        first_due = job.due_at

        async def failed() -> bool:
            return (await load(sessionmaker, job.id)).status == JobStatus.FAILED

        await wait_for(failed)
    finally:
        await queue.stop()

    final = await load(sessionmaker, job.id)
    assert attempts == [1, 2, 3]
    assert final.attempts == 3
    assert final.last_error == "RuntimeError: Discord said no (attempt 3)"
    # Backoff: the retries were pushed past the original moment, which the job still remembers.
    assert final.due_at > first_due + timedelta(seconds=0.2)
    assert final.scheduled_for == first_due
    assert [name for name, *_ in bot.events] == ["job_failed"]
    assert bot.events[0][1].id == job.id


async def test_retry_sees_progress_recorded_by_the_failed_attempt(queue: JobQueue, sessionmaker: Sessions) -> None:
    seen: list[dict[str, Any]] = []

    async def flaky(ctx: JobContext) -> dict[str, Any]:
        seen.append(dict(ctx.progress))
        if ctx.attempt == 1:
            await ctx.record_progress({"teaser_message_id": 111})
            raise ConnectionError("gateway hiccup")
        return {"main_message_id": 222}

    queue.register("flaky", flaky)
    job = await schedule(queue, sessionmaker, "flaky")
    await queue.run_due()
    between = await load(sessionmaker, job.id)
    assert (between.status, between.result) == (JobStatus.PENDING, {"teaser_message_id": 111})

    async def retried() -> bool:
        await queue.run_due()  # the backoff is a fraction of a second in these settings
        return len(seen) == 2

    await wait_for(retried)

    assert seen == [{}, {"teaser_message_id": 111}]
    done = await load(sessionmaker, job.id)
    assert done.status == JobStatus.DONE
    assert done.result == {"teaser_message_id": 111, "main_message_id": 222}


async def test_job_failed_exception_fails_at_once(queue: JobQueue, sessionmaker: Sessions) -> None:
    async def gone(ctx: JobContext) -> None:
        raise JobFailed("the announcement channel was deleted")

    queue.register("gone", gone)
    job = await schedule(queue, sessionmaker, "gone")
    await queue.run_due()

    failed = await load(sessionmaker, job.id)
    assert (failed.status, failed.attempts) == (JobStatus.FAILED, 1)
    assert failed.last_error == "JobFailed: the announcement channel was deleted"


async def test_unknown_kind_is_failed_with_a_clear_error_once_well_past_due(
    queue: JobQueue, sessionmaker: Sessions
) -> None:
    queue.register("known", Calls())
    orphan = await schedule(queue, sessionmaker, "no.such.kind", utcnow() - timedelta(hours=2))
    recent = await schedule(queue, sessionmaker, "no.such.kind", utcnow() - timedelta(minutes=1))
    await queue.run_due()

    failed = await load(sessionmaker, orphan.id)
    assert failed.status == JobStatus.FAILED
    assert failed.last_error == "no handler is registered for job kind no.such.kind"
    # Within the grace another process, or a cog being reloaded, may still pick it up.
    assert (await load(sessionmaker, recent.id)).status == JobStatus.PENDING


async def test_jobs_of_an_unregistered_kind_wait_for_it_to_come_back(queue: JobQueue, sessionmaker: Sessions) -> None:
    calls = Calls()
    queue.register("party.track", calls)
    queue.unregister("party.track")  # the cog is being reloaded
    job = await schedule(queue, sessionmaker, "party.track")
    queue.register("other", Calls())

    assert await queue.run_due() == 0
    assert (await load(sessionmaker, job.id)).status == JobStatus.PENDING

    queue.register("party.track", calls)
    assert await queue.run_due() == 1
    assert [ctx.id for ctx in calls.contexts] == [job.id]


async def test_cancel(queue: JobQueue, sessionmaker: Sessions) -> None:
    calls = Calls()
    queue.register("reminder", calls)
    job = await schedule(queue, sessionmaker, "reminder", key="party:3:reminder")

    async with sessionmaker.begin() as session:
        assert await queue.cancel(session, "party:3:reminder") is True
        assert await queue.cancel(session, "party:3:reminder") is False
        assert await queue.cancel(session, "no-such-key") is False
    await queue.run_due()

    assert calls.contexts == []
    cancelled = await load(sessionmaker, job.id)
    assert cancelled.status == JobStatus.CANCELLED
    assert cancelled.finished_at is not None


async def test_cancel_prefix_cancels_only_pending_jobs_under_the_prefix(
    queue: JobQueue, sessionmaker: Sessions
) -> None:
    calls = Calls()
    queue.register("release", calls)
    later = utcnow() + timedelta(hours=1)
    for key in ("release:12:teaser", "release:12:announce", "release:123:announce", "release:1%:x", "collab:12:x"):
        await schedule(queue, sessionmaker, "release", later, key=key)
    done = await schedule(queue, sessionmaker, "release", key="release:12:done")
    await queue.run_due()

    async with sessionmaker.begin() as session:
        assert await queue.cancel_prefix(session, "release:12:") == 2
        # LIKE wildcards in the prefix are literal.
        assert await queue.cancel_prefix(session, "release:1%") == 1
    async with sessionmaker() as session:
        statuses = {job.key: job.status for job in await session.scalars(select(ScheduledJob))}
    assert statuses == {
        "release:12:teaser": JobStatus.CANCELLED,
        "release:12:announce": JobStatus.CANCELLED,
        "release:123:announce": JobStatus.PENDING,
        "release:1%:x": JobStatus.CANCELLED,
        "collab:12:x": JobStatus.PENDING,
        "release:12:done": JobStatus.DONE,
    }
    assert done.key == "release:12:done"


async def test_reschedule_moves_a_pending_job(queue: JobQueue, sessionmaker: Sessions) -> None:
    calls = Calls()
    queue.register("party.start", calls)
    job = await schedule(queue, sessionmaker, "party.start", key="party:5:start")
    later = utcnow() + timedelta(hours=2)

    async with sessionmaker.begin() as session:
        assert await queue.reschedule(session, "party:5:start", later) is True
        assert await queue.reschedule(session, "party:404:start", later) is False
    assert await queue.run_due() == 0

    moved = await load(sessionmaker, job.id)
    assert moved.due_at == later
    assert moved.scheduled_for == later
    assert moved.status == JobStatus.PENDING


async def test_schedule_with_the_same_key_replaces_instead_of_duplicating(
    queue: JobQueue, sessionmaker: Sessions
) -> None:
    first_due = utcnow() + timedelta(hours=1)
    second_due = utcnow() + timedelta(hours=3)
    first = await schedule(queue, sessionmaker, "release.announce", first_due, payload={"v": 1}, key="release:9")
    second = await schedule(queue, sessionmaker, "release.announce", second_due, payload={"v": 2}, key="release:9")

    assert await count_jobs(sessionmaker) == 1
    assert second.id == first.id
    stored = await load(sessionmaker, first.id)
    assert (stored.payload, stored.due_at, stored.status, stored.attempts) == ({"v": 2}, second_due, "pending", 0)
    assert stored.generation == first.generation + 1


async def test_scheduling_a_done_key_again_runs_it_again_unless_told_not_to(
    queue: JobQueue, sessionmaker: Sessions
) -> None:
    calls = Calls(result={"posted": True})
    queue.register("release.announce", calls)
    await schedule(queue, sessionmaker, "release.announce", payload={"v": 1}, key="release:9")
    await queue.run_due()

    kept = await schedule(
        queue, sessionmaker, "release.announce", payload={"v": 2}, key="release:9", replace_done=False
    )
    assert (kept.status, kept.payload, kept.result) == (JobStatus.DONE, {"v": 1}, {"posted": True})
    assert await queue.run_due() == 0

    again = await schedule(queue, sessionmaker, "release.announce", payload={"v": 3}, key="release:9")
    assert (again.status, again.result, again.finished_at) == (JobStatus.PENDING, None, None)
    await queue.run_due()

    assert [ctx.payload for ctx in calls.contexts] == [{"v": 1}, {"v": 3}]
    # A new run gets a new generation, so its message nonces differ from the first run's.
    assert calls.contexts[1].generation == calls.contexts[0].generation + 1
    assert await count_jobs(sessionmaker) == 1


async def test_schedule_rejects_a_naive_datetime(queue: JobQueue, sessionmaker: Sessions) -> None:
    async with sessionmaker.begin() as session:
        with pytest.raises(ValueError, match="timezone-aware"):
            await queue.schedule(session, "x", {}, datetime.now(UTC).replace(tzinfo=None) + timedelta(days=1))


async def test_missed_while_down_follows_each_kinds_rule(queue: JobQueue, sessionmaker: Sessions) -> None:
    announce, remind, prompt, on_time = Calls(), Calls(), Calls(), Calls()
    queue.register("announce", announce, missed=MissedRule.RUN_LATE)
    queue.register("remind", remind, missed=MissedRule.SKIP, grace=timedelta(minutes=5))
    queue.register("prompt", prompt, missed=MissedRule.DROP, grace=timedelta(minutes=5))
    queue.register("remind.soon", on_time, missed=MissedRule.SKIP, grace=timedelta(minutes=5))
    an_hour_ago = utcnow() - timedelta(hours=1)
    jobs = {kind: await schedule(queue, sessionmaker, kind, an_hour_ago) for kind in ("announce", "remind", "prompt")}
    within_grace = await schedule(queue, sessionmaker, "remind.soon", utcnow() - timedelta(minutes=2))

    assert await queue.run_due() == 4

    assert len(announce.contexts) == 1
    assert announce.contexts[0].late is True
    assert announce.contexts[0].lateness >= timedelta(hours=1)
    assert remind.contexts == []
    assert prompt.contexts == []
    assert [ctx.late for ctx in on_time.contexts] == [False]
    skipped = await load(sessionmaker, jobs["remind"].id)
    assert skipped.status == JobStatus.DONE
    assert skipped.result is not None
    assert skipped.result["skipped"] == "missed"
    dropped = await load(sessionmaker, jobs["prompt"].id)
    assert dropped.status == JobStatus.CANCELLED
    assert dropped.result is not None
    assert dropped.result["dropped"] == "missed"
    assert (await load(sessionmaker, within_grace.id)).status == JobStatus.DONE


async def test_schedule_in_a_rolled_back_transaction_leaves_no_row_and_no_alarm(
    queue: JobQueue, sessionmaker: Sessions
) -> None:
    calls = Calls()
    queue.register("release.announce", calls)
    await queue.start()

    class CommandFailed(Exception):
        pass

    async def failing_command() -> None:
        async with sessionmaker.begin() as session:
            await queue.schedule(session, "release.announce", {}, utcnow() + timedelta(minutes=10), key="r:1")
            assert queue.alarm_times() == {}  # not before the commit either
            raise CommandFailed

    with pytest.raises(CommandFailed):
        await failing_command()

    assert await count_jobs(sessionmaker) == 0
    assert queue.alarm_times() == {}

    committed = await schedule(queue, sessionmaker, "release.announce", utcnow() + timedelta(minutes=10), key="r:2")
    assert list(queue.alarm_times()) == [committed.id]
    async with sessionmaker.begin() as session:
        await queue.cancel(session, "r:2")
    assert queue.alarm_times() == {}


async def test_alarm_runs_a_job_on_time_without_the_sweep(queue: JobQueue, sessionmaker: Sessions) -> None:
    fired_at: list[datetime] = []

    async def handler(ctx: JobContext) -> None:
        fired_at.append(utcnow())

    queue.register("party.start", handler)
    await queue.start()  # the sweep is an hour away (fast_settings)
    job = await schedule(queue, sessionmaker, "party.start", utcnow() + timedelta(seconds=0.3))

    async def ran() -> bool:
        return bool(fired_at)

    await wait_for(ran)
    assert fired_at[0] >= job.due_at

    async def marked_done() -> bool:
        return (await load(sessionmaker, job.id)).status == JobStatus.DONE

    await wait_for(marked_done)


async def test_start_rebuilds_alarms_and_runs_what_came_due_while_down(
    sessionmaker: Sessions,
) -> None:
    writer = JobQueue(sessionmaker, fast_settings(), worker_id="writer")  # never started: schedules only
    overdue = await schedule(writer, sessionmaker, "announce", utcnow() - timedelta(minutes=1))
    soon = await schedule(writer, sessionmaker, "announce", utcnow() + timedelta(minutes=30))
    far = await schedule(writer, sessionmaker, "announce", utcnow() + timedelta(days=3))
    calls = Calls()
    queue = JobQueue(sessionmaker, fast_settings(), worker_id="restarted")
    queue.register("announce", calls)

    await queue.start()
    try:
        await asyncio.wait_for(calls.called.wait(), timeout=10)
        # Only rows near their moment get an alarm; the sweep arms the others as they come near.
        assert set(queue.alarm_times()) == {soon.id}
    finally:
        await queue.stop()
    assert [ctx.id for ctx in calls.contexts] == [overdue.id]
    assert far.id not in queue.alarm_times()


async def test_stop_hands_back_the_claim_of_a_hanging_handler(queue: JobQueue, sessionmaker: Sessions) -> None:
    started = asyncio.Event()
    cancelled = asyncio.Event()

    async def hangs(ctx: JobContext) -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    queue.register("hangs", hangs)
    await queue.start()
    job = await schedule(queue, sessionmaker, "hangs")
    await asyncio.wait_for(started.wait(), timeout=10)
    assert (await load(sessionmaker, job.id)).status == JobStatus.CLAIMED

    await queue.stop(timeout=0.2)

    assert cancelled.is_set()
    released = await load(sessionmaker, job.id)
    assert (released.status, released.claimed_by, released.lease_until) == (JobStatus.PENDING, None, None)
    # Our own shutdown is not the job's failure: the interrupted attempt does not count.
    assert released.attempts == 0


async def test_lease_is_renewed_while_a_long_handler_runs(database_url: str, sessionmaker: Sessions) -> None:
    other_engine = create_engine(database_url)
    settings = fast_settings(lease_seconds=0.9)
    slow_runs: list[str] = []

    def slow(worker: str) -> Any:
        async def run(ctx: JobContext) -> None:
            slow_runs.append(worker)
            await asyncio.sleep(2.5)

        return run

    owner = JobQueue(sessionmaker, settings, worker_id="owner")
    thief = JobQueue(create_sessionmaker(other_engine), settings, worker_id="thief")
    owner.register("slow", slow("owner"))
    thief.register("slow", slow("thief"))
    job = await schedule(owner, sessionmaker, "slow")
    try:
        owner_run = asyncio.create_task(owner.run_due())
        # Well past the first lease: without renewal the thief would take the job over.
        for _ in range(10):
            await asyncio.sleep(0.2)
            await thief.run_due()
        assert await owner_run == 1
    finally:
        await other_engine.dispose()

    assert slow_runs == ["owner"]
    done = await load(sessionmaker, job.id)
    assert (done.status, done.claimed_by) == (JobStatus.DONE, "owner")


async def test_cancel_while_running_stops_retries(queue: JobQueue, sessionmaker: Sessions) -> None:
    started = asyncio.Event()
    proceed = asyncio.Event()

    async def fails_later(ctx: JobContext) -> None:
        started.set()
        await proceed.wait()
        raise RuntimeError("too late anyway")

    queue.register("collab.expire", fails_later)
    job = await schedule(queue, sessionmaker, "collab.expire", key="collab:1:expire")
    running = asyncio.create_task(queue.run_due())
    await asyncio.wait_for(started.wait(), timeout=10)
    async with sessionmaker.begin() as session:
        assert await queue.cancel(session, "collab:1:expire") is True
    proceed.set()
    await running

    cancelled = await load(sessionmaker, job.id)
    assert cancelled.status == JobStatus.CANCELLED


async def test_guild_views_for_settings(queue: JobQueue, sessionmaker: Sessions) -> None:
    async def broken(ctx: JobContext) -> None:
        raise JobFailed("missing permissions")

    queue.register("broken", broken)
    soon = await schedule(queue, sessionmaker, "announce", utcnow() + timedelta(hours=1), guild_id=1)
    later = await schedule(queue, sessionmaker, "announce", utcnow() + timedelta(hours=2), guild_id=1)
    await schedule(queue, sessionmaker, "announce", utcnow() + timedelta(hours=1), guild_id=2)
    failed = await schedule(queue, sessionmaker, "broken", guild_id=1)
    await queue.run_due()
    now = utcnow()
    async with sessionmaker.begin() as session:
        old_failure = ScheduledJob(
            kind="broken",
            payload={},
            guild_id=1,
            due_at=now - timedelta(days=30),
            scheduled_for=now - timedelta(days=30),
            status=JobStatus.FAILED,
            finished_at=now - timedelta(days=30),
        )
        session.add(old_failure)

    async with sessionmaker() as session:
        pending = await queue.pending_for_guild(session, 1)
        assert [job.id for job in pending] == [soon.id, later.id]
        assert [job.id for job in await queue.pending_for_guild(session, 1, limit=1)] == [soon.id]
        failures = await queue.failed_for_guild(session, 1)
        assert [job.id for job in failures] == [failed.id]
        assert failures[0].last_error == "JobFailed: missing permissions"
        assert await queue.failed_for_guild(session, 2) == []


async def test_done_jobs_are_pruned_after_keep_done_days(sessionmaker: Sessions) -> None:
    queue = JobQueue(sessionmaker, fast_settings(keep_done_days=30))
    now = utcnow()
    async with sessionmaker.begin() as session:
        for age_days, status in ((31, JobStatus.DONE), (31, JobStatus.CANCELLED), (2, JobStatus.DONE)):
            finished = now - timedelta(days=age_days)
            session.add(
                ScheduledJob(
                    kind="k", payload={}, due_at=finished, scheduled_for=finished, status=status, finished_at=finished
                )
            )
        session.add(ScheduledJob(kind="k", payload={}, due_at=now, scheduled_for=now))

    assert await queue.prune() == 2

    async with sessionmaker() as session:
        left = sorted((job.status, job.finished_at is None) for job in await session.scalars(select(ScheduledJob)))
    assert left == [(JobStatus.DONE, False), (JobStatus.PENDING, True)]


async def test_dense_backlog_is_armed_batch_by_batch_without_the_sweep(
    sessionmaker: Sessions, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("labelbot.jobs.worker.ALARM_BATCH", 2)
    writer = JobQueue(sessionmaker, fast_settings(), worker_id="writer")
    start = utcnow() + timedelta(seconds=1)
    jobs = [await schedule(writer, sessionmaker, "tick", start + timedelta(seconds=0.1 * n)) for n in range(5)]
    ran: list[int] = []

    async def tick(ctx: JobContext) -> None:
        ran.append(ctx.id)

    queue = JobQueue(sessionmaker, fast_settings(), worker_id="reader")  # the sweep is an hour away
    queue.register("tick", tick)
    await queue.start()
    try:
        assert len(queue.alarm_times()) <= 2

        async def all_ran() -> bool:
            return len(ran) == len(jobs)

        await wait_for(all_ran)
    finally:
        await queue.stop()
    assert sorted(ran) == sorted(job.id for job in jobs)


async def test_a_result_that_cannot_be_stored_does_not_make_the_job_run_again(
    queue: JobQueue, sessionmaker: Sessions
) -> None:
    runs: list[int] = []

    async def sloppy(ctx: JobContext) -> dict[str, Any]:
        runs.append(ctx.attempt)
        await ctx.record_progress({"message_id": 5})
        return {"posted_at": utcnow()}  # a datetime: not JSON

    queue.register("sloppy", sloppy)
    job = await schedule(queue, sessionmaker, "sloppy")
    await queue.run_due()
    assert await queue.run_due() == 0

    assert runs == [1]
    done = await load(sessionmaker, job.id)
    assert done.status == JobStatus.DONE
    assert done.result is not None
    assert done.result["message_id"] == 5
    assert "posted_at" in done.result["unstorable_result"]
