"""Members' answers: Going (or waitlisted when full), Maybe, Remind me by DM, Can't; promotion from the waitlist."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from labelbot.db.base import utcnow
from labelbot.db.batch import peek_transaction_note, transaction_note
from labelbot.errors import Conflict, NotFound
from labelbot.gatherings.models import Answer, Gathering, GatheringRsvp


@dataclass(frozen=True)
class Counts:
    """How a gathering's answers stand: what its card shows."""

    going: int = 0
    waitlisted: int = 0
    maybe: int = 0
    remind: int = 0
    cant: int = 0


@dataclass(frozen=True)
class RsvpOutcome:
    """What one answer did: where the member now stands, and who moved up from the waitlist because of it."""

    answer: Answer
    waitlisted: bool
    # 1 for the first in line; None when not waiting.
    position: int | None
    changed: bool
    promoted: list[int] = field(default_factory=list)
    # The member's answer before this one (None for their first).
    previous: Answer | None = None


_LOCKED = "gatherings_locked"


async def lock_gathering(session: AsyncSession, gathering_id: int) -> Gathering:
    """The gathering, locked for this transaction on PostgreSQL so answers to it are counted one at a time.

    (SQLite runs one write transaction at a time anyway, on the bot's one connection: there the row the caller
    already loaded in this transaction is current, and reading it again would only hold that connection longer.)
    """
    locked: set[int] = transaction_note(session, _LOCKED, set)
    if gathering_id in locked:
        # Locked (and so read fresh) earlier in this transaction, by another click of the same batch.
        found = await session.get(Gathering, gathering_id)
        if found is not None:
            return found
    if session.get_bind().dialect.name == "sqlite":
        found = await session.get(Gathering, gathering_id)
        if found is None:
            raise NotFound("That gathering no longer exists.")
        return found
    gathering = await session.scalar(
        select(Gathering)
        .where(Gathering.id == gathering_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if gathering is None:
        raise NotFound("That gathering no longer exists.")
    locked.add(gathering_id)
    return gathering


# Answers read ahead in this transaction, by (gathering, member): None for a member known to have none yet.
_READ_AHEAD = "rsvp_read_ahead"


async def read_ahead(session: AsyncSession, gathering_id: int, user_ids: Collection[int]) -> None:
    """Read the answers of these members in one query, for `get_rsvp` to find in this transaction.

    The clicks of a burst share one transaction (labelbot/db/batch.py); one query for all of them, not one each.
    """
    known: dict[tuple[int, int], GatheringRsvp | None] = transaction_note(session, _READ_AHEAD, dict)
    wanted = {user_id for user_id in user_ids if (gathering_id, user_id) not in known}
    if not wanted:
        return
    rows = await session.scalars(
        select(GatheringRsvp).where(GatheringRsvp.gathering_id == gathering_id, GatheringRsvp.user_id.in_(wanted))
    )
    for user_id in wanted:
        known[(gathering_id, user_id)] = None
    for row in rows:
        known[(gathering_id, row.user_id)] = row


async def get_rsvp(session: AsyncSession, gathering_id: int, user_id: int) -> GatheringRsvp | None:
    known: dict[tuple[int, int], GatheringRsvp | None] | None = peek_transaction_note(session, _READ_AHEAD)
    if known is not None and (gathering_id, user_id) in known:
        return known[(gathering_id, user_id)]
    found: GatheringRsvp | None = await session.scalar(
        select(GatheringRsvp).where(GatheringRsvp.gathering_id == gathering_id, GatheringRsvp.user_id == user_id)
    )
    return found


async def confirmed_going(session: AsyncSession, gathering_id: int) -> int:
    """Members with a seat: Going and not waiting."""
    return int(
        await session.scalar(
            select(func.count())
            .select_from(GatheringRsvp)
            .where(
                GatheringRsvp.gathering_id == gathering_id,
                GatheringRsvp.answer == Answer.GOING,
                GatheringRsvp.waitlisted.is_(False),
            )
        )
        or 0
    )


async def waitlist_position(session: AsyncSession, rsvp: GatheringRsvp) -> int:
    ahead = await session.scalar(
        select(func.count())
        .select_from(GatheringRsvp)
        .where(
            GatheringRsvp.gathering_id == rsvp.gathering_id,
            GatheringRsvp.waitlisted.is_(True),
            (GatheringRsvp.answered_at < rsvp.answered_at)
            | ((GatheringRsvp.answered_at == rsvp.answered_at) & (GatheringRsvp.id < rsvp.id)),
        )
    )
    return int(ahead or 0) + 1


async def answer(session: AsyncSession, gathering_id: int, user_id: int, new: Answer) -> RsvpOutcome:
    """Record a member's answer in the caller's transaction; a freed seat goes to the first member waiting."""
    gathering = await lock_gathering(session, gathering_id)
    if gathering.cancelled:
        raise Conflict(f"“{gathering.title}” was cancelled, so it takes no more answers.")
    now = utcnow()
    # Counted before this answer is written: the member's own row must not take the seat it asks for. Only a
    # Going answer to a gathering with a capacity needs it (counting thousands of answers is most of a click).
    needs_seat = new == Answer.GOING and gathering.capacity is not None
    seats_taken = await confirmed_going(session, gathering.id) if needs_seat else 0
    rsvp = await get_rsvp(session, gathering.id, user_id)
    had_seat = rsvp is not None and rsvp.answer == Answer.GOING and not rsvp.waitlisted
    if rsvp is not None and rsvp.answer == new:
        position = await waitlist_position(session, rsvp) if rsvp.waitlisted else None
        return RsvpOutcome(new, rsvp.waitlisted, position, changed=False, previous=new)
    previous = Answer(rsvp.answer) if rsvp is not None else None
    if rsvp is None:
        rsvp = GatheringRsvp(gathering_id=gathering.id, user_id=user_id, answer=new, answered_at=now)
        session.add(rsvp)
        known: dict[tuple[int, int], GatheringRsvp | None] | None = peek_transaction_note(session, _READ_AHEAD)
        if known is not None:
            known[(gathering.id, user_id)] = rsvp
    rsvp.answer = new
    rsvp.answered_at = now
    rsvp.waitlisted = False
    if new == Answer.REMIND:
        rsvp.wants_dm = True
    elif new == Answer.CANT:
        rsvp.wants_dm = False
    if needs_seat:
        assert gathering.capacity is not None
        rsvp.waitlisted = seats_taken - (1 if had_seat else 0) >= gathering.capacity
    if rsvp.waitlisted or had_seat:
        # The waitlist's order needs the row's id, and the freed seat must be counted; otherwise the row is
        # written with the transaction's next query or its commit (a burst's new answers in one INSERT).
        await session.flush()
    promoted = await fill_from_waitlist(session, gathering) if had_seat else []
    position = await waitlist_position(session, rsvp) if rsvp.waitlisted else None
    return RsvpOutcome(new, rsvp.waitlisted, position, changed=True, promoted=promoted, previous=previous)


async def set_wants_dm(session: AsyncSession, gathering_id: int, user_id: int, wants: bool) -> None:
    """Turn DM reminders on or off for a member who answered (an events-style opt-in beside the answer)."""
    rsvp = await get_rsvp(session, gathering_id, user_id)
    if rsvp is None:
        raise Conflict("Answer first (Going or Maybe), then choose how to be reminded.")
    rsvp.wants_dm = wants


async def fill_from_waitlist(session: AsyncSession, gathering: Gathering) -> list[int]:
    """Give free seats to the members waiting longest; return who moved up (in order) so they can be told."""
    if gathering.capacity is None:
        free = None
    else:
        free = gathering.capacity - await confirmed_going(session, gathering.id)
        if free <= 0:
            return []
    query = (
        select(GatheringRsvp)
        .where(GatheringRsvp.gathering_id == gathering.id, GatheringRsvp.waitlisted.is_(True))
        .order_by(GatheringRsvp.answered_at, GatheringRsvp.id)
    )
    if free is not None:
        query = query.limit(free)
    waiting = list(await session.scalars(query))
    now = utcnow()
    for rsvp in waiting:
        rsvp.waitlisted = False
        rsvp.promoted_at = now
    await session.flush()
    return [rsvp.user_id for rsvp in waiting]


async def counts(session: AsyncSession, gathering_id: int) -> Counts:
    rows = await session.execute(
        select(GatheringRsvp.answer, GatheringRsvp.waitlisted, func.count())
        .where(GatheringRsvp.gathering_id == gathering_id)
        .group_by(GatheringRsvp.answer, GatheringRsvp.waitlisted)
    )
    tally: dict[str, int] = {}
    for answer_value, waitlisted, number in rows:
        key = "waitlisted" if waitlisted else str(answer_value)
        tally[key] = tally.get(key, 0) + int(number)
    return Counts(**{name: tally.get(name, 0) for name in ("going", "waitlisted", "maybe", "remind", "cant")})


async def members(
    session: AsyncSession,
    gathering_id: int,
    answers: Sequence[Answer],
    *,
    include_waitlisted: bool = False,
) -> list[GatheringRsvp]:
    """Answers of these kinds, earliest first (the order mentions go out in)."""
    query = select(GatheringRsvp).where(
        GatheringRsvp.gathering_id == gathering_id, GatheringRsvp.answer.in_([str(a) for a in answers])
    )
    if not include_waitlisted:
        query = query.where(GatheringRsvp.waitlisted.is_(False))
    return list(await session.scalars(query.order_by(GatheringRsvp.answered_at, GatheringRsvp.id)))


async def all_answers(session: AsyncSession, gathering_id: int) -> list[GatheringRsvp]:
    rows = await session.scalars(
        select(GatheringRsvp)
        .where(GatheringRsvp.gathering_id == gathering_id)
        .order_by(GatheringRsvp.answered_at, GatheringRsvp.id)
    )
    return list(rows)
