"""The Notify me button on a drop's teaser: persistent, it gives (or takes back) the server's drops role."""

from __future__ import annotations

import re
from typing import Any

import discord

from labelbot.db.base import utcnow
from labelbot.errors import BotLacksPermissions, InvalidInput, NotAllowed
from labelbot.features.drops import _repository as repository
from labelbot.features.drops._service import NO_SETUP
from labelbot.guilds.service import peek_guild_settings
from labelbot.interactions import defer, member_of, reply
from labelbot.models.drops import DropSignup
from labelbot.permissions import role_refusal
from labelbot.ui.dynamic import PersistentItem

NOTIFY_PREFIX = "drops:notify"


class NotifyButton(PersistentItem[discord.ui.Button[Any]], template=r"drops:notify:(?P<drop_id>\d+)"):
    """Notify me: the member takes the drops role (pressed again: gives it back)."""

    def __init__(self, drop_id: int) -> None:
        super().__init__(
            discord.ui.Button(
                style=discord.ButtonStyle.primary, label="Notify me", emoji="🔔", custom_id=f"{NOTIFY_PREFIX}:{drop_id}"
            )
        )
        self.drop_id = drop_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> NotifyButton:
        return cls(int(match["drop_id"]))

    async def run(self, interaction: discord.Interaction[Any]) -> None:
        await defer(interaction)
        member = member_of(interaction)
        guild = member.guild
        async with interaction.client.sessionmaker() as session:
            found = await repository.settings(session, guild.id)
            settings = await peek_guild_settings(session, guild.id)
        if found is None:
            raise InvalidInput(NO_SETUP)
        role = guild.get_role(found.role_id)
        if role is None:
            raise InvalidInput("The drops role is gone; a moderator can pick another with `/drop-admin setup`.")
        refusal = role_refusal(role, guild.me, settings)
        if refusal is not None:
            if not guild.me.guild_permissions.manage_roles or role >= guild.me.top_role:
                raise BotLacksPermissions(refusal)
            raise NotAllowed(refusal)
        leaving = any(held.id == role.id for held in member.roles)
        if leaving:
            await member.remove_roles(role, reason="Drops: Notify me pressed again")
        else:
            await member.add_roles(role, reason="Drops: Notify me")
        async with interaction.client.sessionmaker.begin() as session:
            signup = await repository.signup(session, guild.id, member.id)
            if leaving and signup is not None:
                await session.delete(signup)
            elif not leaving and signup is None:
                session.add(DropSignup(guild_id=guild.id, user_id=member.id, signed_up_at=utcnow()))
        if leaving:
            await reply(interaction, f"You won't be pinged for drops any more ({role.mention} removed).")
        else:
            await reply(
                interaction,
                f"You'll be pinged when drops go live ({role.mention}); press **Notify me** again to stop.",
            )


def teaser_view(drop_id: int) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(NotifyButton(drop_id))
    return view
