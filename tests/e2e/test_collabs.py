"""Collaboration requests end to end: profiles, posting to forum and text boards, alerts, introductions,
lifecycle, approval and reports, through the fake Discord on every backend."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.client import find_extensions
from bot.guilds.service import get_guild_settings
from cogs.collabs._models import CollabAlert, CollabInterest, CollabRequest
from tests.fakediscord import ChannelType, FakeChannel, FakeMember, FakeMessage, FakeUser
from tests.harness import BotHarness

# Other features' work in progress must not break these tests; the bot runs with what the board needs.
NEEDED = {"cogs.about", "cogs.collabs"}
TIMEOUT = 15.0


@pytest.fixture
async def harness(harness: BotHarness) -> BotHarness:
    harness.extra_env["LABELBOT_FEATURES__DISABLED"] = json.dumps(
        [e.removeprefix("cogs.") for e in find_extensions() if e not in NEEDED]
    )
    return harness


# -- helpers ----------------------------------------------------------------------------------------------------


class World:
    """A label server with a board, a mod log and a few musicians."""

    def __init__(self, h: BotHarness, board_type: ChannelType) -> None:
        self.h = h
        self.fake = h.fake
        self.guild = h.guild
        self.board = h.guild.add_channel("collab-board", type=board_type)
        self.mod_log = h.guild.add_channel("mod-log", type=ChannelType.text)
        self.poster = self.member("poster")
        self.ana = self.member("ana")  # mixing engineer, alerts by DM
        self.ben = self.member("ben")  # mixing engineer, alerts in the board
        self.cat = self.member("cat")  # drummer, alerts on: no match
        self.dan = self.member("dan")  # mixing engineer, alerts off

    def member(self, name: str, *, dms_closed: bool = False) -> FakeUser:
        user = self.fake.add_user(name, dms_closed=dms_closed)
        self.guild.add_member(user)
        return user

    async def configure(self, **values: Any) -> None:
        assert self.h.bot is not None
        async with self.h.bot.sessionmaker.begin() as session:
            settings = await get_guild_settings(session, self.guild.id)
            settings.collab_board_channel_id = self.board.id
            settings.mod_log_channel_id = self.mod_log.id
            for key, value in values.items():
                setattr(settings, key, value)

    async def slash(self, user: FakeUser | FakeMember, command: str, **options: Any) -> Any:
        return await self.fake.slash(self.guild, self.h.general, user, command, **options)

    async def profile(self, user: FakeUser, skills: list[str], **options: Any) -> None:
        reply = await (await self.slash(user, "profile skills", **options)).reply()
        assert reply.ephemeral
        select_id = f"collab:profile-skills:{user.id}"
        component = next(c for c in _components(reply.components) if c.get("custom_id") == select_id)
        values = [o["value"] for o in component["options"] if o["label"] in skills]
        assert len(values) == len(skills), component["options"]
        picked = await self.fake.select(self.guild, self.h.general, user, reply, select_id, values)
        assert "Saved your skills" in (await picked.reply()).text

    async def post(
        self,
        user: FakeUser,
        skills: str,
        *,
        title: str = "Looking for a mixing engineer",
        needed: str = "Four dream-pop tracks, stems ready.",
        genre: str = "dream pop, Beach House",
        deadline: str = "",
        compensation: str = "paid",
        **options: Any,
    ) -> Any:
        ix = await self.slash(user, "collab post", skills=skills, compensation=compensation, **options)
        modal = await ix.modal()
        submitted = await self.fake.submit_modal(
            self.guild,
            self.h.general,
            user,
            modal,
            {"title": title, "needed": needed, "genre": genre, "deadline": deadline},
        )
        return await submitted.reply(timeout=TIMEOUT)

    async def rows(self, model: Any) -> int:
        assert self.h.bot is not None
        async with self.h.bot.sessionmaker() as session:
            return int(await session.scalar(select(func.count()).select_from(model)) or 0)

    async def request(self, request_id: int) -> CollabRequest:
        assert self.h.bot is not None
        async with self.h.bot.sessionmaker() as session:
            found = await session.get(CollabRequest, request_id)
            assert found is not None
            return found

    def thread_of(self, request: CollabRequest) -> FakeChannel:
        assert request.thread_id is not None
        return self.fake.channel(request.thread_id)

    def starter(self, request: CollabRequest) -> FakeMessage:
        assert request.message_id is not None
        return self.fake.message(request.message_id)

    def dms_about(self, user: FakeUser, text: str) -> list[FakeMessage]:
        return [m for m in self.fake.dms(user) if text in _text(m)]


def _components(components: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for c in components:
        out.append(c)
        out.extend(_components(c.get("components") or []))
    return out


def _text(message: FakeMessage) -> str:
    parts = [message.content or ""]
    for embed in message.embeds:
        parts += [embed.get("title") or "", embed.get("description") or ""]
        parts += [f"{f.get('name')} {f.get('value')}" for f in embed.get("fields") or []]
    return "\n".join(parts)


def _pinged(message: FakeMessage) -> set[int]:
    allowed = message.allowed_mentions or {}
    return {int(u) for u in allowed.get("users") or []}


def _request_id(reply: Any) -> int:
    found = re.search(r"/(\d+)$", reply.content.strip())
    assert found, reply.content
    return int(found.group(1))


async def _request_id_by_title(world: World, title: str) -> int:
    assert world.h.bot is not None
    async with world.h.bot.sessionmaker() as session:
        found = await session.scalar(select(CollabRequest.id).where(CollabRequest.title == title))
        assert found is not None
        return int(found)


# -- tests ------------------------------------------------------------------------------------------------------


async def test_forum_board_tags_alerts_and_introductions(harness: BotHarness) -> None:
    world = World(harness, ChannelType.forum)
    await harness.start()
    await world.configure()
    fake = world.fake
    await world.profile(world.ana, ["mixing engineer"], alerts=True, alerts_in="dm", bio="I mix.", links="ana.example")
    await world.profile(world.ben, ["mixing engineer", "producer"], alerts=True, alerts_in="board")
    await world.profile(world.cat, ["drummer"], alerts=True, alerts_in="dm")
    await world.profile(world.dan, ["mixing engineer"], alerts=False)
    await world.profile(world.poster, ["mixing engineer"], alerts=True, alerts_in="dm")

    reply = await world.post(world.poster, "mixing engineer, mastering engineer")
    assert reply.ephemeral and "Posted" in reply.content
    request = await world.request(await _request_id_by_title(world, "Looking for a mixing engineer"))

    # A forum post tagged with the skills; tags were created on the forum as needed.
    thread = world.thread_of(request)
    assert thread.parent_id == world.board.id
    tags = {t["name"]: int(t["id"]) for t in world.board.available_tags}
    assert set(thread.applied_tags) == {tags["mixing engineer"], tags["mastering engineer"]}
    starter = world.starter(request)
    assert {f"collab:interest:{request.id}", f"collab:close:{request.id}", f"collab:report:{request.id}"} <= set(
        starter.custom_ids
    )

    # Alerts: ana by DM, ben by one ping line in the board; never cat (no skill), dan (opted out) or the poster.
    await fake.wait_for_dm(world.ana, lambda m: "Looking for a mixing engineer" in _text(m), timeout=TIMEOUT)
    line = await fake.wait_for_message(thread, lambda m: world.ben.id in _pinged(m), timeout=TIMEOUT)
    assert _pinged(line) == {world.ben.id}
    for user in (world.cat, world.dan, world.poster):
        assert not world.dms_about(user, "wants your skills")
        assert all(user.id not in _pinged(m) for m in fake.messages(thread))

    # ana is interested: the poster hears by DM, with her profile but not her links, and Accept / Decline.
    ix = await fake.click(world.guild, thread, world.ana, starter, f"collab:interest:{request.id}")
    assert "told the poster" in (await ix.reply()).content
    ask = await fake.wait_for_dm(world.poster, lambda m: "interested" in m.content, timeout=TIMEOUT)
    assert "I mix." in _text(ask) and "ana.example" not in _text(ask)
    accept_id = next(c for c in ask.custom_ids if c.startswith("collab:accept:"))

    # One answer per member; never on one's own request.
    again = await fake.click(world.guild, thread, world.ana, starter, f"collab:interest:{request.id}")
    assert "already answered" in (await again.reply()).content
    own = await fake.click(world.guild, thread, world.poster, starter, f"collab:interest:{request.id}")
    assert "your own request" in (await own.reply()).content
    assert await world.rows(CollabInterest) == 1

    # Accept: a private thread with exactly the two of them (and the bot); ana is told where.
    accepted = await fake.click(None, fake.dm_channel(world.poster), world.poster, ask, accept_id)
    assert "Accepted" in (await accepted.reply(timeout=TIMEOUT)).content
    private = next(t for t in world.guild.threads if t.type == ChannelType.private_thread)
    assert private.thread_member_ids - {fake.bot_user.id} == {world.poster.id, world.ana.id}
    assert not private.invitable
    intro = await fake.wait_for_message(private, timeout=TIMEOUT)
    assert _pinged(intro) == {world.poster.id, world.ana.id}
    assert "ana.example" in _text(intro)
    await fake.wait_for_dm(world.ana, lambda m: "accepted your interest" in m.content, timeout=TIMEOUT)

    # ben is interested too; the poster declines and ben hears politely.
    ix = await fake.click(world.guild, thread, world.ben, starter, f"collab:interest:{request.id}")
    await ix.reply()
    ask_ben = await fake.wait_for_dm(
        world.poster, lambda m: "interested" in m.content and m.id != ask.id, timeout=TIMEOUT
    )
    decline_id = next(c for c in ask_ben.custom_ids if c.startswith("collab:decline:"))
    declined = await fake.click(None, fake.dm_channel(world.poster), world.poster, ask_ben, decline_id)
    assert "Declined" in (await declined.reply(timeout=TIMEOUT)).content
    await fake.wait_for_dm(world.ben, lambda m: "gone another way" in m.content, timeout=TIMEOUT)
    assert len([t for t in world.guild.threads if t.type == ChannelType.private_thread]) == 1
    fake.assert_no_rejections()
