"""The small web side: health, metrics, and routes features add (calendar feed, release webhooks)."""

from labelbot.web.server import WebServer

__all__ = ["WebServer"]
