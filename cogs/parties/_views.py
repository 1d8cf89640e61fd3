"""The party's buttons: RSVP answers on the card, "I'm here" during the party. They work after any restart."""

from __future__ import annotations

import re
from typing import Any

import discord

from bot.gatherings.models import Answer
from bot.interactions import defer, reply
from bot.text import plain
from bot.timeparse import format_dt
from bot.ui.dynamic import PersistentItem
from cogs.parties import _service as service

LABELS = {
    Answer.GOING: ("Going", discord.ButtonStyle.success, "✅"),
    Answer.MAYBE: ("Maybe", discord.ButtonStyle.secondary, "🤔"),
    Answer.REMIND: ("Remind me by DM", discord.ButtonStyle.primary, "🔔"),
    Answer.CANT: ("Can't make it", discord.ButtonStyle.secondary, "✖️"),
}


class RsvpButton(
    PersistentItem[discord.ui.Button[Any]], template=r"party:rsvp:(?P<answer>going|maybe|remind|cant):(?P<id>\d+)"
):
    """One RSVP answer on a party's card."""

    def __init__(self, party_id: int, answer: Answer) -> None:
        label, style, emoji = LABELS[answer]
        super().__init__(
            discord.ui.Button(label=label, style=style, emoji=emoji, custom_id=f"party:rsvp:{answer.value}:{party_id}")
        )
        self.party_id = party_id
        self.answer = answer

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> RsvpButton:
        return cls(int(match["id"]), Answer(match["answer"]))

    async def run(self, interaction: discord.Interaction[Any]) -> None:
        await defer(interaction)
        assert interaction.guild_id is not None
        async with interaction.client.sessionmaker.begin() as session:
            party, outcome = await service.answer(
                interaction.client, session, self.party_id, interaction.guild_id, interaction.user.id, self.answer
            )
        when = f"{format_dt(party.starts_at, 'F')} ({format_dt(party.starts_at, 'R')})"
        title = plain(party.title)
        if outcome.answer == Answer.GOING and outcome.waitlisted:
            text = (
                f"“{title}” is full, so you're on the waitlist (#{outcome.position}). I'll tell you if a spot opens up."
            )
        elif outcome.answer == Answer.GOING:
            text = f"You're going to “{title}”, {when}. See you there!"
        elif outcome.answer == Answer.MAYBE:
            text = f"Marked as maybe for “{title}”, {when}."
        elif outcome.answer == Answer.REMIND:
            text = f"I'll remind you by DM before “{title}”, {when}."
        else:
            text = f"Got it: you can't make “{title}”."
        if not outcome.changed:
            text = f"(No change.) {text}"
        await reply(interaction, text)


class HereButton(PersistentItem[discord.ui.Button[Any]], template=r"party:here:(?P<id>\d+)"):
    """Pressed during the party: counts the member as there."""

    def __init__(self, party_id: int) -> None:
        super().__init__(
            discord.ui.Button(
                label="I'm here", style=discord.ButtonStyle.success, emoji="🙋", custom_id=f"party:here:{party_id}"
            )
        )
        self.party_id = party_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> HereButton:
        return cls(int(match["id"]))

    async def run(self, interaction: discord.Interaction[Any]) -> None:
        await defer(interaction)
        assert interaction.guild_id is not None
        async with interaction.client.sessionmaker.begin() as session:
            party, added = await service.mark_here(session, self.party_id, interaction.guild_id, interaction.user.id)
        title = plain(party.title)
        text = f"Welcome to “{title}”! You're counted as here." if added else "You're already counted as here. Enjoy!"
        await reply(interaction, text)


def rsvp_view(party_id: int) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    for answer in Answer:
        view.add_item(RsvpButton(party_id, answer))
    return view


def here_view(party_id: int) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(HereButton(party_id))
    return view
