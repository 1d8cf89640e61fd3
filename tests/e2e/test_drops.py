"""Drops end to end: a teaser with Notify me, the drop at its minute pinging exactly who asked, sold out edits it."""

from __future__ import annotations

from typing import Any

import aiohttp
from sqlalchemy import update

from labelbot.db import create_engine, create_sessionmaker
from labelbot.db.base import utcnow
from labelbot.features.drops._service import announce_key
from labelbot.jobs import ScheduledJob
from labelbot.web.hooks import rotate_webhook_secret
from tests.e2e.helpers import run, sweep_once, wait_jobs_settled
from tests.e2e.test_webhooks import Sender
from tests.fakediscord.state import FakeChannel, FakeMessage
from tests.harness import BotHarness, free_port


def posts(h: BotHarness, channel: Any) -> list[FakeMessage]:
    return [m for m in h.fake.messages(channel) if not m.ephemeral]


async def come_due(h: BotHarness, key: str) -> None:
    """The drop's minute arrives (its job is moved to now), and the engine runs it."""
    engine = create_engine(h.database_url)
    async with create_sessionmaker(engine).begin() as session:
        await session.execute(
            update(ScheduledJob).where(ScheduledJob.key == key).values(due_at=utcnow(), scheduled_for=utcnow())
        )
    await engine.dispose()
    await sweep_once(h)
    await wait_jobs_settled(h, key)


async def set_up_drops(h: BotHarness) -> FakeChannel:
    """The bot running, Nova on the roster, drops going to a #drops channel and pinging a "Drop alerts" role."""
    drops_channel = h.guild.add_channel("drops")
    alerts = h.guild.add_role("Drop alerts")
    await h.start()
    await run(h, h.moderator, "artist-admin add", name="Nova")
    await run(h, h.moderator, "drop-admin setup", role=alerts, channel=drops_channel)
    return drops_channel


async def create_poster_drop(h: BotHarness) -> None:
    """Nova's poster, drop #1 in an hour (moved to now by `come_due`)."""
    await run(
        h,
        h.moderator,
        "drop create",
        artist="Nova",
        item="Poster",
        kind="merch",
        when="in 1h",
        link="https://shop.example.org/poster",
    )


async def test_a_drop_teases_then_pings_only_the_drops_role_and_the_fan_role_when_chosen(harness: BotHarness) -> None:
    h = harness
    drops_channel = h.guild.add_channel("drops")
    alerts = h.guild.add_role("Drop alerts")
    nova_fans = h.guild.add_role("Nova fans")
    await h.start()
    added = await run(h, h.moderator, "artist-admin add", name="Nova", fan_role=nova_fans)
    assert "on the roster" in added.content, added.content
    answer = await run(h, h.moderator, "drop-admin setup", role=alerts, channel=drops_channel)
    assert "pinging" in answer.content, answer.content

    answer = await run(
        h,
        h.moderator,
        "drop create",
        artist="Nova",
        item="Night Drive 12-inch",
        kind="vinyl",
        when="in 2h",
        link="https://shop.example.org/night-drive",
        stock="300 copies",
        price="€28",
    )
    assert answer.content.startswith("Drop #1 **Night Drive 12-inch** goes live"), answer.content
    await h.wait_until(lambda: len(posts(h, drops_channel)) == 1)
    [teaser] = posts(h, drops_channel)
    assert teaser.allowed_mentions == {"parse": []}
    assert teaser.custom_ids == ["drops:notify:1"]

    fan, bystander = h.guild.add_member("collector"), h.guild.add_member("bystander")
    pressed = await (await h.fake.click(h.guild, drops_channel, fan, teaser, "drops:notify:1")).reply()
    assert pressed.ephemeral
    assert pressed.content.startswith("You'll be pinged when drops go live"), pressed.content
    assert alerts.id in h.guild.member(fan).role_ids

    await come_due(h, announce_key(1))
    [_, drop_post] = posts(h, drops_channel)
    assert drop_post.content.startswith(f"<@&{alerts.id}> **Night Drive 12-inch** by **Nova** is out now")
    assert drop_post.allowed_mentions == {"parse": [], "roles": [alerts.id]}
    assert not drop_post.mention_everyone

    # A second drop chooses to ping Nova's fans too: exactly those two roles.
    await run(
        h,
        h.moderator,
        "drop create",
        artist="Nova",
        item="Tour shirt",
        kind="merch",
        when="in 1h",
        link="https://shop.example.org/shirt",
        ping_fans=True,
    )
    await h.wait_until(lambda: len(posts(h, drops_channel)) == 3)
    await come_due(h, announce_key(2))
    shirt = posts(h, drops_channel)[-1]
    assert shirt.content.startswith(f"<@&{alerts.id}> <@&{nova_fans.id}> **Tour shirt**")
    assert shirt.allowed_mentions == {"parse": [], "roles": [alerts.id, nova_fans.id]}
    await sweep_once(h)
    assert len(posts(h, drops_channel)) == 4
    stats = await run(h, h.moderator, "supporters stats")
    assert stats.content == "There are no supporter perks yet; 1 member(s) asked to hear about drops."
    assert bystander.user.id not in {m.author.id for m in posts(h, drops_channel)}


async def test_sold_out_edits_the_drop_post(harness: BotHarness) -> None:
    h = harness
    drops_channel = await set_up_drops(h)
    await run(
        h,
        h.moderator,
        "drop create",
        artist="Nova",
        item="Test pressing",
        kind="vinyl",
        when="in 3h",
        link="https://shop.example.org/tp",
        stock="50 copies",
    )
    await h.wait_until(lambda: len(posts(h, drops_channel)) == 1)
    await come_due(h, announce_key(1))
    drop_post = posts(h, drops_channel)[-1]
    assert drop_post.embeds[0]["title"] == "Vinyl: Test pressing by Nova"

    answer = await run(h, h.moderator, "drop edit", drop="1", sold_out=True)
    assert answer.content == "Updated **Test pressing**; its posts are being edited."
    await h.wait_until(lambda: posts(h, drops_channel)[-1].embeds[0]["title"].startswith("SOLD OUT"))
    edited = posts(h, drops_channel)[-1]
    assert edited.id == drop_post.id
    assert edited.edited_at is not None
    assert {"name": "Stock", "value": "Sold out", "inline": True} in edited.embeds[0]["fields"]
    assert len(posts(h, drops_channel)) == 2

    fan = h.guild.add_member("fan")
    refused = await run(h, fan, "drop edit", drop="1", stock="none")
    assert refused.content == "Only Nova's managers and moderators can do that."


async def test_the_shop_updates_stock_and_sold_out_through_its_signed_webhook(harness: BotHarness) -> None:
    h = harness
    port = free_port()
    h.extra_env.update({"LABELBOT_WEB__ENABLED": "true", "LABELBOT_WEB__PORT": str(port)})
    drops_channel = h.guild.add_channel("drops")
    alerts = h.guild.add_role("Drop alerts")
    bot = await h.start()
    async with bot.sessionmaker.begin() as session:
        secret = await rotate_webhook_secret(session, h.guild.id)
    await run(h, h.moderator, "artist-admin add", name="Nova")
    await run(h, h.moderator, "drop-admin setup", role=alerts, channel=drops_channel)
    await run(
        h,
        h.moderator,
        "drop create",
        artist="Nova",
        item="Poster",
        kind="merch",
        when="in 1h",
        link="https://shop.example.org/poster",
        stock="20 left",
    )
    await h.wait_until(lambda: len(posts(h, drops_channel)) == 1)
    teaser = posts(h, drops_channel)[0]
    async with aiohttp.ClientSession() as http:
        shop = Sender(http, f"http://127.0.0.1:{port}", h.guild.id, secret)
        status, answer, _ = await shop.post({"id": "u-1", "drop": 1, "stock": "3 left"}, hook="drops")
        assert status == 200, answer
        await h.wait_until(
            lambda: (
                {"name": "Stock", "value": "3 left", "inline": True} in posts(h, drops_channel)[0].embeds[0]["fields"]
            )
        )
        stamp = shop.last_stamp
        status, answer, _ = await shop.post({"id": "u-1", "drop": 1, "sold_out": True}, hook="drops")
        assert status == 200, answer
        await h.wait_until(lambda: posts(h, drops_channel)[0].embeds[0]["title"].startswith("SOLD OUT"))
        # The earlier update replayed can't bring the stock back.
        status, _, _ = await shop.post({"id": "u-1", "drop": 1, "stock": "3 left"}, hook="drops", timestamp=stamp)
        assert status == 409
        status, answer, _ = await shop.post({"id": "u-2", "drop": 99, "stock": "1"}, hook="drops")
        assert status == 422
        assert answer["problems"] == ["drop: there is no drop #99 in this server"]
        status, _, _ = await shop.post({"id": "u-3", "drop": 1, "stock": "1"}, hook="drops", secret="wrong")
        assert status == 401
    assert posts(h, drops_channel)[0].id == teaser.id
    assert len(posts(h, drops_channel)) == 1


async def test_drop_dms_stay_within_the_weekly_budget_the_member_sees(harness: BotHarness) -> None:
    h = harness
    drops_channel = await set_up_drops(h)
    keen, quiet = h.guild.add_member("keen"), h.guild.add_member("quiet")

    answer = await run(h, keen, "drop dms")
    assert answer.content.startswith("You don't get drop DMs."), answer.content
    answer = await run(h, keen, "drop dms", send=True, per_week=2)
    assert answer.ephemeral
    assert answer.content == "You get drop DMs: up to 2 a week. The last 7 days used 0, so 2 left."

    items = ["Red vinyl", "Tour shirt", "Test pressing"]
    for n, item in enumerate(items, start=1):
        await run(
            h,
            h.moderator,
            "drop create",
            artist="Nova",
            item=item,
            kind="merch",
            when=f"in {n + 1}h",
            link=f"https://shop.example.org/{n}",
        )
    listed = await run(h, quiet, "drop list")
    assert listed.content.startswith("**Coming**\n#1 Merch: **Red vinyl** by Nova"), listed.content
    assert "**Out**" not in listed.content
    for n in range(1, len(items) + 1):
        await come_due(h, announce_key(n))
        if n <= 2:
            await wait_jobs_settled(h, f"drop:{n}:dm:")

    # Two drops reached the member's DMs; the third went to the channel only. The member who asked for none got none.
    dms = [m.content for m in h.fake.dms(keen.user)]
    assert len(dms) == 2, dms
    assert dms[0].startswith("**Red vinyl** by **Nova** is out now: https://shop.example.org/1")
    assert dms[1].startswith("**Tour shirt** by **Nova** is out now")
    assert h.fake.dms(quiet.user) == []
    assert (
        len([m for m in posts(h, drops_channel) if m.content.endswith("is out now: https://shop.example.org/3")]) == 1
    )
    answer = await run(h, keen, "drop dms")
    assert answer.content.startswith("You get drop DMs: up to 2 a week. The last 7 days used 2, so 0 left. The next")

    # The announcement job run again (a retry) owes nobody a second DM.
    await sweep_once(h)
    assert len(h.fake.dms(keen.user)) == 2

    listed = await run(h, quiet, "drop list")
    assert listed.content.startswith("**Out**\n#3 Merch: **Test pressing** by Nova"), listed.content
    assert "<https://shop.example.org/1>" in listed.content

    # A bigger budget frees one more; turning DMs off keeps the next drop out of the DMs.
    answer = await run(h, keen, "drop dms", per_week=3)
    assert answer.content == "You get drop DMs: up to 3 a week. The last 7 days used 2, so 1 left."
    answer = await run(h, keen, "drop dms", send=False)
    assert answer.content.startswith("You don't get drop DMs.")
    refused = await run(h, keen, "drop dms", send=False, per_week=2)
    assert refused.content == "Leave out per_week when you turn drop DMs off."


async def test_a_member_whose_dms_are_closed_keeps_their_budget(harness: BotHarness) -> None:
    h = harness
    h.fake.expect_refusals("/channels/{channel_id}/messages", status=403, code=50007, count=1)
    await set_up_drops(h)
    closed = h.guild.add_member(h.fake.add_user("closed", dms_closed=True))
    await run(h, closed, "drop dms", send=True, per_week=1)
    await create_poster_drop(h)
    await come_due(h, announce_key(1))
    [dm_job] = await wait_jobs_settled(h, "drop:1:dm:")
    assert dm_job.result == {"skipped": "DMs closed"}
    assert h.fake.dms(closed.user) == []
    answer = await run(h, closed, "drop dms")
    assert answer.content == "You get drop DMs: up to 1 a week. The last 7 days used 0, so 1 left."


async def test_a_member_who_left_gets_no_drop_dm_and_keeps_their_budget(harness: BotHarness) -> None:
    h = harness
    # Asking whether the member is still in the server: Discord answers Unknown Member for one who left.
    h.fake.expect_refusals("/guilds/{guild_id}/members/{user_id}", status=404, code=10007, count=1)
    await set_up_drops(h)
    stays, leaves = h.guild.add_member("stays"), h.guild.add_member("leaves")
    await run(h, stays, "drop dms", send=True, per_week=2)
    await run(h, leaves, "drop dms", send=True, per_week=2)
    await h.fake.remove_member_live(h.guild, leaves)
    await create_poster_drop(h)
    await come_due(h, announce_key(1))
    jobs = {job.key: job for job in await wait_jobs_settled(h, "drop:1:dm:")}
    assert jobs[f"drop:1:dm:{leaves.user.id}"].result == {"skipped": "left the server"}

    # The member who left is not DMed (Discord would deliver it if they shared another server with the bot).
    assert len(h.fake.dms(stays.user)) == 1
    assert h.fake.dms(leaves.user) == []
    # The moderator sees whom the drop's DMs reached; a member sees the drop only.
    listed = await run(h, h.moderator, "drop list")
    assert listed.content.endswith("<https://shop.example.org/poster> · DMs: 1 sent, 1 left the server"), listed.content
    listed = await run(h, stays, "drop list")
    assert "DMs:" not in listed.content, listed.content

    # Back in the server, their budget is whole: the skipped DM spent nothing.
    returned = h.guild.add_member(leaves.user)
    answer = await run(h, returned, "drop dms")
    assert answer.content == "You get drop DMs: up to 2 a week. The last 7 days used 0, so 2 left."
    answer = await run(h, stays, "drop dms")
    assert answer.content == "You get drop DMs: up to 2 a week. The last 7 days used 1, so 1 left."
