"""The synced command tree follows Discord's conventions: moderator commands carry a permission hint, numbers carry
their ranges, every zone option autocompletes."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

from discord import app_commands

from tests.e2e.helpers import running
from tests.fakediscord import Permissions
from tests.harness import BotHarness

# Top-level commands where members' (or artists') subcommands sit beside moderators' ones. Discord applies
# default_member_permissions per top-level command, so these show to everyone and each moderator subcommand checks.
MIXED = {
    "artist": "members browse artists (list, info) and artists edit their own; moderators add, link, remove",
    "calendar": "everyone gets the feed link; moderators reset it",
    "collab": "members post and browse requests; moderators edit the skill list",
    "event": "artists may create events when allowed; moderators export attendees",
    "roles": "fans pick roles and see their tiers; moderators build panels and tiers",
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
    assert mixed == set(MIXED), "a group listed as mixed is no longer mixed: drop it from MIXED"
    # The member's own time zone left /settings for /me, which every member sees.
    assert "me" in synced
    assert synced["me"].get("default_member_permissions") is None
    assert [o["name"] for o in synced["me"]["options"]] == ["timezone"]
    assert "my-timezone" not in [o["name"] for o in synced["settings"]["options"]]


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
    assert ranges["roles tiers set threshold"] == (1, None)
    assert ranges["roles panel create max"] == (1, None)
    assert ranges["event create capacity"] == (0, 10_000)

    zones = {name: o for name, o in options.items() if o["name"] == "zone"}
    assert set(zones) == {"settings timezone zone", "me timezone zone", "party schedule zone", "party edit zone"}
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
