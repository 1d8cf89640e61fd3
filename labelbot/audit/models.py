"""The audit_log table."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from labelbot.db.base import Base, JSONType, RowId, utcnow
from labelbot.privacy.columns import ANONYMISE


class AuditEntry(Base):
    """One change made through the bot: who, what, on what, when, and the values before and after."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_guild_id_created_at", "guild_id", "created_at"),)

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    guild_id: Mapped[int]
    actor_id: Mapped[int] = mapped_column(info=ANONYMISE)
    # "<area>.<change>", e.g. "settings.channel", "artist.add".
    action: Mapped[str] = mapped_column(String(64))
    # What was changed, in words a moderator recognises, e.g. "announcements channel", "Nova Lights".
    target: Mapped[str] = mapped_column(String(200))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONType, info=ANONYMISE)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSONType, info=ANONYMISE)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
