"""A fake Discord (REST v10 + gateway) on loopback for end-to-end tests of the bot.

    fake = FakeDiscord()
    await fake.start()
    discord.http.Route.BASE = fake.api_base
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(fake.gateway_url)

See README.md in this package for the test-facing API.
"""

from .fake import FakeDiscord
from .gateway import Intents
from .interactions import FakeInteraction, FakeModal, FakeReply
from .server import ApiError, RecordedRequest
from .state import (
    ChannelType,
    FakeAttachment,
    FakeChannel,
    FakeGuild,
    FakeMember,
    FakeMessage,
    FakeRole,
    FakeScheduledEvent,
    FakeUser,
    Permissions,
)

__all__ = [
    "ApiError",
    "ChannelType",
    "FakeAttachment",
    "FakeChannel",
    "FakeDiscord",
    "FakeGuild",
    "FakeInteraction",
    "FakeMember",
    "FakeMessage",
    "FakeModal",
    "FakeReply",
    "FakeRole",
    "FakeScheduledEvent",
    "FakeUser",
    "Intents",
    "Permissions",
    "RecordedRequest",
]
