"""Buttons, selects and the modal of the collab board.

Buttons on posts, DMs and the mod log are DynamicItems keyed by ids, so they work after any restart.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, ClassVar, Self

import discord

from bot.models.collabs import CollabSkill
from bot.tree import handle_interaction_error
from bot.ui.dynamic import PersistentItem
from bot.ui.owned import OwnedView


class CollabButton(PersistentItem[discord.ui.Button[Any]], template=r"collab:(?!)"):
    """A persistent button `collab:<action>:<id>`; this base's template matches nothing and is never registered."""

    action: ClassVar[str] = ""
    label: ClassVar[str] = ""
    style: ClassVar[discord.ButtonStyle] = discord.ButtonStyle.secondary

    def __init__(self, target_id: int) -> None:
        super().__init__(
            discord.ui.Button(label=self.label, style=self.style, custom_id=f"collab:{self.action}:{target_id}")
        )
        self.target_id = target_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> Self:
        return cls(int(match["id"]))


class InterestButton(CollabButton, template=r"collab:interest:(?P<id>\d+)"):
    action = "interest"
    label = "I'm interested"
    style = discord.ButtonStyle.success

    async def run(self, interaction: discord.Interaction[Any]) -> None:
        from cogs.collabs import _flows

        await _flows.interest(interaction, self.target_id)


class CloseButton(CollabButton, template=r"collab:close:(?P<id>\d+)"):
    action = "close"
    label = "Close"

    async def run(self, interaction: discord.Interaction[Any]) -> None:
        from cogs.collabs import _flows

        await _flows.close_by_button(interaction, self.target_id)


class ReportButton(CollabButton, template=r"collab:report:(?P<id>\d+)"):
    action = "report"
    label = "Report"
    style = discord.ButtonStyle.danger

    async def run(self, interaction: discord.Interaction[Any]) -> None:
        from cogs.collabs import _flows

        await _flows.report(interaction, self.target_id)


class ExtendButton(CollabButton, template=r"collab:extend:(?P<id>\d+)"):
    action = "extend"
    label = "Keep it open"
    style = discord.ButtonStyle.success

    async def run(self, interaction: discord.Interaction[Any]) -> None:
        from cogs.collabs import _flows

        await _flows.extend(interaction, self.target_id)


class ApproveButton(CollabButton, template=r"collab:approve:(?P<id>\d+)"):
    action = "approve"
    label = "Approve"
    style = discord.ButtonStyle.success

    async def run(self, interaction: discord.Interaction[Any]) -> None:
        from cogs.collabs import _flows

        await _flows.review_request(interaction, self.target_id, approve=True)


class RejectButton(CollabButton, template=r"collab:reject:(?P<id>\d+)"):
    action = "reject"
    label = "Reject"
    style = discord.ButtonStyle.danger

    async def run(self, interaction: discord.Interaction[Any]) -> None:
        from cogs.collabs import _flows

        await _flows.review_request(interaction, self.target_id, approve=False)


class AcceptButton(CollabButton, template=r"collab:accept:(?P<id>\d+)"):
    action = "accept"
    label = "Accept"
    style = discord.ButtonStyle.success

    async def run(self, interaction: discord.Interaction[Any]) -> None:
        from cogs.collabs import _flows

        await _flows.answer(interaction, self.target_id, accept=True)


class DeclineButton(CollabButton, template=r"collab:decline:(?P<id>\d+)"):
    action = "decline"
    label = "Decline"

    async def run(self, interaction: discord.Interaction[Any]) -> None:
        from cogs.collabs import _flows

        await _flows.answer(interaction, self.target_id, accept=False)


class ReviewButton(CollabButton, template=r"collab:review:(?P<id>\d+)"):
    action = "review"
    label = "See who it is"
    style = discord.ButtonStyle.primary

    async def run(self, interaction: discord.Interaction[Any]) -> None:
        from cogs.collabs import _flows

        await _flows.review_interest(interaction, self.target_id)


DYNAMIC_ITEMS: tuple[type[CollabButton], ...] = (
    InterestButton,
    CloseButton,
    ReportButton,
    ExtendButton,
    ApproveButton,
    RejectButton,
    AcceptButton,
    DeclineButton,
    ReviewButton,
)


def _view(*items: discord.ui.Item[Any]) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    for item in items:
        view.add_item(item)
    return view


def post_view(request_id: int) -> discord.ui.View:
    return _view(InterestButton(request_id), CloseButton(request_id), ReportButton(request_id))


def warning_view(request_id: int) -> discord.ui.View:
    return _view(ExtendButton(request_id), CloseButton(request_id))


def approval_view(request_id: int) -> discord.ui.View:
    return _view(ApproveButton(request_id), RejectButton(request_id))


def answer_view(interest_id: int) -> discord.ui.View:
    return _view(AcceptButton(interest_id), DeclineButton(interest_id))


def review_view(interest_id: int) -> discord.ui.View:
    return _view(ReviewButton(interest_id))


@dataclass(frozen=True)
class PostContext:
    """What /collab post collected before the modal: the skills, the compensation and how long it stays open."""

    guild_id: int
    skill_ids: tuple[int, ...]
    compensation: str
    lifetime: timedelta
    zone: str
    origin_channel_id: int | None


class PostModal(discord.ui.Modal, title="New collab request"):
    """Title, what is needed, genre/references and deadline of a request."""

    request_title: discord.ui.TextInput[PostModal] = discord.ui.TextInput(
        label="Title", custom_id="title", placeholder="Looking for a mixing engineer", max_length=100
    )
    needed: discord.ui.TextInput[PostModal] = discord.ui.TextInput(
        label="What is needed",
        custom_id="needed",
        style=discord.TextStyle.paragraph,
        placeholder="A mix for a 4-track EP, stems ready…",
        max_length=1000,
    )
    genre: discord.ui.TextInput[PostModal] = discord.ui.TextInput(
        label="Genre / references",
        custom_id="genre",
        placeholder="Dream pop; think Beach House",
        required=False,
        max_length=200,
    )
    deadline: discord.ui.TextInput[PostModal] = discord.ui.TextInput(
        label="Deadline (optional)",
        custom_id="deadline",
        placeholder="2026-12-20 or next friday",
        required=False,
        max_length=100,
    )

    def __init__(self, context: PostContext) -> None:
        super().__init__(timeout=900)
        self.context = context

    async def on_submit(self, interaction: discord.Interaction[Any], /) -> None:
        from cogs.collabs import _flows

        await _flows.submit_post(
            interaction,
            self.context,
            title=self.request_title.value,
            needed=self.needed.value,
            genre=self.genre.value,
            deadline=self.deadline.value,
        )

    async def on_error(self, interaction: discord.Interaction[Any], error: Exception, /) -> None:  # type: ignore[override]
        await handle_interaction_error(interaction, error, source=self)


class SkillPicker(OwnedView):
    """A member's private picker of their own skills."""

    def __init__(self, owner_id: int, guild_id: int, skills: Sequence[CollabSkill], chosen: set[int]) -> None:
        super().__init__(owner_id, timeout=600)
        self.guild_id = guild_id
        options = [
            discord.SelectOption(label=skill.name[:100], value=str(skill.id), default=skill.id in chosen)
            for skill in skills[:25]
        ]
        self.select: discord.ui.Select[SkillPicker] = discord.ui.Select(
            placeholder="Pick your skills",
            min_values=0,
            max_values=max(1, len(options)),
            options=options or [discord.SelectOption(label="No skills yet", value="0")],
            disabled=not options,
            custom_id=f"collab:profile-skills:{owner_id}",
        )
        self.select.callback = self._picked  # type: ignore[method-assign]
        self.add_item(self.select)

    async def _picked(self, interaction: discord.Interaction[Any]) -> None:
        from cogs.collabs import _flows

        await _flows.save_skills(interaction, self.guild_id, [int(value) for value in self.select.values])
