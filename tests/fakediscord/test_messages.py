"""Messages, validation, nonces, attachments, mentions, crossposts, threads, DMs, reactions."""

from __future__ import annotations

import io

import discord
import pytest

from tests.fakediscord import FakeDiscord

from .conftest import DemoBot, World


@pytest.mark.allow_rejections
async def test_too_long_message_is_rejected(fake_discord: FakeDiscord, world: World, bot: DemoBot) -> None:
    channel = bot.get_channel(world.general.id)
    with pytest.raises(discord.HTTPException) as info:
        await channel.send("x" * 2001)
    assert info.value.status == 400
    assert info.value.code == 50035
    assert fake_discord.messages(world.general) == []
    [rejected] = fake_discord.rejected_requests
    assert rejected.route == "/channels/{channel_id}/messages"
    assert rejected.error["errors"]["content"]["_errors"][0]["code"] == "BASE_TYPE_MAX_LENGTH"
    with pytest.raises(AssertionError, match="1 request"):
        fake_discord.assert_no_rejections()


@pytest.mark.allow_rejections
async def test_embeds_over_6000_chars_are_rejected(fake_discord: FakeDiscord, world: World, bot: DemoBot) -> None:
    channel = bot.get_channel(world.general.id)
    embeds = [discord.Embed(title="t", description="d" * 4000), discord.Embed(description="e" * 2500)]
    with pytest.raises(discord.HTTPException) as info:
        await channel.send(embeds=embeds)
    assert info.value.status == 400
    assert (
        fake_discord.rejected_requests[0].error["errors"]["embeds"]["_errors"][0]["code"] == "MAX_EMBED_SIZE_EXCEEDED"
    )
    # each field on its own is fine, and so is the same content under 6000 in total
    await channel.send(embeds=[discord.Embed(title="t", description="d" * 4000)])
    assert len(fake_discord.messages(world.general)) == 1


@pytest.mark.allow_rejections
async def test_component_and_empty_message_rules(fake_discord: FakeDiscord, world: World, bot: DemoBot) -> None:
    channel = bot.get_channel(world.general.id)
    with pytest.raises(discord.HTTPException) as info:
        await channel.send(embed=discord.Embed(title="x" * 257))
    assert info.value.code == 50035
    route = discord.http.Route("POST", "/channels/{channel_id}/messages", channel_id=channel.id)
    with pytest.raises(discord.HTTPException) as info:
        await bot.http.request(route, json={"content": ""})
    assert info.value.code == 50006
    dup = [
        {
            "type": 1,
            "components": [
                {"type": 2, "style": 1, "label": "a", "custom_id": "x"},
                {"type": 2, "style": 1, "label": "b", "custom_id": "x"},
            ],
        }
    ]
    with pytest.raises(discord.HTTPException) as info:
        await bot.http.request(route, json={"content": "hi", "components": dup})
    assert "COMPONENT_CUSTOM_ID_DUPLICATED" in str(fake_discord.rejected_requests[-1].error)
    six_rows = [
        {"type": 1, "components": [{"type": 2, "style": 1, "label": "a", "custom_id": f"r{i}"}]} for i in range(6)
    ]
    with pytest.raises(discord.HTTPException):
        await bot.http.request(route, json={"content": "hi", "components": six_rows})
    assert len(fake_discord.rejected_requests) == 4


async def test_nonce_with_enforce_nonce_posts_once(fake_discord: FakeDiscord, world: World, bot: DemoBot) -> None:
    channel = bot.get_channel(world.general.id)
    first = await channel.send("release day!", nonce="job-42")
    second = await channel.send("release day!", nonce="job-42")
    assert first.id == second.id
    assert [m.content for m in fake_discord.messages(world.general)] == ["release day!"]
    other = await channel.send("another", nonce="job-43")
    assert other.id != first.id
    sent = fake_discord.requests_to("/channels/{channel_id}/messages", "POST")
    assert all(r.json["enforce_nonce"] is True for r in sent)


async def test_message_crud_attachments_and_mentions(fake_discord: FakeDiscord, world: World, bot: DemoBot) -> None:
    fake_discord.expect_refusals("/channels/{channel_id}/messages/{message_id}", status=404, code=10008, count=1)
    channel = bot.get_channel(world.general.id)
    fans = bot.get_guild(world.guild.id).get_role(world.fans.id)
    msg = await channel.send(
        f"{fans.mention} new single! <@{world.bob.id}> @everyone",
        file=discord.File(io.BytesIO(b"cover-bytes"), filename="cover.png"),
        allowed_mentions=discord.AllowedMentions(everyone=True, roles=[fans], users=False),
        silent=True,
    )
    fm = fake_discord.message(msg.id)
    assert [a.filename for a in fm.attachments] == ["cover.png"]
    assert fm.attachments[0].data == b"cover-bytes"
    assert msg.attachments[0].filename == "cover.png"
    assert fm.mention_roles == [world.fans.id]  # mentionable role, explicitly allowed
    assert fm.mentions == []  # users not allowed
    assert fm.mention_everyone is False  # the bot lacks MENTION_EVERYONE
    assert fm.flags & 4096
    edited = await msg.edit(content="edited", attachments=[])
    assert edited.content == "edited"
    assert fm.edits == 1
    assert fm.attachments == []
    fetched = await channel.fetch_message(msg.id)
    assert fetched.content == "edited"
    history = [m.content async for m in channel.history(limit=10)]
    assert history == ["edited"]
    await msg.add_reaction("🎉")
    assert fm.reactions == {"🎉": [fake_discord.bot_user.id]}
    await msg.delete()
    assert fm.deleted
    assert fake_discord.messages(world.general) == []
    with pytest.raises(discord.NotFound) as info:
        await channel.fetch_message(msg.id)
    assert info.value.code == 10008


@pytest.mark.allow_rejections
async def test_crosspost_only_in_announcement_channels(fake_discord: FakeDiscord, world: World, bot: DemoBot) -> None:
    news = bot.get_channel(world.news.id)
    msg = await news.send("out now")
    await msg.publish()
    assert fake_discord.message(msg.id).crossposted
    with pytest.raises(discord.HTTPException) as info:
        await msg.publish()
    assert info.value.code == 40033
    plain = await bot.get_channel(world.general.id).send("not news")
    with pytest.raises(discord.HTTPException) as info:
        await plain.publish()
    assert info.value.status == 400


async def test_threads_and_forum_posts(fake_discord: FakeDiscord, world: World, bot: DemoBot) -> None:
    general = bot.get_channel(world.general.id)
    msg = await general.send("discuss")
    thread = await msg.create_thread(name="Discussion")
    assert thread.id == msg.id
    assert fake_discord.message(msg.id).thread.name == "Discussion"
    standalone = await general.create_thread(name="Private", type=discord.ChannelType.private_thread)
    await standalone.add_user(discord.Object(world.alice.id))
    assert world.alice.id in world.guild.channel(standalone.id).thread_member_ids
    await thread.send("in thread")
    assert [m.content for m in fake_discord.messages(world.guild.channel(thread.id))] == ["in thread"]
    await thread.edit(archived=True, locked=True)
    ft = world.guild.channel(thread.id)
    assert ft.archived
    assert ft.locked

    forum = bot.get_channel(world.forum.id)
    single = next(t for t in forum.available_tags if t.name == "single")
    post = await forum.create_thread(name="New single", content="Listen now", applied_tags=[single])
    fthread = world.guild.channel(post.thread.id)
    assert fthread.applied_tags == [single.id]
    assert post.message.content == "Listen now"
    assert post.message.id == post.thread.id
    await forum.edit(available_tags=[*forum.available_tags, discord.ForumTag(name="ep")])
    assert [t["name"] for t in world.forum.available_tags] == ["single", "album", "ep"]
    assert {t.name for t in world.guild.threads} == {"Discussion", "Private", "New single"}


async def test_dms_and_closed_dms(fake_discord: FakeDiscord, world: World, bot: DemoBot) -> None:
    fake_discord.expect_refusals("/channels/{channel_id}/messages", status=403, code=50007, count=1)
    user = await bot.fetch_user(world.alice.id)
    await user.send("welcome!")
    assert [m.content for m in fake_discord.dms(world.alice)] == ["welcome!"]
    closed = fake_discord.add_user("carol", dms_closed=True)
    world.guild.add_member(closed)
    with pytest.raises(discord.Forbidden) as info:
        await (await bot.fetch_user(closed.id)).send("hi")
    assert info.value.code == 50007
    assert fake_discord.dms(closed) == []


async def test_user_messages_reach_the_bot(fake_discord: FakeDiscord, world: World, bot: DemoBot) -> None:
    sent = await fake_discord.post_user_message(world.guild, world.general, world.alice, "hello")
    await fake_discord.wait_until(lambda: bot.seen)
    [seen] = bot.seen
    assert seen.id == sent.id
    assert seen.author.id == world.alice.id
    # no MESSAGE_CONTENT intent: content is empty unless the bot is mentioned
    assert seen.content == ""
    await fake_discord.post_user_message(world.guild, world.general, world.alice, f"<@{fake_discord.bot_user.id}> hi")
    await fake_discord.wait_until(lambda: len(bot.seen) == 2)
    assert bot.seen[1].content.endswith("hi")
    await fake_discord.post_dm(world.alice, "psst")
    await fake_discord.wait_until(lambda: len(bot.seen) == 3)
    assert bot.seen[2].content == "psst"


async def test_wait_for_message_and_request(fake_discord: FakeDiscord, world: World, bot: DemoBot) -> None:
    channel = bot.get_channel(world.general.id)
    await channel.send("one")
    found = await fake_discord.wait_for_message(world.general, lambda m: m.content == "one")
    assert found.author_id == fake_discord.bot_user.id
    req = await fake_discord.wait_for_request(
        lambda r: r.method == "POST" and r.route == "/channels/{channel_id}/messages"
    )
    assert req.status == 200
    assert req.json["content"] == "one"
    assert req.headers["Authorization"] == f"Bot {fake_discord.token}"
    with pytest.raises(TimeoutError):
        await fake_discord.wait_for_message(world.general, lambda m: m.content == "never", timeout=0.2)


async def test_channel_create_edit_and_overwrites(fake_discord: FakeDiscord, world: World, bot: DemoBot) -> None:
    guild = bot.get_guild(world.guild.id)
    created = await guild.create_text_channel("release-chat", topic="talk")
    fc = world.guild.channel("release-chat")
    assert fc.id == created.id
    assert fc.topic == "talk"
    await created.set_permissions(guild.default_role, send_messages=False)
    assert fc.permission_overwrites[0]["id"] == str(world.guild.id)
    assert int(fc.permission_overwrites[0]["deny"]) == discord.Permissions(send_messages=True).value
    await created.edit(name="release-talk", slowmode_delay=5)
    assert fc.name == "release-talk"
    assert fc.rate_limit_per_user == 5
    channels = await guild.fetch_channels()
    assert "release-talk" in {c.name for c in channels}


@pytest.mark.allow_rejections
async def test_pinning_needs_pin_messages_not_manage_messages(
    fake_discord: FakeDiscord, world: World, bot: DemoBot
) -> None:
    """Discord since February: Pin Messages (bit 51) is its own permission; Manage Messages no longer pins."""
    from tests.fakediscord.state import Permissions

    assert world.guild.bot_role is not None
    channel = bot.get_channel(world.general.id)
    msg = await channel.send("party card")
    world.guild.bot_role.permissions = (
        world.guild.bot_role.permissions | Permissions.MANAGE_MESSAGES
    ) & ~Permissions.PIN_MESSAGES
    with pytest.raises(discord.Forbidden):
        await msg.pin()
    assert not fake_discord.message(msg.id).pinned
    world.guild.bot_role.permissions |= Permissions.PIN_MESSAGES
    await msg.pin()
    assert fake_discord.message(msg.id).pinned
    assert discord.Permissions(pin_messages=True).value == Permissions.PIN_MESSAGES


async def test_pin_and_unpin(fake_discord: FakeDiscord, world: World, bot: DemoBot) -> None:
    channel = bot.get_channel(world.general.id)
    sent = await channel.send("keep this")
    await sent.pin()
    [stored] = fake_discord.messages(world.general)
    assert stored.pinned
    assert [m.id async for m in channel.pins()] == [sent.id]
    await sent.unpin()
    assert not stored.pinned
    assert [m async for m in channel.pins()] == []
