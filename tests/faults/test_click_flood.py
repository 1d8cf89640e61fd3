"""A flood of 1,000 RSVP clicks within a minute, from 1,000 members: every click answered, no error, counts right."""

from __future__ import annotations

import asyncio

import pytest

from labelbot.gatherings.models import GatheringRsvp
from tests.fakediscord import FakeInteraction
from tests.faults.helpers import (
    PARTY_FEATURES,
    card_of,
    count_rows,
    fan,
    field,
    only_features,
    run,
    set_parties_channel,
)
from tests.harness import BotHarness

MEMBERS = 1000
# Clicks in flight at once: a busy release night, not one member clicking a thousand times.
WAVE = 50


@pytest.mark.slow
async def test_a_thousand_rsvp_clicks_in_a_minute_are_all_answered_and_counted(harness: BotHarness) -> None:
    h = harness
    only_features(h, PARTY_FEATURES)
    await h.start()
    parties = await set_parties_channel(h)
    reply = await run(h, h.moderator, "party schedule", title="Flood", start="in 2 hours", tracklist="A - 3:00")
    assert "Scheduled" in reply.content, reply.content
    card = card_of(h, parties)
    fans = [fan(h, f"flood{i}") for i in range(MEMBERS)]
    # Every fourth member says Maybe, the rest Going.
    choice = {f.id: "maybe" if i % 4 == 0 else "going" for i, f in enumerate(fans)}

    clicks: list[FakeInteraction] = []
    for first in range(0, MEMBERS, WAVE):
        wave = fans[first : first + WAVE]
        sent = await asyncio.gather(
            *(h.fake.click(h.guild, parties, f, card, f"party:rsvp:{choice[f.id]}:1") for f in wave)
        )
        clicks += sent
        await asyncio.gather(*(ix.reply(timeout=30) for ix in sent))

    answers = [(await ix.reply()).content for ix in clicks]
    assert not [a for a in answers if "reference `" in a or "try again" in a.lower()], answers[:5]
    assert sum("You're going" in a for a in answers) == MEMBERS * 3 // 4, answers[:5]
    assert not [ix for ix in clicks if ix.late_callbacks], "a click was answered after Discord's 3 s deadline"

    going, maybe = MEMBERS * 3 // 4, MEMBERS // 4
    assert h.bot is not None
    assert await count_rows(h.bot, GatheringRsvp) == MEMBERS
    await h.wait_until(lambda: field(h.fake.message(card.id), "Going") == str(going), timeout=30)
    assert field(h.fake.message(card.id), "Maybe") == str(maybe)
    assert not [r for r in h.fake.requests if r.status == 429]
