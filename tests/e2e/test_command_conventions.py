"""The synced command tree follows Discord's conventions: moderator commands carry a permission hint, numbers carry
their ranges, every zone option autocompletes."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

import pytest
from discord import app_commands

from labelbot.permissions import MODERATORS_ONLY
from tests.e2e.helpers import database_state, run, running
from tests.fakediscord import Permissions
from tests.harness import BotHarness

# Top-level commands where members' (or artists') subcommands sit beside moderators' ones. Discord applies
# default_member_permissions per top-level command, so these show to everyone and each moderator subcommand checks.
MIXED: dict[str, str] = {}

# Features whose moderators' half is `/<feature>-admin` (labelbot.permissions.moderator_group), and a members' command
# each keeps under the feature's own name.
SPLIT = {
    "artist": "artist info",
    "calendar": "calendar link",
    "collab": "collab skills list",
    "drop": "drop list",
    "event": "event list",
    "roles": "roles tiers list",
}


def _leaves(
    command: app_commands.Command[Any, ..., Any] | app_commands.Group,
) -> Iterator[app_commands.Command[Any, ..., Any]]:
    if isinstance(command, app_commands.Group):
        for child in command.commands:
            yield from _leaves(child)
    else:
        yield command


def _for_moderators(command: app_commands.Command[Any, ..., Any]) -> bool:
    """Whether the callback refuses anyone but a moderator (the @moderator_only check or require_moderator)."""
    if any(check.__qualname__.startswith("moderator_only.") for check in command.checks):
        return True
    return "require_moderator(" in inspect.getsource(command.callback)


def _options(options: list[dict[str, Any]], path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    for option in options:
        if option["type"] in (1, 2):  # subcommand, subcommand group
            yield from _options(option.get("options") or [], f"{path} {option['name']}")
        else:
            yield path, option


async def test_moderator_commands_are_hidden_from_members_and_the_rest_are_not(labelbot: BotHarness) -> None:
    bot = running(labelbot)
    synced = {c["name"]: c for c in labelbot.fake.synced_commands(labelbot.guild)}
    checked, mixed = set(), set()
    for command in bot.tree.get_commands(type=None):  # type: ignore[call-overload]
        if not isinstance(command, app_commands.Command | app_commands.Group):
            continue
        moderators = [_for_moderators(leaf) for leaf in _leaves(command)]
        hint = synced[command.name].get("default_member_permissions")
        if all(moderators):
            assert hint == str(Permissions.MANAGE_GUILD), f"/{command.name} is for moderators but shows to members"
        elif any(moderators):
            assert command.name in MIXED, f"/{command.name} mixes moderator and member subcommands: split it"
            assert hint is None, f"/{command.name} hides members' subcommands"
            mixed.add(command.name)
        else:
            assert hint is None, f"/{command.name} is for members but is hidden from them"
        checked.add(command.name)
    assert {"settings", "dashboard", "me", "release"} <= checked
    for feature in SPLIT:
        assert synced[f"{feature}-admin"].get("default_member_permissions") == str(Permissions.MANAGE_GUILD)
        assert synced[feature].get("default_member_permissions") is None
    assert mixed == set(MIXED), "a group listed as mixed is no longer mixed: drop it from MIXED"
    # The member's own time zone left /settings for /me, which every member sees.
    assert "me" in synced
    assert synced["me"].get("default_member_permissions") is None
    assert [o["name"] for o in synced["me"]["options"]] == ["timezone"]
    assert "my-timezone" not in [o["name"] for o in synced["settings"]["options"]]


async def test_members_keep_their_half_and_the_moderators_half_still_refuses_them(labelbot: BotHarness) -> None:
    fake, guild = labelbot.fake, labelbot.guild
    alice = guild.add_member(fake.add_user("alice"))
    running(labelbot)
    for command in SPLIT.values():
        if command == "artist info":
            continue  # needs an artist; /artist list shows the same visibility
        reply = await run(labelbot, alice, command)
        assert reply.content != MODERATORS_ONLY, command
    assert (await run(labelbot, alice, "artist list")).content != MODERATORS_ONLY

    before = await database_state(labelbot)
    moderators = [
        ("calendar-admin reset", {}),
        ("collab-admin skills add", {"name": "tuba"}),
        ("roles-admin panel list", {}),
        ("roles-admin tiers sync", {}),
    ]
    for command, options in moderators:
        with pytest.raises(AssertionError, match=f"alice cannot see /{command.split()[0]}"):
            await run(labelbot, alice, command, **options)
    # A server admin may open them to everyone in Server Settings > Integrations: the bot still refuses.
    for feature in SPLIT:
        guild.open_command(f"{feature}-admin", guild.everyone)
    for command, options in moderators:
        reply = await run(labelbot, alice, command, **options)
        assert reply.ephemeral
        assert reply.content == MODERATORS_ONLY, command
    assert await database_state(labelbot) == before


async def test_number_options_carry_their_ranges_and_zone_options_autocomplete(labelbot: BotHarness) -> None:
    options = {
        f"{path} {option['name']}": option
        for command in labelbot.fake.synced_commands(labelbot.guild)
        for path, option in _options(command.get("options") or [], command["name"])
    }
    numbers = {name: o for name, o in options.items() if o["type"] in (4, 10)}
    # Picked from autocomplete (a request's id): no range a member would type.
    picked = {name for name, o in numbers.items() if o.get("autocomplete")}
    unranged = [name for name, o in numbers.items() if name not in picked and o.get("min_value") is None]
    assert unranged == []
    ranges = {name: (o.get("min_value"), o.get("max_value")) for name, o in numbers.items()}
    assert ranges["party schedule capacity"] == (0, 10_000)
    assert ranges["party edit capacity"] == (0, 10_000)
    assert ranges["roles-admin tiers set threshold"] == (1, None)
    assert ranges["roles-admin panel create max"] == (1, None)
    assert ranges["event create capacity"] == (0, 10_000)

    zones = {name: o for name, o in options.items() if o["name"] == "zone"}
    assert set(zones) == {
        "settings timezone zone",
        "me timezone zone",
        "party schedule zone",
        "party edit zone",
        "party replay zone",
    }
    assert [name for name, o in zones.items() if not o.get("autocomplete")] == []


async def test_every_zone_option_offers_zones(labelbot: BotHarness) -> None:
    fake, guild = labelbot.fake, labelbot.guild
    alice = guild.add_member(fake.add_user("alice"))
    for user, command in [
        (alice, "me timezone"),
        (labelbot.moderator, "settings timezone"),
        (labelbot.moderator, "party schedule"),
        (labelbot.moderator, "party edit"),
    ]:
        choices = await fake.autocomplete(guild, labelbot.general, user, command, focused="zone", zone="berl")
        assert choices[0]["value"] == "Europe/Berlin", command
