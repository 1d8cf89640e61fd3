"""What discord.py sends for its richer features passes the fake's validation (no false alarms)."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from typing import Any

import discord
import pytest

from tests.fakediscord import FakeDiscord

from .conftest import DemoBot, World


def rich_embed() -> discord.Embed:
    e = discord.Embed(
        title="Nova - Night Drive", description="Out **now**", url="https://example.com/r/1", colour=0xFF00AA
    )
    e.timestamp = datetime.now(UTC)
    e.set_author(name="Midnight Tapes", url="https://example.com", icon_url="https://example.com/a.png")
    e.set_footer(text="Release #12", icon_url="https://example.com/f.png")
    e.set_thumbnail(url="https://example.com/t.png")
    e.set_image(url="https://example.com/i.png")
    for i in range(25):
        e.add_field(name=f"Track {i}", value="3:21", inline=i % 2 == 0)
    return e


class Layout(discord.ui.LayoutView):
    def __init__(self) -> None:
        super().__init__(timeout=None)
        container = discord.ui.Container(accent_colour=discord.Colour.blurple())
        container.add_item(discord.ui.TextDisplay("## Listening party"))
        container.add_item(discord.ui.Separator())
        section = discord.ui.Section(
            discord.ui.TextDisplay("Friday 8pm"),
            accessory=discord.ui.Button(label="RSVP", custom_id="party:rsvp:1:going"),
        )
        container.add_item(section)
        row = discord.ui.ActionRow()
        row.add_item(discord.ui.Button(label="Maybe", custom_id="party:rsvp:1:maybe"))
        row.add_item(discord.ui.Button(label="Site", url="https://example.com"))
        container.add_item(row)
        self.add_item(container)


class Classic(discord.ui.View):
    def __init__(self) -> None:
        super().__init__(timeout=None)
        for i in range(5):
            self.add_item(discord.ui.Button(label=f"b{i}", custom_id=f"row0:{i}", row=0))
        self.add_item(
            discord.ui.Select(
                custom_id="sel",
                options=[discord.SelectOption(label=str(i), value=str(i), description="d") for i in range(25)],
                row=1,
            )
        )
        self.add_item(discord.ui.UserSelect(custom_id="users", row=2))
        self.add_item(discord.ui.RoleSelect(custom_id="roles", row=3))
        self.add_item(discord.ui.ChannelSelect(custom_id="chans", channel_types=[discord.ChannelType.text], row=4))


async def test_rich_messages_pass_validation(fake_discord: FakeDiscord, world: World, bot: DemoBot) -> None:
    channel = bot.get_channel(world.general.id)
    first = await channel.send("x" * 2000, embeds=[rich_embed()], view=Classic())
    await channel.send(view=Layout())
    await channel.send(
        "reply with file",
        reference=first,
        mention_author=False,
        files=[
            discord.File(io.BytesIO(b"a"), filename="a.txt", description="notes"),
            discord.File(io.BytesIO(b"b"), filename="b.png", spoiler=True),
        ],
        suppress_embeds=True,
    )
    poll = discord.Poll(question="Best track?", duration=timedelta(hours=24))
    poll.add_answer(text="Night Drive", emoji="🌙")
    poll.add_answer(text="Moss")
    await channel.send(poll=poll)
    msgs = fake_discord.messages(world.general)
    assert len(msgs) == 4
    assert msgs[1].flags & (1 << 15)  # components v2
    assert msgs[2].type == 19
    assert [a.description for a in msgs[2].attachments] == ["notes", None]
    assert msgs[3].poll["question"]["text"] == "Best track?"
    # the layout's buttons are clickable by custom_id
    assert "party:rsvp:1:going" in msgs[1].custom_ids


class LabelModal(discord.ui.Modal, title="Collab request"):
    intro = discord.ui.TextDisplay("Tell us about it")
    artist = discord.ui.Label(
        text="Artist",
        component=discord.ui.Select(
            custom_id="artist",
            options=[
                discord.SelectOption(label="Nova", value="nova"),
                discord.SelectOption(label="Moss", value="moss"),
            ],
        ),
    )
    pitch = discord.ui.Label(
        text="Pitch",
        description="A few lines",
        component=discord.ui.TextInput(custom_id="pitch", style=discord.TextStyle.paragraph, max_length=500),
    )

    async def on_submit(self, interaction: discord.Interaction) -> None:
        assert isinstance(self.artist.component, discord.ui.Select)
        assert isinstance(self.pitch.component, discord.ui.TextInput)
        await interaction.response.send_message(
            f"{self.artist.component.values} {self.pitch.component.value}", ephemeral=True
        )


async def test_label_modal_round_trip(fake_discord: FakeDiscord, world: World, bot: DemoBot) -> None:
    @bot.tree.command(name="collab", description="Ask for a collab", guild=discord.Object(world.guild.id))
    async def collab(interaction: discord.Interaction) -> None:
        await interaction.response.send_modal(LabelModal())

    await bot.tree.sync(guild=discord.Object(world.guild.id))
    ix = await fake_discord.slash(world.guild, world.general, world.alice, "collab")
    modal = await ix.modal()
    assert set(modal.custom_ids) == {"artist", "pitch"}
    ix2 = await fake_discord.submit_modal(
        world.guild, world.general, world.alice, modal, {"artist": ["moss"], "pitch": "let's go"}
    )
    assert (await ix2.reply()).content == "['moss'] let's go"


async def test_global_commands_and_dm_interaction(fake_discord: FakeDiscord, world: World) -> None:
    from tests.fakediscord.clientrun import running

    client = DemoBot()  # syncs globally
    async with running(fake_discord, client):
        assert {c["name"] for c in fake_discord.synced_commands()} >= {"ping", "release"}
        ix = await fake_discord.slash(None, None, world.alice, "ping", count=5)
        reply = await ix.reply()
        assert reply.content == "pong x5"
        assert fake_discord.dms(world.alice)[-1].content == "pong x5"


async def test_guild_added_while_connected(fake_discord: FakeDiscord, world: World, bot: DemoBot) -> None:
    joined: list[Any] = []

    async def on_guild_join(guild: discord.Guild) -> None:
        joined.append(guild)

    bot.add_listener(on_guild_join)
    g = fake_discord.add_guild("New Label")
    await fake_discord.wait_until(lambda: joined, 5)
    assert joined[0].id == g.id
    ch = world.guild.add_channel("late-channel")
    await fake_discord.wait_until(lambda: bot.get_channel(ch.id) is not None, 5)


@pytest.mark.fake_discord(check_responses=True)
async def test_fake_answers_match_the_spec(fake_discord: FakeDiscord, world: World, bot: DemoBot) -> None:
    """Self-check of the fake: its REST answers validate against the spec's response schemas."""
    channel = bot.get_channel(world.general.id)
    msg = await channel.send(
        "hello", embed=rich_embed(), view=Classic(), file=discord.File(io.BytesIO(b"x"), filename="x.txt")
    )
    await msg.edit(content="edited")
    await channel.fetch_message(msg.id)
    [m async for m in channel.history(limit=5)]
    thread = await msg.create_thread(name="t")
    await thread.edit(archived=True)
    news = await bot.get_channel(world.news.id).send("news")
    await news.publish()
    forum = bot.get_channel(world.forum.id)
    await forum.create_thread(name="post", content="first", applied_tags=[forum.available_tags[0]])
    guild = bot.get_guild(world.guild.id)
    role = await guild.create_role(name="r")
    await role.edit(name="r2")
    await guild.fetch_roles()
    await guild.fetch_member(world.alice.id)
    await guild.fetch_channels()
    await bot.fetch_guild(world.guild.id)
    await (await bot.fetch_user(world.alice.id)).send("dm")
    ev = await guild.create_scheduled_event(
        name="Show", start_time=datetime.now(UTC) + timedelta(hours=3), entity_type=discord.EntityType.external,
        location="Club", end_time=datetime.now(UTC) + timedelta(hours=5), privacy_level=discord.PrivacyLevel.guild_only,
    )  # fmt: skip
    await guild.fetch_scheduled_events()
    await ev.edit(name="Show 2")
    ix = await fake_discord.slash(world.guild, world.general, world.alice, "ping")
    await ix.reply()
    ix = await fake_discord.slash(world.guild, world.general, world.alice, "release create", title="X", when="now")
    await ix.reply()
    problems = "\n".join(f"{m} {t}: {p}" for m, t, p in fake_discord.response_violations)
    assert not fake_discord.response_violations, problems


def test_a_body_checked_before_is_refused_again_with_the_same_errors() -> None:
    # The check is remembered by the body's text: a repeat must be refused as the first was, and a caller that
    # changes the list it got back must not change what the next caller gets.
    from tests.fakediscord import validation

    route = "/channels/{channel_id}/messages"
    too_long = {"content": "x" * 2001}
    first = validation.validate("POST", route, too_long)
    assert [code for _, code, _ in first] == ["BASE_TYPE_MAX_LENGTH"]
    first.clear()
    assert validation.validate("POST", route, dict(too_long)) == validation.validate("POST", route, too_long) != []
    assert validation.validate("POST", route, {"content": "x" * 2000}) == []
