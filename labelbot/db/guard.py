"""The guard of the unit-of-work rule: no database session is open while the bot waits on Discord.

On SQLite the pool is one connection, so a session held across a slow REST call (a 429 wait, a slow route)
stalls every other click, job claim and due post behind it. Sessions from `create_sessionmaker` note, per
asyncio task, where they were opened; discord.py's REST path (`HTTPClient.request`) and its webhook path
(interaction responses and followups go through `AsyncWebhookAdapter.request`) look there before sending.

Modes: "off" checks nothing; "warn" (the default) logs each offending place once; "strict" (the tests) also
keeps every violation with the full stack where the session was opened, for the harness to fail the test on.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import sys
import traceback
import weakref
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

log = logging.getLogger(__name__)

_Result = TypeVar("_Result")


class GuardMode(StrEnum):
    OFF = "off"
    WARN = "warn"
    STRICT = "strict"


@dataclass(frozen=True, eq=False)
class Opening:
    """Where a session still open was opened: "file:line in function", and the stack in strict mode.

    The frames are taken without their source lines, which are read only when a violation is reported: every
    session of every click is noted, and reading source for each (most of a millisecond) slowed the clicks.
    """

    place: str
    frames: traceback.StackSummary | None = None

    @property
    def stack(self) -> str:
        return "".join(self.frames.format()) if self.frames is not None else self.place


@dataclass(frozen=True)
class Violation:
    """A Discord request started while the same task held a session."""

    request: str
    opening: Opening
    stack: str

    def __str__(self) -> str:
        return (
            f"Discord request {self.request} while a database session is open (opened at {self.opening.place}).\n"
            f"The session was opened here:\n{self.opening.stack}\nThe request was made here:\n{self.stack}"
        )


class _State:
    """The guard's process-wide state: discord.py's request paths are hooked once per process."""

    def __init__(self) -> None:
        self.mode = GuardMode.OFF
        self.installed = False
        self.warned: set[str] = set()
        self.violations: list[Violation] = []
        self.held: weakref.WeakKeyDictionary[asyncio.Task[Any], list[Opening]] = weakref.WeakKeyDictionary()


_state = _State()
# Frames of these files are the machinery between the caller and the session; the opening place is outside them.
_SKIPPED = (__file__, "sqlalchemy", "contextlib.py")


def configure(mode: GuardMode | str) -> None:
    """Turn the guard to `mode` for this process (it hooks discord.py's request paths the first time)."""
    _state.mode = GuardMode(mode)
    if _state.mode is not GuardMode.OFF:
        _install()


def mode() -> GuardMode:
    return _state.mode


def violations() -> list[Violation]:
    """Every violation kept since the last `reset()` (strict mode only)."""
    return list(_state.violations)


def reset() -> None:
    _state.violations.clear()
    _state.warned.clear()


def held_here() -> Opening | None:
    """The oldest session the current task holds open, if any."""
    try:
        task = asyncio.current_task()
    except RuntimeError:
        return None
    if task is None:
        return None
    openings = _state.held.get(task)
    return openings[0] if openings else None


def check(request: str) -> None:
    """Note (and in strict mode keep) a Discord request made while this task holds a session."""
    if _state.mode is GuardMode.OFF:
        return
    opening = held_here()
    if opening is None:
        return
    if _state.mode is GuardMode.STRICT:
        stack = "".join(traceback.format_stack(limit=25)[:-2])
        violation = Violation(request, opening, stack)
        _state.violations.append(violation)
        log.error("%s", violation)
        return
    if opening.place not in _state.warned:
        _state.warned.add(opening.place)
        log.warning(
            "Discord request %s while a database session opened at %s is still open; "
            "other members' clicks and due posts wait behind it",
            request,
            opening.place,
        )


def _opening() -> Opening:
    frame = sys._getframe(2)
    while frame.f_back is not None and any(part in frame.f_code.co_filename for part in _SKIPPED):
        frame = frame.f_back
    place = f"{frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_name}"
    if _state.mode is not GuardMode.STRICT:
        return Opening(place)
    frames = traceback.StackSummary.extract(traceback.walk_stack(frame), limit=25, lookup_lines=False)
    frames.reverse()  # oldest call first, as traceback.format_stack writes it
    return Opening(place, frames)


class GuardedSession(AsyncSession):
    """An AsyncSession that tells the guard which task holds it open, from `async with` (or `.begin()`) to close."""

    _guard_task: asyncio.Task[Any] | None = None
    _guard_opening: Opening | None = None

    def _guard_open(self) -> None:
        if _state.mode is GuardMode.OFF or self._guard_opening is not None:
            return
        task = asyncio.current_task()
        if task is None:
            return
        opening = _opening()
        self._guard_task, self._guard_opening = task, opening
        _state.held.setdefault(task, []).append(opening)

    def _guard_close(self) -> None:
        task, opening = self._guard_task, self._guard_opening
        self._guard_task = self._guard_opening = None
        if task is None or opening is None:
            return
        openings = _state.held.get(task)
        if openings is not None and opening in openings:
            openings.remove(opening)
            if not openings:
                del _state.held[task]

    async def __aenter__(self) -> GuardedSession:
        self._guard_open()
        return self

    def _maker_context_manager(self) -> Any:
        # `async with sessionmaker.begin()` enters here (not through __aenter__) and closes through __aexit__.
        self._guard_open()
        return super()._maker_context_manager()

    async def close(self) -> None:
        try:
            await super().close()
        finally:
            self._guard_close()


def _guarded(
    method: Callable[..., Coroutine[Any, Any, _Result]], describe: Callable[..., str]
) -> Callable[..., Coroutine[Any, Any, _Result]]:
    @functools.wraps(method)
    async def request(*args: Any, **kwargs: Any) -> _Result:
        if _state.mode is not GuardMode.OFF:
            check(describe(*args, **kwargs))
        return await method(*args, **kwargs)

    request.__labelbot_guarded__ = True  # type: ignore[attr-defined]
    return request


def _describe(_owner: Any, route: Any, *_args: Any, **_kwargs: Any) -> str:
    return f"{route.method} {route.path}"


def _install() -> None:
    if _state.installed:
        return
    from discord.http import HTTPClient
    from discord.webhook.async_ import AsyncWebhookAdapter

    # Every REST call goes through HTTPClient.request; interaction responses and followups through the adapter.
    for owner in (HTTPClient, AsyncWebhookAdapter):
        current = owner.request
        if not getattr(current, "__labelbot_guarded__", False):
            owner.request = _guarded(current, _describe)  # type: ignore[method-assign]
    _state.installed = True
