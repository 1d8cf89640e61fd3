"""Database core: the declarative base, the engine and the session factory."""

from labelbot.db.base import Base, TimestampMixin, utcnow
from labelbot.db.engine import create_engine, create_sessionmaker, database_kind

__all__ = ["Base", "TimestampMixin", "create_engine", "create_sessionmaker", "database_kind", "utcnow"]
