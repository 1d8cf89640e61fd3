"""A bare discord.py bot logs in, syncs its commands and answers interactions through the fake."""

from __future__ import annotations

import discord

from tests.fakediscord import FakeDiscord

from .conftest import DemoBot, World


async def test_login_ready_and_guild_state(fake_discord: FakeDiscord, world: World, bot: DemoBot) -> None:
    assert bot.user is not None
    assert bot.user.id == fake_discord.bot_user.id
    guild = bot.get_guild(world.guild.id)
    assert guild is not None
    assert guild.name == "Label HQ"
    assert {c.name for c in guild.channels} >= {"general", "announcements", "releases", "Listening Room", "Stage"}
    assert isinstance(guild.get_channel(world.news.id), discord.TextChannel)
    assert guild.get_channel(world.news.id).is_news()
    forum = guild.get_channel(world.forum.id)
    assert isinstance(forum, discord.ForumChannel)
    assert [t.name for t in forum.available_tags] == ["single", "album"]
    assert guild.me is not None
    assert guild.me.top_role.managed
    assert any(r.name == "Fans" for r in guild.roles)
    # command sync landed in the fake
    names = {c["name"] for c in fake_discord.synced_commands(world.guild)}
    assert names == {"release", "ping", "secret", "party", "slow", "sleepy", "double", "Profile"}
    # the gateway was asked for zlib-stream and discord.py decoded it
    connects = [e for e in fake_discord.gateway.log if e.get("action") == "connect"]
    assert connects[0]["query"].get("compress") == "zlib-stream"


async def test_slash_reply(fake_discord: FakeDiscord, world: World, bot: DemoBot) -> None:
    ix = await fake_discord.slash(world.guild, world.general, world.alice, "ping", count=3)
    reply = await ix.reply()
    assert reply.content == "pong x3"
    assert not reply.ephemeral
    assert ix.ack_latency is not None
    assert ix.ack_latency < 3
    # a non-ephemeral response is a real message in the channel
    assert [m.content for m in fake_discord.messages(world.general)] == ["pong x3"]


async def test_ephemeral_reply(fake_discord: FakeDiscord, world: World, bot: DemoBot) -> None:
    ix = await fake_discord.slash(world.guild, world.general, world.bob, "secret")
    reply = await ix.reply()
    assert reply.content == "only you"
    assert reply.ephemeral
    assert fake_discord.messages(world.general) == []


async def test_deferred_reply_with_followup(fake_discord: FakeDiscord, world: World, bot: DemoBot) -> None:
    ix = await fake_discord.slash(
        world.guild, world.general, world.alice, "release create", title="X", when="in 2h", artist="Nova"
    )
    reply = await ix.reply()
    assert reply.content == "created X (in 2h) by Nova"
    assert reply.ephemeral
    assert ix.callbacks[0]["type"] == 5


async def test_deferred_then_edit_original(fake_discord: FakeDiscord, world: World, bot: DemoBot) -> None:
    ix = await fake_discord.slash(world.guild, world.general, world.alice, "slow")
    reply = await ix.reply()
    assert reply.content == "done slowly"
    assert not reply.ephemeral
    assert fake_discord.messages(world.general)[-1].content == "done slowly"


async def test_modal_round_trip(fake_discord: FakeDiscord, world: World, bot: DemoBot) -> None:
    ix = await fake_discord.slash(world.guild, world.general, world.alice, "release form")
    modal = await ix.modal()
    assert modal.title == "New release"
    assert {t["custom_id"] for t in modal.text_inputs} == {"description", "links"}
    ix2 = await fake_discord.submit_modal(
        world.guild, world.general, world.alice, modal, {"description": "Our best", "links": "x.y"}
    )
    reply = await ix2.reply()
    assert reply.content == "saved: Our best | x.y"
    assert reply.ephemeral


async def test_button_click_and_select(fake_discord: FakeDiscord, world: World, bot: DemoBot) -> None:
    ix = await fake_discord.slash(world.guild, world.general, world.alice, "party")
    posted = await ix.reply()
    assert "party:rsvp:12:going" in posted.custom_ids
    message = fake_discord.message(posted.message_id)
    click = await fake_discord.click(world.guild, world.general, world.bob, message, "party:rsvp:12:going")
    answer = await click.reply()
    assert answer.content == "bob is going"
    assert answer.ephemeral
    sel = await fake_discord.select(world.guild, world.general, world.bob, message, "party:pick", ["a", "b"])
    updated = await sel.reply()
    assert updated.content == "picked a,b"
    assert sel.callbacks[0]["type"] == 7
    assert message.content == "picked a,b"
    assert message.edits == 1


async def test_autocomplete(fake_discord: FakeDiscord, world: World, bot: DemoBot) -> None:
    choices = await fake_discord.autocomplete(
        world.guild, world.general, world.alice, "release create", focused="artist", artist="No"
    )
    assert [c["value"] for c in choices] == ["Nova", "Nocturne"]


async def test_unknown_command_or_option_fails_in_the_test(
    fake_discord: FakeDiscord, world: World, bot: DemoBot
) -> None:
    import pytest

    with pytest.raises(AssertionError, match="no synced command"):
        await fake_discord.slash(world.guild, world.general, world.alice, "nope")
    with pytest.raises(AssertionError, match="no option"):
        await fake_discord.slash(world.guild, world.general, world.alice, "ping", cuont=1)
    with pytest.raises(AssertionError, match="INTEGER"):
        await fake_discord.slash(world.guild, world.general, world.alice, "ping", count="3")
    with pytest.raises(AssertionError, match="required"):
        await fake_discord.slash(world.guild, world.general, world.alice, "release create", title="X")
    with pytest.raises(AssertionError, match="subcommand"):
        await fake_discord.slash(world.guild, world.general, world.alice, "release delete")


async def test_command_permissions_hide_commands(fake_discord: FakeDiscord, world: World, bot: DemoBot) -> None:
    import pytest
    from discord import app_commands

    @bot.tree.command(name="admin", description="Admins only", guild=discord.Object(world.guild.id))
    @app_commands.default_permissions(manage_guild=True)
    async def admin(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("ok", ephemeral=True)

    await bot.tree.sync(guild=discord.Object(world.guild.id))
    with pytest.raises(AssertionError, match="cannot see /admin"):
        await fake_discord.slash(world.guild, world.general, world.alice, "admin")
    owner = world.guild.owner.user
    ix = await fake_discord.slash(world.guild, world.general, owner, "admin")
    assert (await ix.reply()).content == "ok"
    # An admin opens the command in Server Settings > Integrations (here to everyone): members see it.
    world.guild.open_command("admin", world.guild.everyone)
    ix = await fake_discord.slash(world.guild, world.general, world.alice, "admin")
    assert (await ix.reply()).content == "ok"
    with pytest.raises(AssertionError, match="no synced command 'ping'"):
        await fake_discord.slash(None, None, world.alice, "ping")  # a guild command does not exist in DMs
