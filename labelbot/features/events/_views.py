"""The event card's buttons: Going / Maybe / Not going, and DM reminders on or off; they work after any restart."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import discord
from sqlalchemy.ext.asyncio import AsyncSession

from labelbot.db.base import utcnow
from labelbot.errors import Conflict, NotFound
from labelbot.features.events import _repository as repository
from labelbot.gatherings import cards, fanout, rsvp
from labelbot.gatherings.models import Answer, Gathering
from labelbot.interactions import defer, reply
from labelbot.text import plain
from labelbot.ui.dynamic import PersistentItem

if TYPE_CHECKING:
    from labelbot.client import LabelBot

NOT_HERE = "That button isn't for an event of this server."


async def _check_answerable(
    session: AsyncSession, interaction: discord.Interaction[LabelBot], gathering_id: int
) -> None:
    """Refuse a press naming a gathering that isn't an open event of this server (the id comes from the client)."""
    if interaction.guild_id is None:
        raise NotFound(NOT_HERE)
    gathering, answerable = await repository.answerable_gathering(session, gathering_id, interaction.guild_id, utcnow())
    if gathering is None:
        raise NotFound(NOT_HERE)
    if not answerable:
        title = plain(gathering.title)
        raise Conflict(f"**{title}** is over or was cancelled, so it takes no more answers.")


ANSWERS: dict[str, tuple[Answer, str, discord.ButtonStyle]] = {
    "going": (Answer.GOING, "Going", discord.ButtonStyle.success),
    "maybe": (Answer.MAYBE, "Maybe", discord.ButtonStyle.primary),
    "cant": (Answer.CANT, "Not going", discord.ButtonStyle.secondary),
}


class RsvpButton(
    PersistentItem[discord.ui.Button[Any]],
    template=r"event:rsvp:(?P<gathering>\d+):(?P<answer>going|maybe|cant)",
):
    """One answer to one occurrence."""

    def __init__(self, gathering_id: int, answer: str) -> None:
        _, label, style = ANSWERS[answer]
        super().__init__(discord.ui.Button(label=label, style=style, custom_id=f"event:rsvp:{gathering_id}:{answer}"))
        self.gathering_id = gathering_id
        self.answer = answer

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> RsvpButton:
        return cls(int(match["gathering"]), match["answer"])

    async def run(self, interaction: discord.Interaction[LabelBot]) -> None:
        await defer(interaction)
        bot = interaction.client
        new = ANSWERS[self.answer][0]

        async def record(session: AsyncSession) -> tuple[Gathering, rsvp.RsvpOutcome]:
            await _check_answerable(session, interaction, self.gathering_id)
            outcome = await rsvp.answer(session, self.gathering_id, interaction.user.id, new)
            gathering = await session.get(Gathering, self.gathering_id)
            assert gathering is not None
            if outcome.changed:
                await cards.request_card_refresh(bot, session, gathering)
            if outcome.promoted:
                title = discord.utils.escape_mentions(gathering.title)
                await fanout.schedule_notice(
                    bot,
                    session,
                    gathering,
                    name=f"promoted:{interaction.id}",
                    text=f"🎟️ A place opened up: you're now going to **{title}**.",
                    audience=fanout.AUDIENCE_USERS,
                    user_ids=outcome.promoted,
                )
            return gathering, outcome

        # Committed with the other clicks of a burst (labelbot/db/batch.py); answered once this one's row is written.
        gathering, outcome = await bot.batcher.run(record)
        title = discord.utils.escape_markdown(gathering.title)
        if outcome.waitlisted:
            text = f"**{title}** is full, so you're number {outcome.position} on the waitlist; I'll tell you if a place opens."
        elif new == Answer.GOING:
            text = f"You're going to **{title}**. I'll remind you before it starts."
        elif new == Answer.MAYBE:
            text = f"Marked as maybe for **{title}**; you'll get the reminders."
        else:
            text = f"Got it: you're not going to **{title}**."
        if gathering.starts_at < utcnow():
            text += " (It has already started.)"
        await reply(interaction, text)


class DmButton(PersistentItem[discord.ui.Button[Any]], template=r"event:dm:(?P<gathering>\d+)"):
    """Reminders by DM on or off, for a member who answered."""

    def __init__(self, gathering_id: int) -> None:
        super().__init__(
            discord.ui.Button(
                label="DM reminders",
                emoji="🔔",
                style=discord.ButtonStyle.secondary,
                custom_id=f"event:dm:{gathering_id}",
            )
        )
        self.gathering_id = gathering_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> DmButton:
        return cls(int(match["gathering"]))

    async def run(self, interaction: discord.Interaction[LabelBot]) -> None:
        await defer(interaction)
        async with interaction.client.sessionmaker.begin() as session:
            await _check_answerable(session, interaction, self.gathering_id)
            current = await rsvp.get_rsvp(session, self.gathering_id, interaction.user.id)
            wants = not (current is not None and current.wants_dm)
            await rsvp.set_wants_dm(session, self.gathering_id, interaction.user.id, wants)
        await reply(
            interaction,
            "I'll send you the reminders by DM too."
            if wants
            else "No more DM reminders; you'll see them in the channel.",
        )


def card_view(gathering_id: int, *, open_for_answers: bool) -> discord.ui.View:
    """The card's buttons; none once the occurrence is over or cancelled."""
    view = discord.ui.View(timeout=None)
    if open_for_answers:
        for answer in ANSWERS:
            view.add_item(RsvpButton(gathering_id, answer))
        view.add_item(DmButton(gathering_id))
    return view
