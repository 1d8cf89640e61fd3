"""The scheduled_jobs table: every future action of every feature, the source of truth for the dispatcher."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from labelbot.db.base import Base, RowId, TimestampMixin
from labelbot.privacy.columns import ANONYMISE, ON_MEMBER_FORGOTTEN


class JobStatus(enum.StrEnum):
    """Where a scheduled job is in its life."""

    PENDING = "pending"
    CLAIMED = "claimed"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


def _cancel_if_waiting(row: Mapping[str, Any]) -> dict[str, Any]:
    """A job still waiting that names a forgotten member (a DM, a role to take back) is cancelled rather than left
    to act for someone the bot no longer knows; what already ran keeps its (now nameless) record."""
    return {"status": JobStatus.CANCELLED.value} if row["status"] == JobStatus.PENDING else {}


class ScheduledJob(TimestampMixin, Base):
    """One future action: what to do (kind + payload), when (due_at) and how it went."""

    __tablename__ = "scheduled_jobs"
    __table_args__ = (
        CheckConstraint(
            "status IN ('pending', 'claimed', 'done', 'failed', 'cancelled')",
            name="status",
        ),
        # The claim: pending rows by due time (and claimed rows whose lease may have run out).
        Index("ix_scheduled_jobs_status_due_at", "status", "due_at"),
        # /settings jobs: a guild's pending and failed work.
        Index("ix_scheduled_jobs_guild_id_status_due_at", "guild_id", "status", "due_at"),
        {"info": {ON_MEMBER_FORGOTTEN: _cancel_if_waiting}},
    )

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(64))
    # Names the one future action a feature means, e.g. "release:12:announce"; scheduling it again replaces it.
    key: Mapped[str | None] = mapped_column(String(200), unique=True)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict, info=ANONYMISE)
    guild_id: Mapped[int | None]
    # When the dispatcher may next run it: the moment asked for, pushed later by retries.
    due_at: Mapped[datetime]
    # The moment the feature asked for; missed-while-down rules and "posted late" notes measure from it.
    scheduled_for: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), default=JobStatus.PENDING, server_default=JobStatus.PENDING)
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    lease_until: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Bumped each time the key is scheduled again, so message nonces of the new run differ from the old one's.
    generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, Any] | None] = mapped_column(info=ANONYMISE)
    finished_at: Mapped[datetime | None]

    def __repr__(self) -> str:
        return f"<ScheduledJob {self.id} {self.kind} key={self.key!r} {self.status} due {self.due_at.isoformat()}>"


class JobWorker(Base):
    """A process running the dispatcher, and its last heartbeat: a stale beat means its claims can be taken at once."""

    __tablename__ = "job_workers"

    # The claimed_by its claims carry.
    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    # Where it runs: a worker on this host whose pid is gone is dead without waiting for its beat to go stale.
    host: Mapped[str] = mapped_column(String(100))
    pid: Mapped[int]
    started_at: Mapped[datetime]
    last_beat: Mapped[datetime]

    def __repr__(self) -> str:
        return f"<JobWorker {self.id} beat {self.last_beat.isoformat()}>"
