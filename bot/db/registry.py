"""Import every module that defines tables, so Base.metadata is complete (for Alembic and checks)."""

from __future__ import annotations

import importlib
import pkgutil

import bot
import bot.models


def import_all_models() -> None:
    """Import every `models` module of the core (bot/*/models.py) and every feature's tables (bot/models/*)."""
    for module in pkgutil.walk_packages(bot.__path__, prefix="bot."):
        if module.name.rsplit(".", 1)[-1] == "models" or module.name.startswith(f"{bot.models.__name__}."):
            importlib.import_module(module.name)
