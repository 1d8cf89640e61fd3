"""What the core needs to know from the features, registered by each cog: the core imports no feature.

The composition root (labelbot/runner.py) builds one `FeatureRegistry` and hands it to the bot as `bot.features`. A cog
adds what it brings in its `cog_load` and takes it away in its `cog_unload`, so an extension that is unloaded or
reloaded leaves nothing of its old self behind: its audit-log titles, calendar source, /artist info section,
webhook intake, kind of gathering, the roles it hands out, its forget hook, its dashboard section, its own server
settings' defaults and what follows a release's time.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from labelbot.artists.service import ArtistInfoSections
from labelbot.calendar import Calendar
from labelbot.catalog.moves import ReleaseMoves
from labelbot.dashboard import DashboardSections
from labelbot.gatherings.feature import GatheringKinds
from labelbot.guilds.models import GuildSettings
from labelbot.privacy.service import Privacy
from labelbot.role_grants import RoleGrants
from labelbot.web.hooks import HookRegistry


class AuditTitles:
    """How each audit action reads in the mod log and in /settings audit; an action nobody titled shows raw."""

    def __init__(self) -> None:
        self._titles: dict[str, str] = {}

    def add(self, titles: Mapping[str, str]) -> None:
        self._titles.update(titles)

    def remove(self, actions: Iterable[str]) -> None:
        for action in actions:
            self._titles.pop(action, None)

    def title(self, action: str) -> str:
        return self._titles.get(action, action)

    def __contains__(self, action: object) -> bool:
        return action in self._titles


@dataclass(frozen=True)
class SettingDefault:
    """One server setting a feature owns: its column of `guild_settings`, the value a new server starts with, and
    how /settings show names it."""

    column: str
    value: Any
    label: str


class SettingDefaults:
    """Each feature's own server settings and their defaults, as the feature declares them.

    The columns live in the core's `guild_settings` table (a row per server), but what they mean and what a new
    server starts with is the feature's to say. /settings show reads them here to tell which settings a
    moderator changed; `defaults()` is what a new server's row is given for the features loaded. Two features
    may share a setting (parties and events share the reminder offsets) only with the same default.
    """

    def __init__(self) -> None:
        self._by_feature: dict[str, tuple[SettingDefault, ...]] = {}

    def add(self, feature: str, *settings: SettingDefault) -> None:
        for setting in settings:
            if setting.column not in GuildSettings.__table__.columns:
                raise ValueError(f"{feature} registers a default for {setting.column!r}, which is no server setting")
            for other, registered in self._by_feature.items():
                for known in registered:
                    if other != feature and known.column == setting.column and known.value != setting.value:
                        raise ValueError(
                            f"{feature} and {other} register different defaults for {setting.column!r}: "
                            f"{setting.value!r} and {known.value!r}"
                        )
        self._by_feature[feature] = tuple(settings)

    def remove(self, feature: str) -> None:
        self._by_feature.pop(feature, None)

    def sections(self) -> list[tuple[str, tuple[SettingDefault, ...]]]:
        """Every feature's settings, by feature name."""
        return sorted(self._by_feature.items())

    def defaults(self) -> dict[str, Any]:
        """Column -> default of every loaded feature's settings (fresh copies: a list default is never shared)."""
        return {
            setting.column: copy.deepcopy(setting.value)
            for settings in self._by_feature.values()
            for setting in settings
        }

    def changed(self, settings: GuildSettings) -> list[tuple[str, SettingDefault, Any]]:
        """(feature, setting, current value) of each registered setting this server moved from its default."""
        out = []
        for feature, registered in self.sections():
            for setting in registered:
                value = getattr(settings, setting.column)
                if value != setting.value:
                    out.append((feature, setting, value))
        return out


@dataclass
class FeatureRegistry:
    """Every section the features register with, one object owned by the composition root."""

    webhooks: HookRegistry = field(default_factory=HookRegistry)
    audit_titles: AuditTitles = field(default_factory=AuditTitles)
    calendar: Calendar = field(default_factory=Calendar)
    artist_info: ArtistInfoSections = field(default_factory=ArtistInfoSections)
    gatherings: GatheringKinds = field(default_factory=GatheringKinds)
    role_grants: RoleGrants = field(default_factory=RoleGrants)
    # Forget hooks, and forgetting a member through them.
    privacy: Privacy = field(default_factory=Privacy)
    # What each feature shows on the moderators' dashboard.
    dashboard: DashboardSections = field(default_factory=DashboardSections)
    settings: SettingDefaults = field(default_factory=SettingDefaults)
    # What follows a release when its time moves (e.g. supporters' early windows).
    release_moves: ReleaseMoves = field(default_factory=ReleaseMoves)
