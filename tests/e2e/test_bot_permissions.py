"""The permissions the bot uses, kept current with Discord: asked for in the invite, named where one is missing."""

from __future__ import annotations

import discord
import pytest

from labelbot.cli import invite_url
from tests.e2e.helpers import embed_fields, run
from tests.fakediscord.state import Permissions
from tests.harness import BotHarness


def test_the_invite_asks_for_pinning_events_and_voice_status_and_nothing_it_does_not_use() -> None:
    asked = discord.Permissions(int(invite_url("123").rsplit("=", 1)[1]))
    assert asked.pin_messages, "Manage Messages no longer pins (Discord changed it in February)"
    assert asked.create_events
    assert asked.set_voice_channel_status
    assert asked.manage_roles
    assert not asked.administrator
    # Create Events covers editing and deleting the bot's own events, the only ones it touches.
    assert not asked.manage_events
    # No feature posts a native poll.
    assert not asked.send_polls


async def test_settings_show_names_each_missing_permission_and_what_it_is_for(harness: BotHarness) -> None:
    h = harness
    assert h.guild.bot_role is not None
    h.guild.bot_role.permissions &= ~(Permissions.PIN_MESSAGES | Permissions.SET_VOICE_CHANNEL_STATUS)
    await h.start()
    shown = embed_fields(await run(h, h.moderator, "settings show"))["My permissions"]
    assert "- Pin Messages (pin party cards)" in shown
    assert "- Set Voice Channel Status (show now playing on a party's voice channel)" in shown
    assert "Create Events" not in shown


async def test_settings_show_says_so_when_nothing_is_missing(harness: BotHarness) -> None:
    h = harness
    assert h.guild.bot_role is not None
    h.guild.bot_role.permissions |= Permissions.MENTION_EVERYONE
    await h.start()
    shown = embed_fields(await run(h, h.moderator, "settings show"))["My permissions"]
    assert shown == "I have every permission I use."


@pytest.mark.parametrize("granted", ["none", "create_events"])
async def test_an_event_without_create_events_is_refused_naming_it(harness: BotHarness, granted: str) -> None:
    h = harness
    assert h.guild.bot_role is not None
    h.guild.bot_role.permissions &= ~(Permissions.CREATE_EVENTS | Permissions.MANAGE_EVENTS)
    if granted == "create_events":
        h.guild.bot_role.permissions |= Permissions.CREATE_EVENTS
    await h.start()
    answer = await run(h, h.moderator, "event create", title="Listening meetup", start="in 3h", location="Park")
    if granted == "none":
        assert answer.ephemeral
        assert answer.content == "I need the Create Events permission in this server to list it in the server's events."
    else:
        assert "Create Events" not in answer.content, answer.content
        assert h.guild.scheduled_events, "Create Events alone lists the event"
