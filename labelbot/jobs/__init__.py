"""Durable scheduled work: the scheduled_jobs table, the dispatcher that claims it, APScheduler as the alarm clock."""

from labelbot.jobs.context import ComeBackLater, JobContext, JobFailed, JobHandler, MissedRule
from labelbot.jobs.models import JobStatus, JobWorker, ScheduledJob
from labelbot.jobs.queue import JobQueue
from labelbot.jobs.sending import job_nonce, send_once

__all__ = [
    "ComeBackLater",
    "JobContext",
    "JobFailed",
    "JobHandler",
    "JobQueue",
    "JobStatus",
    "JobWorker",
    "MissedRule",
    "ScheduledJob",
    "job_nonce",
    "send_once",
]
