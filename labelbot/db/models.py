"""Tables of the core itself (not of any one feature)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from labelbot.db.base import Base, utcnow


class BotState(Base):
    """Small facts the bot keeps about itself, such as the hash of the last synced command tree."""

    __tablename__ = "bot_state"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
