"""`/release create` traced from the command to the posted announcement: one session and one settings read per step.

Each step of the member's flow is one interaction (or the announce job) and runs in its own asyncio task, so the
trace groups by task: the sessions the feature opens (the job engine's own claim and finish are counted apart),
the SELECTs of the server's settings, and the project files whose code runs. Before the per-interaction context
the flow opened 9 feature sessions (2 + 2 + 1 + 4) and read the settings 10 times (2 + 3 + 3 + 2); its code ran in
23 project files, 7 of them machinery and 16 its own (measured the same way at 5a743a2, the end of the first wave).
"""

from __future__ import annotations

import asyncio
import sys
from collections import Counter, defaultdict
from pathlib import Path
from types import FrameType
from typing import Any

import pytest
from sqlalchemy import event, select

from labelbot.db import guard
from labelbot.features.releases._service import announce_key
from labelbot.jobs import ScheduledJob
from tests.e2e.test_releases import Label, create, label, release_id_of, schedule, wait_posts

__all__ = ["label"]

ROOT = Path(__file__).resolve().parents[2]
PROJECT = (str(ROOT / "labelbot") + "/", str(ROOT / "labelbot" / "features") + "/")
# Tasks of the member's flow: the command (its option transformer runs in it too), the form, the button.
INTERACTION_TASKS = ("CommandTree-invoker", "discord-ui-")
# What every interaction or job passes, whatever the feature: the database and its guard, the job engine, pacing,
# dispatch and answering. The rest is the flow's own: what a reader follows to see how a release gets out.
MACHINERY = (
    "labelbot/db/",
    "labelbot/jobs/",
    "labelbot/pacing.py",
    "labelbot/tree.py",
    "labelbot/interactions.py",
    "labelbot/ui/dynamic.py",
    "labelbot/features/web_pages/_cache.py",  # the public pages' cache forgets on any write of what they show
)
# The flow's own files: 24 when this was written (7 in labelbot/features/releases/, the shape every feature has).
# More means the flow has spread; read the list the test prints before raising this.
FLOW_FILES_AT_MOST = 24


def _task_name() -> str | None:
    try:
        task = asyncio.current_task()
    except RuntimeError:
        return None
    return task.get_name() if task is not None else None


class Trace:
    """What each task did while it was recorded."""

    def __init__(self) -> None:
        self.sessions: dict[str, list[str]] = defaultdict(list)
        self.settings_reads: Counter[str] = Counter()
        self.files: dict[str, set[str]] = defaultdict(set)
        self.order: list[str] = []

    def _seen(self, task: str) -> None:
        if task not in self.order:
            self.order.append(task)

    def session(self, place: str) -> None:
        task = _task_name()
        if task is not None:
            self._seen(task)
            self.sessions[task].append(place)

    def settings_read(self) -> None:
        task = _task_name()
        if task is not None:
            self._seen(task)
            self.settings_reads[task] += 1

    def profile(self, frame: FrameType, what: str, _arg: Any) -> None:
        if what != "call":
            return
        filename = frame.f_code.co_filename
        if not filename.startswith(PROJECT):
            return
        task = _task_name()
        if task is not None:
            self.files[task].add(str(Path(filename).relative_to(ROOT)))


def _opening_place() -> str:
    """The project file and line that opened the session (past this test's hook, the guard and SQLAlchemy)."""
    frame: FrameType | None = sys._getframe(2)
    while (frame is not None and not frame.f_code.co_filename.startswith(PROJECT)) or (
        frame is not None and frame.f_code.co_filename.endswith("labelbot/db/guard.py")
    ):
        frame = frame.f_back
    if frame is None:
        return "?"
    return f"{Path(frame.f_code.co_filename).relative_to(ROOT)}:{frame.f_lineno} in {frame.f_code.co_name}"


def _feature_sessions(places: list[str]) -> list[str]:
    """Sessions the feature opened (the job engine's claim, heartbeat and finish are the engine's, every job has)."""
    return [place for place in places if not place.startswith("labelbot/jobs/")]


async def test_release_create_opens_one_session_and_reads_settings_once_per_step(
    label: Label, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = label.h
    assert h.bot is not None
    trace = Trace()
    opened = guard.GuardedSession._guard_open

    def guard_open(self: guard.GuardedSession) -> None:
        before = self._guard_opening
        opened(self)
        if before is None and self._guard_opening is not None:
            trace.session(_opening_place())

    def before_execute(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        text = " ".join(statement.split()).lower()
        if text.startswith("select") and "from guild_settings" in text:
            trace.settings_read()

    monkeypatch.setattr(guard.GuardedSession, "_guard_open", guard_open)
    event.listen(h.bot.engine.sync_engine, "before_cursor_execute", before_execute)
    sys.setprofile(trace.profile)
    try:
        preview = await create(label, label.nova, when="in 8 seconds", cover_url="https://cdn.example.org/a.png")
        answer = await schedule(label, label.nova, preview)
        assert "Scheduled" in answer.content
        await wait_posts(label, 1)
        await asyncio.sleep(0.5)  # the job's closing write
    finally:
        sys.setprofile(None)
        event.remove(h.bot.engine.sync_engine, "before_cursor_execute", before_execute)

    async with h.bot.sessionmaker() as session:
        job_id = await session.scalar(
            select(ScheduledJob.id).where(ScheduledJob.key == announce_key(release_id_of(preview)))
        )
    announce_task = f"labelbot-job-{job_id}"
    steps = [task for task in trace.order if task.startswith(INTERACTION_TASKS)] + [announce_task]
    files = sorted(set().union(*(trace.files[task] for task in steps)))
    report = "\n".join(
        f"{task}: sessions {_feature_sessions(trace.sessions[task])}, engine "
        f"{len(trace.sessions[task]) - len(_feature_sessions(trace.sessions[task]))}, "
        f"settings reads {trace.settings_reads[task]}"
        for task in steps
    )
    machinery = [file for file in files if file.startswith(MACHINERY)]
    flow = [file for file in files if not file.startswith(MACHINERY)]
    print(f"{report}\nmachinery ({len(machinery)}): {machinery}\nthe flow's own ({len(flow)}): {flow}")

    # The command, the form and the Schedule button: one session each, the settings read once in it.
    interactions = steps[:-1]
    assert len(interactions) == 3, report
    for task in interactions:
        assert len(_feature_sessions(trace.sessions[task])) == 1, report
        assert trace.settings_reads[task] == 1, report
    # The announce job: one read, the post, one write (the rule), the settings read once.
    assert len(_feature_sessions(trace.sessions[announce_task])) == 2, report
    assert trace.settings_reads[announce_task] == 1, report
    assert len(flow) <= FLOW_FILES_AT_MOST, f"the flow passes {len(flow)} files of its own: {flow}"
