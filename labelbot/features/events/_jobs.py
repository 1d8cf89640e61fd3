"""The jobs that run each occurrence (its start and its end) and bring up the next one of a series."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from labelbot.channels import OTHER_PROCESS_SECONDS, served_elsewhere
from labelbot.db.base import utcnow
from labelbot.features.events import _recurrence, _repository
from labelbot.features.events._render import card_content, start_post
from labelbot.features.events._service import (
    END_JOB,
    START_JOB,
    SideEffects,
    attach,
    load,
    mirror,
    new_gathering,
    new_occurrence,
    ping_of,
    rule_of,
)
from labelbot.gatherings import cards, native
from labelbot.gatherings.models import NativeStatus
from labelbot.jobs import ComeBackLater, JobContext, MissedRule
from labelbot.jobs.sending import send_once
from labelbot.models.events import (
    CommunityEvent,
    EventOccurrence,
    OccurrenceStatus,
)

if TYPE_CHECKING:
    from labelbot.client import LabelBot

KINDS = (START_JOB, END_JOB)


def register(bot: LabelBot) -> None:
    """Every job of the feature, in one place."""

    async def start(ctx: JobContext) -> dict[str, Any] | None:
        return await on_start(bot, ctx)

    async def end(ctx: JobContext) -> dict[str, Any] | None:
        return await on_end(bot, ctx)

    # A start whose event is already over means nothing; the handler checks the end itself.
    bot.jobs.register(START_JOB, start, missed=MissedRule.RUN_LATE, grace=timedelta(minutes=1))
    # The end must always run: it completes the native event and brings up the next occurrence.
    bot.jobs.register(END_JOB, end, missed=MissedRule.RUN_LATE)


def unregister(bot: LabelBot) -> None:
    for kind in KINDS:
        bot.jobs.unregister(kind)


async def on_start(bot: LabelBot, ctx: JobContext) -> dict[str, Any] | None:
    """The start: the native event goes live and the start post goes up (once)."""
    async with bot.sessionmaker.begin() as session:
        loaded = await load(session, int(ctx.payload["occurrence_id"]))
        if loaded is None:
            return {"skipped": "gone"}
        event, occurrence, gathering = loaded
        if occurrence.status in (OccurrenceStatus.CANCELLED, OccurrenceStatus.ENDED):
            return {"skipped": occurrence.status}
        if utcnow() >= occurrence.ends_at:
            return {"skipped": "already over"}
        occurrence.status = OccurrenceStatus.ACTIVE
        gathering.native_status = NativeStatus.ACTIVE
        await cards.request_card_refresh(bot, session, gathering, now=True)
    if gathering.native_event_id is not None:
        await native.set_native_status(bot, event.guild_id, gathering.native_event_id, NativeStatus.ACTIVE)
    channel = await cards.card_channel(bot, gathering)
    if channel is None:
        return {"skipped": "no channel"}
    ping, mentions = ping_of(event)
    message = await send_once(
        channel, ctx, "start", content=start_post(event, occurrence, ping, late=ctx.late), allowed_mentions=mentions
    )
    return {"message_id": message.id}


async def on_end(bot: LabelBot, ctx: JobContext) -> dict[str, Any] | None:
    """The end: the native event is completed, the card says so, and the series rolls on to its next occurrence."""
    async with bot.sessionmaker.begin() as session:
        loaded = await load(session, int(ctx.payload["occurrence_id"]))
        if loaded is None:
            return {"skipped": "gone"}
        event, occurrence, gathering = loaded
        if occurrence.status != OccurrenceStatus.CANCELLED:
            occurrence.status = OccurrenceStatus.ENDED
            gathering.native_status = NativeStatus.COMPLETED
            await cards.request_card_refresh(bot, session, gathering, now=True)
    if gathering.native_event_id is not None:
        await native.set_native_status(bot, event.guild_id, gathering.native_event_id, NativeStatus.COMPLETED)
    return await roll_forward(bot, event.id, after=occurrence, ctx=ctx)


async def roll_forward(
    bot: LabelBot, event_id: int, *, after: EventOccurrence, ctx: JobContext | None
) -> dict[str, Any] | None:
    """Bring up the series' next occurrence after `after`, if there is one (and none is up already)."""
    # Asked before any transaction: SQLite has one connection, and this reads in a session of its own.
    reuse = await _reusable_native(bot, after.guild_id, after)
    async with bot.sessionmaker.begin() as session:
        event = await session.get(CommunityEvent, event_id)
        if event is None or event.cancelled:
            return {"next": None}
        guild = bot.get_guild(event.guild_id)
        if guild is None:
            if served_elsewhere(bot, event.guild_id):
                raise ComeBackLater(OTHER_PROCESS_SECONDS, f"server {event.guild_id} is served by another process")
            return {"skipped": "server gone"}
        rule = rule_of(event)
        if rule is None:
            return {"next": None}
        open_now = await _repository.current_occurrence(session, event.id)
        if open_now is not None and open_now.id != after.id:
            return {"next": open_now.id}
        # Skip slots whose moment passed while the bot was away.
        slot = _recurrence.next_after(rule, max(after.slot_at, utcnow()))
        if slot is None:
            return {"next": None, "series": "over"}
        occurrence = await _repository.occurrence_at(session, event.id, slot)
        if occurrence is None:
            occurrence = new_occurrence(event, slot, after.number + 1)
            session.add(occurrence)
            await session.flush()
        gathering = await _repository.gathering_of(session, occurrence.id)
        if gathering is None:
            gathering = new_gathering(event, occurrence)
            session.add(gathering)
            await session.flush()
        content = await card_content(bot, session, event, occurrence, gathering)
    # The rows are committed first, so the card's buttons name a gathering that exists; a failure below is
    # retried by the job (each step reusing what it already made), or, from a command, undone here.
    done = SideEffects()
    try:
        await mirror(bot, guild, event, occurrence, content, done, ctx=ctx, reuse_native=reuse)
        async with bot.sessionmaker.begin() as session:
            occurrence = await session.get(EventOccurrence, occurrence.id) or occurrence
            gathering = await _repository.gathering_of(session, occurrence.id) or gathering
            await attach(bot, session, event, occurrence, gathering, done)
    except BaseException:
        if ctx is None:
            await done.undo(bot, guild.id)
            async with bot.sessionmaker.begin() as session:
                stale = await session.get(EventOccurrence, occurrence.id)
                if stale is not None:
                    stale.status = OccurrenceStatus.CANCELLED
        raise
    return {"next": occurrence.id}


async def _reusable_native(bot: LabelBot, guild_id: int, after: EventOccurrence) -> int | None:
    """Discord moves a recurring native event on to its next occurrence itself; then the bot reuses it."""
    async with bot.sessionmaker() as session:
        previous = await _repository.gathering_of(session, after.id)
    if previous is None or previous.native_event_id is None:
        return None
    status = await native.native_status(bot, guild_id, previous.native_event_id)
    return previous.native_event_id if status == NativeStatus.SCHEDULED and after.status != "cancelled" else None
