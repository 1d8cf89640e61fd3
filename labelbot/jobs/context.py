"""What a job handler receives and how it tells the queue about progress and hopeless failures."""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from labelbot.pacing import Pacer


class MissedRule(enum.Enum):
    """What to do with a job whose moment passed more than its grace ago (the bot was down, say)."""

    # Run it anyway; the handler sees ctx.late and says so ("posted late").
    RUN_LATE = "run_late"
    # Do not run it; mark it done with result {"skipped": "missed"} so it stays visible.
    SKIP = "skip"
    # Do not run it; mark it cancelled with result {"dropped": "missed"}: it means nothing after its moment.
    DROP = "drop"


class JobFailed(Exception):
    """Raised by a handler to fail its job now, without retries (e.g. the channel is gone)."""


class ComeBackLater(Exception):
    """Raised to hand the job back unrun for `seconds` (its channel is busy), its attempt not counted."""

    def __init__(self, seconds: float, reason: str) -> None:
        super().__init__(f"{reason}; back in {seconds:.1f} s")
        self.seconds = seconds


ProgressRecorder = Callable[[dict[str, Any]], Awaitable[None]]


@dataclass(frozen=True)
class JobContext:
    """One run of one job, as its handler sees it."""

    id: int
    kind: str
    key: str | None
    payload: dict[str, Any]
    guild_id: int | None
    # The moment the feature asked for (retries run later, but this stays).
    due_at: datetime
    # 1 on the first run; a retry or a run after a crash is 2 and more.
    attempt: int
    # More than the kind's grace past due_at.
    late: bool
    lateness: timedelta
    # Bumped each time the job's key is scheduled again; part of message nonces.
    generation: int = 0
    # What earlier attempts recorded (see record_progress), e.g. ids of messages already posted.
    progress: dict[str, Any] = field(default_factory=dict)
    recorder: ProgressRecorder | None = field(default=None, repr=False, compare=False)
    # The bot's pacer (labelbot.pacing): send_once waits for the channel's window with it. None outside a bot.
    pacer: Pacer | None = field(default=None, repr=False, compare=False)

    async def record_progress(self, data: dict[str, Any]) -> None:
        """Merge `data` into the job's stored result now, so a retry can skip what is already done.

        It writes through its own connection: call it with no session open, since SQLite's pool has only one.
        """
        self.progress.update(data)
        if self.recorder is not None:
            await self.recorder(self.progress)


JobHandler = Callable[[JobContext], Awaitable[dict[str, Any] | None]]
