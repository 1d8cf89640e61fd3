"""Quotas (issue 14): a member's daily collab posts and an artist's announce-now cooldown, set by moderators."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from labelbot.catalog.models import ReleaseStatus
from labelbot.models.collabs import CollabRequest
from tests.e2e.test_collabs import TIMEOUT, World, _request_id_by_title
from tests.e2e.test_releases import (
    LONG,
    Label,
    build_label,
    create,
    jobs_of,
    release_id_of,
    release_row,
    schedule,
    wait_posts,
)
from tests.fakediscord import ChannelType, FakeReply
from tests.harness import BotHarness


def _one_sentence(reply: FakeReply) -> None:
    assert reply.ephemeral
    assert reply.content.count(". ") == 0, reply.content
    assert reply.content.endswith("."), reply.content
    assert "reference" not in reply.content


def _timestamp(text: str) -> int:
    return int(text.split("<t:")[1].split(":")[0])


async def test_the_daily_collab_quota_refuses_with_one_sentence_and_creates_nothing(harness: BotHarness) -> None:
    world = World(harness, ChannelType.text)
    await harness.start()
    await world.configure()
    mod = harness.moderator

    set_quota = await (await world.slash(mod, "settings limit", name="collab_daily_posts", value=2)).reply()
    assert "is now 2 (was 3)" in set_quota.content
    harness.guild.open_command("settings", harness.guild.everyone)  # past Discord's client hint
    refused_setting = await (
        await world.slash(world.poster, "settings limit", name="collab_daily_posts", value=50)
    ).reply()
    assert "moderators" in refused_setting.content.lower()

    # Two posts, one closed again: closing does not give the day's share back.
    await world.post(world.poster, "drummer", title="Drums for an EP")
    await world.post(world.poster, "drummer", title="Drums for a single")
    first = await _request_id_by_title(world, "Drums for an EP")
    await (await world.slash(world.poster, "collab close", request=first)).reply(timeout=TIMEOUT)
    posts_before = len(world.fake.messages(world.board))
    rows_before = await world.rows(CollabRequest)

    refused = await (await world.slash(world.poster, "collab post", skills="drummer", compensation="paid")).reply()
    _one_sentence(refused)
    assert "2 collab requests in the last 24 hours" in refused.content
    assert await world.rows(CollabRequest) == rows_before
    assert len(world.fake.messages(world.board)) == posts_before

    # The quota is each member's own, and moderators can raise it.
    await world.post(world.ana, "drummer", title="Looking for drums")
    assert await world.rows(CollabRequest) == rows_before + 1
    await (await world.slash(mod, "settings limit", name="collab_daily_posts", value=3)).reply()
    await world.post(world.poster, "drummer", title="Drums, third time")
    assert await world.rows(CollabRequest) == rows_before + 2


async def test_the_announce_cooldown_refuses_announce_now_of_an_artists_manager(harness: BotHarness) -> None:
    label: Label = await build_label(harness)
    await harness.start()
    mod = harness.moderator

    async def run(user: Any, command: str, **options: Any) -> FakeReply:
        return await (await label.slash(user, command, **options)).reply()

    changed = await run(mod, "settings limit", name="announce_cooldown_minutes", value=30)
    assert "is now 30 minutes (was 60 minutes)" in changed.content
    shown = await run(mod, "settings show")
    assert "30 minutes between two announcements" in shown.text

    first_preview = await create(label, label.nova, title="First", when="in 2 hours")
    second_preview = await create(label, label.nova, title="Second", when="in 3 hours")
    first, second = release_id_of(first_preview), release_id_of(second_preview)
    await schedule(label, label.nova, first_preview)
    await schedule(label, label.nova, second_preview)

    answer = await run(label.nova, "release announce-now", release=str(first))
    assert "Announcing" in answer.content
    await wait_posts(label, 1)

    async def first_recorded_as_announced() -> bool:
        # The post goes out first and is recorded right after (no transaction waits on Discord).
        return (await release_row(label.h, first)).announced_at is not None

    await label.h.wait_until(first_recorded_as_announced)
    due_before = (await release_row(label.h, second)).release_at

    refused = await run(label.nova, "release announce-now", release=str(second))
    _one_sentence(refused)
    assert "at least 30 minutes apart" in refused.content
    first_row = await release_row(label.h, first)
    assert first_row.announced_at is not None
    again = first_row.announced_at + timedelta(minutes=30)
    assert abs(_timestamp(refused.content) - again.timestamp()) < 5
    second_row = await release_row(label.h, second)
    assert (second_row.status, second_row.release_at) == (ReleaseStatus.SCHEDULED, due_before)
    assert [job.due_at for job in await jobs_of(label.h, f"release:{second}:announce")] == [due_before]
    assert len(label.posts()) == 1

    # Moderators are label staff: the cooldown is the artists' managers', not theirs.
    assert "Announcing" in (await run(mod, "release announce-now", release=str(second))).content
    await wait_posts(label, 2, timeout=LONG)
