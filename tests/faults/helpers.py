"""Helpers shared by the fault tests: running commands, the party channel, counting rows."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, select

from labelbot.client import find_extensions
from tests.fakediscord import FakeChannel, FakeMessage, FakeReply, FakeUser, interactions
from tests.harness import BotHarness

PARTY_FEATURES = {
    "labelbot.features.about",
    "labelbot.features.settings",
    "labelbot.features.artists",
    "labelbot.features.parties",
}


def only_features(harness: BotHarness, keep: set[str], extra: list[str] | None = None) -> None:
    """Run only the features a fault test builds on, so other features' work in progress cannot break it."""
    harness.extra_env["LABELBOT_FEATURES__DISABLED"] = json.dumps(
        [e.removeprefix("labelbot.features.") for e in find_extensions() if e not in keep]
    )
    if extra:
        harness.extra_env["LABELBOT_FEATURES__EXTRA_EXTENSIONS"] = json.dumps(extra)


async def run(h: BotHarness, user: Any, command: str, /, *, timeout: float = 15, **options: Any) -> FakeReply:
    ix = await interactions.slash(h.fake, h.guild, h.general, user, command, options)
    return await ix.reply(timeout=timeout)


async def set_parties_channel(h: BotHarness) -> FakeChannel:
    channel = h.guild.add_channel("listening-parties")
    reply = await run(h, h.moderator, "settings channel", kind="parties", channel=channel)
    assert "is now" in reply.content, reply.content
    return channel


def fan(h: BotHarness, name: str) -> FakeUser:
    user = h.fake.add_user(name)
    h.guild.add_member(user)
    return user


def bot_messages(h: BotHarness, channel: FakeChannel | int) -> list[FakeMessage]:
    return [m for m in h.fake.messages(channel) if m.author_id == h.fake.bot_user.id]


def card_of(h: BotHarness, channel: FakeChannel) -> FakeMessage:
    cards = [m for m in bot_messages(h, channel) if any("party:rsvp:" in c for c in m.custom_ids) or m.is_v2]
    assert cards, "no party card was posted"
    return cards[0]


def field(message: FakeMessage, name: str) -> str:
    """An embed's field (the recap), or a card's "**Name:** value" line or "**Name**" block (Components V2)."""
    for embed in message.embeds:
        for f in embed.get("fields", []):
            if f["name"] == name:
                return str(f["value"])
    for text in message.text_displays:
        if text.startswith(f"**{name}**\n"):
            return text.split("\n", 1)[1]
        for line in text.splitlines():
            if line.startswith(f"**{name}:** "):
                return line.removeprefix(f"**{name}:** ")
    raise AssertionError(f"no field {name!r} in {message.embeds or message.text_displays}")


def card_title(message: FakeMessage) -> str:
    """The heading of a party card (Components V2): its first line, without the markdown."""
    assert message.is_v2, "the party card is not a Components V2 layout"
    return message.text_displays[0].splitlines()[0].removeprefix("## ")


def is_recap(message: FakeMessage) -> bool:
    return any("That's a wrap" in (e.get("title") or "") for e in message.embeds)


async def count_rows(database_url_or_bot: Any, model: type[Any]) -> int:
    async with database_url_or_bot.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)
