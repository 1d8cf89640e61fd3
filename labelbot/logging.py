"""Logging, configured once by the composition root."""

from __future__ import annotations

import logging
import sys

from labelbot.config import LoggingSettings

FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


def configure_logging(settings: LoggingSettings) -> None:
    """Log to stderr; discord.py at its own (quieter) level. The token is never logged by our code."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.level)
    logging.getLogger("discord").setLevel(settings.discord_level)
    logging.getLogger("apscheduler").setLevel(max(logging.WARNING, logging.getLevelName(settings.level)))
    logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)
