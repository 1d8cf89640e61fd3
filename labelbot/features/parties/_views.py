"""The party's components: the card's RSVP buttons and "I'm here" (they work after any restart), the schedule form.

The card's layout comes from _render as plain content; its buttons are put on here, where the items that answer
them live, so _render needs nothing from this module and the form can post a card without reaching into the cog.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import discord
from sqlalchemy.ext.asyncio import AsyncSession

from labelbot.errors import BotLacksPermissions
from labelbot.features.parties import _render as render
from labelbot.features.parties import _repository as repository
from labelbot.features.parties import _service as service
from labelbot.gatherings import CardContent, lifecycle, native, rsvp
from labelbot.gatherings.models import Answer, Gathering
from labelbot.interactions import defer, guild_of, reply
from labelbot.models.parties import CLOSING_NOTE_MAX, ListeningParty
from labelbot.text import clip, plain
from labelbot.timeparse import format_dt
from labelbot.tree import handle_interaction_error
from labelbot.ui.dynamic import PersistentItem

if TYPE_CHECKING:
    from labelbot.client import LabelBot

MODAL_TITLE_MAX = 45

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
        bot, guild_id, user_id = interaction.client, interaction.guild_id, interaction.user.id

        async def record(session: AsyncSession) -> tuple[ListeningParty, rsvp.RsvpOutcome, bool]:
            party, outcome = await service.answer(bot, session, self.party_id, guild_id, user_id, self.answer)
            dm_at_start = outcome.answer == Answer.REMIND and await service.start_dm_owed(
                bot, session, self.party_id, user_id
            )
            return party, outcome, dm_at_start

        # Committed with the other clicks of a burst; answered only once this one's row is written.
        party, outcome, dm_at_start = await bot.batcher.run(record, hint=service.answer_hint(self.party_id, user_id))
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
        elif dm_at_start:
            text = f"No reminder is left before “{title}”, so I'll DM you when it starts, {when}."
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


class RateButton(
    PersistentItem[discord.ui.Button[Any]],
    template=r"party:rate:(?P<party_id>\d+):(?P<track>\d+):(?P<stars>[1-5])",
):
    """One to five stars for a track, on its prompt; one rating per member per track, changeable until the end."""

    def __init__(self, party_id: int, track_index: int, stars: int) -> None:
        super().__init__(
            discord.ui.Button(
                label="★" * stars,
                style=discord.ButtonStyle.secondary,
                custom_id=f"party:rate:{party_id}:{track_index}:{stars}",
            )
        )
        self.party_id = party_id
        self.track_index = track_index
        self.stars = stars

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> RateButton:
        return cls(int(match["party_id"]), int(match["track"]), int(match["stars"]))

    async def run(self, interaction: discord.Interaction[Any]) -> None:
        await defer(interaction)
        assert interaction.guild_id is not None
        async with interaction.client.sessionmaker.begin() as session:
            party, earlier = await service.rate_track(
                session, self.party_id, interaction.guild_id, interaction.user.id, self.track_index, self.stars
            )
        title = plain(str(party.tracks[self.track_index]["title"]))
        stars = f"{'★' * self.stars}{'☆' * (5 - self.stars)}"
        if earlier is None:
            text = f"You rated **{title}** {stars}. You can change it until the party ends."
        elif earlier == self.stars:
            text = f"(No change.) Your rating of **{title}** stays {stars}."
        else:
            text = f"Changed your rating of **{title}** from {earlier} to {stars}."
        await reply(interaction, text)


def rating_view(party_id: int, track_index: int) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    for stars in range(1, 6):
        view.add_item(RateButton(party_id, track_index, stars))
    return view


def here_view(party_id: int) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(HereButton(party_id))
    return view


def rsvp_buttons(party_id: int) -> list[discord.ui.Item[Any]]:
    return [RsvpButton(party_id, answer) for answer in Answer]


async def card_content(
    session: AsyncSession, party: ListeningParty, gathering: Gathering, *, after: tuple[str, ...] = ()
) -> CardContent:
    """The party's card as things stand (Components V2), with its RSVP buttons while it still takes answers."""
    controls = rsvp_buttons(party.id) if render.takes_answers(party) else []
    layout = await render.card_layout(session, party, gathering, controls=controls, after=after)
    return CardContent(embed=None, view=layout)


async def render_card(bot: LabelBot, session: AsyncSession, gathering: Gathering) -> CardContent | None:
    """The card of the party behind a gathering (the shared card-refresh job calls this)."""
    party = await repository.get(session, gathering.ref_id)
    if party is None:
        return None
    return await card_content(session, party, gathering)


class PartyModal(discord.ui.Modal):
    """Tracklist, the artist's per-track notes and the closing note."""

    def __init__(self, request: service.ScheduleRequest, *, title: str, tracklist: str | None) -> None:
        super().__init__(title=clip(f"Party: {title}", MODAL_TITLE_MAX), timeout=900)
        self.request = request
        self.tracklist: discord.ui.TextInput[PartyModal] = discord.ui.TextInput(
            label="Tracklist: one per line, “Title - 3:45”",
            custom_id="tracklist",
            style=discord.TextStyle.paragraph,
            default=tracklist,
            max_length=4000,
        )
        self.notes: discord.ui.TextInput[PartyModal] = discord.ui.TextInput(
            label="Artist's note per track (one line each)",
            custom_id="notes",
            style=discord.TextStyle.paragraph,
            required=False,
            max_length=4000,
        )
        self.closing: discord.ui.TextInput[PartyModal] = discord.ui.TextInput(
            label="Closing note (shown in the recap)",
            custom_id="closing",
            style=discord.TextStyle.paragraph,
            required=False,
            max_length=CLOSING_NOTE_MAX,
        )
        for item in (self.tracklist, self.notes, self.closing):
            self.add_item(item)

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:  # type: ignore[override]
        await schedule_party(
            interaction,
            self.request,
            tracklist=self.tracklist.value,
            notes=self.notes.value,
            closing_note=self.closing.value,
        )

    async def on_error(self, interaction: discord.Interaction[Any], error: Exception) -> None:  # type: ignore[override]
        await handle_interaction_error(interaction, error, source=self)


async def schedule_party(
    interaction: discord.Interaction[LabelBot],
    request: service.ScheduleRequest,
    *,
    tracklist: str | None,
    notes: str | None,
    closing_note: str | None,
) -> None:
    """The end of /party schedule, from the command itself or from its form: read, create, tell the member."""
    await defer(interaction)
    guild = guild_of(interaction)
    async with interaction.client.sessionmaker() as session:
        draft = await service.read_draft(
            interaction, session, request, tracklist=tracklist, notes=notes, closing_note=closing_note
        )
    party = await create_party(interaction.client, guild, draft)
    await reply(interaction, render.scheduled_text(party))


async def create_party(bot: LabelBot, guild: discord.Guild, draft: service.PartyDraft) -> ListeningParty:
    """Create the party, its native event, its card and its timeline; on any failure none of them remain.

    Read, then talk to Discord, then write: the rows and the intent go in first, Discord is asked with no
    session open, and the outcome is recorded in one short transaction (or everything is taken back).
    """
    native.check_place(guild, service.native_place(draft.voice_channel, draft.text_channel))
    await native.ensure_room(bot, guild.id)
    async with bot.sessionmaker.begin() as session:
        party, gathering = await service.add_party(bot, session, draft)
        content = await card_content(session, party, gathering)
    done = lifecycle.Mirror()
    try:
        await lifecycle.create_native(
            bot,
            gathering.id,
            guild.id,
            done,
            name=party.title,
            description=service.native_description(party),
            starts_at=party.starts_at,
            ends_at=party.ends_at,
            place=service.native_place(draft.voice_channel, draft.text_channel),
            reason=f"Listening party scheduled by {draft.host_id}",
        )
        try:
            done.card = await draft.text_channel.send(
                view=content.view, allowed_mentions=discord.AllowedMentions.none()
            )
        except discord.Forbidden:
            raise BotLacksPermissions(
                f"Discord didn't let me post the party card in {draft.text_channel.mention}; check my permissions "
                "there. Nothing was created."
            ) from None
        async with bot.sessionmaker.begin() as session:
            party = await service.finish_creation(bot, session, guild.id, party.id, done, draft.host_id)
    except BaseException:
        await done.undo(bot, guild.id)
        await lifecycle.discard(bot, gathering.id, service.discard_rows)
        raise
    return party
