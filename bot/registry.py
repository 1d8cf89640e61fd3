"""What the core needs to know from the features, registered by each cog: the core imports no feature.

The composition root (bot/runner.py) builds one `FeatureRegistry` and hands it to the bot as `bot.features`. A cog
adds what it brings in its `cog_load` and takes it away in its `cog_unload`, so an extension that is unloaded or
reloaded leaves nothing of its old self behind: its audit-log titles, calendar source, /artist info section,
webhook intake, kind of gathering, the roles it hands out, its forget hook, its dashboard section and what
follows a release's time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from bot.artists.service import ArtistInfoSections
from bot.calendar import Calendar
from bot.catalog.moves import ReleaseMoves
from bot.dashboard import DashboardSections
from bot.gatherings.feature import GatheringKinds
from bot.privacy.service import Privacy
from bot.role_grants import RoleGrants
from bot.web.hooks import HookRegistry


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
    # What follows a release when its time moves (e.g. supporters' early windows).
    release_moves: ReleaseMoves = field(default_factory=ReleaseMoves)
