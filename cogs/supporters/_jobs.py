"""The supporters' job: a member's perk role follows their grants (given now, taken at the minute they end)."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

import discord

from bot.channels import job_guild
from bot.db.base import utcnow
from bot.guilds.service import peek_guild_settings
from bot.jobs import JobContext, JobFailed, MissedRule
from bot.models.supporters import SupporterPerk, SupporterStanding
from bot.permissions import role_refusal
from cogs.supporters import _repository as repository
from cogs.supporters._service import ROLE_JOB

if TYPE_CHECKING:
    from bot.client import LabelBot


async def run_role(bot: LabelBot, ctx: JobContext) -> dict[str, Any] | None:
    """Add or remove the perk's role so it matches the member's live grants; what was done is recorded once.

    Read, then Discord, then record: a crash between the role change and the record repeats a change Discord
    treats as a no-op, never a second different one.
    """
    perk_id, user_id = int(ctx.payload["perk_id"]), int(ctx.payload["user_id"])
    now = utcnow()
    async with bot.sessionmaker() as session:
        perk = await session.get(SupporterPerk, perk_id)
        if perk is None:
            return {"skipped": "perk removed"}
        standing = await repository.standing(session, perk_id, user_id)
        held = standing is not None and standing.role_held
        should_hold = bool(await repository.live_grants(session, perk.guild_id, user_id, perk_id, now))
        settings = await peek_guild_settings(session, perk.guild_id)
        guild_id, role_id, name = perk.guild_id, perk.role_id, perk.name
    if should_hold == held:
        return {"unchanged": held}
    guild = job_guild(bot, guild_id, f"the server {guild_id} is not available to the bot")
    if should_hold:
        role = guild.get_role(role_id)
        if role is None:
            raise JobFailed(f"the role of the perk “{name}” is gone")
        refusal = role_refusal(role, guild.me, settings)
        if refusal is not None:
            raise JobFailed(refusal)
        await bot.http.add_role(guild_id, user_id, role_id, reason=f"Supporter perk “{name}”")
    else:
        # The member left or the role is gone: nothing to take back.
        with contextlib.suppress(discord.NotFound):
            await bot.http.remove_role(guild_id, user_id, role_id, reason=f"Supporter perk “{name}” ended")
    async with bot.sessionmaker.begin() as session:
        standing = await repository.standing(session, perk_id, user_id)
        if standing is None:
            session.add(SupporterStanding(perk_id=perk_id, user_id=user_id, guild_id=guild_id, role_held=should_hold))
        else:
            standing.role_held = should_hold
    return {"role_held": should_hold}


def register(bot: LabelBot) -> None:
    async def role(ctx: JobContext) -> dict[str, Any] | None:
        return await run_role(bot, ctx)

    # A role that should have been taken away while the bot was down is taken away late, never left in place.
    bot.jobs.register(ROLE_JOB, role, missed=MissedRule.RUN_LATE)


def unregister(bot: LabelBot) -> None:
    bot.jobs.unregister(ROLE_JOB)
