"""Collaboration requests end to end: profiles, posting to forum and text boards, alerts, introductions,
lifecycle, approval and reports, through the fake Discord on every backend."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import pytest
from sqlalchemy import func, select

from labelbot.client import find_extensions
from labelbot.guilds.service import get_guild_settings
from labelbot.jobs import JobStatus, ScheduledJob
from labelbot.models.collabs import CollabInterest, CollabProfile, CollabRequest
from tests.fakediscord import ChannelType, FakeChannel, FakeMember, FakeMessage, FakeUser
from tests.harness import BotHarness

# Other features' work in progress must not break these tests; the bot runs with what the board needs.
NEEDED = {"labelbot.features.about", "labelbot.features.collabs"}
TIMEOUT = 15.0


@pytest.fixture
async def harness(harness: BotHarness) -> BotHarness:
    harness.extra_env["LABELBOT_FEATURES__DISABLED"] = json.dumps(
        [e.removeprefix("labelbot.features.") for e in find_extensions() if e not in NEEDED]
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


async def _job_done(world: World, key: str) -> bool:
    assert world.h.bot is not None
    async with world.h.bot.sessionmaker() as session:
        status = await session.scalar(select(ScheduledJob.status).where(ScheduledJob.key == key))
    return status == JobStatus.DONE


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
    assert reply.ephemeral
    assert "Posted" in reply.content
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
    assert "I mix." in _text(ask)
    assert "ana.example" not in _text(ask)
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


async def test_text_board_daily_cap_closed_dms_and_close(harness: BotHarness) -> None:
    world = World(harness, ChannelType.text)
    eve = world.member("eve", dms_closed=True)
    # A member with closed DMs: Discord refuses the DM (403/50007); the bot must record it and go on.
    harness.fake.expect_refusals("/channels/{channel_id}/messages", status=403, code=50007)
    fay = world.member("fay")
    await harness.start()
    await world.configure(collab_daily_alerts=1)
    fake = world.fake
    await world.profile(world.ana, ["mixing engineer"], alerts=True, alerts_in="dm")
    await world.profile(world.ben, ["mixing engineer"], alerts=True, alerts_in="board")
    await world.profile(eve, ["mixing engineer"], alerts=True, alerts_in="dm")
    await world.profile(fay, ["producer"], alerts=True, alerts_in="dm")

    await world.post(world.poster, "mixing engineer", title="Mix wanted")
    first = await world.request(await _request_id_by_title(world, "Mix wanted"))
    # A text board: an embed with the buttons, and a thread on it.
    starter = world.starter(first)
    assert starter.channel_id == world.board.id
    assert starter.embeds[0]["title"] == "Mix wanted"
    assert f"collab:interest:{first.id}" in starter.custom_ids
    thread = world.thread_of(first)
    assert thread.parent_id == world.board.id
    assert thread.type == ChannelType.public_thread

    # eve's DMs are closed: she is pinged in the board instead, and that is remembered.
    await harness.wait_until(lambda: _job_done(world, f"collab:{first.id}:alerts"), TIMEOUT)
    await fake.wait_for_dm(world.ana, lambda m: "Mix wanted" in _text(m), timeout=TIMEOUT)
    pinged = set().union(*(_pinged(m) for m in fake.messages(thread)))
    assert pinged == {world.ben.id, eve.id}
    assert bool((await _profile(world, eve.id)).dms_closed)

    # The daily cap (1): ana, ben and eve hear nothing about a second request today; fay (first alert) does.
    await world.post(world.poster, "mixing engineer, producer", title="Beat and mix")
    second = await world.request(await _request_id_by_title(world, "Beat and mix"))
    await harness.wait_until(lambda: _job_done(world, f"collab:{second.id}:alerts"), TIMEOUT)
    assert world.dms_about(fay, "Beat and mix")
    assert not world.dms_about(world.ana, "Beat and mix")
    assert all(not _pinged(m) for m in fake.messages(world.thread_of(second)))
    dm_id = fake.dm_channel(eve).id
    assert not [r for r in fake.requests if r.method == "POST" and r.path.endswith(f"/channels/{dm_id}/messages")][1:]

    # Interest and accept on a text board: the private thread opens in the board channel.
    ix = await fake.click(world.guild, thread, world.ana, starter, f"collab:interest:{first.id}")
    await ix.reply()
    ask = await fake.wait_for_dm(world.poster, lambda m: "interested" in m.content, timeout=TIMEOUT)
    accept_id = next(c for c in ask.custom_ids if c.startswith("collab:accept:"))
    await (await fake.click(None, fake.dm_channel(world.poster), world.poster, ask, accept_id)).reply(timeout=TIMEOUT)
    private = next(t for t in world.guild.threads if t.type == ChannelType.private_thread)
    assert private.parent_id == world.board.id
    assert private.thread_member_ids - {fake.bot_user.id} == {world.poster.id, world.ana.id}

    # Close: not by someone else; by the poster, the post shows it and its thread is archived.
    refused = await fake.click(world.guild, thread, world.ben, starter, f"collab:close:{first.id}")
    assert "Only the member who posted" in (await refused.reply()).content
    closed = await fake.click(world.guild, thread, world.poster, starter, f"collab:close:{first.id}")
    assert "Closed" in (await closed.reply(timeout=TIMEOUT)).content
    await fake.wait_until(lambda: thread.archived, TIMEOUT, "the thread archived")
    assert "[closed]" in starter.embeds[0]["title"]
    assert not starter.custom_ids
    assert (await world.request(first.id)).status == "closed"
    fake.assert_no_rejections()


async def _profile(world: World, user_id: int) -> CollabProfile:
    assert world.h.bot is not None
    async with world.h.bot.sessionmaker() as session:
        found = await session.get(CollabProfile, (world.guild.id, user_id))
        assert found is not None
        return found


async def test_expiry_warning_extend_and_expiry_survive_restarts(harness: BotHarness) -> None:
    world = World(harness, ChannelType.forum)
    await harness.start()
    await world.configure()
    fake = world.fake
    await world.post(world.poster, "drummer", title="Drummer for one session", open_for="6s")
    request = await world.request(await _request_id_by_title(world, "Drummer for one session"))
    thread = world.thread_of(request)

    # The warning (due halfway through so short a life) comes although the bot restarted meanwhile.
    await harness.restart()
    warning = await fake.wait_for_dm(world.poster, lambda m: "Keep it open" in str(m.components), timeout=TIMEOUT)
    assert "Drummer for one session" in warning.content
    extend_id = f"collab:extend:{request.id}"
    kept = await fake.click(None, fake.dm_channel(world.poster), world.poster, warning, extend_id)
    assert "Kept open until" in (await kept.reply(timeout=TIMEOUT)).content
    extended = await world.request(request.id)
    assert extended.expires_at is not None
    assert request.expires_at is not None
    assert extended.expires_at > request.expires_at

    # The bot is down when the extended request expires; at start it closes it, locks and archives the post.
    await harness.stop()
    remaining = (extended.expires_at - discord_now()).total_seconds()
    await asyncio.sleep(max(0.0, remaining) + 0.5)
    await harness.start()
    await fake.wait_until(lambda: thread.archived and thread.locked, TIMEOUT, "the post locked and archived")
    assert (await world.request(request.id)).status == "expired"
    assert "[expired]" in world.starter(request).embeds[0]["title"]
    # The second warning came due after expiry, so it was skipped: one warning in all.
    assert len(world.dms_about(world.poster, "Keep it open, or close it?")) == 1
    fake.assert_no_rejections()


def discord_now() -> Any:
    from labelbot.db.base import utcnow

    return utcnow()


async def test_approval_queue_and_reports(harness: BotHarness) -> None:
    world = World(harness, ChannelType.text)
    await harness.start()
    await world.configure(collab_approval=True)
    fake = world.fake
    reply = await world.post(world.poster, "vocalist", title="Singer for a hook")
    assert "went to the moderators" in reply.content
    assert not fake.messages(world.board)
    queued = await fake.wait_for_message(world.mod_log, lambda m: "waiting for approval" in m.content, timeout=TIMEOUT)
    request_id = await _request_id_by_title(world, "Singer for a hook")
    assert queued.custom_ids == [f"collab:approve:{request_id}", f"collab:reject:{request_id}"]

    refused = await fake.click(world.guild, world.mod_log, world.ana, queued, f"collab:approve:{request_id}")
    assert "Only moderators" in (await refused.reply()).content
    approved = await fake.click(world.guild, world.mod_log, world.h.moderator, queued, f"collab:approve:{request_id}")
    assert "Approved" in (await approved.reply(timeout=TIMEOUT)).content
    post = await fake.wait_for_message(world.board, timeout=TIMEOUT)
    assert post.embeds[0]["title"] == "Singer for a hook"
    await fake.wait_for_dm(world.poster, lambda m: "was approved" in m.content, timeout=TIMEOUT)
    assert "Approved by" in queued.content
    assert not queued.custom_ids

    await world.post(world.poster, "vocalist", title="Spam spam spam")
    second = await fake.wait_for_message(world.mod_log, lambda m: "waiting for approval" in m.content, after=queued)
    spam_id = await _request_id_by_title(world, "Spam spam spam")
    rejected = await fake.click(world.guild, world.mod_log, world.h.moderator, second, f"collab:reject:{spam_id}")
    assert "Rejected" in (await rejected.reply(timeout=TIMEOUT)).content
    await fake.wait_for_dm(world.poster, lambda m: "wasn't approved" in m.content, timeout=TIMEOUT)
    assert (await world.request(spam_id)).status == "rejected"
    assert len(fake.messages(world.board)) == 1

    # Report: the post goes to the mod log, once per member.
    reported = await fake.click(world.guild, world.board, world.ana, post, f"collab:report:{request_id}")
    assert "moderators have been told" in (await reported.reply(timeout=TIMEOUT)).content
    note = await fake.wait_for_message(world.mod_log, lambda m: "was reported by" in m.content, timeout=TIMEOUT)
    assert str(world.ana.id) in note.content
    assert not _pinged(note)
    again = await fake.click(world.guild, world.board, world.ana, post, f"collab:report:{request_id}")
    assert "already reported" in (await again.reply()).content
    fake.assert_no_rejections()


async def test_bad_input_creates_nothing_and_commands(harness: BotHarness) -> None:
    world = World(harness, ChannelType.text)
    await harness.start()
    await world.configure(collab_max_open=1)
    fake = world.fake

    async def refused(user: FakeUser | FakeMember, command: str, **options: Any) -> str:
        reply = await (await world.slash(user, command, **options)).reply(timeout=TIMEOUT)
        assert reply.ephemeral
        return str(reply.content)

    completed = await fake.autocomplete(
        world.guild, world.h.general, world.poster, "collab post", focused="skills", skills="mixing engineer, MAS"
    )
    assert [c["value"] for c in completed] == ["mixing engineer, mastering engineer"]
    assert "Choose at least one skill" in await refused(world.poster, "collab post", skills=" , ", compensation="paid")
    assert "isn't on this server's skill list" in await refused(
        world.poster, "collab post", skills="kazoo", compensation="paid"
    )
    past = await world.post(world.poster, "drummer", deadline="2020-01-01 12:00")
    assert "already passed" in past.content
    blank = await world.post(world.poster, "drummer", title="   ")
    assert "Give the request a title" in blank.content
    assert await world.rows(CollabRequest) == 0
    assert not fake.messages(world.board)

    await world.post(world.poster, "drummer", title="Drums for an EP", genre="math rock")
    assert "You already have 1 open request" in await refused(
        world.poster, "collab post", skills="drummer", compensation="unpaid"
    )
    assert await world.rows(CollabRequest) == 1
    request_id = await _request_id_by_title(world, "Drums for an EP")

    # Listing and one's own requests.
    listed = await (await world.slash(world.ana, "collab list", skill="drummer")).reply()
    assert "Drums for an EP" in listed.text
    other = await (await world.slash(world.ana, "collab list", genre="polka")).reply()
    assert "Drums for an EP" not in other.text
    mine = await (await world.slash(world.poster, "collab mine")).reply()
    assert "Drums for an EP" in mine.text
    choices = await fake.autocomplete(
        world.guild, world.h.general, world.poster, "collab close", focused="request", request=""
    )
    assert [c["value"] for c in choices] == [request_id]

    # Skills: moderators only; added skills appear, removed ones go.
    # Past Discord's client hint (an admin may open it to everyone in Integrations): the bot still refuses.
    world.guild.open_command("collab-admin", world.guild.everyone)
    assert "Only moderators" in await refused(world.ana, "collab-admin skills add", name="sound designer")
    assert "at most 50 characters" in await refused(world.h.moderator, "collab-admin skills add", name="x" * 60)
    added = await (await world.slash(world.h.moderator, "collab-admin skills add", name="Sound Designer")).reply()
    assert "Added" in added.content
    listed_skills = await (await world.slash(world.ana, "collab skills list")).reply()
    assert "Sound Designer" in listed_skills.text
    assert "mixing engineer" in listed_skills.text
    await (await world.slash(world.h.moderator, "collab-admin skills remove", name="sound designer")).reply()
    assert "Sound Designer" not in (await (await world.slash(world.ana, "collab skills list")).reply()).text

    # Close as filled, recording by whom; then it can't be closed again.
    done = await (await world.slash(world.poster, "collab close", request=request_id, filled_by=world.ana)).reply(
        timeout=TIMEOUT
    )
    assert "filled by" in done.content
    closed = await world.request(request_id)
    assert closed.status == "filled"
    assert closed.filled_by_id == world.ana.id
    assert "already closed" in await refused(world.poster, "collab close", request=request_id)

    # Profiles: shown to others without the alert settings.
    await world.profile(world.ana, ["drummer"], alerts=True, bio="Drums since 2009.")
    shown = await (await world.slash(world.ben, "profile show", member=world.ana)).reply()
    assert "Drums since 2009." in shown.text
    assert "drummer" in shown.text
    assert "Matching alerts" not in shown.text
    nobody = await (await world.slash(world.ben, "profile show")).reply()
    assert "no collab profile yet" in nobody.content
    fake.assert_no_rejections()


async def test_tag_limit_and_poster_with_closed_dms(harness: BotHarness) -> None:
    world = World(harness, ChannelType.forum)
    world.board.available_tags = [world.fake._make_tag(f"tag {n}") for n in range(19)]
    zed = world.member("zed", dms_closed=True)
    # A member with closed DMs: Discord refuses the DM (403/50007); the bot must record it and go on.
    harness.fake.expect_refusals("/channels/{channel_id}/messages", status=403, code=50007)
    await harness.start()
    await world.configure()
    fake = world.fake

    # Room for one more tag (Discord allows 20): the first missing skill gets it, the post goes up regardless.
    reply = await world.post(zed, "bassist, drummer", title="Rhythm section")
    assert "Posted" in reply.content
    request = await world.request(await _request_id_by_title(world, "Rhythm section"))
    assert len(world.board.available_tags) == 20
    tags = {t["name"]: int(t["id"]) for t in world.board.available_tags}
    assert world.thread_of(request).applied_tags == [tags["bassist"]]

    # zed's DMs are closed: the answer waits in the post's thread, and only zed can open it.
    thread = world.thread_of(request)
    starter = world.starter(request)
    await (await fake.click(world.guild, thread, world.ana, starter, f"collab:interest:{request.id}")).reply()
    note = await fake.wait_for_message(thread, lambda m: zed.id in _pinged(m), timeout=TIMEOUT)
    assert _pinged(note) == {zed.id}
    assert str(world.ana.id) not in note.content
    review_id = next(c for c in note.custom_ids if c.startswith("collab:review:"))
    nosy = await fake.click(world.guild, thread, world.ben, note, review_id)
    assert "Only the member who posted" in (await nosy.reply()).content
    private_view = await (await fake.click(world.guild, thread, zed, note, review_id)).reply(timeout=TIMEOUT)
    assert private_view.ephemeral
    accept_id = next(c for c in private_view.custom_ids if c.startswith("collab:accept:"))
    accepted = await fake.click(world.guild, thread, zed, private_view, accept_id)
    assert "Accepted" in (await accepted.reply(timeout=TIMEOUT)).content
    # A forum can't hold private threads: it opens in the channel the request was posted from.
    private = next(t for t in world.guild.threads if t.type == ChannelType.private_thread)
    assert private.parent_id == world.h.general.id
    assert private.thread_member_ids - {fake.bot_user.id} == {zed.id, world.ana.id}

    # The expiry warning reaches zed in the post's thread too, with the buttons; Close there closes it.
    await world.post(zed, "drummer", title="Quick drum take", open_for="4s")
    quick = await world.request(await _request_id_by_title(world, "Quick drum take"))
    quick_thread = world.thread_of(quick)
    warning = await fake.wait_for_message(quick_thread, lambda m: "Keep it open" in str(m.components), timeout=TIMEOUT)
    assert _pinged(warning) == {zed.id}
    closing = await fake.click(world.guild, quick_thread, zed, warning, f"collab:close:{quick.id}")
    assert "Closed" in (await closing.reply(timeout=TIMEOUT)).content
    await fake.wait_until(lambda: quick_thread.archived and quick_thread.locked, TIMEOUT, "the post archived")
    assert (await world.request(quick.id)).status == "closed"
    fake.assert_no_rejections()
