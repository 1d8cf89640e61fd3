"""The tables of fan roles, declared once per process however often the extension is reloaded.

discord.py's `unload_extension` (which `Bot.close` runs, e.g. for an in-process restart) drops every
`cogs.fan_roles.*` module from `sys.modules`; importing the table module again would declare its tables a
second time on the one MetaData, which SQLAlchemy refuses. So the module that declares them is kept under a key
outside the package and put back before it is imported again. (Remove this once bot/client.py keeps table
modules across reloads.)
"""

from __future__ import annotations

import sys

_TABLES = "cogs.fan_roles._tables"
_KEPT = "labelbot.kept_tables.fan_roles"

if _KEPT in sys.modules:
    sys.modules[_TABLES] = sys.modules[_KEPT]

from cogs.fan_roles._tables import (  # noqa: E402
    DESCRIPTION_MAX,
    EMOJI_MAX,
    LABEL_MAX,
    PANEL_NAME_MAX,
    FanRolePanel,
    FanRolePanelEntry,
    LoyaltyTier,
    PanelMode,
    PanelStyle,
    PartyAttendance,
)

sys.modules[_KEPT] = sys.modules[_TABLES]

__all__ = [
    "DESCRIPTION_MAX",
    "EMOJI_MAX",
    "LABEL_MAX",
    "PANEL_NAME_MAX",
    "FanRolePanel",
    "FanRolePanelEntry",
    "LoyaltyTier",
    "PanelMode",
    "PanelStyle",
    "PartyAttendance",
]
