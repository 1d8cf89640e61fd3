"""Supporters end to end: signed purchases, claim codes, refunds, memberships that end at their minute, throttling."""

from __future__ import annotations

import asyncio
import csv
import io
import re
from datetime import datetime, timedelta
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select, update

from labelbot.audit.models import AuditEntry
from labelbot.db import create_engine, create_sessionmaker
from labelbot.db.base import utcnow
from labelbot.features.releases._service import announce_key as release_announce_key
from labelbot.features.supporters._service import early_close_key, early_open_key, expiry_key
from labelbot.jobs import JobStatus, ScheduledJob
from labelbot.models.supporters import ClaimCode, SupporterGrant
from labelbot.web.hooks import WebhookDelivery, rotate_webhook_secret
from tests.e2e.helpers import jobs_with_key, run, sweep_once, wait_jobs_settled
from tests.e2e.test_drops import come_due
from tests.e2e.test_webhooks import Sender
from tests.fakediscord import Permissions, interactions
from tests.fakediscord.state import FakeGuild, FakeRole
from tests.harness import BotHarness, free_port

ROLE_ROUTE = "/guilds/{guild_id}/members/{user_id}/roles/{role_id}"
CODE = re.compile(r"[A-Z2-7]{4}(-[A-Z2-7]{4}){3}")


class Shop:
    """The label's shop (or a relay) posting orders to the bot."""

    def __init__(self, harness: BotHarness, port: int, secret: str) -> None:
        self.harness, self.port, self.secret = harness, port, secret
        self.sender: Sender | None = None

    async def post(self, body: dict[str, Any] | bytes, **kwargs: Any) -> tuple[int, dict[str, Any], Any]:
        async with aiohttp.ClientSession() as http:
            if self.sender is None:
                self.sender = Sender(http, "", self.harness.guild.id, self.secret)
            self.sender.http, self.sender.base = http, f"http://127.0.0.1:{self.port}"
            return await self.sender.post(body, hook="purchases", **kwargs)


@pytest.fixture
async def shop(harness: BotHarness) -> Shop:
    port = free_port()
    harness.extra_env.update({"LABELBOT_WEB__ENABLED": "true", "LABELBOT_WEB__PORT": str(port)})
    bot = await harness.start()
    async with bot.sessionmaker.begin() as session:
        secret = await rotate_webhook_secret(session, harness.guild.id)
    return Shop(harness, port, secret)


def holds(guild: FakeGuild, user: Any, role: FakeRole) -> bool:
    return role.id in guild.member(user).role_ids


async def make_perk(h: BotHarness, name: str, earned_by: str, days: int | None = None) -> FakeRole:
    role = h.guild.add_role(name)
    options: dict[str, Any] = {"name": name, "role": role, "earned_by": earned_by}
    if days is not None:
        options["days"] = days
    answer = await run(h, h.moderator, "supporters perk create", **options)
    assert answer.content.startswith("Created the perk"), answer.content
    return role


def role_changes(h: BotHarness, method: str, role: FakeRole) -> int:
    return len([r for r in h.fake.requests_to(ROLE_ROUTE, method) if r.params.get("role_id") == str(role.id)])


async def test_a_signed_purchase_naming_the_member_grants_the_role_at_once_and_a_refund_takes_it_back(
    shop: Shop,
) -> None:
    h = shop.harness
    role = await make_perk(h, "Vinyl club", "purchase")
    fan = h.guild.add_member("crate-digger")

    status, answer, _ = await shop.post(
        {"order_id": "A-1001", "kind": "purchase", "perk": "Vinyl club", "user_id": str(fan.id)}
    )
    assert status == 200, answer
    assert answer["result"] == {"perk": "Vinyl club", "kind": "purchase", "user_id": str(fan.id)}
    await h.wait_until(lambda: holds(h.guild, fan, role))

    status, answer, _ = await shop.post({"order_id": "A-1001", "kind": "refund"})
    assert status == 200, answer
    assert answer["result"]["refunded"] is True
    await h.wait_until(lambda: not holds(h.guild, fan, role))
    await sweep_once(h)
    assert (role_changes(h, "PUT", role), role_changes(h, "DELETE", role)) == (1, 1)


async def test_an_order_without_a_member_answers_a_code_that_claim_redeems_once(shop: Shop) -> None:
    h = shop.harness
    role = await make_perk(h, "Pre-order club", "pre-order")
    fan, other = h.guild.add_member("listener"), h.guild.add_member("freeloader")

    status, answer, _ = await shop.post({"order_id": 55, "kind": "pre-order", "perk": "pre-order CLUB"})
    assert status == 200, answer
    code = answer["result"]["claim_code"]
    assert CODE.fullmatch(code)
    # The shop retries: the same code, and nothing stored holds it in the clear.
    status, again, headers = await shop.post({"order_id": 55, "kind": "pre-order", "perk": "pre-order CLUB"})
    assert (status, again, headers["X-Labelbot-Duplicate"]) == (200, answer, "true")
    assert h.bot is not None
    async with h.bot.sessionmaker() as session:
        stored = list(await session.scalars(select(WebhookDelivery.response)))
        hashes = list(await session.scalars(select(ClaimCode.code_sha256)))
    assert code not in repr(stored)
    assert len(hashes) == 1
    assert code.replace("-", "") not in hashes[0]

    reply = await run(h, fan, "claim", code=code.lower())
    assert reply.ephemeral
    assert "Thank you for your support" in reply.content, reply.content
    assert reply.allowed_mentions == {"parse": []}
    await h.wait_until(lambda: holds(h.guild, fan, role))

    reply = await run(h, other, "claim", code=code)
    assert reply.content == "That code was already claimed; each code works once."
    assert not holds(h.guild, other, role)

    reply = await run(h, fan, "perks")
    assert "Pre-order club" in reply.content
    assert "for good" in reply.content


async def test_a_membership_ends_at_its_minute_exactly_once_across_a_restart_and_a_renewal_extends_it(
    shop: Shop,
) -> None:
    h = shop.harness
    role = await make_perk(h, "Members", "membership", days=31)
    fan = h.guild.add_member("member")
    before = utcnow()
    status, answer, _ = await shop.post({"order_id": "M-1", "kind": "membership", "perk": "Members", "user_id": fan.id})
    assert status == 200, answer
    await h.wait_until(lambda: holds(h.guild, fan, role))
    key = expiry_key(1, fan.id)
    [job] = await jobs_with_key(h.database_url, key)
    assert timedelta(days=31) <= job.due_at - before < timedelta(days=31, minutes=1)

    # Renewed before it ends: it now ends 31 days after the first period.
    status, answer, _ = await shop.post({"order_id": "M-2", "kind": "membership", "perk": "Members", "user_id": fan.id})
    assert status == 200, answer
    [renewed] = await jobs_with_key(h.database_url, key)
    assert renewed.due_at - job.due_at == timedelta(days=31)
    reply = await run(h, fan, "perks")
    assert f"<t:{int(renewed.due_at.timestamp())}:F>" in reply.content

    # The bot goes down; while it is down the 62 days pass (the grants and the job are moved to the past).
    await h.stop()

    engine = create_engine(h.database_url)
    shift = renewed.due_at - utcnow() + timedelta(seconds=1)
    async with create_sessionmaker(engine).begin() as session:
        for grant in await session.scalars(select(SupporterGrant)):
            grant.starts_at -= shift
            grant.expires_at = grant.expires_at - shift if grant.expires_at else None
        await session.execute(
            update(ScheduledJob)
            .where(ScheduledJob.key == key)
            .values(due_at=renewed.due_at - shift, scheduled_for=renewed.due_at - shift)
        )
    await engine.dispose()
    assert holds(h.guild, fan, role)
    await h.start()
    await h.wait_until(lambda: not holds(h.guild, fan, role), timeout=15)
    await h.restart()
    await sweep_once(h)
    [done] = await jobs_with_key(h.database_url, key)
    assert done.status == JobStatus.DONE
    assert role_changes(h, "DELETE", role) == 1
    assert role_changes(h, "PUT", role) == 1


async def test_six_wrong_codes_in_an_hour_throttle_the_member_and_tell_the_moderators(shop: Shop) -> None:
    h = shop.harness
    mod_log = h.guild.add_channel("mod-log")
    await run(h, h.moderator, "settings channel", kind="mod_log", channel=mod_log)
    role = await make_perk(h, "Card holders", "free-code")
    answer = await run(h, h.moderator, "supporters codes create", perk="Card holders", count=1)
    [good] = [row["code"] for row in csv.DictReader(io.StringIO(answer.attachments[0].data.decode()))]
    guesser = h.guild.add_member("guesser")

    for attempt in range(5):
        reply = await run(h, guesser, "claim", code=f"AAAA-BBBB-CCCC-DDD{attempt + 2}")
        assert reply.content == "That code isn't one of ours; check it against your card or receipt."
    # The sixth try is refused even with a good code, and the moderators hear about it once.
    reply = await run(h, guesser, "claim", code=good)
    assert reply.content == "Too many wrong codes in the last hour; try again later, or ask a moderator."
    reply = await run(h, guesser, "claim", code="nonsense")
    assert reply.content.startswith("Too many wrong codes")
    assert not holds(h.guild, guesser, role)
    assert h.bot is not None
    async with h.bot.sessionmaker() as session:
        actions = list(await session.scalars(select(AuditEntry.action)))
    assert actions.count("supporters.claim_throttled") == 1
    await h.wait_until(
        lambda: any(
            e.get("title") == "Member throttled after wrong claim codes"
            for m in h.fake.messages(mod_log)
            for e in m.embeds
        )
    )
    # Someone else is not throttled by it.
    fan = h.guild.add_member("fan")
    reply = await run(h, fan, "claim", code=good)
    assert "Thank you for your support" in reply.content

    stats = await run(h, h.moderator, "supporters stats")
    assert stats.content == (
        "**Card holders**: 1 active, 1 new and 0 ending this month, codes 1/1 claimed\nDrop sign-ups (Notify me): 0"
    )
    [row] = list(csv.DictReader(io.StringIO(stats.attachments[0].data.decode())))
    assert row == {
        "perk": "Card holders",
        "active": "1",
        "new_this_month": "1",
        "expiring_this_month": "0",
        "codes_issued": "1",
        "codes_redeemed": "1",
    }


async def test_a_code_batch_comes_back_as_a_csv_of_distinct_codes_that_expire(shop: Shop) -> None:
    h = shop.harness
    await make_perk(h, "Download card", "free-code")
    answer = await run(h, h.moderator, "supporters codes create", perk="Download card", count=25, expires="in 2h")
    assert answer.ephemeral
    [attachment] = answer.attachments
    rows = list(csv.DictReader(io.StringIO(attachment.data.decode())))
    codes = {row["code"] for row in rows}
    assert len(codes) == 25
    assert all(CODE.fullmatch(code) for code in codes)
    assert {row["perk"] for row in rows} == {"Download card"}
    assert h.bot is not None
    async with h.bot.sessionmaker.begin() as session:
        stored = list(await session.scalars(select(ClaimCode)))
        assert len(stored) == 25
        assert not codes & {row.code_sha256 for row in stored}
        for row in stored:
            row.expires_at = utcnow() - timedelta(minutes=1)
    fan = h.guild.add_member("late")
    reply = await run(h, fan, "claim", code=sorted(codes)[0])
    assert reply.content == "That code has expired."

    # /supporters is the moderators' (default_member_permissions): Discord does not even offer it to a member...
    with pytest.raises(AssertionError, match="cannot see /supporters"):
        await run(h, fan, "supporters codes create", perk="Download card", count=1)
    # ...and one let in through the server's Integrations settings is still refused by the bot.
    h.guild.open_command("supporters", fan)
    reply = await run(h, fan, "supporters codes create", perk="Download card", count=1)
    assert reply.content == "Only moderators (Manage Server or the moderator role) can do that."


async def test_a_perk_refuses_the_moderator_role_and_powerful_roles(shop: Shop) -> None:
    h = shop.harness
    staff = h.guild.add_role("Staff")
    await run(h, h.moderator, "settings role", kind="moderator", role=staff)
    reply = await run(h, h.moderator, "supporters perk create", name="Oops", role=staff, earned_by="purchase")
    assert reply.content == f"<@&{staff.id}> is this server's moderator role, so I won't hand it out."
    bouncer = h.guild.add_role("Bouncer", permissions=1 << 1, position=1)  # kick members
    reply = await run(h, h.moderator, "supporters perk create", name="Oops", role=bouncer, earned_by="purchase")
    assert "powerful permissions (kick members)" in reply.content
    reply = await run(h, h.moderator, "supporters perk list")
    assert reply.content.startswith("There are no supporter perks yet")


async def test_the_purchases_webhook_refuses_forged_replayed_and_malformed_orders(shop: Shop) -> None:
    h = shop.harness
    role = await make_perk(h, "Tickets", "ticket")
    fan = h.guild.add_member("gig-goer")
    body = {"order_id": "T-9", "kind": "ticket", "perk": "Tickets", "user_id": str(fan.id)}
    status, answer, _ = await shop.post(body, secret="not-the-secret")
    assert (status, answer) == (401, {"ok": False, "error": "invalid signature or timestamp"})
    status, _, _ = await shop.post(body, timestamp=int(utcnow().timestamp()) - 600)
    assert status == 401
    status, _, _ = await shop.post(body, signed_for="releases")
    assert status == 401

    problems = [
        ({**body, "kind": "gift"}, "kind:"),
        ({**body, "perk": "Nope"}, "perk:"),
        ({**body, "kind": "membership"}, "kind:"),
        ({**body, "user_id": "not a user"}, "user_id:"),
        ({**body, "email": "fan@example.com"}, "email:"),
        ({"order_id": "T-10", "kind": "refund"}, "order_id:"),
        ({"kind": "ticket", "perk": "Tickets"}, "order_id:"),
    ]
    for sent, field in problems:
        status, answer, _ = await shop.post(sent)
        assert status == 422, (sent, answer)
        assert any(problem.startswith(field) for problem in answer["problems"]), (sent, answer)
    status, answer, _ = await shop.post(b"{not json")
    assert status == 422
    assert not holds(h.guild, fan, role)

    status, _, _ = await shop.post(body)
    assert status == 200
    await h.wait_until(lambda: holds(h.guild, fan, role))
    # A captured earlier delivery of the order can't be replayed after the refund to grant it again.
    stamp = shop.sender.last_stamp if shop.sender else 0
    status, _, _ = await shop.post({"order_id": "T-9", "kind": "refund"})
    assert status == 200
    await h.wait_until(lambda: not holds(h.guild, fan, role))
    status, answer, _ = await shop.post({**body, "perk": "tickets"}, timestamp=stamp)
    assert status == 409, answer
    await sweep_once(h)
    assert not holds(h.guild, fan, role)


async def test_an_orders_csv_import_makes_each_order_claimable_by_its_code(shop: Shop) -> None:
    h = shop.harness
    role = await make_perk(h, "Vinyl club", "purchase")
    orders = b"Order ID,Product,Code\nS-1,Vinyl club,shop-code-0001-xy\nS-2,vinyl CLUB,\n"
    answer = await run(h, h.moderator, "supporters import", orders=("orders.csv", orders))
    assert answer.content.startswith("Imported 2 order(s); 0 were already known. 1 had no code"), answer.content
    [made] = list(csv.DictReader(io.StringIO(answer.attachments[0].data.decode())))
    assert made["order_id"] == "S-2"
    assert CODE.fullmatch(made["code"])

    first, second = h.guild.add_member("first"), h.guild.add_member("second")
    assert "Thank you" in (await run(h, first, "claim", code="SHOP CODE 0001 XY")).content
    assert "Thank you" in (await run(h, second, "claim", code=made["code"])).content
    await h.wait_until(lambda: holds(h.guild, first, role) and holds(h.guild, second, role))

    # The same export again (shops export everything each time): nothing new, nothing doubled.
    answer = await run(h, h.moderator, "supporters import", orders=("orders.csv", orders))
    assert answer.content == (
        "Imported 0 order(s); 2 were already known. Buyers claim them with `/claim` and the code on their order."
    )
    # A file with one bad row changes nothing.
    bad = b"order_id,product\nS-3,Vinyl club\nS-4,Cassette club\n"
    answer = await run(h, h.moderator, "supporters import", orders=("more.csv", bad))
    assert answer.content == "Row 3: there is no supporter perk called “Cassette club”."
    assert h.bot is not None
    async with h.bot.sessionmaker() as session:
        assert len(list(await session.scalars(select(ClaimCode)))) == 2


async def schedule_release(h: BotHarness, title: str, when: str) -> None:
    """/release create, its form, then Schedule on the preview: a scheduled release, as a moderator makes one."""
    ix = await interactions.slash(
        h.fake, h.guild, h.general, h.moderator, "release create", {"artist": "Nova", "title": title, "when": when}
    )
    modal = await ix.modal()
    submitted = await h.fake.submit_modal(h.guild, h.general, h.moderator, modal, {"description": "Out soon."})
    preview = await submitted.reply()
    [schedule] = [c for c in preview.custom_ids if c.startswith("release:schedule:")]
    await (await h.fake.click(h.guild, None, h.moderator, preview, schedule)).reply()


async def test_the_early_channel_opens_to_supporters_only_then_the_release_is_announced_at_its_minute(
    harness: BotHarness,
) -> None:
    h = harness
    announcements = h.guild.add_channel("announcements")
    assert h.guild.me is not None
    # A supporters' channel: hidden from @everyone, open to the bot.
    early = h.guild.add_channel(
        "listen-early",
        overwrites=[
            {"id": h.guild.id, "type": 0, "deny": Permissions.VIEW_CHANNEL},
            {"id": h.guild.me.id, "type": 1, "allow": Permissions.VIEW_CHANNEL | Permissions.SEND_MESSAGES},
        ],
    )
    await h.start()
    await run(h, h.moderator, "settings channel", kind="announcements", channel=announcements)
    await run(h, h.moderator, "artist-admin add", name="Nova")
    role = await make_perk(h, "Vinyl club", "purchase")
    supporter, fan = h.guild.add_member("supporter"), h.guild.add_member("fan")
    h.guild.member(supporter).role_ids.append(role.id)
    await schedule_release(h, "Night Drive", "in 3h")

    refused = await run(
        h,
        h.moderator,
        "supporters early create",
        release="1",
        perk="Vinyl club",
        channel=h.general,
        hours=2,
        links="https://private.example.org/a",
    )
    assert refused.content.startswith(f"<#{h.general.id}> is visible to everyone"), refused.content
    answer = await run(
        h,
        h.moderator,
        "supporters early create",
        release="1",
        perk="Vinyl club",
        channel=early,
        hours=2,
        links="https://private.example.org/a https://private.example.org/b",
        close_after=1,
    )
    assert answer.content.startswith(f"<#{early.id}> opens to <@&{role.id}> <t:"), answer.content
    [opening] = await jobs_with_key(h.database_url, early_open_key(1))
    [announce] = await jobs_with_key(h.database_url, release_announce_key(1))
    assert announce.due_at - opening.due_at == timedelta(hours=2)
    assert not h.guild.can_see(supporter, early)
    assert not h.guild.can_see(fan, early)

    # The opening time: supporters (and only they) see the channel, with the links, pinged by their role alone.
    await come_due(h, early_open_key(1))
    assert h.guild.can_see(supporter, early)
    assert not h.guild.can_see(fan, early)
    assert h.guild.who_can_see(early) == {h.guild.me.id, h.moderator.id, h.guild.member(supporter).id}
    [post] = h.fake.messages(early)
    assert "**Listen early: Night Drive** by **Nova**" in post.content
    assert "<https://private.example.org/b>" in post.content
    assert post.allowed_mentions is not None
    assert (post.allowed_mentions["parse"], post.allowed_mentions["roles"]) == ([], [role.id])
    assert h.fake.messages(announcements) == []

    # Run again (a retry), the opening changes nothing and posts nothing.
    puts = len(h.fake.requests_to("/channels/{channel_id}/permissions/{overwrite_id}", "PUT"))
    await sweep_once(h)
    assert len(h.fake.messages(early)) == 1
    assert len(h.fake.requests_to("/channels/{channel_id}/permissions/{overwrite_id}", "PUT")) == puts == 1

    # The embargo minute: the public announcement; an hour later the early channel closes again.
    await come_due(h, release_announce_key(1))
    await h.wait_until(lambda: len(h.fake.messages(announcements)) == 1)
    assert "Night Drive" in h.fake.messages(announcements)[0].text
    await come_due(h, early_close_key(1))
    assert not h.guild.can_see(supporter, early)
    assert h.guild.who_can_see(early) == {h.guild.me.id, h.moderator.id}


async def move_membership_end(h: BotHarness, key: str, was: datetime, now_ends: datetime) -> None:
    """Time passes while the bot is down: the grants and the expiry job are moved so the membership ends `now_ends`."""

    shift = was - now_ends
    engine = create_engine(h.database_url)
    async with create_sessionmaker(engine).begin() as session:
        for grant in await session.scalars(select(SupporterGrant)):
            grant.starts_at -= shift
            grant.expires_at = grant.expires_at - shift if grant.expires_at else None
        await session.execute(
            update(ScheduledJob).where(ScheduledJob.key == key).values(due_at=now_ends, scheduled_for=now_ends)
        )
    await engine.dispose()


@pytest.mark.slow
async def test_a_membership_ends_at_its_minute_exactly_once_across_a_kill_9(shop: Shop) -> None:
    h = shop.harness
    role = await make_perk(h, "Members", "membership", days=31)
    fan = h.guild.add_member("member")
    status, answer, _ = await shop.post({"order_id": "M-1", "kind": "membership", "perk": "Members", "user_id": fan.id})
    assert status == 200, answer
    await h.wait_until(lambda: holds(h.guild, fan, role))
    key = expiry_key(1, fan.id)
    [first] = await jobs_with_key(h.database_url, key)
    # Renewed before it ends: one job, 31 days later.
    status, answer, _ = await shop.post({"order_id": "M-2", "kind": "membership", "perk": "Members", "user_id": fan.id})
    assert status == 200, answer
    [renewed] = await jobs_with_key(h.database_url, key)
    assert renewed.due_at - first.due_at == timedelta(days=31)
    await h.stop()

    # 62 days pass but for a minute: the membership now ends a minute from now.
    await move_membership_end(h, key, renewed.due_at, utcnow() + timedelta(minutes=1))

    # The bot runs, and is SIGKILLed before the minute; the minute passes while it is down.
    process = h.spawn()
    await h.wait_until(lambda: " started:" in process.output(), timeout=30)
    process.kill()
    [pending] = await jobs_with_key(h.database_url, key)
    assert pending.status == JobStatus.PENDING
    assert holds(h.guild, fan, role)
    await move_membership_end(h, key, pending.due_at, utcnow() - timedelta(seconds=1))

    # Restarted: the role goes at once (late, never left in place), and only once.
    process = h.spawn()
    await h.wait_until(lambda: not holds(h.guild, fan, role), timeout=30)
    await wait_jobs_settled(h, key)
    await asyncio.sleep(2)
    await process.terminate()
    [done] = await jobs_with_key(h.database_url, key)
    assert done.status == JobStatus.DONE
    assert done.attempts == 1
    assert role_changes(h, "DELETE", role) == 1
    assert role_changes(h, "PUT", role) == 1


async def test_stats_for_one_artist_count_only_that_artists_perks(shop: Shop) -> None:
    h = shop.harness
    await run(h, h.moderator, "artist-admin add", name="Nova")
    await run(h, h.moderator, "artist-admin add", name="Vale")
    await make_perk(h, "Label club", "purchase")
    nova_role = h.guild.add_role("Nova vinyl club")
    answer = await run(
        h, h.moderator, "supporters perk create", name="Nova club", role=nova_role, earned_by="purchase", artist="Nova"
    )
    assert answer.content.startswith("Created the perk"), answer.content
    fan = h.guild.add_member("fan")
    status, answer, _ = await shop.post({"order_id": "N-1", "kind": "purchase", "perk": "Nova club", "user_id": fan.id})
    assert status == 200, answer

    stats = await run(h, h.moderator, "supporters stats", artist="Nova")
    assert stats.content.startswith("**Nova club**: 1 active, 1 new"), stats.content
    assert "Label club" not in stats.content
    [row] = list(csv.DictReader(io.StringIO(stats.attachments[0].data.decode())))
    assert row["perk"] == "Nova club"
    everything = await run(h, h.moderator, "supporters stats")
    assert "**Label club**" in everything.content
    assert "**Nova club**" in everything.content
    none = await run(h, h.moderator, "supporters stats", artist="Vale")
    assert none.content == "Vale has no supporter perks yet; 0 member(s) asked to hear about drops."

    # The perk goes back to the label: the artist's figures no longer count it, the label's still do.
    both = await run(h, h.moderator, "supporters perk edit", perk="Nova club", artist="Vale", no_artist=True)
    assert both.content == "Give an artist or no_artist, not both.", both.content
    cleared = await run(h, h.moderator, "supporters perk edit", perk="Nova club", no_artist=True)
    assert cleared.content.startswith("Changed the perk: **Nova club**"), cleared.content
    gone = await run(h, h.moderator, "supporters stats", artist="Nova")
    assert gone.content.startswith("Nova has no supporter perks yet"), gone.content
    assert "**Nova club**: 1 active" in (await run(h, h.moderator, "supporters stats")).content


@pytest.mark.slow
async def test_a_membership_ending_while_the_bot_is_killed_mid_removal_ends_once(shop: Shop) -> None:
    h = shop.harness
    role = await make_perk(h, "Members", "membership", days=31)
    fan = h.guild.add_member("member")
    status, answer, _ = await shop.post({"order_id": "M-1", "kind": "membership", "perk": "Members", "user_id": fan.id})
    assert status == 200, answer
    await h.wait_until(lambda: holds(h.guild, fan, role))
    key = expiry_key(1, fan.id)
    [job] = await jobs_with_key(h.database_url, key)
    await h.stop()
    await move_membership_end(h, key, job.due_at, utcnow() - timedelta(seconds=1))

    # The role's removal is on its way to Discord when the bot is SIGKILLed: whether Discord applied it or not,
    # the bot never recorded it.
    slow = h.fake.slow_route(ROLE_ROUTE, 3.0)
    process = h.spawn()
    await h.wait_until(lambda: bool(slow.arrived), timeout=30)
    process.kill()
    [claimed] = await jobs_with_key(h.database_url, key)
    assert claimed.status != JobStatus.DONE

    process = h.spawn()
    await wait_jobs_settled(h, key)
    await h.wait_until(lambda: not holds(h.guild, fan, role), timeout=10)
    await asyncio.sleep(2)
    await process.terminate()
    [done] = await jobs_with_key(h.database_url, key)
    assert done.status == JobStatus.DONE
    # At most the interrupted removal and its repeat (a no-op for Discord); the role was never given back.
    assert 1 <= role_changes(h, "DELETE", role) <= 2
    assert role_changes(h, "PUT", role) == 1
    assert not holds(h.guild, fan, role)


async def test_a_postponed_release_moves_its_early_window_with_it(harness: BotHarness) -> None:
    h = harness
    announcements = h.guild.add_channel("announcements")
    assert h.guild.me is not None
    early = h.guild.add_channel(
        "listen-early",
        overwrites=[
            {"id": h.guild.id, "type": 0, "deny": Permissions.VIEW_CHANNEL},
            {"id": h.guild.me.id, "type": 1, "allow": Permissions.VIEW_CHANNEL | Permissions.SEND_MESSAGES},
        ],
    )
    await h.start()
    await run(h, h.moderator, "settings channel", kind="announcements", channel=announcements)
    await run(h, h.moderator, "artist-admin add", name="Nova")
    role = await make_perk(h, "Vinyl club", "purchase")
    supporter = h.guild.add_member("supporter")
    h.guild.member(supporter).role_ids.append(role.id)
    await schedule_release(h, "Night Drive", "in 3h")
    await run(
        h,
        h.moderator,
        "supporters early create",
        release="1",
        perk="Vinyl club",
        channel=early,
        hours=2,
        links="https://private.example.org/a",
        close_after=1,
    )
    edited = await run(h, h.moderator, "release edit", release="1", when="in 30h")
    assert "Night Drive" in edited.text, edited.text
    [announce] = await jobs_with_key(h.database_url, release_announce_key(1))

    # The window moved with the release, in the same edit: its opening and closing are a day later too.
    [opening] = await jobs_with_key(h.database_url, early_open_key(1))
    assert opening.status == JobStatus.PENDING
    assert opening.due_at == announce.due_at - timedelta(hours=2)
    [closing] = await jobs_with_key(h.database_url, early_close_key(1))
    assert closing.due_at == announce.due_at + timedelta(hours=1)
    await sweep_once(h)
    assert not h.guild.can_see(supporter, early)
    assert h.fake.messages(early) == []

    await come_due(h, early_open_key(1))
    assert h.guild.can_see(supporter, early)
    assert len(h.fake.messages(early)) == 1


def early_channel(h: BotHarness) -> Any:
    """A supporters' channel: hidden from @everyone, open to the bot."""
    assert h.guild.me is not None
    return h.guild.add_channel(
        "listen-early",
        overwrites=[
            {"id": h.guild.id, "type": 0, "deny": Permissions.VIEW_CHANNEL},
            {"id": h.guild.me.id, "type": 1, "allow": Permissions.VIEW_CHANNEL | Permissions.SEND_MESSAGES},
        ],
    )


async def test_a_release_moved_earlier_brings_its_early_window_forward_at_once(harness: BotHarness) -> None:
    h = harness
    announcements = h.guild.add_channel("announcements")
    early = early_channel(h)
    await h.start()
    await run(h, h.moderator, "settings channel", kind="announcements", channel=announcements)
    await run(h, h.moderator, "artist-admin add", name="Nova")
    role = await make_perk(h, "Vinyl club", "purchase")
    supporter = h.guild.add_member("supporter")
    h.guild.member(supporter).role_ids.append(role.id)
    await schedule_release(h, "Night Drive", "in 30h")
    await run(
        h,
        h.moderator,
        "supporters early create",
        release="1",
        perk="Vinyl club",
        channel=early,
        hours=2,
        links="https://private.example.org/a",
        close_after=1,
    )

    # Brought forward a day: the opening and the closing come forward with it, before the old opening time.
    await run(h, h.moderator, "release edit", release="1", when="in 5h")
    [announce] = await jobs_with_key(h.database_url, release_announce_key(1))
    [opening] = await jobs_with_key(h.database_url, early_open_key(1))
    [closing] = await jobs_with_key(h.database_url, early_close_key(1))
    assert opening.status == JobStatus.PENDING
    assert opening.due_at == announce.due_at - timedelta(hours=2)
    assert closing.due_at == announce.due_at + timedelta(hours=1)
    assert not h.guild.can_see(supporter, early)

    # Brought forward inside the window: the channel opens to supporters now, once, with the links.
    await run(h, h.moderator, "release edit", release="1", when="in 1h")
    await sweep_once(h)
    await wait_jobs_settled(h, early_open_key(1))
    assert h.guild.can_see(supporter, early)
    [post] = h.fake.messages(early)
    assert "**Listen early: Night Drive**" in post.content
    [announce] = await jobs_with_key(h.database_url, release_announce_key(1))
    [closing] = await jobs_with_key(h.database_url, early_close_key(1))
    assert closing.due_at == announce.due_at + timedelta(hours=1)
    await sweep_once(h)
    assert len(h.fake.messages(early)) == 1
    assert h.fake.messages(announcements) == []


async def test_early_windows_are_listed_and_cancelled_once_and_an_open_one_closes_now(harness: BotHarness) -> None:
    h = harness
    announcements = h.guild.add_channel("announcements")
    early = early_channel(h)
    await h.start()
    await run(h, h.moderator, "settings channel", kind="announcements", channel=announcements)
    await run(h, h.moderator, "artist-admin add", name="Nova")
    vinyl = await make_perk(h, "Vinyl club", "purchase")
    members = await make_perk(h, "Members", "membership", days=31)
    supporter = h.guild.add_member("supporter")
    h.guild.member(supporter).role_ids.extend([vinyl.id, members.id])
    await schedule_release(h, "Night Drive", "in 30h")
    nothing = await run(h, h.moderator, "supporters early list")
    assert nothing.content == "There are no early windows yet; set one with `/supporters early create`."
    for perk, hours in (("Vinyl club", 2), ("Members", 24)):
        answer = await run(
            h,
            h.moderator,
            "supporters early create",
            release="1",
            perk=perk,
            channel=early,
            hours=hours,
            links="https://private.example.org/a",
            close_after=1,
        )
        assert answer.content.startswith(f"<#{early.id}> opens"), answer.content

    listed = await run(h, h.moderator, "supporters early list")
    assert listed.ephemeral
    lines = listed.content.splitlines()
    assert lines[0] == "**Coming and open**"
    # By opening time: the Members' window (24 hours ahead) first.
    assert lines[1].startswith(f"#2 **Night Drive** · **Members** in <#{early.id}> (coming): opens <t:"), lines
    assert lines[2].startswith(f"#1 **Night Drive** · **Vinyl club** in <#{early.id}> (coming): opens <t:"), lines
    assert ", closes <t:" in lines[1]

    # A window not yet open: dropped with its jobs, in one go; a second cancel finds nothing.
    cancelled = await run(h, h.moderator, "supporters early cancel", window="1")
    assert cancelled.content == f"Cancelled the early window of **Night Drive**: <#{early.id}> will not open."
    assert {job.status for job in await jobs_with_key(h.database_url, "supporters:early:1:")} == {JobStatus.CANCELLED}
    for typed in ("1", "abc", "99999999999999999999"):
        again = await run(h, h.moderator, "supporters early cancel", window=typed)
        assert again.content == "Pick an early window from the list.", again.content
    await sweep_once(h)
    assert h.fake.messages(early) == []

    # A window already open closes to its supporters now, through its closing job, once.
    await come_due(h, early_open_key(2))
    assert h.guild.can_see(supporter, early)
    closing = await run(h, h.moderator, "supporters early cancel", window="#2")
    assert closing.content == (
        f"The early window of **Night Drive** was already open: <#{early.id}> closes to its supporters now."
    )
    await sweep_once(h)
    await wait_jobs_settled(h, early_close_key(2))
    assert not h.guild.can_see(supporter, early)
    deletes = len(h.fake.requests_to("/channels/{channel_id}/permissions/{overwrite_id}", "DELETE"))
    assert deletes == 1
    closed = await run(h, h.moderator, "supporters early cancel", window="2")
    assert closed.content == "That early window has already closed."

    # Moving the release afterwards leaves the closed window closed.
    await run(h, h.moderator, "release edit", release="1", when="in 40h")
    [job] = await jobs_with_key(h.database_url, early_close_key(2))
    assert job.status == JobStatus.DONE
    listed = await run(h, h.moderator, "supporters early list")
    assert listed.content.splitlines()[0] == "**Closed**", listed.content
    assert listed.content.splitlines()[1].startswith("#2 **Night Drive** · **Members**")
    assert "(closed): opened <t:" in listed.content
    assert ", closed <t:" in listed.content
    async with h.bot.sessionmaker() as session:
        actions = list(
            await session.scalars(select(AuditEntry.action).where(AuditEntry.action == "supporters.early_cancel"))
        )
    assert len(actions) == 2
