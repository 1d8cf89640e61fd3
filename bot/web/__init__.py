"""The small web side: health, metrics, and routes features add (calendar feed, release webhooks)."""

from bot.web.server import WebServer

__all__ = ["WebServer"]
