"""The supporters' rules: perks, grants and renewals, refunds, codes and their claims.

Everything here runs in the caller's transaction; the role itself is added or removed by the `supporters.role` job
scheduled in that same transaction, so a grant is never recorded without its role following, nor the other way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from labelbot.catalog.models import Release
from labelbot.db.base import utcnow
from labelbot.errors import Conflict, InvalidInput, NotFound
from labelbot.features.supporters import _parsing as parsing
from labelbot.features.supporters import _repository as repository
from labelbot.models.supporters import (
    EARLY_LINKS_MAX,
    ClaimCode,
    ClaimMiss,
    EarlyWindow,
    EarnedBy,
    OrderKind,
    SupporterGrant,
    SupporterOrder,
)
from labelbot.models.supporters import SupporterPerk as Perk

if TYPE_CHECKING:
    from labelbot.client import LabelBot

ROLE_JOB = "supporters.role"
EARLY_OPEN = "supporters.early_open"
EARLY_CLOSE = "supporters.early_close"
EARLY_HOURS_MAX = 168
EARLY_CLOSE_HOURS_MAX = 720
EARLY_LINKS = 5
MAX_DURATION_DAYS = 3660
MAX_CODES = 500
# Wrong codes a member may type within CLAIM_WINDOW before /claim stops listening to them.
CLAIM_MISSES = 5
CLAIM_WINDOW = timedelta(hours=1)

# Which perks each kind of shop order earns.
EARNED_BY_ORDER: dict[OrderKind, frozenset[EarnedBy]] = {
    OrderKind.PURCHASE: frozenset({EarnedBy.PURCHASE, EarnedBy.MERCH}),
    OrderKind.PRE_ORDER: frozenset({EarnedBy.PRE_ORDER}),
    OrderKind.MEMBERSHIP: frozenset({EarnedBy.MEMBERSHIP}),
    OrderKind.TICKET: frozenset({EarnedBy.TICKET}),
}

EARNED_BY_WORDS: dict[str, str] = {
    EarnedBy.PURCHASE: "a release purchase",
    EarnedBy.PRE_ORDER: "a pre-order",
    EarnedBy.MERCH: "a merch order",
    EarnedBy.MEMBERSHIP: "a membership",
    EarnedBy.TICKET: "a ticket",
    EarnedBy.FREE_CODE: "a free code",
}


def sync_key(perk_id: int, user_id: int) -> str:
    return f"supporters:role:{perk_id}:{user_id}"


def expiry_key(perk_id: int, user_id: int) -> str:
    return f"supporters:expiry:{perk_id}:{user_id}"


def early_open_key(window_id: int) -> str:
    return f"supporters:early:{window_id}:open"


def early_close_key(window_id: int) -> str:
    return f"supporters:early:{window_id}:close"


def check_links(text: str) -> str:
    """The early window's private links: 1 to 5 https:// addresses separated by spaces."""
    links = text.split()
    if not 1 <= len(links) <= EARLY_LINKS or len(" ".join(links)) > EARLY_LINKS_MAX:
        raise InvalidInput(f"Give 1 to {EARLY_LINKS} private links (https://), separated by spaces.")
    for link in links:
        if not link.startswith("https://") or len(link) < 12 or any(c in "<>`|" or not c.isprintable() for c in link):
            raise InvalidInput(f"Give 1 to {EARLY_LINKS} private links (https://), separated by spaces.")
    return " ".join(links)


async def create_early_window(
    bot: LabelBot,
    session: AsyncSession,
    *,
    perk: Perk,
    release: Release,
    channel_id: int,
    hours: int,
    close_after: int | None,
    links: str,
    actor_id: int,
    now: datetime,
) -> EarlyWindow:
    """Record a release's early window for the perk's holders: the channel opens to the perk's role `hours` before
    the public announcement (with the listen-early post) and, with `close_after`, closes that many hours after it.
    Both permission changes are jobs, scheduled in this transaction, so each happens once."""
    if not 1 <= hours <= EARLY_HOURS_MAX:
        raise InvalidInput(f"Open the early window 1 to {EARLY_HOURS_MAX} hours before the release.")
    if close_after is not None and not 1 <= close_after <= EARLY_CLOSE_HOURS_MAX:
        raise InvalidInput(f"Close the early window 1 to {EARLY_CLOSE_HOURS_MAX} hours after the release.")
    opens_at = release.release_at - timedelta(hours=hours)
    if opens_at <= now:
        raise InvalidInput(f"That release comes out in less than {hours} hour(s); choose fewer hours.")
    if await repository.early_window(session, release.id, perk.id) is not None:
        raise Conflict("That release already has an early window for this perk.")
    window = EarlyWindow(
        guild_id=perk.guild_id,
        release_id=release.id,
        perk_id=perk.id,
        channel_id=channel_id,
        opens_at=opens_at,
        closes_at=release.release_at + timedelta(hours=close_after) if close_after is not None else None,
        hours_before=hours,
        hours_after=close_after,
        links=links,
        created_by=actor_id,
    )
    session.add(window)
    await session.flush()
    payload = {"window_id": window.id}
    await bot.jobs.schedule(
        session, EARLY_OPEN, payload, opens_at, guild_id=perk.guild_id, key=early_open_key(window.id)
    )
    if window.closes_at is not None:
        await bot.jobs.schedule(
            session, EARLY_CLOSE, payload, window.closes_at, guild_id=perk.guild_id, key=early_close_key(window.id)
        )
    return window


async def follow_release(bot: LabelBot, session: AsyncSession, window: EarlyWindow, release: Release) -> None:
    """The release moved: what is still to come of the window (its opening, its closing) moves with it."""
    payload = {"window_id": window.id}
    if window.opened_at is None:
        window.opens_at = release.release_at - timedelta(hours=window.hours_before)
        await bot.jobs.schedule(
            session, EARLY_OPEN, payload, window.opens_at, guild_id=window.guild_id, key=early_open_key(window.id)
        )
    if window.hours_after is not None and window.closed_at is None:
        window.closes_at = release.release_at + timedelta(hours=window.hours_after)
        await bot.jobs.schedule(
            session, EARLY_CLOSE, payload, window.closes_at, guild_id=window.guild_id, key=early_close_key(window.id)
        )


async def cancel_early_window(bot: LabelBot, session: AsyncSession, window: EarlyWindow, now: datetime) -> bool:
    """Cancel an early window: one not yet opened is removed with its jobs (True); an opened one closes now, through
    its closing job, so the supporters' role leaves the channel exactly once (False). A closed one is refused."""
    if window.closed_at is not None:
        raise Conflict("That early window has already closed.")
    if window.opened_at is None:
        await bot.jobs.cancel(session, early_open_key(window.id))
        await bot.jobs.cancel(session, early_close_key(window.id))
        await session.delete(window)
        await session.flush()
        return True
    # No longer tied to the release: a later move of the release leaves this closing where it is.
    window.hours_after, window.closes_at = None, now
    await bot.jobs.schedule(
        session,
        EARLY_CLOSE,
        {"window_id": window.id},
        now,
        guild_id=window.guild_id,
        key=early_close_key(window.id),
    )
    await session.flush()
    return False


async def release_moved(bot: LabelBot, session: AsyncSession, release: Release) -> None:
    """The releases feature moved a scheduled release (earlier or later): its early windows follow it now, in the
    same transaction, so each opening and closing is scheduled once at its new time."""
    for window in await repository.release_windows(session, release.id):
        if window.closed_at is None:
            await follow_release(bot, session, window, release)


def check_duration(days: int | None) -> int | None:
    if days is not None and not 1 <= days <= MAX_DURATION_DAYS:
        raise InvalidInput(f"A perk lasts between 1 and {MAX_DURATION_DAYS} days (leave it out to keep it for good).")
    return days


async def find_perk(session: AsyncSession, guild_id: int, name: str) -> Perk:
    perk = await repository.perk_by_name(session, guild_id, name)
    if perk is None:
        raise NotFound(
            f"There is no supporter perk called “{parsing.perk_name(name)[:80]}”; see `/supporters perk list`."
        )
    return perk


async def create_perk(
    session: AsyncSession,
    guild_id: int,
    *,
    name: str,
    role_id: int,
    earned_by: EarnedBy,
    duration_days: int | None,
    actor_id: int,
) -> Perk:
    name = parsing.perk_name(name)
    check_duration(duration_days)
    if await repository.perk_by_name(session, guild_id, name) is not None:
        raise Conflict(f"There is already a perk called “{name}”.")
    perk = Perk(
        guild_id=guild_id,
        name=name,
        name_key=parsing.name_key(name),
        role_id=role_id,
        earned_by=earned_by.value,
        duration_days=duration_days,
        created_by=actor_id,
    )
    session.add(perk)
    await session.flush()
    return perk


async def schedule_role_check(bot: LabelBot, session: AsyncSession, perk: Perk, user_id: int, now: datetime) -> None:
    """Have the member's role follow their grants: now, and again at the minute the last one ends."""
    await bot.jobs.schedule(
        session,
        ROLE_JOB,
        {"perk_id": perk.id, "user_id": user_id},
        now,
        guild_id=perk.guild_id,
        key=sync_key(perk.id, user_id),
    )
    live = await repository.live_grants(session, perk.guild_id, user_id, perk.id, now)
    until = supporter_until(live)
    if live and until is not None:
        await bot.jobs.schedule(
            session,
            ROLE_JOB,
            {"perk_id": perk.id, "user_id": user_id},
            until,
            guild_id=perk.guild_id,
            key=expiry_key(perk.id, user_id),
        )
    else:
        await bot.jobs.cancel(session, expiry_key(perk.id, user_id))


def supporter_until(live: list[SupporterGrant]) -> datetime | None:
    """When the member's perk ends, given its live grants (None: for good, or no grant)."""
    if not live or any(grant.expires_at is None for grant in live):
        return None
    return max(grant.expires_at for grant in live if grant.expires_at is not None)


async def give(
    bot: LabelBot,
    session: AsyncSession,
    perk: Perk,
    user_id: int,
    now: datetime,
    *,
    order: SupporterOrder | None = None,
    code: ClaimCode | None = None,
) -> SupporterGrant:
    """Grant the perk to the member; a renewal of a perk that lasts starts when the current one ends."""
    live = await repository.live_grants(session, perk.guild_id, user_id, perk.id, now)
    starts = now
    if perk.duration_days is not None and live:
        until = supporter_until(live)
        starts = max(now, until) if until is not None else now
    expires = starts + timedelta(days=perk.duration_days) if perk.duration_days is not None else None
    grant = SupporterGrant(
        guild_id=perk.guild_id,
        user_id=user_id,
        perk_id=perk.id,
        order_row_id=order.id if order is not None else None,
        code_id=code.id if code is not None else None,
        starts_at=starts,
        expires_at=expires,
    )
    session.add(grant)
    await session.flush()
    await schedule_role_check(bot, session, perk, user_id, now)
    return grant


async def refund(bot: LabelBot, session: AsyncSession, order: SupporterOrder, now: datetime) -> bool:
    """Take back what the order granted (and void its unclaimed code); False when it was already refunded."""
    if order.refunded_at is not None:
        return False
    order.refunded_at = now
    await void_order_codes(session, order, now)
    grant = await repository.grant_of_order(session, order.id)
    if grant is not None and grant.revoked_at is None:
        grant.revoked_at = now
        await session.flush()
        perk = await session.get(Perk, order.perk_id)
        if perk is not None:
            await schedule_role_check(bot, session, perk, grant.user_id, now)
    await session.flush()
    return True


async def void_order_codes(session: AsyncSession, order: SupporterOrder, now: datetime) -> None:
    """End the order's unclaimed claim code now."""
    for code in await session.scalars(select(ClaimCode).where(ClaimCode.order_row_id == order.id)):
        if code.redeemed_at is None:
            code.expires_at = now


@dataclass(frozen=True)
class ClaimOutcome:
    """What /claim tells the member (and whether to report a throttled member to the moderators)."""

    message: str
    granted: SupporterGrant | None = None
    perk: Perk | None = None
    newly_throttled: bool = False


async def claim(bot: LabelBot, session: AsyncSession, guild_id: int, user_id: int, typed: str) -> ClaimOutcome:
    """Redeem a code for the member, counting wrong guesses; each refusal is one sentence."""
    now = utcnow()
    misses = await repository.misses_since(session, guild_id, user_id, now - CLAIM_WINDOW)
    if misses >= CLAIM_MISSES:
        session.add(ClaimMiss(guild_id=guild_id, user_id=user_id, at=now))
        return ClaimOutcome(
            "Too many wrong codes in the last hour; try again later, or ask a moderator.",
            newly_throttled=misses == CLAIM_MISSES,
        )
    normalised = parsing.normalise_code(typed)
    code = (
        None if normalised is None else await repository.code_by_hash(session, guild_id, parsing.code_hash(normalised))
    )
    if code is None:
        session.add(ClaimMiss(guild_id=guild_id, user_id=user_id, at=now))
        return ClaimOutcome("That code isn't one of ours; check it against your card or receipt.")
    if code.redeemed_at is not None:
        return ClaimOutcome("That code was already claimed; each code works once.")
    if code.expires_at is not None and code.expires_at <= now:
        return ClaimOutcome("That code has expired.")
    perk = await session.get(Perk, code.perk_id)
    if perk is None:
        return ClaimOutcome("That code's perk no longer exists.")
    code.redeemed_by = user_id
    code.redeemed_at = now
    order = await session.get(SupporterOrder, code.order_row_id) if code.order_row_id is not None else None
    grant = await give(bot, session, perk, user_id, now, order=order, code=code)
    return ClaimOutcome("", granted=grant, perk=perk)


async def issue_codes(
    session: AsyncSession, perk: Perk, count: int, expires_at: datetime | None, actor_id: int
) -> list[str]:
    """Make `count` single-use codes for the perk; only their hashes are kept."""
    if not 1 <= count <= MAX_CODES:
        raise InvalidInput(f"Make between 1 and {MAX_CODES} codes at a time.")
    codes = [parsing.new_code() for _ in range(count)]
    session.add_all(
        ClaimCode(
            guild_id=perk.guild_id,
            perk_id=perk.id,
            code_sha256=parsing.hash_of(code),
            expires_at=expires_at,
            created_by=actor_id,
        )
        for code in codes
    )
    await session.flush()
    return codes


ORDER_KIND_OF_PERK: dict[str, OrderKind] = {
    EarnedBy.PRE_ORDER: OrderKind.PRE_ORDER,
    EarnedBy.MEMBERSHIP: OrderKind.MEMBERSHIP,
    EarnedBy.TICKET: OrderKind.TICKET,
}


@dataclass(frozen=True)
class ImportResult:
    """What an orders import did: new orders, orders already known, and the codes made for rows without one."""

    added: int
    known: int
    made_codes: list[tuple[str, str]]


async def import_orders(
    session: AsyncSession, guild_id: int, rows: list[parsing.ImportedOrder], actor_id: int
) -> ImportResult:
    """Record a shop's orders, each claimable by its code (the shop's own, or one made here); known ids are kept."""
    perks: dict[str, Perk] = {}
    for row in rows:
        key = parsing.name_key(row.product)
        if key not in perks:
            perk = await repository.perk_by_name(session, guild_id, row.product)
            if perk is None:
                raise InvalidInput(f"Row {row.line}: there is no supporter perk called “{row.product[:80]}”.")
            perks[key] = perk
    code_key = await repository.code_key(session, guild_id)
    added, known, made = 0, 0, []
    for row in rows:
        if await repository.order(session, guild_id, row.order_id) is not None:
            known += 1
            continue
        perk = perks[parsing.name_key(row.product)]
        order = SupporterOrder(
            guild_id=guild_id,
            order_id=row.order_id,
            kind=ORDER_KIND_OF_PERK.get(perk.earned_by, OrderKind.PURCHASE).value,
            perk_id=perk.id,
        )
        session.add(order)
        await session.flush()
        code = row.code or parsing.order_code(code_key, guild_id, row.order_id)
        digest = parsing.hash_of(code)
        if await repository.code_by_hash(session, guild_id, digest) is not None:
            raise Conflict(f"Row {row.line}: that code is already in use for another order or card.")
        session.add(
            ClaimCode(
                guild_id=guild_id, perk_id=perk.id, code_sha256=digest, order_row_id=order.id, created_by=actor_id
            )
        )
        if row.code is None:
            made.append((row.order_id, code))
        added += 1
    await session.flush()
    return ImportResult(added, known, made)
