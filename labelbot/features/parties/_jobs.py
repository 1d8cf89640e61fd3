"""The party running itself: countdown, press play, one prompt per track, the end and its recap.

Every step is a durable job (never a sleep). Each posts with send_once and records its progress, so a retry,
a restart or a resumed gateway continues where the party is now and posts nothing twice. A track prompt whose
moment passed while the bot was away is dropped, and the next post says so once (a prompt posted just before a
crash, before it was recorded, is found in the thread rather than called missed).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Literal

import discord
from sqlalchemy import select

from labelbot.channels import job_channel, messageable_channel
from labelbot.db.base import utcnow
from labelbot.features.parties import _render as render
from labelbot.features.parties import _repository as repository
from labelbot.features.parties import _service as service
from labelbot.features.parties._views import here_view, rating_view
from labelbot.gatherings import fanout, native
from labelbot.gatherings.cards import request_card_refresh
from labelbot.gatherings.models import Gathering, GatheringRsvp, NativeStatus
from labelbot.jobs import JobContext, MissedRule
from labelbot.jobs.sending import send_once
from labelbot.models.parties import ListeningParty, PartyStatus
from labelbot.text import clip

if TYPE_CHECKING:
    from labelbot.client import LabelBot

log = logging.getLogger(__name__)

NO_MENTIONS = discord.AllowedMentions.none()
# Discord's answer when a message already has a thread: the thread's id is the message's.
THREAD_ALREADY_CREATED = 160004
# Later than this, the start says it is late.
START_GRACE = timedelta(seconds=5)
THREAD_NAME_MAX = 100
# A prompt posted just before the bot was killed is in the thread but not yet in the party's row: before calling a
# track's prompt missed, the bot looks at this many messages from that track's start (a little before, for clock
# drift) for its own prompt.
PROMPT_LOOKUP_MESSAGES = 25
PROMPT_LOOKUP_BEFORE = timedelta(seconds=5)


def register(bot: LabelBot) -> None:
    async def countdown(ctx: JobContext) -> dict[str, Any] | None:
        return await on_countdown(bot, ctx)

    async def start(ctx: JobContext) -> dict[str, Any] | None:
        return await on_start(bot, ctx)

    async def track(ctx: JobContext) -> dict[str, Any] | None:
        return await on_track(bot, ctx)

    async def end(ctx: JobContext) -> dict[str, Any] | None:
        return await on_end(bot, ctx)

    async def native_status(ctx: JobContext) -> dict[str, Any] | None:
        return await on_native(bot, ctx)

    async def start_dm(ctx: JobContext) -> dict[str, Any] | None:
        return await on_start_dm(bot, ctx)

    async def voice_refused(ctx: JobContext) -> dict[str, Any] | None:
        return await on_voice_refused(bot, ctx)

    async def cleanup(ctx: JobContext) -> dict[str, Any] | None:
        return await on_cleanup(bot, ctx)

    # A countdown after its minute is noise: skipped when the bot was down.
    bot.jobs.register(service.COUNTDOWN_JOB, countdown, missed=MissedRule.SKIP, grace=timedelta(seconds=30))
    # The rest decide for themselves from the party's clock (continue at the current track, drop what passed).
    bot.jobs.register(service.START_JOB, start, missed=MissedRule.RUN_LATE, grace=START_GRACE)
    bot.jobs.register(service.TRACK_JOB, track, missed=MissedRule.RUN_LATE, grace=START_GRACE)
    bot.jobs.register(service.END_JOB, end, missed=MissedRule.RUN_LATE, grace=START_GRACE)
    bot.jobs.register(service.NATIVE_JOB, native_status, missed=MissedRule.RUN_LATE)
    # A fan who asked still wants to hear it is on, even late; the handler drops it once the party is over.
    bot.jobs.register(service.START_DM_JOB, start_dm, missed=MissedRule.RUN_LATE)
    bot.jobs.register(service.VOICE_REFUSED_JOB, voice_refused, missed=MissedRule.RUN_LATE)
    bot.jobs.register(service.CLEANUP_JOB, cleanup, missed=MissedRule.RUN_LATE)


def unregister(bot: LabelBot) -> None:
    for kind in (
        service.COUNTDOWN_JOB,
        service.START_JOB,
        service.TRACK_JOB,
        service.END_JOB,
        service.NATIVE_JOB,
        service.START_DM_JOB,
        service.VOICE_REFUSED_JOB,
        service.CLEANUP_JOB,
    ):
        bot.jobs.unregister(kind)


async def _load(bot: LabelBot, party_id: int) -> tuple[ListeningParty, Gathering] | None:
    async with bot.sessionmaker() as session:
        party = await repository.get(session, party_id)
        if party is None or party.gathering_id is None:
            return None
        gathering = await session.get(Gathering, party.gathering_id)
        if gathering is None:
            return None
        return party, gathering


async def on_countdown(bot: LabelBot, ctx: JobContext) -> dict[str, Any] | None:
    loaded = await _load(bot, int(ctx.payload["party_id"]))
    if loaded is None or loaded[0].status != PartyStatus.SCHEDULED:
        return {"skipped": "not scheduled"}
    party, _ = loaded
    if utcnow() >= party.starts_at:
        return {"skipped": "started"}
    channel = await job_channel(bot, party.text_channel_id, "party", guild_id=party.guild_id)
    await send_once(channel, ctx, "countdown", content=render.countdown_text(party), allowed_mentions=NO_MENTIONS)
    return None


async def _set_native(bot: LabelBot, gathering: Gathering, target: NativeStatus) -> None:
    if gathering.native_event_id is None or gathering.native_status == target:
        return
    reached = await native.set_native_status(bot, gathering.guild_id, gathering.native_event_id, target)
    async with bot.sessionmaker.begin() as session:
        stored = await session.get(Gathering, gathering.id)
        if stored is not None:
            stored.native_status = target if reached else stored.native_status
    gathering.native_status = target if reached else gathering.native_status


async def on_start(bot: LabelBot, ctx: JobContext) -> dict[str, Any] | None:
    """Press play: the native event goes active, the play post with "I'm here", the thread, then the tracks."""
    party_id = int(ctx.payload["party_id"])
    async with bot.sessionmaker.begin() as session:
        party = await repository.get(session, party_id, lock=True)
        if party is None or party.gathering_id is None or not party.is_open:
            return {"skipped": "not open"}
        gathering = await session.get(Gathering, party.gathering_id)
        assert gathering is not None
        if party.status == PartyStatus.SCHEDULED:
            party.status = PartyStatus.LIVE
            party.started_at = utcnow()
        await fanout.cancel_reminders(bot, session, gathering)
    await _set_native(bot, gathering, NativeStatus.ACTIVE)
    now = utcnow()
    current = party.track_at(now) or 0
    if current >= len(party.tracks):
        # The whole party passed while the bot was away: straight to the end, which says what was missed.
        async with bot.sessionmaker.begin() as session:
            await bot.jobs.schedule(
                session,
                service.END_JOB,
                {"party_id": party.id},
                now,
                guild_id=party.guild_id,
                key=service.end_key(party),
                replace_done=False,
            )
        return {"over": True}
    lateness = (now - party.starts_at).total_seconds()
    late_by = lateness if lateness > START_GRACE.total_seconds() else None
    channel = await job_channel(bot, party.text_channel_id, "party", guild_id=party.guild_id)
    play = await send_once(
        channel,
        ctx,
        "play",
        content=render.play_text(party, late_by=late_by, current=current),
        view=here_view(party.id),
        allowed_mentions=NO_MENTIONS,
    )
    thread = await _open_thread(bot, play, party)
    async with bot.sessionmaker.begin() as session:
        stored = await repository.get(session, party.id, lock=True)
        assert stored is not None
        stored.play_message_id = play.id
        stored.thread_id = thread.id if thread is not None else None
        starts = stored.track_starts()
        for index in range(1, len(stored.tracks)):
            await bot.jobs.schedule(
                session,
                service.TRACK_JOB,
                {"party_id": party.id, "index": index},
                starts[index],
                guild_id=party.guild_id,
                key=service.track_key(stored, index),
                replace_done=False,
            )
        await bot.jobs.schedule(
            session,
            service.END_JOB,
            {"party_id": party.id},
            stored.ends_at,
            guild_id=party.guild_id,
            key=service.end_key(stored),
            replace_done=False,
        )
        stored_gathering = await session.get(Gathering, gathering.id)
        assert stored_gathering is not None
        await request_card_refresh(bot, session, stored_gathering, now=True)
        party = stored
    if thread is not None:
        _thread_opened(bot, thread.id, party)
    if current == 0:
        await _post_track(bot, ctx, party, 0, late_by=late_by)
    # After "press play" and the first prompt, which must go out on the second.
    await _open_stage(bot, ctx, party, gathering)
    await _pin_card(bot, ctx, party, gathering)
    # How late "press play" went out after its second (benchmarks read it from the job's result).
    return {"lateness_ms": round(lateness * 1000)}


async def _open_thread(bot: LabelBot, play: discord.Message, party: ListeningParty) -> discord.abc.Snowflake | None:
    """The party's thread, on the play post; a retry finds the one already opened."""
    name = clip(f"🎧 {party.title}", THREAD_NAME_MAX)
    try:
        return await play.create_thread(name=name, auto_archive_duration=1440)
    except discord.HTTPException as error:
        if error.code == THREAD_ALREADY_CREATED:
            return discord.Object(play.id)
        if isinstance(error, discord.Forbidden):
            log.warning("No thread for party %s (missing permission); prompts go to the channel", party.id)
            return None
        raise


def _thread_opened(bot: LabelBot, thread_id: int, party: ListeningParty) -> None:
    # Told as an event, not by reaching into the cog: the cog's listener caches it for the recap's talk count.
    bot.dispatch("party_thread_opened", thread_id, party)


async def _post_track(
    bot: LabelBot, ctx: JobContext, party: ListeningParty, index: int, *, late_by: float | None
) -> None:
    """Post the prompt of track `index` once, with a word on any earlier prompt missed while the bot was away."""
    missed = [i for i in range(index) if i not in party.prompted and i not in party.missed]
    posted = await _unrecorded_prompts(bot, party, missed)
    missed = [i for i in missed if i not in posted]
    await _set_voice_status(bot, ctx, party, f"voice:{index}", render.now_playing_status(party, index))
    target = await job_channel(bot, party.thread_id or party.text_channel_id, "party", guild_id=party.guild_id)
    await send_once(
        target,
        ctx,
        f"track:{index}",
        content=render.track_text(party, index, missed=missed, late_by=late_by),
        view=rating_view(party.id, index),
        allowed_mentions=NO_MENTIONS,
    )
    async with bot.sessionmaker.begin() as session:
        stored = await repository.get(session, party.id, lock=True)
        if stored is not None:
            stored.prompted = sorted({*stored.prompted, index, *posted})
            stored.missed = sorted({*stored.missed, *missed})


async def _unrecorded_prompts(bot: LabelBot, party: ListeningParty, indices: list[int]) -> set[int]:
    """Which of these tracks, not recorded as prompted, have the bot's prompt in the party's thread all the same.

    The prompt is posted, then recorded: a bot killed in between (a crash, an OOM kill) finds, after its restart, a
    prompt the members saw but no record of it. Asked only about tracks that look missed, so only after such a gap.
    """
    if not indices or bot.user is None:
        return set()
    found: set[int] = set()
    starts = party.track_starts()
    try:
        # A thread or channel gone meanwhile has nothing to find; the post that follows deals with that itself.
        target = await messageable_channel(bot, party.thread_id or party.text_channel_id)
        if target is None:
            return found
        for index in indices:
            after = discord.Object(discord.utils.time_snowflake(starts[index] - PROMPT_LOOKUP_BEFORE))
            async for message in target.history(limit=PROMPT_LOOKUP_MESSAGES, after=after, oldest_first=True):
                if message.author.id == bot.user.id and _is_prompt(message, party.id, index):
                    found.add(index)
                    break
    except discord.HTTPException as error:
        # Not knowing is no reason to hold the party up: the prompt counts as missed, as it did before.
        log.warning("Could not look for earlier prompts of party %s: %s", party.id, error)
    return found


def _is_prompt(message: discord.Message, party_id: int, index: int) -> bool:
    """The message carries the rating buttons of this track of this party (as only its prompt does)."""
    prefix = f"party:rate:{party_id}:{index}:"
    return any(
        (getattr(child, "custom_id", None) or "").startswith(prefix)
        for row in message.components
        for child in getattr(row, "children", ())
    )


async def on_track(bot: LabelBot, ctx: JobContext) -> dict[str, Any] | None:
    """Post this track's prompt if it is playing now; drop it if its moment passed (the next post says so)."""
    index = int(ctx.payload["index"])
    loaded = await _load(bot, int(ctx.payload["party_id"]))
    if loaded is None or loaded[0].status != PartyStatus.LIVE:
        return {"skipped": "not live"}
    party, _ = loaded
    if index in party.prompted or index >= len(party.tracks):
        return {"skipped": "already posted"}
    now = utcnow()
    current = party.track_at(now)
    if current is not None and current > index:
        log.info("Dropping the prompt of track %s of party %s: its moment passed", index + 1, party.id)
        return {"dropped": "passed"}
    lateness = (now - party.track_starts()[index]).total_seconds()
    await _post_track(bot, ctx, party, index, late_by=lateness if lateness > START_GRACE.total_seconds() else None)
    return {"lateness_ms": round(lateness * 1000)}


async def on_end(bot: LabelBot, ctx: JobContext) -> dict[str, Any] | None:
    """The native event completes, the recap goes out, and each attendee counts for the fan roles."""
    party_id = int(ctx.payload["party_id"])
    loaded = await _load(bot, party_id)
    if loaded is None or loaded[0].status == PartyStatus.CANCELLED:
        return {"skipped": "cancelled"}
    party, gathering = loaded
    await _set_native(bot, gathering, NativeStatus.COMPLETED)
    async with bot.sessionmaker() as session:
        attendees = await repository.attendee_ids(session, party.id)
        by_track = await repository.messages_by_track(session, party.id)
        ratings = await repository.ratings_by_track(session, party.id)
        previous = await repository.previous_party(session, party)
        original = await repository.get(session, party.replay_of_id) if party.replay_of_id is not None else None
        came_back = (
            len(set(attendees) & set(await repository.attendee_ids(session, previous.id)))
            if previous is not None
            else None
        )
    busiest = None
    if by_track:
        index = max(sorted(by_track), key=lambda i: by_track[i])
        busiest = (index, by_track[index])
    missed = [i for i in range(len(party.tracks)) if i not in party.prompted and i not in party.missed]
    posted = await _unrecorded_prompts(bot, party, missed)
    missed = [i for i in missed if i not in posted]
    await _set_voice_status(bot, ctx, party, "voice:clear", None)
    await _close_stage(bot, party)
    await _unpin_card(bot, party, gathering)
    channel = await job_channel(bot, party.text_channel_id, "party", guild_id=party.guild_id)
    recap = await send_once(
        channel,
        ctx,
        "recap",
        embed=render.recap_embed(
            party,
            attendees=len(attendees),
            busiest=busiest,
            missed=missed,
            ratings=ratings,
            came_back=(came_back, previous.title) if previous is not None and came_back is not None else None,
            replay_of=(original.id, original.title, render.recap_url(original)) if original is not None else None,
        ),
        allowed_mentions=NO_MENTIONS,
    )
    async with bot.sessionmaker.begin() as session:
        stored = await repository.get(session, party.id, lock=True)
        if stored is not None and stored.status != PartyStatus.ENDED:
            stored.status = PartyStatus.ENDED
            stored.ended_at = utcnow()
            stored.missed = sorted({*stored.missed, *missed})
            stored.prompted = sorted({*stored.prompted, *posted})
        if stored is not None:
            stored.recap_message_id = recap.id
        stored_gathering = await session.get(Gathering, gathering.id)
        if stored_gathering is not None:
            await request_card_refresh(bot, session, stored_gathering, now=True)
    if party.play_message_id is not None and hasattr(channel, "get_partial_message"):
        try:
            await channel.get_partial_message(party.play_message_id).edit(view=discord.ui.View(timeout=None))
        except discord.HTTPException:
            log.info("Could not take the I'm here button off party %s's play post", party.id)
    if not ctx.progress.get("attended"):
        for user_id in attendees:
            bot.dispatch("party_attended", party.guild_id, user_id, party.id)
        await ctx.record_progress({"attended": len(attendees)})
    return {"attendees": len(attendees), "busiest": busiest[0] if busiest else None}


async def on_native(bot: LabelBot, ctx: JobContext) -> dict[str, Any] | None:
    loaded = await _load(bot, int(ctx.payload["party_id"]))
    if loaded is None:
        return {"skipped": "gone"}
    await _set_native(bot, loaded[1], NativeStatus(ctx.payload["status"]))
    return None


async def on_start_dm(bot: LabelBot, ctx: JobContext) -> dict[str, Any] | None:
    """DM "starting now, press play" to a fan who asked for a DM when no reminder was left."""
    party_id, user_id = int(ctx.payload["party_id"]), int(ctx.payload["user_id"])
    async with bot.sessionmaker() as session:
        party = await repository.get(session, party_id)
        if party is None or party.gathering_id is None or not party.is_open:
            return {"skipped": "not open"}
        gathering = await session.get(Gathering, party.gathering_id)
        answer = await session.scalar(
            select(GatheringRsvp).where(
                GatheringRsvp.gathering_id == party.gathering_id, GatheringRsvp.user_id == user_id
            )
        )
        if gathering is None or answer is None or not answer.wants_dm:
            return {"skipped": "no longer asked"}
        if party.status == PartyStatus.SCHEDULED and party.starts_at - utcnow() > START_GRACE:
            # Moved later since the fan asked: the DM follows the start (the edit's own notice told them of the move).
            await bot.jobs.schedule(
                session,
                service.START_DM_JOB,
                dict(ctx.payload),
                party.starts_at,
                guild_id=party.guild_id,
                key=service.start_dm_key(party, user_id),
            )
            await session.commit()
            return {"moved": party.starts_at.isoformat()}
    late = utcnow() - party.starts_at > timedelta(minutes=1)
    return await fanout.dm_members(bot, ctx, gathering, render.start_dm_text(party, late=late), [answer])


# -- now playing in the voice channel ---------------------------------------------------------------------------


async def _set_voice_status(
    bot: LabelBot, ctx: JobContext, party: ListeningParty, part: str, status: str | None
) -> None:
    """Show `status` (None clears it) on the party's voice channel once per job; never fails the party.

    The job's progress keeps it set-once across retries and restarts. A refusal for lack of permission is told
    to the host once (a keyed job), and that job's presence stops every later track from asking again.
    """
    if party.voice_channel_id is None or ctx.progress.get(part):
        return
    async with bot.sessionmaker() as session:
        refused = await bot.jobs.get(session, service.voice_refused_key(party))
    if refused is not None:
        return
    try:
        await bot.http.edit_voice_channel_status(status, channel_id=party.voice_channel_id)
    except discord.Forbidden:
        log.info("No voice channel status for party %s: missing permission", party.id)
        await _tell_host_refused(bot, party, "status")
        return
    except discord.HTTPException as error:
        # A deleted channel or a Discord hiccup: the prompts matter more than the status line.
        log.warning("Could not set the voice channel status of party %s: %s", party.id, error)
        return
    await ctx.record_progress({part: True})


async def on_voice_refused(bot: LabelBot, ctx: JobContext) -> dict[str, Any] | None:
    """Tell the host, once, that the voice status, the stage or the card's pin needs a permission: by DM, else in the
    party's channel."""
    loaded = await _load(bot, int(ctx.payload["party_id"]))
    if loaded is None:
        return {"skipped": "gone"}
    party, _ = loaded
    text = render.voice_refused_text(party, str(ctx.payload.get("what", "status")))
    try:
        dm = await bot.create_dm(discord.Object(party.host_id))
        await send_once(dm, ctx, "host", content=text, allowed_mentions=NO_MENTIONS)
        return {"told": "dm"}
    except discord.Forbidden:
        log.info("The host of party %s has closed DMs; telling them in the party's channel", party.id)
    channel = await job_channel(bot, party.text_channel_id, "party", guild_id=party.guild_id)
    await send_once(
        channel,
        ctx,
        "channel",
        content=f"<@{party.host_id}> {text}",
        allowed_mentions=discord.AllowedMentions(everyone=False, roles=False, users=[discord.Object(party.host_id)]),
    )
    return {"told": "channel"}


async def _tell_host_refused(bot: LabelBot, party: ListeningParty, what: str) -> None:
    """Schedule the once-only word to the host that Discord refused `what` ("status", "stage" or "pin")."""
    key = service.voice_refused_key(party, what)
    async with bot.sessionmaker.begin() as session:
        if await bot.jobs.get(session, key) is None:
            await bot.jobs.schedule(
                session,
                service.VOICE_REFUSED_JOB,
                {"party_id": party.id, "what": what},
                utcnow(),
                guild_id=party.guild_id,
                key=key,
            )


# -- a stage party's stage ---------------------------------------------------------------------------------------

# Discord's answer when the stage is open already (someone else's, or ours before a restart).
STAGE_ALREADY_OPEN = 150006


async def _open_stage(bot: LabelBot, ctx: JobContext, party: ListeningParty, gathering: Gathering) -> None:
    """Open the party's stage with its topic, once; a refusal is told to the host once and never fails the party.

    The intent (stage_opened_at) is written before Discord is asked, so the end closes a stage opened just
    before a crash; a stage open already that the bot did not open is left alone.
    """
    if party.voice_channel_id is None or ctx.progress.get("stage"):
        return
    if not isinstance(bot.get_channel(party.voice_channel_id), discord.StageChannel):
        return
    ours_before = await _intend(bot, party, "stage", "stage_opened_at")
    if ours_before is None:
        return
    try:
        await bot.http.create_stage_instance(
            channel_id=party.voice_channel_id,
            topic=render.stage_topic(party),
            privacy_level=discord.PrivacyLevel.guild_only.value,
            guild_scheduled_event_id=gathering.native_event_id,
            reason=f"Listening party {party.id}",
        )
    except discord.HTTPException as error:
        opened = ours_before and error.code == STAGE_ALREADY_OPEN
        if not opened:
            await _forget_intent(bot, party, "stage_opened_at")
        if isinstance(error, discord.Forbidden):
            log.info("No stage for party %s: missing permission", party.id)
            await _tell_host_refused(bot, party, "stage")
        elif not opened:
            log.warning("Could not open the stage of party %s: %s", party.id, error)
    await ctx.record_progress({"stage": True})


async def _close_stage(bot: LabelBot, party: ListeningParty) -> None:
    """Close the stage the party opened (only that one); what is closed already is fine."""
    async with bot.sessionmaker() as session:
        stored = await repository.get(session, party.id)
    if stored is None or stored.stage_opened_at is None or party.voice_channel_id is None:
        return
    try:
        await bot.http.delete_stage_instance(party.voice_channel_id, reason=f"Listening party {party.id} ended")
    except discord.NotFound:
        pass
    except discord.HTTPException as error:
        log.warning("Could not close the stage of party %s: %s", party.id, error)
        return
    await _forget_intent(bot, party, "stage_opened_at")


async def on_cleanup(bot: LabelBot, ctx: JobContext) -> dict[str, Any] | None:
    """A live party was cancelled: clear the voice channel's status, close the stage it opened, unpin its card."""
    loaded = await _load(bot, int(ctx.payload["party_id"]))
    if loaded is None:
        return {"skipped": "gone"}
    party, gathering = loaded
    await _set_voice_status(bot, ctx, party, "voice:clear", None)
    await _close_stage(bot, party)
    await _unpin_card(bot, party, gathering)
    return None


# -- the card pinned while the party is live --------------------------------------------------------------------


async def _pin_card(bot: LabelBot, ctx: JobContext, party: ListeningParty, gathering: Gathering) -> None:
    """Pin the party's card in its channel while it is live, once; a refusal is told to the host once and never fails
    the party.

    The intent (card_pinned_at) is written before Discord is asked, so the end unpins a card pinned just before a
    crash (pinning again on a retry changes nothing). A card a moderator pinned before the party is theirs: the
    party neither pins it again nor unpins it at the end.
    """
    if gathering.card_channel_id is None or gathering.card_message_id is None or ctx.progress.get("pin"):
        return
    retry = await _intend(bot, party, "pin", "card_pinned_at")
    if retry is None:
        return
    if not retry and await _pinned_already(bot, gathering.card_channel_id, gathering.card_message_id):
        await _forget_intent(bot, party, "card_pinned_at")
        await ctx.record_progress({"pin": True})
        return
    try:
        await bot.http.pin_message(
            gathering.card_channel_id, gathering.card_message_id, reason=f"Listening party {party.id} is live"
        )
    except discord.HTTPException as error:
        await _forget_intent(bot, party, "card_pinned_at")
        if isinstance(error, discord.Forbidden):
            log.info("No pinned card for party %s: missing permission", party.id)
            await _tell_host_refused(bot, party, "pin")
        elif not isinstance(error, discord.NotFound):
            # A full pin list (50) or a Discord hiccup: the party matters more than the pin.
            log.warning("Could not pin the card of party %s: %s", party.id, error)
    await ctx.record_progress({"pin": True})


async def _pinned_already(bot: LabelBot, channel_id: int, message_id: int) -> bool:
    """Whether the card is pinned now (by a moderator, since the party has not pinned it); unknown counts as not."""
    try:
        message = await bot.http.get_message(channel_id, message_id)
    except discord.HTTPException:
        return False  # pinning tells the host what is wrong (a missing permission), or finds the card gone
    return bool(message.get("pinned"))


async def _unpin_card(bot: LabelBot, party: ListeningParty, gathering: Gathering) -> None:
    """Unpin the card the party pinned (only that); a card deleted meanwhile is fine."""
    async with bot.sessionmaker() as session:
        stored = await repository.get(session, party.id)
    if (
        stored is None
        or stored.card_pinned_at is None
        or gathering.card_channel_id is None
        or gathering.card_message_id is None
    ):
        return
    try:
        await bot.http.unpin_message(
            gathering.card_channel_id, gathering.card_message_id, reason=f"Listening party {party.id} is over"
        )
    except discord.NotFound:
        pass
    except discord.HTTPException as error:
        log.warning("Could not unpin the card of party %s: %s", party.id, error)
        return
    await _forget_intent(bot, party, "card_pinned_at")


# -- what the party does to Discord beyond its posts, written down before it is asked ---------------------------

# The party's columns that say the bot asked Discord for something the end must undo.
Intent = Literal["stage_opened_at", "card_pinned_at"]


async def _intend(bot: LabelBot, party: ListeningParty, what: str, intent: Intent) -> bool | None:
    """Write down that the bot is about to ask Discord for `what` ("stage", "pin"), so the end undoes it even after
    a crash in between; None when not to ask (Discord refused it before, told to the host), else whether it was
    written down already (a retry)."""
    async with bot.sessionmaker.begin() as session:
        if await bot.jobs.get(session, service.voice_refused_key(party, what)) is not None:
            return None
        stored = await repository.get(session, party.id, lock=True)
        if stored is None:
            return None
        before = getattr(stored, intent) is not None
        if not before:
            setattr(stored, intent, utcnow())
        return before


async def _forget_intent(bot: LabelBot, party: ListeningParty, intent: Intent) -> None:
    """Nothing of `intent` is left to undo (undone, or never done)."""
    async with bot.sessionmaker.begin() as session:
        stored = await repository.get(session, party.id, lock=True)
        if stored is not None:
            setattr(stored, intent, None)
