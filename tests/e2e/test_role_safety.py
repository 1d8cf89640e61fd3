"""Nobody gains power by pressing a button: roles that carry power never go on a panel or a tier, or to a fan."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from labelbot.features.fan_roles._jobs import TIER_MEMBER
from labelbot.guilds.models import GuildSettings
from labelbot.jobs import JobStatus, ScheduledJob
from labelbot.models.fan_roles import FanRolePanelEntry, LoyaltyTier
from labelbot.permissions import MODERATORS_ONLY
from tests.fakediscord.state import FakeGuild, FakeMessage, FakeRole, Permissions
from tests.harness import BotHarness


async def run(h: BotHarness, command: str, user: Any = None, **options: Any) -> Any:
    ix = await h.fake.slash(h.guild, h.general, user or h.moderator, command, **options)
    return await ix.reply(timeout=10)


def role_ids(guild: FakeGuild, user: Any) -> set[int]:
    return {role.id for role in guild.member(user).roles}


def panel_messages(h: BotHarness) -> list[FakeMessage]:
    return [
        m
        for m in h.fake.messages(h.general)
        if any(cid.startswith("fan_roles:") for cid in m.custom_ids) and not m.ephemeral
    ]


async def count_rows(h: BotHarness, model: Any) -> int:
    assert h.bot is not None
    async with h.bot.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def settings_row(h: BotHarness) -> GuildSettings | None:
    assert h.bot is not None
    async with h.bot.sessionmaker() as session:
        return await session.get(GuildSettings, h.guild.id)


async def configure_directly(h: BotHarness, **values: Any) -> None:
    """Store settings as a server set up before these checks existed would have them."""
    assert h.bot is not None
    async with h.bot.sessionmaker.begin() as session:
        row = await session.get(GuildSettings, h.guild.id)
        if row is None:
            session.add(GuildSettings(guild_id=h.guild.id, **values))
        else:
            for key, value in values.items():
                setattr(row, key, value)


async def grant_permissions(h: BotHarness, role: FakeRole, permissions: int) -> None:
    """An admin gives the role more permissions in Discord's client (GUILD_ROLE_UPDATE), and the bot sees it."""
    role.permissions |= permissions
    h.fake.gateway.dispatch(
        "GUILD_ROLE_UPDATE", {"guild_id": str(h.guild.id), "role": role.to_json()}, guild_id=h.guild.id
    )

    def seen() -> bool:
        assert h.bot is not None
        cached = h.bot.get_guild(h.guild.id).get_role(role.id)  # type: ignore[union-attr]
        return cached is not None and cached.permissions.value == role.permissions

    await h.wait_until(seen)


async def test_the_moderator_role_and_a_timeout_role_are_refused_on_a_panel_and_as_a_tier(harness: BotHarness) -> None:
    h = harness
    guild = h.guild
    staff, crew = guild.add_role("Staff"), guild.add_role("Crew")
    timeout = guild.add_role("Timeout squad", permissions=Permissions.MODERATE_MEMBERS)
    mixed = guild.add_role("Helpers", permissions=Permissions.MANAGE_MESSAGES | Permissions.SEND_MESSAGES)
    fine = guild.add_role("Listeners", permissions=Permissions.SEND_MESSAGES | Permissions.CONNECT)
    await h.start()
    assert (await run(h, "settings role", kind="moderator", role=staff)).content.startswith("The moderator role is")
    assert (await run(h, "settings role", kind="artist", role=crew)).content.startswith("The artist role is")
    await run(h, "roles-admin panel create", name="Fans", style="buttons", mode="any")

    answer = await run(h, "roles-admin panel add", panel="Fans", role=staff)
    assert answer.ephemeral
    assert answer.content == f"<@&{staff.id}> is this server's moderator role, so I won't hand it out."
    answer = await run(h, "roles-admin panel add", panel="Fans", role=crew)
    assert answer.content == f"<@&{crew.id}> is this server's artist role, so I won't hand it out."
    answer = await run(h, "roles-admin panel add", panel="Fans", role=timeout)
    assert answer.content == f"<@&{timeout.id}> has powerful permissions (timeout members), so I won't hand it out."
    answer = await run(h, "roles-admin panel add", panel="Fans", role=mixed)
    assert answer.content == f"<@&{mixed.id}> has powerful permissions (manage messages), so I won't hand it out."
    assert await count_rows(h, FanRolePanelEntry) == 0

    for role in (staff, crew, timeout):
        answer = await run(h, "roles-admin tiers set", role=role, threshold=3)
        assert answer.ephemeral
        assert answer.content.startswith(f"<@&{role.id}> ")
        assert "so I won't hand it out" in answer.content
    assert await count_rows(h, LoyaltyTier) == 0

    # A role with only harmless permissions still goes on.
    assert (await run(h, "roles-admin panel add", panel="Fans", role=fine)).content.startswith(f"Added <@&{fine.id}>")
    # And the all-releases role can't be the moderator role either.
    answer = await run(h, "settings role", kind="all_releases", role=staff)
    assert answer.content == f"<@&{staff.id}> is this server's moderator role, so I won't hand it out."


async def test_a_role_members_can_get_cannot_become_the_moderator_or_artist_role(harness: BotHarness) -> None:
    h = harness
    guild = h.guild
    fans, regulars = guild.add_role("Fans"), guild.add_role("Regulars")
    await h.start()
    await run(h, "roles-admin panel create", name="Genres", style="buttons", mode="any")
    await run(h, "roles-admin panel add", panel="Genres", role=fans)
    await run(h, "roles-admin tiers set", role=regulars, threshold=2)

    answer = await run(h, "settings role", kind="moderator", role=fans)
    assert answer.ephemeral
    assert answer.content == (
        f"<@&{fans.id}> is on the role panel “Genres”, so members can get it from me; it can't be the moderator "
        "role. Take it off there first, or pick another role."
    )
    answer = await run(h, "settings role", kind="artist", role=regulars)
    assert answer.content.startswith(f"<@&{regulars.id}> is a loyalty tier, so members can get it from me;")
    stored = await settings_row(h)
    assert stored is None or (stored.moderator_role_id is None and stored.artist_role_id is None)

    # Off the panel, it can be.
    await run(h, "roles-admin panel remove", panel="Genres", role=fans)
    answer = await run(h, "settings role", kind="moderator", role=fans)
    assert answer.content == f"The moderator role is now <@&{fans.id}>."


async def test_a_fan_pressing_every_button_of_a_panel_never_becomes_a_moderator(harness: BotHarness) -> None:
    h = harness
    guild = h.guild
    indie, crew, legacy = guild.add_role("Indie"), guild.add_role("Crew"), guild.add_role("Backstage")
    fan = guild.add_member("fan")
    await h.start()
    for name, style in (("Buttons", "buttons"), ("Menu", "select")):
        await run(h, "roles-admin panel create", name=name, style=style, mode="any")
        for role in (indie, crew, legacy):
            await run(h, "roles-admin panel add", panel=name, role=role)
        await run(h, "roles-admin panel post", panel=name)
    buttons, menu = panel_messages(h)

    # After posting: Crew is given power in Discord, and Backstage is the moderator role (a server configured
    # before the bot refused that; /settings now refuses it, see the test above).
    await grant_permissions(h, crew, Permissions.MANAGE_GUILD | Permissions.MODERATE_MEMBERS)
    await configure_directly(h, moderator_role_id=legacy.id)

    answers = []
    for custom_id in buttons.custom_ids:
        answers.append(await (await h.fake.click(guild, h.general, fan.user, buttons, custom_id)).reply(timeout=10))
    [menu_id] = menu.custom_ids
    for role in (indie, crew, legacy):
        answers.append(
            await (await h.fake.select(guild, h.general, fan.user, menu, menu_id, [str(role.id)])).reply(timeout=10)
        )
    # What matters first: the fan holds only the harmless role and still can't act as a moderator.
    guild.open_command("settings", guild.everyone)  # past Discord's client hint, as an admin may set it
    refused = await run(h, "settings webhook-secret", user=fan.user)
    assert refused.content == MODERATORS_ONLY
    assert role_ids(guild, fan) == {indie.id}
    stored = await settings_row(h)
    assert stored is not None
    assert stored.webhook_secret is None

    # Each refused press says why in one ephemeral sentence.
    assert all(answer.ephemeral for answer in answers)
    contents = [answer.content for answer in answers]
    crew_refused = f"<@&{crew.id}> has powerful permissions (manage server, timeout members), so I won't hand it out."
    legacy_refused = f"<@&{legacy.id}> is this server's moderator role, so I won't hand it out."
    assert contents == [
        f"Gave you <@&{indie.id}>.",
        crew_refused,
        legacy_refused,
        "Nothing changed: you already have exactly those roles.",
        crew_refused,
        legacy_refused,
    ]


async def test_a_tier_that_became_powerful_is_not_granted(harness: BotHarness) -> None:
    h = harness
    guild = h.guild
    regular, superfan = guild.add_role("Regular"), guild.add_role("Superfan")
    fan = guild.add_member("fan")
    other = guild.add_member("other")
    await h.start()
    await run(h, "roles-admin tiers set", role=regular, threshold=1)
    await run(h, "roles-admin tiers set", role=superfan, threshold=2)
    await configure_directly(h, moderator_role_id=regular.id)
    await grant_permissions(h, superfan, Permissions.MODERATE_MEMBERS)

    assert h.bot is not None
    for member, parties in ((fan, (1,)), (other, (1, 2))):
        for party_id in parties:
            h.bot.dispatch("party_attended", guild.id, member.id, party_id)

    async def tier_jobs_done() -> bool:
        assert h.bot is not None
        async with h.bot.sessionmaker() as session:
            jobs = list(await session.scalars(select(ScheduledJob).where(ScheduledJob.kind == TIER_MEMBER)))
        return len(jobs) >= 2 and all(job.status == JobStatus.DONE for job in jobs)

    await h.wait_until(tier_jobs_done, timeout=15)
    assert role_ids(guild, fan) == set()
    assert role_ids(guild, other) == set()
