"""Ask the member who used a command to confirm (or pick between a few outcomes) before acting."""

from __future__ import annotations

import contextlib
import secrets
from dataclasses import dataclass
from typing import Any

import discord

from labelbot.interactions import NO_MENTIONS
from labelbot.ui.owned import OwnedView

CANCEL = "cancel"


@dataclass(frozen=True)
class Option:
    """One button of a confirmation: what it says, the value it answers, how it looks."""

    label: str
    value: str
    style: discord.ButtonStyle = discord.ButtonStyle.danger


class ConfirmView(OwnedView):
    """Buttons for each option and Cancel; `answer` is the value clicked, None on cancel or timeout.

    Custom ids are `confirm:<token>:<value>`; `interaction` is the click, still to be answered by the caller
    (it is deferred as a message update, so the caller edits the prompt with `edit_original_response`).
    """

    def __init__(self, owner_id: int, options: list[Option], *, timeout: float = 60.0) -> None:
        super().__init__(owner_id, timeout=timeout)
        self.token = secrets.token_hex(6)
        self.answer: str | None = None
        self.interaction: discord.Interaction[Any] | None = None
        for option in [*options, Option("Cancel", CANCEL, discord.ButtonStyle.secondary)]:
            self.add_item(_Choice(self, option))

    async def choose(self, interaction: discord.Interaction[Any], value: str) -> None:
        self.answer = None if value == CANCEL else value
        self.interaction = interaction
        self.disable_all()
        await interaction.response.edit_message(view=self, allowed_mentions=NO_MENTIONS)
        self.stop()


class _Choice(discord.ui.Button[ConfirmView]):
    def __init__(self, view: ConfirmView, option: Option) -> None:
        super().__init__(label=option.label, style=option.style, custom_id=f"confirm:{view.token}:{option.value}")
        self.value = option.value

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        assert self.view is not None
        await self.view.choose(interaction, self.value)


async def ask(
    interaction: discord.Interaction[Any],
    question: str,
    options: list[Option],
    *,
    wait_seconds: float = 60.0,
) -> tuple[str | None, discord.Interaction[Any] | None]:
    """Ask ephemerally and wait; return the value chosen (None: cancelled or timed out) and the click."""
    view = ConfirmView(interaction.user.id, options, timeout=wait_seconds)
    if interaction.response.is_done():
        view.message = await interaction.followup.send(
            question, view=view, ephemeral=True, allowed_mentions=NO_MENTIONS, wait=True
        )
    else:
        await interaction.response.send_message(question, view=view, ephemeral=True, allowed_mentions=NO_MENTIONS)
    timed_out = await view.wait()
    # A bot shutting down ends every view as if it timed out: there is nobody to tell, and no session to tell with.
    if timed_out and not interaction.client.is_closed():
        view.disable_all()
        with contextlib.suppress(discord.HTTPException):
            await interaction.edit_original_response(
                content=f"{question}\n\nNo answer in time, so nothing was changed.", view=view
            )
    return view.answer, view.interaction
