"""The public page's cache: built pages kept per server until what they show changes, or a short while passes.

Every commit that touches a table the page reads bumps a version (per server where the row says which, else for
all); a cached page built under an older version is rebuilt. The time limit covers what this process cannot see:
another process writing to the same database, a channel's permissions changing in Discord.
"""

from __future__ import annotations

import hashlib
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, UOWTransaction

# Tables whose rows the public page shows (by name: the page imports no other feature).
WATCHED_TABLES = frozenset(
    {
        "releases",
        "release_links",
        "artists",
        "gatherings",
        "guild_settings",
        "listening_parties",
        "community_events",
        "event_occurrences",
    }
)
EVERY_SERVER = 0
_TOUCHED = "web_pages_touched"


@dataclass(frozen=True)
class CachedPage:
    """One rendered answer and what conditional GETs compare against."""

    body: bytes
    content_type: str
    etag: str
    last_modified: datetime
    version: tuple[int, int]
    built_at: float


def etag_of(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


class PageCache:
    """Rendered pages by (server, variant), valid while the data version holds and for `ttl` seconds at most."""

    def __init__(self, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self._clock = clock
        self._versions: defaultdict[int, int] = defaultdict(int)
        self._pages: dict[tuple[int, str], CachedPage] = {}
        self.builds = 0

    def version(self, guild_id: int) -> tuple[int, int]:
        return (self._versions[EVERY_SERVER], self._versions[guild_id])

    def bump(self, guild_id: int) -> None:
        self._versions[guild_id] += 1

    def get(self, guild_id: int, variant: str) -> CachedPage | None:
        page = self._pages.get((guild_id, variant))
        if page is None or page.version != self.version(guild_id) or self._clock() - page.built_at > self.ttl:
            return None
        return page

    def put(
        self,
        guild_id: int,
        variant: str,
        body: bytes,
        content_type: str,
        last_modified: datetime,
        version: tuple[int, int],
    ) -> CachedPage:
        """Keep a page built under `version` (read before the build, so a change during it is not lost)."""
        self.builds += 1
        page = CachedPage(body, content_type, etag_of(body), last_modified, version, self._clock())
        self._pages[(guild_id, variant)] = page
        return page

    # -- watching commits -------------------------------------------------------------------------------------

    def _after_flush(self, session: Session, flush_context: UOWTransaction) -> None:
        touched: set[int] = session.info.setdefault(_TOUCHED, set())
        for instance in (*session.new, *session.dirty, *session.deleted):
            table = getattr(instance, "__tablename__", None)
            if table in WATCHED_TABLES:
                guild_id = getattr(instance, "guild_id", None)
                touched.add(guild_id if isinstance(guild_id, int) else EVERY_SERVER)

    def _after_bulk(self, context: Any) -> None:
        # An UPDATE/DELETE statement names no rows: every server's pages are rebuilt.
        target = getattr(context.statement, "table", None)
        if getattr(target, "name", None) in WATCHED_TABLES:
            context.session.info.setdefault(_TOUCHED, set()).add(EVERY_SERVER)

    def _after_commit(self, session: Session) -> None:
        for guild_id in session.info.pop(_TOUCHED, set()):
            self.bump(guild_id)

    def _after_rollback(self, session: Session) -> None:
        session.info.pop(_TOUCHED, None)

    def _do_orm_execute(self, state: Any) -> None:
        if state.is_update or state.is_delete:
            self._after_bulk(state)

    def watch(self) -> None:
        event.listen(Session, "after_flush", self._after_flush)
        event.listen(Session, "after_commit", self._after_commit)
        event.listen(Session, "after_soft_rollback", self._soft_rollback)
        event.listen(Session, "do_orm_execute", self._do_orm_execute)

    def _soft_rollback(self, session: Session, previous_transaction: Any) -> None:
        if previous_transaction.parent is None:
            self._after_rollback(session)

    def unwatch(self) -> None:
        event.remove(Session, "after_flush", self._after_flush)
        event.remove(Session, "after_commit", self._after_commit)
        event.remove(Session, "after_soft_rollback", self._soft_rollback)
        event.remove(Session, "do_orm_execute", self._do_orm_execute)
