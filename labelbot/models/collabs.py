"""Tables of the collab board: the server's skills, members' profiles, requests and what happens to them."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from labelbot.db.base import Base, RowId, utcnow
from labelbot.privacy.columns import ANONYMISE, ERASE


class RequestStatus(enum.StrEnum):
    """Where a collab request is in its life."""

    PENDING_APPROVAL = "pending_approval"
    OPEN = "open"
    FILLED = "filled"
    CLOSED = "closed"
    EXPIRED = "expired"
    REJECTED = "rejected"


ACTIVE_STATUSES = (RequestStatus.PENDING_APPROVAL, RequestStatus.OPEN)


class InterestStatus(enum.StrEnum):
    """What the poster made of a member's "I'm interested"."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"


class AlertVia(enum.StrEnum):
    """Where a member hears about matching requests."""

    BOARD = "board"
    DM = "dm"


class CollabSkill(Base):
    """One skill of a server's list; removed skills stay (soft-deleted) so old profiles and requests keep them."""

    __tablename__ = "collab_skills"
    __table_args__ = (UniqueConstraint("guild_id", "key"),)

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    guild_id: Mapped[int]
    name: Mapped[str] = mapped_column(String(50))
    # The name casefolded: "Mixing Engineer" and "mixing engineer" are one skill.
    key: Mapped[str] = mapped_column(String(50))
    removed: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CollabProfile(Base):
    """A member's collab profile in one server: bio, links and how they want to hear about requests."""

    __tablename__ = "collab_profiles"

    guild_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    user_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False, info=ERASE)
    alerts: Mapped[bool] = mapped_column(Boolean, default=False)
    alert_via: Mapped[str] = mapped_column(String(8), default=AlertVia.BOARD)
    bio: Mapped[str | None] = mapped_column(String(300))
    links: Mapped[str | None] = mapped_column(String(300))
    # Set when a DM to the member bounced; alerts then go to the board until they update their profile.
    dms_closed: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class CollabMemberSkill(Base):
    """A skill a member has, in one server."""

    __tablename__ = "collab_member_skills"
    __table_args__ = (Index("ix_collab_member_skills_skill_id", "skill_id"),)

    guild_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    user_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False, info=ERASE)
    skill_id: Mapped[int] = mapped_column(
        ForeignKey("collab_skills.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )


class CollabRequest(Base):
    """One "looking for ..." post: what is wanted, where it is on the board, and how its life went."""

    __tablename__ = "collab_requests"
    __table_args__ = (
        Index("ix_collab_requests_guild_id_status", "guild_id", "status"),
        Index("ix_collab_requests_guild_id_poster_id", "guild_id", "poster_id"),
    )

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    guild_id: Mapped[int]
    # A request is its poster's writing: forgetting them takes it off the board.
    poster_id: Mapped[int] = mapped_column(info=ERASE)
    title: Mapped[str] = mapped_column(String(100))
    needed: Mapped[str] = mapped_column(Text)
    genre: Mapped[str | None] = mapped_column(String(200))
    deadline_at: Mapped[datetime | None]
    deadline_zone: Mapped[str | None] = mapped_column(String(64))
    compensation: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default=RequestStatus.OPEN)
    # Where the post went: the board channel, the post's message and its thread (a forum post is both).
    board_channel_id: Mapped[int | None]
    board_is_forum: Mapped[bool] = mapped_column(Boolean, default=False)
    message_id: Mapped[int | None]
    thread_id: Mapped[int | None]
    # The text channel /collab post was used in: parent of introduction threads when the board is a forum.
    origin_channel_id: Mapped[int | None]
    approval_message_id: Mapped[int | None]
    lifetime_seconds: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    closed_by_id: Mapped[int | None] = mapped_column(info=ANONYMISE)
    filled_by_id: Mapped[int | None] = mapped_column(info=ANONYMISE)


class CollabRequestSkill(Base):
    """A skill a request wants."""

    __tablename__ = "collab_request_skills"
    __table_args__ = (Index("ix_collab_request_skills_skill_id", "skill_id"),)

    request_id: Mapped[int] = mapped_column(
        ForeignKey("collab_requests.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    skill_id: Mapped[int] = mapped_column(
        ForeignKey("collab_skills.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )


class CollabInterest(Base):
    """A member's "I'm interested" in a request, and the poster's answer."""

    __tablename__ = "collab_interests"
    __table_args__ = (UniqueConstraint("request_id", "user_id"),)

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("collab_requests.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(info=ERASE)
    status: Mapped[str] = mapped_column(String(12), default=InterestStatus.PENDING)
    # The private thread opened when the poster accepted.
    thread_id: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    answered_at: Mapped[datetime | None]


class CollabAlert(Base):
    """A matching alert a member got (or is getting) about a request; counted against the daily cap."""

    __tablename__ = "collab_alerts"
    __table_args__ = (Index("ix_collab_alerts_guild_id_user_id_created_at", "guild_id", "user_id", "created_at"),)

    request_id: Mapped[int] = mapped_column(
        ForeignKey("collab_requests.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    user_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False, info=ERASE)
    guild_id: Mapped[int]
    via: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CollabReport(Base):
    """A member reported a request to the moderators (once per member and request)."""

    __tablename__ = "collab_reports"

    request_id: Mapped[int] = mapped_column(
        ForeignKey("collab_requests.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    reporter_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False, info=ERASE)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
