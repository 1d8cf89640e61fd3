"""Import every module that defines tables, so Base.metadata is complete (for Alembic and checks)."""

from __future__ import annotations

import importlib
import pkgutil

import bot
import cogs

MODEL_MODULE_NAMES = {"models", "_models"}


def import_all_models() -> None:
    """Import every `models` module under bot/ (and every module in bot/models/), every `_models` under cogs/."""
    for root in (bot, cogs):
        for module in pkgutil.walk_packages(root.__path__, prefix=f"{root.__name__}."):
            # Feature tables live in bot/models/<feature>.py (each module there declares tables).
            if module.name.rsplit(".", 1)[-1] in MODEL_MODULE_NAMES or module.name.startswith("bot.models."):
                importlib.import_module(module.name)
