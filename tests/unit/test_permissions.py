"""Who counts as a moderator or owner, and which roles the bot refuses to hand out."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, cast

import discord
import pytest

from labelbot.guilds.models import GuildSettings
from labelbot.permissions import is_moderator, is_owner, powerful_permissions, role_refusal

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
ARTIST_ROLE_ID = 501
ROLE_SETTINGS = GuildSettings(guild_id=GUILD_ID, moderator_role_id=STAFF_ROLE_ID, artist_role_id=ARTIST_ROLE_ID)


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


def test_every_permission_beyond_the_harmless_ones_is_named() -> None:
    assert powerful_permissions(discord.Permissions(administrator=True, send_messages=True)) == ["administrator"]
    assert powerful_permissions(discord.Permissions(manage_webhooks=True, mention_everyone=True)) == [
        "mention everyone",
        "manage webhooks",
    ]
    # What the old blocklist let through.
    assert powerful_permissions(
        discord.Permissions(
            moderate_members=True,
            manage_messages=True,
            manage_nicknames=True,
            manage_threads=True,
            manage_events=True,
            view_audit_log=True,
            mute_members=True,
            deafen_members=True,
            move_members=True,
        )
    ) == [
        "view audit log",
        "manage messages",
        "mute members",
        "deafen members",
        "move members",
        "manage nicknames",
        "manage events",
        "manage threads",
        "timeout members",
    ]
    # A permission newer than discord.py is refused too, by its bit.
    assert powerful_permissions(discord.Permissions(1 << 62)) == ["permission bit 62"]
    harmless = discord.Permissions(
        view_channel=True,
        send_messages=True,
        read_message_history=True,
        add_reactions=True,
        embed_links=True,
        attach_files=True,
        use_external_emojis=True,
        connect=True,
        speak=True,
        stream=True,
        use_voice_activation=True,
        change_nickname=True,
        use_application_commands=True,
    )
    assert powerful_permissions(harmless) == []


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
        (StubRole(id=3, position=5, permissions=discord.Permissions(moderate_members=True)), me(), "(timeout members)"),
        (StubRole(id=STAFF_ROLE_ID, position=5), me(), "is this server's moderator role"),
        (StubRole(id=ARTIST_ROLE_ID, position=5), me(), "is this server's artist role"),
    ],
)
def test_role_refusal(role: StubRole, bot: discord.Member, refusal: str | None) -> None:
    found = role_refusal(cast(discord.Role, role), bot, ROLE_SETTINGS)
    if refusal is None:
        assert found is None
    else:
        assert found is not None
        assert refusal in found
