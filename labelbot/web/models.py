"""The webhook deliveries table: what each sender's id last delivered, so a repeat is answered, not re-run."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from labelbot.db.base import Base, RowId, utcnow
from labelbot.privacy.columns import ANONYMISE

EXTERNAL_ID_LENGTH = 200


class WebhookDelivery(Base):
    """The last body received from a sender for one of its ids, and what we answered."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (UniqueConstraint("guild_id", "hook", "external_id"),)

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    guild_id: Mapped[int]
    hook: Mapped[str] = mapped_column(String(64))
    external_id: Mapped[str] = mapped_column(String(EXTERNAL_ID_LENGTH))
    body_sha256: Mapped[str] = mapped_column(String(64))
    # The X-Labelbot-Timestamp of the delivery applied last: a later one must be signed after it.
    signed_at: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # What a purchase answered may name the member it granted to.
    response: Mapped[dict[str, Any]] = mapped_column(info=ANONYMISE)
    deliveries: Mapped[int] = mapped_column(Integer, default=1)
    first_received_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_received_at: Mapped[datetime] = mapped_column(default=utcnow)
