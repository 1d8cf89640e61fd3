"""Persistent buttons check that the id in their custom_id belongs here: a forged press changes nothing."""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, update

from labelbot.db.base import utcnow
from labelbot.gatherings.models import Gathering, GatheringRsvp
from labelbot.guilds.service import get_guild_settings
from labelbot.models.collabs import CollabInterest, CollabReport, CollabRequest
from labelbot.models.events import CommunityEvent, EventOccurrence, OccurrenceStatus
from tests.e2e.test_collabs import World
from tests.fakediscord import ChannelType, FakeInteraction, FakeMessage, FakeUser, interactions
from tests.harness import BotHarness

TIMEOUT = 15.0
GONE_REQUEST = "That collab request doesn't exist (any more)."
NOT_AN_EVENT_HERE = "That button isn't for an event of this server."


async def forged_click(h: BotHarness, user: FakeUser, message: FakeMessage, custom_id: str) -> FakeInteraction:
    """A press of a real message of this server carrying a custom_id the bot never put there.

    discord.py runs a DynamicItem only when the pressed custom_id is among the message's components, so the
    message the interaction carries has its first button's id replaced, as a modified client would claim.
    """
    channel = h.fake.channel(message.channel_id)
    real = message.components
    forged = copy.deepcopy(real)
    first = next(c for row in forged for c in row.get("components", []) if c.get("type") == 2)
    first["custom_id"] = custom_id
    message.components = forged
    try:
        data = {"custom_id": custom_id, "component_type": 2}
        return await interactions._send(
            h.fake, interactions.MESSAGE_COMPONENT, h.guild, channel, user, data, message=message
        )
    finally:
        message.components = real


async def count(h: BotHarness, model: Any) -> int:
    assert h.bot is not None
    async with h.bot.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def create_event(h: BotHarness, title: str) -> int:
    """Create an event as the moderator; return its gathering's id."""
    ix = await h.fake.slash(h.guild, h.general, h.moderator, "event create", title=title, start="in 2h", duration="1h")
    answer = await ix.reply(timeout=TIMEOUT)
    assert answer.ephemeral, answer.text
    assert h.bot is not None
    async with h.bot.sessionmaker() as session:
        found = await session.scalar(select(Gathering.id).where(Gathering.kind == "event", Gathering.title == title))
    assert found is not None, answer.text
    return int(found)


def card_of(h: BotHarness, gathering_id: int) -> FakeMessage:
    return next(m for m in h.fake.messages(h.general) if f"event:rsvp:{gathering_id}:going" in m.custom_ids)


async def test_forged_event_buttons_for_another_servers_event_a_party_or_an_ended_event_change_nothing(
    labelbot: BotHarness,
) -> None:
    h = labelbot
    elsewhere = h.fake.add_guild("Another Label")
    fan = h.guild.add_member("fan").user
    ours = await create_event(h, "AMA with Nova Lights")
    theirs = await create_event(h, "Their meetup")
    ended = await create_event(h, "Last week's meetup")
    card = card_of(h, ours)
    assert h.bot is not None
    async with h.bot.sessionmaker.begin() as session:
        # Another server's event, as if created there.
        occurrence_id = await session.scalar(select(Gathering.ref_id).where(Gathering.id == theirs))
        event_id = await session.scalar(select(EventOccurrence.event_id).where(EventOccurrence.id == occurrence_id))
        await session.execute(update(Gathering).where(Gathering.id == theirs).values(guild_id=elsewhere.id))
        await session.execute(
            update(EventOccurrence).where(EventOccurrence.id == occurrence_id).values(guild_id=elsewhere.id)
        )
        await session.execute(update(CommunityEvent).where(CommunityEvent.id == event_id).values(guild_id=elsewhere.id))
        # An occurrence that is over.
        ended_occurrence = await session.scalar(select(Gathering.ref_id).where(Gathering.id == ended))
        await session.execute(
            update(EventOccurrence).where(EventOccurrence.id == ended_occurrence).values(status=OccurrenceStatus.ENDED)
        )
        # A listening party of this server: a gathering, but not an event.
        now = utcnow()
        party = Gathering(
            kind="party",
            ref_id=4242,
            guild_id=h.guild.id,
            title="Nova Lights listening party",
            starts_at=now + timedelta(hours=3),
            ends_at=now + timedelta(hours=4),
        )
        session.add(party)
        await session.flush()
        party_id = party.id

    forged = {
        f"event:rsvp:{theirs}:going": NOT_AN_EVENT_HERE,
        f"event:dm:{theirs}": NOT_AN_EVENT_HERE,
        f"event:rsvp:{party_id}:going": NOT_AN_EVENT_HERE,
        f"event:dm:{party_id}": NOT_AN_EVENT_HERE,
        f"event:rsvp:{ended}:maybe": "**Last week's meetup** is over or was cancelled, so it takes no more answers.",
    }
    for custom_id, expected in forged.items():
        answer = await (await forged_click(h, fan, card, custom_id)).reply(timeout=TIMEOUT)
        assert answer.ephemeral, custom_id
        assert answer.content == expected, custom_id
    assert await count(h, GatheringRsvp) == 0

    # The real button of this server's open event still works.
    answer = await (await h.fake.click(h.guild, h.general, fan, card, f"event:rsvp:{ours}:going")).reply(
        timeout=TIMEOUT
    )
    assert answer.content.startswith("You're going to **AMA with Nova Lights**.")
    assert await count(h, GatheringRsvp) == 1


async def test_forged_collab_buttons_for_another_servers_request_change_nothing(harness: BotHarness) -> None:
    world = World(harness, ChannelType.text)
    h = harness
    elsewhere = h.fake.add_guild("Another Label")
    their_mod_log = elsewhere.add_channel("mod-log", type=ChannelType.text)
    their_poster = h.fake.add_user("their-poster")
    elsewhere.add_member(their_poster)
    h.guild.add_member(their_poster)
    await h.start()
    await world.configure()
    assert h.bot is not None
    await world.post(world.poster, "mixing engineer", title="Mix wanted")
    async with h.bot.sessionmaker.begin() as session:
        ours = await session.scalar(select(CollabRequest).where(CollabRequest.title == "Mix wanted"))
        assert ours is not None
        settings = await get_guild_settings(session, elsewhere.id)
        settings.mod_log_channel_id = their_mod_log.id
        expires_at = utcnow() + timedelta(days=10)
        theirs = CollabRequest(
            guild_id=elsewhere.id,
            poster_id=their_poster.id,
            title="Their drummer wanted",
            needed="A drummer for a live session.",
            compensation="paid",
            status="open",
            lifetime_seconds=14 * 86400,
            published_at=utcnow(),
            expires_at=expires_at,
        )
        session.add(theirs)
        await session.flush()
        their_id = theirs.id
    post = world.starter(ours)

    for user, custom_id in (
        (world.ana, f"collab:interest:{their_id}"),
        (world.ana, f"collab:report:{their_id}"),
        (their_poster, f"collab:extend:{their_id}"),
        (their_poster, f"collab:close:{their_id}"),
    ):
        answer = await (await forged_click(h, user, post, custom_id)).reply(timeout=TIMEOUT)
        assert answer.ephemeral, custom_id
        assert answer.content == GONE_REQUEST, custom_id

    assert await count(h, CollabInterest) == 0
    assert await count(h, CollabReport) == 0
    async with h.bot.sessionmaker() as session:
        stored = await session.get(CollabRequest, their_id)
    assert stored is not None
    assert stored.status == "open"
    assert stored.expires_at == expires_at
    assert not h.fake.messages(their_mod_log)
    assert not h.fake.dms(their_poster)
