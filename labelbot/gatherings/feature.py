"""How a feature plugs its kind of gathering in: its card, its reminder text, and the jobs that serve it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import discord
from sqlalchemy.ext.asyncio import AsyncSession

from labelbot.gatherings.models import Gathering

if TYPE_CHECKING:
    from labelbot.client import LabelBot


@dataclass(frozen=True)
class CardContent:
    """What a gathering's card shows now: an embed with its buttons, or a Components V2 layout (embed None)."""

    embed: discord.Embed | None
    # An empty view takes the buttons off (a cancelled or finished gathering); a layout carries its own buttons.
    view: discord.ui.View | discord.ui.LayoutView

    @property
    def is_layout(self) -> bool:
        return isinstance(self.view, discord.ui.LayoutView)

    def message_kwargs(self) -> dict[str, Any]:
        """What to send or edit the card with. A layout clears content and embeds: a card posted as an embed
        before its feature moved to Components V2 becomes a layout too (Discord refuses a V2 message keeping them).
        """
        if self.is_layout:
            return {"content": None, "embeds": [], "view": self.view}
        return {"embed": self.embed, "view": self.view}


CardRenderer = Callable[["LabelBot", AsyncSession, Gathering], Awaitable[CardContent | None]]
ReminderText = Callable[[Gathering, int], str]


@dataclass(frozen=True)
class GatheringFeature:
    """One kind of gathering ("party", "event"), as the shared code needs to know it."""

    kind: str
    # How members call one, in sentences: "listening party", "event".
    noun: str
    render_card: CardRenderer
    # The reminder's first line, given the gathering and how many seconds ahead it is sent.
    reminder_text: ReminderText

    @property
    def card_job(self) -> str:
        return f"{self.kind}.card"

    @property
    def notice_job(self) -> str:
        return f"{self.kind}.notice"

    @property
    def remind_job(self) -> str:
        return f"{self.kind}.remind"


class GatheringKinds:
    """The kinds of gathering the loaded features run, by kind."""

    def __init__(self) -> None:
        self._kinds: dict[str, GatheringFeature] = {}

    def add(self, feature: GatheringFeature) -> None:
        self._kinds[feature.kind] = feature

    def remove(self, kind: str) -> None:
        self._kinds.pop(kind, None)

    def get(self, kind: str) -> GatheringFeature:
        return self._kinds[kind]


def feature_for(bot: LabelBot, kind: str) -> GatheringFeature:
    return bot.features.gatherings.get(kind)
