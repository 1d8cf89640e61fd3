"""Who counts as a moderator or owner, and which roles the bot refuses to hand out."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, cast

import discord
import pytest

from bot.guilds.models import GuildSettings
from bot.permissions import dangerous_permissions, is_moderator, is_owner, role_refusal

GUILD_ID = 10
OWNER_ID = 1
BOT_OWNER_ID = 99
STAFF_ROLE_ID = 500


@dataclass
class StubRole:
    id: int
    position: int
    permissions: discord.Permissions = field(default_factory=discord.Permissions.none)
    managed: bool = False

    def is_default(self) -> bool:
        return self.id == GUILD_ID

    @property
    def mention(self) -> str:
        return f"<@&{self.id}>"

    def __ge__(self, other: StubRole) -> bool:
        return self.position >= other.position


def member(
    user_id: int,
    *,
    roles: tuple[int, ...] = (),
    permissions: discord.Permissions | None = None,
    resolved: discord.Permissions | None = None,
) -> discord.Member:
    stub: Any = SimpleNamespace(
        id=user_id,
        guild=SimpleNamespace(id=GUILD_ID, owner_id=OWNER_ID),
        guild_permissions=permissions or discord.Permissions.none(),
        resolved_permissions=resolved,
        roles=[SimpleNamespace(id=role_id) for role_id in roles],
    )
    return cast(discord.Member, stub)


def me(*, manage_roles: bool = True, top: int = 10) -> discord.Member:
    stub: Any = SimpleNamespace(
        guild_permissions=discord.Permissions(manage_roles=manage_roles), top_role=StubRole(id=2, position=top)
    )
    return cast(discord.Member, stub)


SETTINGS = GuildSettings(guild_id=GUILD_ID, moderator_role_id=STAFF_ROLE_ID)


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        (member(2), False),
        (member(2, roles=(123,)), False),
        (member(2, roles=(STAFF_ROLE_ID,)), True),
        (member(2, permissions=discord.Permissions(manage_guild=True)), True),
        (member(2, permissions=discord.Permissions(administrator=True)), True),
        (member(2, resolved=discord.Permissions(manage_guild=True)), True),
        (member(2, permissions=discord.Permissions(manage_roles=True, ban_members=True)), False),
        (member(OWNER_ID), True),
        (member(BOT_OWNER_ID), True),
    ],
)
def test_is_moderator(who: discord.Member, expected: bool) -> None:
    assert is_moderator(who, SETTINGS, owner_ids={BOT_OWNER_ID}) is expected


def test_without_a_moderator_role_only_permissions_and_owners_count() -> None:
    settings = GuildSettings(guild_id=GUILD_ID)
    assert is_moderator(member(2, roles=(STAFF_ROLE_ID,)), settings, owner_ids=()) is False
    assert settings.timezone == "UTC", "an unsaved settings row reads like the defaults"


def test_owners_are_the_server_owner_and_the_bot_owners() -> None:
    assert is_owner(member(OWNER_ID), owner_ids=())
    assert is_owner(member(BOT_OWNER_ID), owner_ids={BOT_OWNER_ID})
    assert not is_owner(member(2, permissions=discord.Permissions(administrator=True)), owner_ids=())


def test_dangerous_permissions_are_named() -> None:
    assert dangerous_permissions(discord.Permissions(administrator=True, send_messages=True)) == ["administrator"]
    assert dangerous_permissions(discord.Permissions(manage_webhooks=True, mention_everyone=True)) == [
        "manage webhooks",
        "mention everyone",
    ]
    assert dangerous_permissions(discord.Permissions(send_messages=True, embed_links=True)) == []


@pytest.mark.parametrize(
    ("role", "bot", "refusal"),
    [
        (StubRole(id=3, position=5), me(), None),
        (StubRole(id=GUILD_ID, position=0), me(), "@everyone can't be used as a role here."),
        (StubRole(id=3, position=5, managed=True), me(), "is managed by an integration"),
        (StubRole(id=3, position=5), me(manage_roles=False), "I need the Manage Roles permission"),
        (StubRole(id=3, position=10), me(top=10), "is at or above my highest role"),
        (StubRole(id=3, position=11), me(top=10), "is at or above my highest role"),
        (StubRole(id=3, position=5, permissions=discord.Permissions(kick_members=True)), me(), "(kick members)"),
        (StubRole(id=3, position=5, permissions=discord.Permissions(manage_channels=True)), me(), "(manage channels)"),
    ],
)
def test_role_refusal(role: StubRole, bot: discord.Member, refusal: str | None) -> None:
    found = role_refusal(cast(discord.Role, role), bot)
    if refusal is None:
        assert found is None
    else:
        assert found is not None
        assert refusal in found
