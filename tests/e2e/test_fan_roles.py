"""Fan roles end to end: panels built, posted and used by fans, safety refusals, restarts, loyalty tiers."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select, update

from labelbot.artists.models import Artist
from labelbot.audit.models import AuditEntry
from labelbot.errors import InvalidInput
from labelbot.features.fan_roles import _service as service
from labelbot.guilds.models import GuildSettings
from labelbot.models.fan_roles import FanRolePanel, FanRolePanelEntry, LoyaltyTier, PartyAttendance
from tests.fakediscord.state import ChannelType, FakeGuild, FakeMessage, FakeRole, Permissions
from tests.harness import BotHarness


async def run(h: BotHarness, command: str, user: Any = None, **options: Any) -> Any:
    ix = await h.fake.slash(h.guild, h.general, user or h.moderator, command, **options)
    return await ix.reply(timeout=10)


def role_ids(guild: FakeGuild, user: Any) -> set[int]:
    return {role.id for role in guild.member(user).roles}


def panel_messages(h: BotHarness, channel: Any = None) -> list[FakeMessage]:
    return [
        m
        for m in h.fake.messages(channel or h.general)
        if any(cid.startswith("fan_roles:") for cid in m.custom_ids) and not m.ephemeral
    ]


async def count_rows(h: BotHarness, model: Any) -> int:
    assert h.bot is not None
    async with h.bot.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


def delete_role(h: BotHarness, role: FakeRole) -> None:
    """Delete a role as a moderator would in Discord's client."""
    guild = h.guild
    role.deleted = True
    guild._roles.pop(role.id)
    for member in guild.members:
        if role.id in member.role_ids:
            member.role_ids.remove(role.id)
    h.fake.gateway.dispatch(
        "GUILD_ROLE_DELETE", {"guild_id": str(guild.id), "role_id": str(role.id)}, guild_id=guild.id
    )


async def build_panel(h: BotHarness, name: str, style: str, mode: str, roles: list[FakeRole], **extra: Any) -> None:
    answer = await run(h, "roles-admin panel create", name=name, style=style, mode=mode, **extra)
    assert answer.ephemeral
    assert "Created the role panel" in answer.content, answer.text
    for role in roles:
        answer = await run(h, "roles-admin panel add", panel=name, role=role)
        assert f"Added <@&{role.id}>" in answer.content, answer.text


async def test_button_panel_swaps_in_exactly_one_mode_and_works_after_restart(harness: BotHarness) -> None:
    h = harness
    guild = h.guild
    indie, rock, jazz = guild.add_role("Indie"), guild.add_role("Rock"), guild.add_role("Jazz")
    ambient = guild.add_role("Ambient")
    fan = guild.add_member("fan")
    await h.start()
    await build_panel(h, "Genres", "buttons", "one", [indie, rock, jazz])

    answer = await run(h, "roles-admin panel post", panel="Genres")
    assert "Posted **Genres**" in answer.content
    [message] = panel_messages(h)
    assert message.custom_ids == [
        f"fan_roles:toggle:{message.custom_ids[0].split(':')[2]}:{r.id}" for r in (indie, rock, jazz)
    ]
    assert message.allowed_mentions is not None
    assert not message.allowed_mentions.get("parse")

    ix = await h.fake.click(guild, h.general, fan.user, message, message.custom_ids[0])
    answer = await ix.reply(timeout=10)
    assert answer.ephemeral
    assert answer.content == f"Gave you <@&{indie.id}>."
    assert role_ids(guild, fan) == {indie.id}

    # Exactly one: picking Rock swaps Indie out.
    answer = await (await h.fake.click(guild, h.general, fan.user, message, message.custom_ids[1])).reply(timeout=10)
    assert answer.content == f"Gave you <@&{rock.id}> and took away <@&{indie.id}>."
    assert role_ids(guild, fan) == {rock.id}

    await h.restart()

    answer = await (await h.fake.click(guild, h.general, fan.user, message, message.custom_ids[2])).reply(timeout=10)
    assert answer.content == f"Gave you <@&{jazz.id}> and took away <@&{rock.id}>."
    assert role_ids(guild, fan) == {jazz.id}
    answer = await (await h.fake.click(guild, h.general, fan.user, message, message.custom_ids[2])).reply(timeout=10)
    assert answer.content == f"Took away <@&{jazz.id}>."
    assert role_ids(guild, fan) == set()

    # A change and a second post edit the same message in place.
    await run(h, "roles-admin panel add", panel="Genres", role=ambient, label="Ambient & drone", emoji="🌊")
    answer = await run(h, "roles-admin panel post", panel="Genres")
    assert "Updated **Genres**" in answer.content
    [again] = panel_messages(h)
    assert again.id == message.id
    assert len(again.custom_ids) == 4


async def test_select_panel_sets_exactly_the_chosen_roles_and_splits_past_25(harness: BotHarness) -> None:
    h = harness
    guild = h.guild
    artists = [guild.add_role(f"Artist {n}") for n in range(30)]
    fan = guild.add_member("listener")
    await h.start()
    await build_panel(h, "Artists", "select", "any", artists)

    answer = await run(h, "roles-admin panel post", panel="Artists")
    assert "2 messages" in answer.content
    first, second = panel_messages(h)
    [menu_one], [menu_two] = first.custom_ids, second.custom_ids
    options = next(iter(first.components[0]["components"]))["options"]
    assert len(options) == 25

    values = [str(artists[0].id), str(artists[3].id)]
    answer = await (await h.fake.select(guild, h.general, fan.user, first, menu_one, values)).reply(timeout=10)
    assert answer.content == f"Gave you <@&{artists[0].id}> and <@&{artists[3].id}>."
    await (await h.fake.select(guild, h.general, fan.user, second, menu_two, [str(artists[27].id)])).reply(timeout=10)
    assert role_ids(guild, fan) == {artists[0].id, artists[3].id, artists[27].id}

    # Choosing again in the first menu sets exactly that menu's roles; the second menu's role stays.
    answer = await (
        await h.fake.select(guild, h.general, fan.user, first, menu_one, [str(artists[3].id), str(artists[5].id)])
    ).reply(timeout=10)
    assert answer.content == f"Gave you <@&{artists[5].id}> and took away <@&{artists[0].id}>."
    assert role_ids(guild, fan) == {artists[3].id, artists[5].id, artists[27].id}

    # The private picker shows every panel with what the member holds already selected.
    picker = await run(h, "roles pick", user=fan.user)
    assert picker.ephemeral
    menus = [c for row in picker.components for c in row["components"]]
    chosen = {o["value"] for menu in menus for o in menu["options"] if o.get("default")}
    assert chosen == {str(artists[3].id), str(artists[5].id), str(artists[27].id)}
    answer = await (await h.fake.select(guild, h.general, fan.user, picker.message, menus[1]["custom_id"], [])).reply(
        timeout=10
    )
    assert answer.content == f"Took away <@&{artists[27].id}>."

    me = await run(h, "roles me", user=fan.user)
    assert f"<@&{artists[3].id}> (1 fan)" in me.text, me.text
    assert "Parties attended\n0" in me.text


async def test_modes_and_required_role_are_enforced(harness: BotHarness) -> None:
    h = harness
    guild = h.guild
    members_only = guild.add_role("Members")
    a, b, c = guild.add_role("A"), guild.add_role("B"), guild.add_role("C")
    fan = guild.add_member("fan")
    await h.start()
    await build_panel(h, "Two", "buttons", "at_most", [a, b, c], required_role=members_only, **{"max": 2})
    await run(h, "roles-admin panel post", panel="Two")
    [message] = panel_messages(h)

    answer = await (await h.fake.click(guild, h.general, fan.user, message, message.custom_ids[0])).reply(timeout=10)
    assert answer.content == f"This panel is only for members with <@&{members_only.id}>."
    assert role_ids(guild, fan) == set()

    guild.member(fan).role_ids.append(members_only.id)
    for cid in message.custom_ids[:2]:
        await (await h.fake.click(guild, h.general, fan.user, message, cid)).reply(timeout=10)
    answer = await (await h.fake.click(guild, h.general, fan.user, message, message.custom_ids[2])).reply(timeout=10)
    assert "at most 2" in answer.content
    assert role_ids(guild, fan) == {members_only.id, a.id, b.id}


async def test_unsafe_roles_and_bad_input_are_refused_with_nothing_stored(harness: BotHarness) -> None:
    h = harness
    guild = h.guild
    banner = guild.add_role("Bouncers", permissions=Permissions.BAN_MEMBERS)
    above = guild.add_role("Staff", position=guild.bot_role.position + 1)
    booster = guild.add_role("Server Booster", managed=True)
    fine = guild.add_role("Fine")
    await h.start()
    await build_panel(h, "Safe", "buttons", "any", [fine])
    entries = await count_rows(h, FanRolePanelEntry)

    answer = await run(h, "roles-admin panel add", panel="Safe", role=banner)
    assert answer.content == f"<@&{banner.id}> has powerful permissions (ban members), so I won't hand it out."
    answer = await run(h, "roles-admin panel add", panel="Safe", role=above)
    assert "at or above my highest role" in answer.content
    answer = await run(h, "roles-admin panel add", panel="Safe", role=booster)
    assert "managed by an integration" in answer.content
    answer = await run(h, "roles-admin panel add", panel="Safe", role=guild.everyone)
    assert "@everyone" in answer.content
    answer = await run(h, "roles-admin panel add", panel="Safe", role=fine)
    assert answer.content == f"<@&{fine.id}> is already on the panel “Safe”."
    answer = await run(h, "roles-admin panel add", panel="Nope", role=fine)
    assert answer.content == "There is no role panel called “Nope” in this server."
    assert await count_rows(h, FanRolePanelEntry) == entries

    panels = await count_rows(h, FanRolePanel)
    # Discord's client refuses a number below the option's min_value; the bot checks it again all the same.
    with pytest.raises(AssertionError, match="below min_value 1"):
        await run(h, "roles-admin panel create", name="Zero", style="buttons", mode="at_most", **{"max": 0})
    zero = service.PanelSpec("Zero", "buttons", "at_most", 0, None, h.general.id)
    with pytest.raises(InvalidInput) as refused:
        service.check_panel_spec(zero)
    assert str(refused.value) == "`max` must be at least 1 for mode “at most N”."
    answer = await run(h, "roles-admin panel create", name="safe", style="select", mode="any")
    assert answer.content == "There is already a role panel called “safe”."
    assert await count_rows(h, FanRolePanel) == panels

    with pytest.raises(AssertionError, match="below min_value 1"):
        await run(h, "roles-admin tiers set", role=fine, threshold=0)
    with pytest.raises(InvalidInput) as refused:
        service.check_threshold(0)
    assert str(refused.value) == "The threshold is a number of parties attended and must be at least 1."
    answer = await run(h, "roles-admin tiers set", role=banner, threshold=3)
    assert "powerful permissions" in answer.content
    assert await count_rows(h, LoyaltyTier) == 0

    fan = guild.add_member("fan")
    # Past Discord's client hint (an admin may open it to everyone in Integrations): the bot still refuses.
    guild.open_command("roles-admin", guild.everyone)
    answer = await run(h, "roles-admin panel create", user=fan.user, name="Mine", style="buttons", mode="any")
    assert "Only moderators" in answer.content
    assert await count_rows(h, FanRolePanel) == panels


async def test_role_deleted_in_discord_leaves_the_panel_and_is_reported(harness: BotHarness) -> None:
    h = harness
    guild = h.guild
    mod_log = guild.add_channel("mod-log", type=ChannelType.text)
    keep, doomed = guild.add_role("Keep"), guild.add_role("Doomed")
    await h.start()
    assert h.bot is not None
    async with h.bot.sessionmaker.begin() as session:
        session.add(GuildSettings(guild_id=guild.id, mod_log_channel_id=mod_log.id))
    await build_panel(h, "Labels", "buttons", "any", [keep, doomed])
    await run(h, "roles-admin panel post", panel="Labels")
    [message] = panel_messages(h)
    assert len(message.custom_ids) == 2

    delete_role(h, doomed)
    await h.wait_until(lambda: h.bot is not None and h.bot.get_guild(guild.id).get_role(doomed.id) is None)  # type: ignore[union-attr]
    answer = await run(h, "roles-admin panel post", panel="Labels")
    assert "Dropped “Doomed”: deleted in Discord" in answer.content
    [message] = panel_messages(h)
    assert message.custom_ids == [message.custom_ids[0]]
    assert message.custom_ids[0].endswith(f":{keep.id}")
    async with h.bot.sessionmaker() as session:
        entry = await session.scalar(select(AuditEntry).where(AuditEntry.action == "fan_roles.role_gone"))
    assert entry is not None
    assert entry.before is not None
    assert entry.before["role_id"] == doomed.id
    posted = await h.fake.wait_for_message(mod_log, lambda m: "fan_roles.role_gone" in str(m.embeds), timeout=10)
    assert str(doomed.id) in str(posted.embeds)


async def test_three_attended_parties_grant_the_tier(harness: BotHarness) -> None:
    h = harness
    guild = h.guild
    regular, superfan = guild.add_role("Regular"), guild.add_role("Superfan")
    fan = guild.add_member("fan")
    await h.start()
    assert "earned at 3 parties" in (await run(h, "roles-admin tiers set", role=regular, threshold=3)).content
    await run(h, "roles-admin tiers set", role=superfan, threshold=5)
    listed = await run(h, "roles tiers list")
    assert f"<@&{regular.id}>: 3 parties" in listed.text

    assert h.bot is not None
    for party_id in (101, 102):
        h.bot.dispatch("party_attended", guild.id, fan.id, party_id)
    h.bot.dispatch("party_attended", guild.id, fan.id, 102)  # the same party again counts once
    await h.wait_until(lambda: count_rows(h, PartyAttendance), timeout=10)
    h.bot.dispatch("party_attended", guild.id, fan.id, 103)
    await h.wait_until(lambda: regular.id in role_ids(guild, fan), timeout=15)
    assert role_ids(guild, fan) == {regular.id}
    me = await run(h, "roles me", user=fan.user)
    assert "Parties attended\n3" in me.text
    assert f"<@&{regular.id}>" in me.text
    assert f"<@&{superfan.id}> after 2 more parties" in me.text

    # Moving a threshold and syncing takes the tier away again.
    await run(h, "roles-admin tiers set", role=regular, threshold=4)
    answer = await run(h, "roles-admin tiers sync")
    assert "Tier sync started for the 1 member" in answer.content
    await h.wait_until(lambda: regular.id not in role_ids(guild, fan), timeout=15)


async def test_an_artists_fan_role_goes_on_a_panel_by_the_artists_name(harness: BotHarness) -> None:
    h = harness
    guild = h.guild
    nova_fans = guild.add_role("Nova Lights fans")
    await h.start()
    assert h.bot is not None
    async with h.bot.sessionmaker.begin() as session:
        for name, role_id in (("Nova Lights", nova_fans.id), ("Quiet Static", None)):
            session.add(
                Artist(guild_id=guild.id, name=name, name_key=name.casefold(), fan_role_id=role_id, created_by=1)
            )
    await build_panel(h, "Artists", "buttons", "any", [])

    choices = await h.fake.autocomplete(
        guild, h.general, h.moderator, "roles-admin panel add", focused="artist", artist="nov"
    )
    assert [c["value"] for c in choices] == ["Nova Lights"]
    choices = await h.fake.autocomplete(
        guild, h.general, h.moderator, "roles-admin panel add", focused="panel", panel="art"
    )
    assert [c["value"] for c in choices] == ["Artists"]

    answer = await run(
        h, "roles-admin panel add", panel="Artists", artist="nova lights", description="Dream pop from Leeds"
    )
    assert answer.content.startswith(f"Added <@&{nova_fans.id}> to **Artists** (1 role).")
    answer = await run(h, "roles-admin panel add", panel="Artists", artist="Quiet Static")
    assert answer.content == "Quiet Static has no fan role yet; give them one first."
    answer = await run(h, "roles-admin panel add", panel="Artists", artist="Nobody")
    assert answer.content == "There is no artist called “Nobody” in this server."
    answer = await run(h, "roles-admin panel add", panel="Artists", role=nova_fans, artist="Nova Lights")
    assert answer.content == "Give either a role or an artist (whose fan role fans get), not both."

    await run(h, "roles-admin panel post", panel="Artists")
    [message] = panel_messages(h)
    assert message.components[0]["components"][0]["label"] == "Nova Lights"
    assert "Dream pop from Leeds" in message.embeds[0]["description"]
    listed = await run(h, "roles-admin panel list")
    assert "buttons, any number; posted in" in listed.text
    answer = await run(h, "roles-admin panel delete", panel="Artists")
    assert answer.content.startswith("Deleted the role panel **Artists**.")
    await h.wait_until(lambda: not panel_messages(h), timeout=10)
    assert await count_rows(h, FanRolePanelEntry) == 0


async def test_lower_tiers_are_kept_when_the_server_says_so(harness: BotHarness) -> None:
    h = harness
    guild = h.guild
    first, second = guild.add_role("First timer"), guild.add_role("Returning")
    fan = guild.add_member("fan")
    await h.start()
    assert h.bot is not None
    async with h.bot.sessionmaker.begin() as session:
        session.add(GuildSettings(guild_id=guild.id, tier_keep_lower=True))
    await run(h, "roles-admin tiers set", role=first, threshold=1)
    await run(h, "roles-admin tiers set", role=second, threshold=2)
    h.bot.dispatch("party_attended", guild.id, fan.id, 1)
    await h.wait_until(lambda: role_ids(guild, fan) == {first.id}, timeout=15)
    h.bot.dispatch("party_attended", guild.id, fan.id, 2)
    await h.wait_until(lambda: role_ids(guild, fan) == {first.id, second.id}, timeout=15)
    listed = await run(h, "roles tiers list")
    assert "Members keep lower tiers as they climb." in listed.text


async def test_a_press_after_a_change_to_the_panel_or_settings_reads_the_change(harness: BotHarness) -> None:
    """Presses keep the panel and settings they read (a burst reads them once); any write makes the next one read."""
    h = harness
    guild = h.guild
    picked, members_only = guild.add_role("Picked"), guild.add_role("Members")
    fan = guild.add_member("fan")
    await h.start()
    assert h.bot is not None
    await build_panel(h, "Pick", "buttons", "any", [picked])
    await run(h, "roles-admin panel post", panel="Pick")
    [message] = panel_messages(h)

    async def press() -> Any:
        return await (await h.fake.click(guild, h.general, fan.user, message, message.custom_ids[0])).reply(timeout=10)

    await press()
    assert picked.id in role_ids(guild, fan)
    await press()
    assert picked.id not in role_ids(guild, fan)

    # A row written through the ORM: the role became the moderator role after it went on the panel.
    async with h.bot.sessionmaker.begin() as session:
        settings = await session.get(GuildSettings, guild.id)
        if settings is None:
            settings = GuildSettings(guild_id=guild.id)
            session.add(settings)
        settings.moderator_role_id = picked.id
    answer = await press()
    assert answer.content == f"<@&{picked.id}> is this server's moderator role, so I won't hand it out."
    assert picked.id not in role_ids(guild, fan)

    # A statement: the moderator role unset again, then the panel limited to members.
    async with h.bot.sessionmaker.begin() as session:
        await session.execute(
            update(GuildSettings).where(GuildSettings.guild_id == guild.id).values(moderator_role_id=None)
        )
    await press()
    assert picked.id in role_ids(guild, fan)
    async with h.bot.sessionmaker.begin() as session:
        await session.execute(update(FanRolePanel).values(required_role_id=members_only.id))
    answer = await press()
    assert answer.content == f"This panel is only for members with <@&{members_only.id}>."
    assert picked.id in role_ids(guild, fan)
