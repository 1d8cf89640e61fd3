"""Roles and hierarchy, members, scheduled events (with recurrence rules)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import discord
import pytest

from tests.fakediscord import FakeDiscord, Permissions

from .conftest import DemoBot, World


async def test_role_hierarchy(fake_discord: FakeDiscord, world: World, bot: DemoBot) -> None:
    fake_discord.expect_refusals("/guilds/{guild_id}/members/{user_id}/roles/{role_id}", status=403, code=50013)
    fake_discord.expect_refusals("/guilds/{guild_id}/members/{user_id}/roles/{role_id}", status=404)
    guild = bot.get_guild(world.guild.id)
    admins = world.guild.add_role(
        "Admins", permissions=Permissions.ADMINISTRATOR, position=world.guild.bot_role.position + 1
    )
    booster = world.guild.add_role("Server Booster", managed=True)
    member = await guild.fetch_member(world.bob.id)
    # above the bot's top role
    with pytest.raises(discord.Forbidden) as info:
        await member.add_roles(discord.Object(admins.id))
    assert info.value.code == 50013
    # managed roles can never be assigned
    with pytest.raises(discord.Forbidden):
        await member.add_roles(discord.Object(booster.id))
    # the bot's own role is not below itself
    with pytest.raises(discord.Forbidden):
        await member.add_roles(discord.Object(world.guild.bot_role.id))
    assert world.guild.member(world.bob).roles == []
    # below it: fine, and removable again
    await member.add_roles(discord.Object(world.fans.id))
    assert [r.name for r in world.guild.member(world.bob).roles] == ["Fans"]
    await member.remove_roles(discord.Object(world.fans.id))
    assert world.guild.member(world.bob).roles == []
    with pytest.raises(discord.NotFound) as info:
        await member.add_roles(discord.Object(12345))
    assert info.value.code == 10011
    with pytest.raises(discord.NotFound) as info:
        await bot.http.add_role(guild.id, 999, world.fans.id)
    assert info.value.code == 10007


async def test_role_crud_and_positions(fake_discord: FakeDiscord, world: World, bot: DemoBot) -> None:
    fake_discord.expect_refusals("/guilds/{guild_id}/roles", status=403, code=50013, count=1)
    guild = bot.get_guild(world.guild.id)
    role = await guild.create_role(name="Nova fans", mentionable=True, colour=discord.Colour(0x123456))
    fr = world.guild.role(role.id)
    assert fr.position == 1
    assert fr.name == "Nova fans"
    assert fr.color == 0x123456
    assert fr.position < world.guild.bot_role.position
    await role.edit(name="Nova Fans")
    assert fr.name == "Nova Fans"
    with pytest.raises(discord.Forbidden):
        await guild.create_role(name="root", permissions=discord.Permissions(administrator=True))
    await guild.edit_role_positions({role: 2})
    assert world.guild.role(role.id).position == 2
    assert [r.name for r in world.guild.roles][-1] == world.guild.bot_role.name
    await role.delete()
    assert role.id not in {r.id for r in world.guild.roles}
    roles = await guild.fetch_roles()
    assert {r.name for r in roles} == {r.name for r in world.guild.roles}


async def test_member_edit_and_fetch(fake_discord: FakeDiscord, world: World, bot: DemoBot) -> None:
    fake_discord.expect_refusals("/guilds/{guild_id}/members/{user_id}", status=403, code=50013, count=1)
    guild = bot.get_guild(world.guild.id)
    member = await guild.fetch_member(world.alice.id)
    assert [r.id for r in member.roles if not r.is_default()] == [world.fans.id]
    await member.edit(roles=[])
    assert world.guild.member(world.alice).roles == []
    with pytest.raises(discord.Forbidden):
        await (await guild.fetch_member(world.guild.owner_id)).edit(nick="boss")  # owner is above everyone


def _future(hours: int = 24) -> str:
    return (datetime.now(UTC) + timedelta(hours=hours)).isoformat()


@pytest.mark.allow_rejections
async def test_scheduled_event_with_recurrence_rule(fake_discord: FakeDiscord, world: World, bot: DemoBot) -> None:
    start = _future(48)
    rule = {"start": start, "frequency": 2, "interval": 1, "by_weekday": [4]}
    route = discord.http.Route("POST", "/guilds/{guild_id}/scheduled-events", guild_id=world.guild.id)
    created = await bot.http.request(
        route,
        json={
            "name": "Friday listening party",
            "description": "Every week",
            "scheduled_start_time": start,
            "privacy_level": 2,
            "entity_type": 2,
            "channel_id": str(world.voice.id),
            "recurrence_rule": rule,
        },
    )
    assert created["recurrence_rule"]["frequency"] == 2
    assert created["recurrence_rule"]["by_weekday"] == [4]
    assert created["recurrence_rule"]["by_month"] is None  # echoed in Discord's full shape
    [ev] = world.guild.scheduled_events
    assert ev.recurrence_rule == rule
    assert ev.status == 1
    assert ev.entity_type == 2
    # discord.py can read it back
    fetched = await bot.get_guild(world.guild.id).fetch_scheduled_event(int(created["id"]))
    assert fetched.name == "Friday listening party"
    # and edit it through its own API (recurrence_rule survives)
    await fetched.edit(name="Friday party")
    assert ev.name == "Friday party"
    assert ev.recurrence_rule == rule
    await fake_discord.subscribe_event(world.alice, ev)
    users = [u async for u in fetched.users()]
    assert [u.id for u in users] == [world.alice.id]
    fetched = await fetched.start()
    assert ev.status == 2
    fetched = await fetched.end()
    assert ev.status == 3
    # completed events cannot change
    with pytest.raises(discord.HTTPException):
        await fetched.edit(name="again")


@pytest.mark.allow_rejections
async def test_scheduled_event_rules(fake_discord: FakeDiscord, world: World, bot: DemoBot) -> None:
    guild = bot.get_guild(world.guild.id)
    with pytest.raises(discord.HTTPException) as info:
        await guild.create_scheduled_event(
            name="x" * 101, start_time=datetime.now(UTC) + timedelta(hours=1), entity_type=discord.EntityType.voice,
            channel=guild.get_channel(world.voice.id), privacy_level=discord.PrivacyLevel.guild_only,
        )  # fmt: skip
    assert info.value.code == 50035
    with pytest.raises(discord.HTTPException):
        await guild.create_scheduled_event(
            name="past", start_time=datetime.now(UTC) - timedelta(hours=1), entity_type=discord.EntityType.external,
            location="Club", end_time=datetime.now(UTC) + timedelta(hours=2), privacy_level=discord.PrivacyLevel.guild_only,
        )  # fmt: skip
    route = discord.http.Route("POST", "/guilds/{guild_id}/scheduled-events", guild_id=world.guild.id)
    bad_rule = {"start": _future(), "frequency": 2, "interval": 1, "by_weekday": [1, 3]}
    with pytest.raises(discord.HTTPException):
        await bot.http.request(
            route,
            json={"name": "x", "scheduled_start_time": _future(), "privacy_level": 2, "entity_type": 3,
                  "entity_metadata": {"location": "Club"}, "scheduled_end_time": _future(26), "recurrence_rule": bad_rule},
        )  # fmt: skip
    assert "recurrence_rule" in fake_discord.rejected_requests[-1].error["errors"]
    ok = await guild.create_scheduled_event(
        name="Release show", start_time=datetime.now(UTC) + timedelta(hours=3), entity_type=discord.EntityType.external,
        location="Club", end_time=datetime.now(UTC) + timedelta(hours=5), privacy_level=discord.PrivacyLevel.guild_only,
    )  # fmt: skip
    assert world.guild.scheduled_event(ok.id).entity_metadata == {"location": "Club"}
    await ok.delete()
    assert world.guild.scheduled_events == []
    assert len(fake_discord.rejected_requests) == 3


async def test_channel_overwrites_decide_who_sees_a_channel_and_what_the_bot_may_do_there(
    fake_discord: FakeDiscord, world: World, bot: DemoBot
) -> None:
    fake_discord.expect_refusals("/channels/{channel_id}/messages", status=403, code=50001)
    fake_discord.expect_refusals("/channels/{channel_id}/messages", status=403, code=50013)
    g = world.guild
    assert g.me is not None
    hidden = g.add_channel("backstage", overwrites=[{"id": g.id, "type": 0, "deny": Permissions.VIEW_CHANNEL}])
    assert g.who_can_see(hidden) == {g.owner_id}  # the owner sees everything
    # The bot cannot see it: Missing Access.
    with pytest.raises(discord.Forbidden) as info:
        await bot.http.send_message(hidden.id, params=discord.http.handle_message_parameters(content="hi"))
    assert info.value.code == 50001
    # Let in (a member overwrite), the bot manages the channel's overwrites.
    hidden.permission_overwrites.append(
        {"id": str(g.me.id), "type": 1, "allow": str(Permissions.VIEW_CHANNEL), "deny": "0"}
    )
    # A role's overwrite opens it to the role's members (Alice, a fan), not to Bob; a member's overwrite beats it.
    await bot.http.edit_channel_permissions(hidden.id, world.fans.id, str(Permissions.VIEW_CHANNEL), "0", 0)
    assert g.can_see(world.alice, hidden)
    assert not g.can_see(world.bob, hidden)
    hidden.permission_overwrites.append(
        {"id": str(world.alice.id), "type": 1, "allow": "0", "deny": str(Permissions.VIEW_CHANNEL)}
    )
    assert not g.can_see(world.alice, hidden)
    # The bot let in to see but not to send: Missing Permissions.
    [mine] = [o for o in hidden.permission_overwrites if o["id"] == str(g.me.id)]
    mine["deny"] = str(Permissions.SEND_MESSAGES)
    with pytest.raises(discord.Forbidden) as info:
        await bot.http.send_message(hidden.id, params=discord.http.handle_message_parameters(content="hi"))
    assert info.value.code == 50013
    # A member cannot use a command in a channel hidden from them.
    with pytest.raises(AssertionError, match="cannot see #backstage"):
        await fake_discord.slash(g, hidden, world.bob, "ping")
