"""Listening-party tables (declared in `_tables`), declared once per process.

discord.py drops `cogs.parties.*` from sys.modules whenever the bot closes or the extension reloads; declaring the
tables again would clash in `Base.metadata` ("Table ... is already defined"). So the first import's module is kept
under a name outside the package, and every later import of `_models` gets that same module.
"""

from __future__ import annotations

import importlib
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cogs.parties._tables import *  # noqa: F403
else:
    _KEPT = "labelbot_kept_models.cogs.parties"
    if _KEPT not in sys.modules:
        sys.modules[_KEPT] = importlib.import_module("cogs.parties._tables")
    sys.modules[__name__] = sys.modules[_KEPT]
