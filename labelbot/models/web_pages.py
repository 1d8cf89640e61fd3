"""Tables of the moderators' dashboard: single-use sign-in links and the sessions they open.

Only SHA-256 digests of the secrets are stored, so a copy of the database opens nothing.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from labelbot.db.base import Base, utcnow
from labelbot.privacy.columns import ERASE

DIGEST_LENGTH = 64


class DashboardLink(Base):
    """A link /dashboard handed to one moderator: it opens a session once, within minutes."""

    __tablename__ = "dashboard_links"
    __table_args__ = (Index("ix_dashboard_links_expires_at", "expires_at"),)

    token_digest: Mapped[str] = mapped_column(String(DIGEST_LENGTH), primary_key=True)
    guild_id: Mapped[int]
    # The link is the moderator's own: forgetting them deletes it.
    user_id: Mapped[int] = mapped_column(info=ERASE)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class DashboardSession(Base):
    """A signed-in browser: the cookie's digest, the server it may read, and until when."""

    __tablename__ = "dashboard_sessions"
    __table_args__ = (Index("ix_dashboard_sessions_expires_at", "expires_at"),)

    token_digest: Mapped[str] = mapped_column(String(DIGEST_LENGTH), primary_key=True)
    guild_id: Mapped[int]
    user_id: Mapped[int] = mapped_column(info=ERASE)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
