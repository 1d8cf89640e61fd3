"""Parties on today's Discord: cards in Components V2, replays of past parties, the list of past parties with their
recaps, the voice status cleared on cancel, and a stage party's stage (issue 17)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from labelbot.artists.models import Artist
from labelbot.catalog.models import Release
from labelbot.db.base import utcnow
from labelbot.models.parties import ListeningParty, PartyStatus
from tests.e2e.helpers import nothing_more_happens
from tests.e2e.test_parties import (
    NOTES,
    TRACKLIST,
    add_release,
    click,
    harness,
    mentioned_users,
    prompts_in,
    restart_until_recap,
    run,
    schedule_party,
    slash,
    spawn_with_parties,
    voice_statuses,
)
from tests.fakediscord import ChannelType, FakeChannel, FakeMessage, Permissions
from tests.faults.helpers import bot_messages, card_of, card_title, fan, field, is_recap, set_parties_channel
from tests.harness import BotHarness

__all__ = ["harness"]  # the fixture that loads only the features parties build on

RSVP_IDS = {f"party:rsvp:{a}:1" for a in ("going", "maybe", "remind", "cant")}


def cards_in(h: BotHarness, channel: FakeChannel) -> list[FakeMessage]:
    return [m for m in bot_messages(h, channel) if m.is_v2]


async def test_a_party_card_is_a_v2_layout_with_the_artists_colour_and_cover_and_keeps_working(
    harness: BotHarness,
) -> None:
    h = harness
    await h.start()
    parties = await set_parties_channel(h)
    artist_id, release_id = await add_release(h, "Nova Lights", "Midnight Tapes", [3, 4, 5])
    assert h.bot is not None
    async with h.bot.sessionmaker.begin() as session:
        await session.execute(update(Artist).where(Artist.id == artist_id).values(accent_colour=0x3366FF))
        await session.execute(
            update(Release).where(Release.id == release_id).values(cover_url="https://cdn.example.com/tapes.png")
        )
    reply = await run(
        h, h.moderator, "party schedule", release=str(release_id), start="in 2 hours", description="Side A, then B."
    )
    assert "Scheduled **Midnight Tapes**" in reply.content, reply.content

    # One container the fake validated against Discord's V2 rules: no content, no embed; the artist's colour,
    # the release's cover beside the heading, the facts, the answers and the tracklist; the RSVP buttons under it.
    card = card_of(h, parties)
    assert card.is_v2
    assert not card.embeds
    assert not card.content
    assert card.accent_colours == [0x3366FF]
    assert card.media_urls == ["https://cdn.example.com/tapes.png"]
    assert card_title(card) == "🎧 Listening party: Midnight Tapes"
    assert field(card, "Length") == "0:12"
    assert field(card, "Going") == "0"
    assert field(card, "Tracklist") == "1. Song 1 (0:03)\n2. Song 2 (0:04)\n3. Song 3 (0:05)"
    assert "Side A, then B." in card.text_displays
    assert set(card.custom_ids) == RSVP_IDS

    # The buttons answer and the card's count follows.
    ana, ben = fan(h, "ana"), fan(h, "ben")
    assert "You're going" in (await click(h, ana, card, "party:rsvp:going:1")).content
    await h.wait_until(lambda: field(h.fake.message(card.id), "Going") == "1", timeout=10)

    # /party info shows the same card, with the member's own answer after it.
    info = await run(h, ana, "party info", party="1")
    assert info.containers() == h.fake.message(card.id).containers()
    assert "**Your answer:** going" in info.text_displays

    # Editing keeps working: the card follows the new title.
    reply = await run(h, h.moderator, "party edit", party="1", title="Tapes at Midnight")
    assert "Updated **Tapes at Midnight**" in reply.content, reply.content
    await h.wait_until(lambda: "Tapes at Midnight" in card_title(h.fake.message(card.id)), timeout=10)

    # A card posted as an embed before the move to Components V2 becomes a layout at its next edit.
    old = h.fake.message(card.id)
    old.flags = 0
    old.embeds = [{"title": "🎧 Listening party: Tapes at Midnight", "fields": [{"name": "Going", "value": "1"}]}]
    old.components = [
        {"type": 1, "components": [{"type": 2, "style": 1, "label": "Going", "custom_id": "party:rsvp:going:1"}]}
    ]
    assert "You're going" in (await click(h, ben, old, "party:rsvp:going:1")).content
    await h.wait_until(lambda: h.fake.message(card.id).is_v2, timeout=10)
    upgraded = h.fake.message(card.id)
    assert not upgraded.embeds
    assert field(upgraded, "Going") == "2"
    assert set(upgraded.custom_ids) == RSVP_IDS
    h.fake.assert_no_rejections()


async def test_a_replay_runs_the_original_tracklist_with_fresh_answers_and_its_recap_links_the_original(
    harness: BotHarness,
) -> None:
    h = harness
    await h.start()
    parties = await set_parties_channel(h)
    ana, ben = fan(h, "ana"), fan(h, "ben")

    # The original, with the artist's notes and a closing note typed in the form.
    ix = await slash(h, h.moderator, "party schedule", title="Night Drive LP", start="in 6 seconds", notes=True)
    modal = await ix.modal()
    submitted = await h.fake.submit_modal(
        h.guild,
        h.general,
        h.moderator,
        modal,
        {"tracklist": TRACKLIST.replace(" | ", "\n"), "notes": NOTES, "closing": "Thank you for listening!"},
    )
    assert "Scheduled **Night Drive LP**" in (await submitted.reply(timeout=15)).content
    first_card = card_of(h, parties)
    await click(h, ana, first_card, "party:rsvp:going:1")
    play = await h.fake.wait_for_message(parties, lambda m: "Press play now" in m.content, timeout=20)
    await click(h, ana, play, "party:here:1")
    first_recap = await h.fake.wait_for_message(parties, is_recap, timeout=30)

    # Only a party that has ended can be replayed; bad input changes nothing.
    await run(h, h.moderator, "party schedule", title="Later", start="in 3 hours", tracklist=TRACKLIST)
    refused = await run(h, h.moderator, "party replay", party="2", start="in 1 hour")
    assert refused.content == "Only a party that has ended can be replayed; “Later” has not started yet.", (
        refused.content
    )
    refused = await run(h, h.moderator, "party replay", party="1", start="yesterday at noon")
    assert refused.ephemeral
    assert "already passed" in refused.content, refused.content
    refused = await run(h, ana, "party replay", party="1", start="in 1 hour")
    assert "moderator" in refused.content.lower(), refused.content
    assert len(cards_in(h, parties)) == 2
    choices = await h.fake.autocomplete(
        h.guild, h.general, h.moderator, "party replay", focused="party", party="night", start="x"
    )
    assert [c["value"] for c in choices] == ["1"]

    # The replay: the original's tracklist and notes at a new time, a card of its own with no answers yet.
    reply = await run(h, h.moderator, "party replay", party="1", start="in 10 seconds", reminders="6s")
    assert reply.content.startswith("🔁 A replay of party #1. Scheduled **Night Drive LP**"), reply.content
    replay_card = cards_in(h, parties)[-1]
    assert set(replay_card.custom_ids) == {c.replace(":1", ":3") for c in RSVP_IDS}
    assert field(replay_card, "Going") == "0"
    assert field(replay_card, "Replay of").startswith("#1 Night Drive LP, first played <t:")
    assert field(replay_card, "Tracklist") == field(h.fake.message(first_card.id), "Tracklist")

    # Fresh answers and reminders: the reminder mentions who answered the replay, not who went to the original.
    await click(h, ben, replay_card, "party:rsvp:going:3")
    reminder = await h.fake.wait_for_message(
        parties, lambda m: m.content.startswith("⏰") and "Night Drive LP" in m.content, timeout=20
    )
    assert mentioned_users(reminder) == {ben.id}
    replay_play = await h.fake.wait_for_message(
        parties, lambda m: "Press play now" in m.content and m.id != play.id, timeout=20
    )
    recap = await h.fake.wait_for_message(parties, lambda m: is_recap(m) and m.id != first_recap.id, timeout=30)
    prompts = [m.content for m in prompts_in(h, replay_play.id)]
    assert [p.split("**")[1] for p in prompts] == ["Track 1/3: Intro", "Track 2/3: Night Drive", "Track 3/3: Outro"]
    assert "> The one with the synth solo" in prompts[1]
    assert recap.embeds[0]["description"] == "Thank you for listening!"
    original_url = f"https://discord.com/channels/{h.guild.id}/{parties.id}/{first_recap.id}"
    assert field(recap, "Replay of") == f"[#1 Night Drive LP]({original_url}): the original's recap"

    # /party list past: the ended parties, latest first, each with its recap.
    await h.wait_until(lambda: "over" in card_title(h.fake.message(replay_card.id)), timeout=10)
    listed = await run(h, ana, "party list", past=True)
    lines = listed.embeds[0]["description"].splitlines()
    assert len(lines) == 2, lines
    assert lines[0].startswith("**#3 Night Drive LP**")
    assert "replay of #1" in lines[0]
    assert f"[recap](https://discord.com/channels/{h.guild.id}/{parties.id}/{recap.id})" in lines[0]
    assert lines[1].startswith("**#1 Night Drive LP**")
    assert "1 came" in lines[1]
    assert f"[recap]({original_url})" in lines[1]
    upcoming = await run(h, ana, "party list")
    assert "Later" in upcoming.embeds[0]["description"]
    assert "Night Drive" not in upcoming.embeds[0]["description"]
    h.fake.assert_no_rejections()


async def test_the_list_of_past_parties_pages_when_long(harness: BotHarness) -> None:
    h = harness
    await h.start()
    assert h.bot is not None
    async with h.bot.sessionmaker.begin() as session:
        for number in range(12):
            session.add(
                ListeningParty(
                    guild_id=h.guild.id,
                    title=f"Session {number:02d}",
                    host_id=h.moderator.id,
                    text_channel_id=h.general.id,
                    starts_at=utcnow() - timedelta(days=30 - number),
                    tracks=[{"title": "One", "seconds": 60, "note": None}],
                    status=PartyStatus.ENDED,
                    prompted=[0],
                    missed=[],
                )
            )
    listing = await run(h, h.moderator, "party list", past=True)
    assert "Page 1 of 2" in listing.text
    assert "Session 11" in listing.text
    assert "Session 00" not in listing.text
    [next_page] = [cid for cid in listing.custom_ids if cid.endswith(":next")]
    turned = await (await h.fake.click(h.guild, h.general, h.moderator, listing, next_page)).reply(timeout=15)
    assert "Page 2 of 2" in turned.text
    assert "Session 00" in turned.text
    assert "no recap" in turned.text


async def test_a_live_voice_party_cancelled_clears_the_channel_status_and_unpins_its_card(
    harness: BotHarness,
) -> None:
    h = harness
    room = h.guild.add_channel("Listening Room", type=ChannelType.voice)
    await h.start()
    parties = await set_parties_channel(h)
    await schedule_party(
        h,
        title="Cut Short",
        start="in 6 seconds",
        tracklist="One - 0:30 | Two - 0:30",
        channel=room,
    )
    await h.fake.wait_until(lambda: room.voice_status == "Now playing 1/2 · One", timeout=20, what="status")
    card_id = card_of(h, parties).id
    await h.fake.wait_until(lambda: h.fake.message(card_id).pinned, timeout=10, what="card pinned")
    reply = await run(h, h.moderator, "party cancel", party="1")
    assert "Cancelled **Cut Short**" in reply.content, reply.content
    await h.fake.wait_until(lambda: room.voice_status is None, timeout=10, what="status cleared")
    await h.fake.wait_until(lambda: not h.fake.message(card_id).pinned, timeout=10, what="card unpinned")
    await h.wait_until(lambda: "cancelled" in card_title(h.fake.message(card_of(h, parties).id)), timeout=10)
    assert not [m for m in bot_messages(h, parties) if is_recap(m)]
    h.fake.assert_no_rejections()


async def test_a_live_partys_card_is_pinned_in_its_channel_until_the_end(harness: BotHarness) -> None:
    h = harness
    await h.start()
    parties = await set_parties_channel(h)
    await schedule_party(h, title="Pinned Up", start="in 6 seconds", tracklist="One - 0:03 | Two - 0:03")
    card_id = card_of(h, parties).id
    assert not h.fake.message(card_id).pinned
    await h.fake.wait_until(lambda: h.fake.message(card_id).pinned, timeout=20, what="card pinned at the start")
    await h.fake.wait_for_message(parties, is_recap, timeout=30)
    await h.fake.wait_until(lambda: not h.fake.message(card_id).pinned, timeout=10, what="card unpinned at the end")
    assert len(h.fake.requests_to("/channels/{channel_id}/messages/pins/{message_id}", "PUT")) == 1
    assert len(h.fake.requests_to("/channels/{channel_id}/messages/pins/{message_id}", "DELETE")) == 1
    assert not h.fake.dms(h.moderator.id)
    h.fake.assert_no_rejections()


async def test_a_card_a_moderator_pinned_before_the_party_stays_pinned_after_it(harness: BotHarness) -> None:
    h = harness
    await h.start()
    parties = await set_parties_channel(h)
    await schedule_party(h, title="Kept Up", start="in 6 seconds", tracklist="One - 0:03")
    card_id = card_of(h, parties).id
    h.fake.message(card_id).pinned = True  # a moderator pinned the announcement of the party
    await h.fake.wait_for_message(parties, is_recap, timeout=30)
    await nothing_more_happens(h, "party:")
    assert h.fake.message(card_id).pinned
    assert h.fake.requests_to("/channels/{channel_id}/messages/pins/{message_id}", "PUT") == []
    assert h.fake.requests_to("/channels/{channel_id}/messages/pins/{message_id}", "DELETE") == []
    h.fake.assert_no_rejections()


async def test_a_card_the_bot_may_not_pin_is_told_to_the_host_once_and_the_party_goes_on(
    harness: BotHarness,
) -> None:
    h = harness
    h.fake.expect_refusals("/channels/{channel_id}/messages/pins/{message_id}", status=403, code=50013, count=1)
    assert h.guild.bot_role is not None
    h.guild.bot_role.permissions &= ~Permissions.PIN_MESSAGES
    await h.start()
    parties = await set_parties_channel(h)
    await schedule_party(h, title="No Pins Here", start="in 6 seconds", tracklist=TRACKLIST)
    await h.fake.wait_for_message(parties, is_recap, timeout=40)
    play = next(m for m in bot_messages(h, parties) if "Press play now" in m.content)
    assert len(prompts_in(h, play.id)) == 3
    assert not h.fake.message(card_of(h, parties).id).pinned
    # One try (refused), no unpin at the end, one word to the host.
    assert len(h.fake.requests_to("/channels/{channel_id}/messages/pins/{message_id}", "PUT")) == 1
    assert not h.fake.requests_to("/channels/{channel_id}/messages/pins/{message_id}", "DELETE")
    await h.wait_until(lambda: len(h.fake.dms(h.moderator.id)) == 1, timeout=10)
    (told,) = h.fake.dms(h.moderator.id)
    assert "pin the card of **No Pins Here**" in told.content, told.content
    assert "**Pin Messages**" in told.content


def allow_stage_moderation(h: BotHarness) -> None:
    """Give the bot's role what opening a stage takes beyond the defaults (Mute and Move Members)."""
    assert h.guild.bot_role is not None
    h.guild.bot_role.permissions |= Permissions.MUTE_MEMBERS | Permissions.MOVE_MEMBERS


async def start_with_stage(h: BotHarness) -> tuple[FakeChannel, FakeChannel]:
    """The bot running and allowed to open stages, its parties channel set, and a stage channel: (parties, stage)."""
    allow_stage_moderation(h)
    await h.start()
    parties = await set_parties_channel(h)
    return parties, h.guild.add_channel("Stage Room", type=ChannelType.stage)


async def test_a_stage_party_opens_its_stage_with_the_topic_and_closes_it_at_the_end(harness: BotHarness) -> None:
    h = harness
    parties, stage = await start_with_stage(h)
    await schedule_party(
        h,
        title="Live From The Stage",
        start="in 6 seconds",
        tracklist="One - 0:03 | Two - 0:03",
        channel=stage,
    )
    await h.fake.wait_until(lambda: stage.stage_instance is not None, timeout=20, what="stage opened")
    assert stage.stage_instance is not None
    assert stage.stage_instance["topic"] == "Listening party: Live From The Stage"
    assert stage.stage_instance["privacy_level"] == 2
    assert stage.stage_instance["guild_scheduled_event_id"] == str(h.guild.scheduled_events[0].id)
    await h.fake.wait_for_message(parties, is_recap, timeout=30)
    await h.fake.wait_until(lambda: stage.stage_instance is None, timeout=10, what="stage closed")
    assert len(h.fake.requests_to("/stage-instances", "POST")) == 1
    assert len(h.fake.requests_to("/stage-instances/{channel_id}", "DELETE")) == 1
    assert not h.fake.dms(h.moderator.id)
    h.fake.assert_no_rejections()


async def test_a_stage_the_bot_may_not_open_is_told_to_the_host_once_and_the_party_goes_on(
    harness: BotHarness,
) -> None:
    h = harness
    h.fake.expect_refusals("/stage-instances", status=403, code=50013, count=1)
    parties, stage = await start_with_stage(h)
    await schedule_party(
        h,
        title="No Stage Rights",
        start="in 6 seconds",
        tracklist=TRACKLIST,
        channel=stage,
    )
    # Taken away between the schedule (checked then) and the start.
    assert h.guild.bot_role is not None
    h.guild.bot_role.permissions &= ~Permissions.MOVE_MEMBERS
    await h.fake.wait_for_message(parties, is_recap, timeout=40)
    play = next(m for m in bot_messages(h, parties) if "Press play now" in m.content)
    assert len(prompts_in(h, play.id)) == 3
    assert stage.stage_instance is None
    # One try (refused), no close at the end, one word to the host; the voice status still follows the tracks.
    assert len(h.fake.requests_to("/stage-instances", "POST")) == 1
    assert not h.fake.requests_to("/stage-instances/{channel_id}", "DELETE")
    await h.wait_until(lambda: len(h.fake.dms(h.moderator.id)) == 1, timeout=10)
    (told,) = h.fake.dms(h.moderator.id)
    assert "open the stage" in told.content
    assert "No Stage Rights" in told.content
    assert stage.voice_status is None
    assert len(h.fake.requests_to("/channels/{channel_id}/voice-status", "PUT")) == 4


async def test_the_longest_party_card_still_fits_discords_v2_limits(harness: BotHarness) -> None:
    h = harness
    await h.start()
    parties = await set_parties_channel(h)
    title = "T" * 100
    reply = await run(h, h.moderator, "party schedule", title=title, start="in 2 hours", tracklist=TRACKLIST)
    assert "Scheduled" in reply.content, reply.content
    card = card_of(h, parties)
    # The most a party can hold: 60 tracks with 100-character titles, a 1000-character description.
    assert h.bot is not None
    async with h.bot.sessionmaker.begin() as session:
        await session.execute(
            update(ListeningParty)
            .where(ListeningParty.id == 1)
            .values(
                tracks=[
                    {"title": f"{n:02d}" + "x" * 98, "seconds": 59 * 60 + 59, "note": "n" * 500} for n in range(60)
                ],
                description="d" * 1000,
            )
        )
    await click(h, fan(h, "ana"), card, "party:rsvp:going:1")
    await h.wait_until(lambda: field(h.fake.message(card.id), "Going") == "1", timeout=10)
    shown = h.fake.message(card.id)
    assert sum(len(text) for text in shown.text_displays) <= 4000
    assert field(shown, "Tracklist").endswith("more")
    info = await run(h, h.moderator, "party info", party="1")
    assert info.containers() == shown.containers()
    h.fake.assert_no_rejections()


async def test_a_stage_party_killed_mid_party_opens_and_closes_its_stage_once(harness: BotHarness) -> None:
    h = harness
    allow_stage_moderation(h)
    parties = h.guild.add_channel("listening-parties")
    stage = h.guild.add_channel("Stage Room", type=ChannelType.stage)
    first = await spawn_with_parties(h, parties)
    await schedule_party(
        h,
        title="Stage Crash",
        start="in 8 seconds",
        tracklist="One - 0:04 | Two - 0:04 | Three - 0:04",
        channel=stage,
    )
    play = await h.fake.wait_for_message(parties, lambda m: "Press play now" in m.content, timeout=30)
    await h.fake.wait_until(lambda: stage.stage_instance is not None, timeout=10, what="stage opened")
    await h.fake.wait_until(lambda: len(prompts_in(h, play.id)) >= 2, timeout=20, what="track 2")
    second, _ = await restart_until_recap(h, first, parties, lambda: stage.stage_instance is None, "stage closed")
    assert len(h.fake.requests_to("/stage-instances", "POST")) == 1
    assert len(h.fake.requests_to("/stage-instances/{channel_id}", "DELETE")) == 1
    prompted = [m.content.split("**")[1] for m in prompts_in(h, play.id)]
    assert len(prompted) == len(set(prompted))
    statuses = voice_statuses(h, stage)
    shown = [s for s in statuses if s is not None]
    assert len(shown) == len(set(shown)), statuses
    assert statuses.count(None) == 1
    await second.terminate()
