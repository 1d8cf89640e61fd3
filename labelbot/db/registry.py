"""Import every module that defines tables, so Base.metadata is complete (for Alembic and checks)."""

from __future__ import annotations

import importlib
import pkgutil

import labelbot
import labelbot.models

NOT_CORE = {"labelbot.features", "labelbot.migrations", "labelbot.__main__"}


def import_all_models() -> None:
    """Import every `models` module of the core (labelbot/*/models.py) and every feature's tables (labelbot/models/*)."""
    for top in pkgutil.iter_modules(labelbot.__path__, prefix="labelbot."):
        if top.name in NOT_CORE:
            continue  # features keep their tables in labelbot/models; migrations import the models themselves
        names = [top.name]
        if top.ispkg:
            package = importlib.import_module(top.name)
            names += [module.name for module in pkgutil.walk_packages(package.__path__, prefix=f"{top.name}.")]
        for name in names:
            if name.rsplit(".", 1)[-1] == "models" or name.startswith(f"{labelbot.models.__name__}."):
                importlib.import_module(name)
