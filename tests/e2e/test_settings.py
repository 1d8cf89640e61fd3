"""/settings end to end: a moderator sets the server up; refusals change nothing; every change is audited."""

from __future__ import annotations

import os
import re
from datetime import timedelta

import pytest

from labelbot.audit.service import AUDIT_POST
from labelbot.db.base import utcnow
from labelbot.guilds.service import member_zone
from labelbot.jobs import JobContext, JobFailed, JobStatus, ScheduledJob
from labelbot.jobs.queue import HOST
from labelbot.permissions import MODERATORS_ONLY
from tests.e2e.helpers import (
    NO_PINGS,
    audit_entries,
    audit_posts_done,
    database_state,
    embed_fields,
    guild_settings,
    guild_state,
    run,
    running,
)
from tests.fakediscord import ChannelType, Permissions
from tests.harness import BotHarness


async def test_a_moderator_sets_the_server_up_and_show_reflects_it(harness: BotHarness) -> None:
    guild = harness.guild
    news = guild.add_channel("announcements", type=ChannelType.news)
    parties = guild.add_channel("listening-parties")
    forum = guild.add_channel("collab-board", type=ChannelType.forum)
    events = guild.add_channel("events")
    mod_log = guild.add_channel("mod-log")
    staff = guild.add_role("Label staff")
    artists = guild.add_role("Artists")
    every_release = guild.add_role("Every release", mentionable=True)
    await harness.start()
    mod = harness.moderator

    for kind, channel in [
        ("announcements", news),
        ("parties", parties),
        ("collab_board", forum),
        ("events", events),
        ("mod_log", mod_log),
    ]:
        reply = await run(harness, mod, "settings channel", kind=kind, channel=channel)
        assert reply.ephemeral
        assert f"is now {channel.mention}" in reply.content, reply.content
    for kind, role in [("moderator", staff), ("artist", artists), ("all_releases", every_release)]:
        reply = await run(harness, mod, "settings role", kind=kind, role=role)
        assert f"is now {role.mention}" in reply.content, reply.content
    reply = await run(harness, mod, "settings timezone", zone="europe/berlin")
    assert "Europe/Berlin" in reply.content
    reply = await run(harness, mod, "settings toggle", name="release_approval", enabled=True)
    assert reply.content == "Release approval is now on."

    reply = await run(harness, mod, "settings show")
    assert reply.ephemeral
    assert reply.allowed_mentions == NO_PINGS
    fields = embed_fields(reply)
    assert fields["Time zone"] == "Europe/Berlin"
    for channel in (news, parties, forum, events, mod_log):
        assert channel.mention in fields["Channels"]
    for role in (staff, artists, every_release):
        assert role.mention in fields["Roles"]
    assert "Release approval: on" in fields["Features"]
    assert "Collab approval: off" in fields["Features"]
    assert "<t:" in fields["Last changed"], "times are shown as Discord timestamps"

    stored = await guild_settings(harness)
    assert stored is not None
    assert (stored.announcements_channel_id, stored.collab_board_channel_id) == (news.id, forum.id)
    assert (stored.moderator_role_id, stored.all_releases_role_id) == (staff.id, every_release.id)
    assert stored.timezone == "Europe/Berlin"
    assert stored.release_approval is True


async def test_every_change_is_audited_once_and_posted_to_the_mod_log(labelbot: BotHarness) -> None:
    guild, mod = labelbot.guild, labelbot.moderator
    mod_log = guild.add_channel("mod-log")
    staff = guild.add_role("Label staff")

    await run(labelbot, mod, "settings channel", kind="mod_log", channel=mod_log)
    await run(labelbot, mod, "settings timezone", zone="America/New_York")
    await run(labelbot, mod, "settings role", kind="moderator", role=staff)
    # The same value again is no change: nothing to record.
    reply = await run(labelbot, mod, "settings timezone", zone="America/New_York")
    assert reply.content == "The server's time zone already is America/New_York."

    entries = await audit_entries(labelbot)
    assert [(e.action, e.actor_id) for e in entries] == [
        ("settings.channel", mod.id),
        ("settings.timezone", mod.id),
        ("settings.role", mod.id),
    ]
    assert (entries[0].before, entries[0].after) == ({"channel_id": None}, {"channel_id": mod_log.id})
    assert (entries[1].before, entries[1].after) == ({"timezone": "UTC"}, {"timezone": "America/New_York"})
    assert (entries[2].before, entries[2].after) == ({"role_id": None}, {"role_id": staff.id})

    await labelbot.wait_until(lambda: audit_posts_done(labelbot, 3), timeout=15)
    posts = labelbot.fake.messages(mod_log)
    assert len(posts) == 3
    assert all(post.allowed_mentions == NO_PINGS for post in posts)
    titles = [post.embeds[0]["title"] for post in posts]
    assert titles == ["Channel setting changed", "Server time zone changed", "Role setting changed"]
    assert staff.mention in str(posts[2].embeds[0]["fields"])
    assert f"<@{mod.id}>" in posts[0].embeds[0]["description"]


async def test_members_who_are_not_moderators_are_refused(labelbot: BotHarness) -> None:
    guild, fake = labelbot.guild, labelbot.fake
    alice = guild.add_member(fake.add_user("alice"))
    channel = guild.add_channel("announcements")
    before = await database_state(labelbot)
    # Discord's client hides /settings from members (below), but a server admin may open it to everyone in
    # Server Settings > Integrations: the bot still refuses.
    synced = {c["name"]: c for c in fake.synced_commands(guild)}
    assert synced["settings"]["default_member_permissions"] == str(Permissions.MANAGE_GUILD)
    with pytest.raises(AssertionError, match="alice cannot see /settings"):
        await run(labelbot, alice, "settings show")
    guild.open_command("settings", guild.everyone)

    for command, options in [
        ("settings channel", {"kind": "announcements", "channel": channel}),
        ("settings timezone", {"zone": "Europe/Berlin"}),
        ("settings toggle", {"name": "collab_approval", "enabled": True}),
        ("settings show", {}),
        ("settings jobs", {}),
    ]:
        reply = await run(labelbot, alice, command, **options)
        assert reply.ephemeral
        assert reply.content == MODERATORS_ONLY, command
    assert await database_state(labelbot) == before


async def test_the_moderator_role_and_manage_server_make_a_moderator(harness: BotHarness) -> None:
    guild, fake = harness.guild, harness.fake
    staff = guild.add_role("Label staff")
    managers = guild.add_role("Managers", permissions=Permissions.MANAGE_GUILD)
    bea = guild.add_member(fake.add_user("bea"), roles=[staff])
    carl = guild.add_member(fake.add_user("carl"), roles=[managers])
    # A moderator role without Manage Server sees /settings once an admin opens it to the role in Integrations.
    guild.open_command("settings", staff)
    await harness.start()

    reply = await run(harness, bea, "settings timezone", zone="Asia/Tokyo")
    assert reply.content == MODERATORS_ONLY
    reply = await run(harness, carl, "settings role", kind="moderator", role=staff)
    assert "is now" in reply.content
    reply = await run(harness, bea, "settings timezone", zone="Asia/Tokyo")
    assert "Asia/Tokyo" in reply.content


async def test_a_channel_of_the_wrong_type_or_without_my_permissions_changes_nothing(harness: BotHarness) -> None:
    guild = harness.guild
    assert guild.bot_role is not None
    no_embeds = guild.add_channel("no-embeds")
    no_embeds.permission_overwrites = [
        {"id": str(guild.bot_role.id), "type": 0, "allow": "0", "deny": str(Permissions.EMBED_LINKS)}
    ]
    hidden = guild.add_channel("staff-only")
    hidden.permission_overwrites = [
        {"id": str(guild.bot_role.id), "type": 0, "allow": "0", "deny": str(Permissions.VIEW_CHANNEL)}
    ]
    no_threads = guild.add_channel("no-threads")
    no_threads.permission_overwrites = [
        {"id": str(guild.bot_role.id), "type": 0, "allow": "0", "deny": str(Permissions.MANAGE_THREADS)}
    ]
    forum = guild.add_channel("forum", type=ChannelType.forum)
    news = guild.add_channel("news", type=ChannelType.news)
    await harness.start()
    mod = harness.moderator
    before = await database_state(harness), guild_state(guild)

    reply = await run(harness, mod, "settings channel", kind="announcements", channel=no_embeds)
    assert reply.ephemeral
    assert reply.content == (
        f"I can't use {no_embeds.mention} as the announcements channel: I'm missing Embed Links there. "
        "Nothing was changed."
    )
    reply = await run(harness, mod, "settings channel", kind="mod_log", channel=hidden)
    assert "I'm missing View Channel, Send Messages and Embed Links there" in reply.content
    reply = await run(harness, mod, "settings channel", kind="parties", channel=no_threads)
    assert "Manage Threads" in reply.content
    reply = await run(harness, mod, "settings channel", kind="announcements", channel=forum)
    assert reply.content == "The announcements channel has to be a text or announcement channel, not a forum."
    reply = await run(harness, mod, "settings channel", kind="collab_board", channel=news)
    assert reply.content == "The collab board has to be a text channel or a forum, not an announcement channel."
    assert (await database_state(harness), guild_state(guild)) == before

    # The same channel works for a kind that needs less: the mod log does not make threads.
    reply = await run(harness, mod, "settings channel", kind="mod_log", channel=no_threads)
    assert "is now" in reply.content


async def test_announcements_without_mention_permission_are_accepted_with_a_warning(labelbot: BotHarness) -> None:
    channel = labelbot.guild.add_channel("announcements", type=ChannelType.news)
    reply = await run(labelbot, labelbot.moderator, "settings channel", kind="announcements", channel=channel)
    assert f"The announcements channel is now {channel.mention}." in reply.content
    assert "Mention @everyone, @here and All Roles" in reply.content


async def test_a_role_I_cannot_hand_out_is_refused_for_all_releases(harness: BotHarness) -> None:
    guild = harness.guild
    assert guild.bot_role is not None
    admins = guild.add_role("Admins", permissions=Permissions.ADMINISTRATOR)
    pingers = guild.add_role("Pingers", permissions=Permissions.MENTION_EVERYONE)
    role_managers = guild.add_role("Role managers", permissions=Permissions.MANAGE_ROLES)
    above = guild.add_role("Above me", position=guild.bot_role.position + 1)
    fine = guild.add_role("Every release")
    await harness.start()
    mod = harness.moderator
    before = await database_state(harness), guild_state(guild)

    expectations = [
        (admins, "has powerful permissions (administrator)"),
        (pingers, "has powerful permissions (mention everyone)"),
        (role_managers, "has powerful permissions (manage roles)"),
        (above, "is at or above my highest role"),
        (guild.bot_role, "is managed by an integration"),
        (guild.everyone, "@everyone can't be the all-releases notification role."),
    ]
    for role, expected in expectations:
        reply = await run(harness, mod, "settings role", kind="all_releases", role=role)
        assert reply.ephemeral
        assert expected in reply.content, (role.name, reply.content)
    assert (await database_state(harness), guild_state(guild)) == before

    reply = await run(harness, mod, "settings role", kind="all_releases", role=fine)
    assert reply.content == f"The all-releases notification role is now {fine.mention}."
    # The moderator role is never handed out by the bot, so a powerful role is fine there.
    reply = await run(harness, mod, "settings role", kind="moderator", role=admins)
    assert "is now" in reply.content


async def test_an_unknown_zone_is_refused_and_changes_nothing(labelbot: BotHarness) -> None:
    before = await database_state(labelbot)
    reply = await run(labelbot, labelbot.moderator, "settings timezone", zone="Mars/Olympus")
    assert reply.ephemeral
    assert reply.content.startswith('I don\'t know the time zone "Mars/Olympus"')
    assert await database_state(labelbot) == before


async def test_zone_autocomplete(labelbot: BotHarness) -> None:
    choices = await labelbot.fake.autocomplete(
        labelbot.guild, labelbot.general, labelbot.moderator, "settings timezone", focused="zone", zone="berl"
    )
    assert choices[0]["value"] == "Europe/Berlin"
    assert len(choices) <= 25


async def test_members_set_their_own_zone(labelbot: BotHarness) -> None:
    guild, fake = labelbot.guild, labelbot.fake
    alice = guild.add_member(fake.add_user("alice"))
    mod_log = guild.add_channel("mod-log")
    await run(labelbot, labelbot.moderator, "settings channel", kind="mod_log", channel=mod_log)
    await run(labelbot, labelbot.moderator, "settings timezone", zone="Europe/London")

    reply = await run(labelbot, alice, "me timezone", zone="Asia/Kolkata")
    assert reply.ephemeral
    assert reply.content == "Times you type are now read in **Asia/Kolkata**."
    async with running(labelbot).sessionmaker() as session:
        assert await member_zone(session, alice.id, guild.id) == "Asia/Kolkata"
        assert await member_zone(session, labelbot.moderator.id, guild.id) == "Europe/London"

    reply = await run(labelbot, alice, "me timezone")
    assert reply.content == "Times you type are read in the server's time zone, Europe/London."
    async with running(labelbot).sessionmaker() as session:
        assert await member_zone(session, alice.id, guild.id) == "Europe/London"

    # Recorded (who changed what), but a member's own zone is not announced to the moderators.
    entries = [e for e in await audit_entries(labelbot) if e.action == "settings.my_timezone"]
    assert [(e.actor_id, e.before, e.after) for e in entries] == [
        (alice.id, {"timezone": None}, {"timezone": "Asia/Kolkata"}),
        (alice.id, {"timezone": "Asia/Kolkata"}, {"timezone": None}),
    ]
    await fake.wait_until(lambda: len(fake.messages(mod_log)) >= 2, timeout=10, what="the two settings posts")
    async with running(labelbot).sessionmaker() as session:
        pending = await running(labelbot).jobs.pending_for_guild(session, guild.id)
    assert not [job for job in pending if job.kind == AUDIT_POST]
    assert len(fake.messages(mod_log)) == 2


async def test_jobs_lists_pending_and_failed_work_and_failures_reach_the_mod_log(labelbot: BotHarness) -> None:
    bot, guild, fake = running(labelbot), labelbot.guild, labelbot.fake
    mod_log = guild.add_channel("mod-log")
    await run(labelbot, labelbot.moderator, "settings channel", kind="mod_log", channel=mod_log)

    async def hopeless(ctx: JobContext) -> None:
        raise JobFailed("the channel is gone")

    bot.jobs.register("test.hopeless", hopeless)
    later = utcnow() + timedelta(hours=3)
    async with bot.sessionmaker.begin() as session:
        await bot.jobs.schedule(session, "test.later", {}, later, guild_id=guild.id, key="test:later")
        await bot.jobs.schedule(session, "test.hopeless", {}, utcnow(), guild_id=guild.id, key="test:hopeless")

    failure = await fake.wait_for_message(
        mod_log, lambda m: bool(m.embeds) and m.embeds[0].get("title") == "A scheduled job failed", timeout=15
    )
    assert "test.hopeless" in str(failure.embeds[0]["fields"])
    assert "the channel is gone" in str(failure.embeds[0]["fields"])

    reply = await run(labelbot, labelbot.moderator, "settings jobs")
    assert reply.ephemeral
    fields = embed_fields(reply)
    assert "`test.later`" in fields["Next up"]
    assert f"<t:{int(later.timestamp())}:F>" in fields["Next up"]
    assert "`test.hopeless`" in fields["Failed in the last 7 days"]
    assert "the channel is gone" in fields["Failed in the last 7 days"]
    # The bot's own worker, beating: a moderator sees scheduled work is running, and since when it last said so.
    async with bot.sessionmaker() as session:
        (worker,) = await bot.jobs.workers_alive(session)
    assert f"`{HOST}` pid {os.getpid()}" in fields["Workers alive"]
    assert re.search(r"last beat <t:\d+:R>", fields["Workers alive"])
    assert worker.last_beat > utcnow() - timedelta(seconds=10)

    async with bot.sessionmaker() as session:
        job = await bot.jobs.get(session, "test:hopeless")
    assert isinstance(job, ScheduledJob)
    assert job.status == JobStatus.FAILED


async def test_audit_shows_the_latest_changes(labelbot: BotHarness) -> None:
    await run(labelbot, labelbot.moderator, "settings timezone", zone="Europe/Paris")
    reply = await run(labelbot, labelbot.moderator, "settings audit")
    assert "Server time zone changed" in reply.text
    assert f"<@{labelbot.moderator.id}>" in reply.text


async def test_a_moderator_rotates_the_webhook_secret_and_only_the_new_one_is_kept(labelbot: BotHarness) -> None:
    guild, fake = labelbot.guild, labelbot.fake
    fan = guild.add_member(fake.add_user("fan"))
    guild.open_command("settings", guild.everyone)  # past Discord's client hint: the bot still refuses

    refused = await run(labelbot, fan, "settings webhook-secret")
    assert refused.content == MODERATORS_ONLY
    assert (await guild_settings(labelbot)) is None or (await guild_settings(labelbot)).webhook_secret is None

    first = await run(labelbot, labelbot.moderator, "settings webhook-secret")
    second = await run(labelbot, labelbot.moderator, "settings webhook-secret")
    assert first.ephemeral
    stored = await guild_settings(labelbot)
    assert stored is not None
    assert stored.webhook_secret
    assert f"`{stored.webhook_secret}`" in second.content, "the reply shows the secret now in force"
    assert stored.webhook_secret not in first.content, "rotating again replaces the secret"

    entries = [e for e in await audit_entries(labelbot) if e.action == "settings.webhook_secret"]
    assert len(entries) == 2
    assert all(stored.webhook_secret not in str(e.after) for e in entries), "the secret never enters the audit trail"
