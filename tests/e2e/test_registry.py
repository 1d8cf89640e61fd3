"""The features register with the core: audit titles for every action they record, and clean reloads."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.e2e.test_fan_roles import build_panel, panel_messages, role_ids, run
from tests.harness import BotHarness

COGS = Path(__file__).resolve().parents[2] / "labelbot" / "features"
# The calls that write an audit entry: labelbot.audit.service.record (imported under several names), its
# record_command for a command's change, and the releases' own wrapper, whose action is its fourth argument.
RECORDERS = {"record", "record_command", "audit_record", "_audit", "_record"}
# Declarations of an action ahead of its recording (`_Audited("settings.limit", ...)` in the settings service).
DECLARERS = {"_Audited"}


def _strings(node: ast.AST) -> set[str]:
    return {n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)}


def recorded_actions() -> dict[str, str]:
    """Every audit action a feature writes, by where it is written; found in the source, so a new one is seen."""
    actions: dict[str, str] = {}
    for path in sorted(COGS.rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for call in ast.walk(tree):
            if isinstance(call, ast.Call) and getattr(call.func, "id", "") in DECLARERS and call.args:
                for action in _strings(call.args[0]):
                    actions.setdefault(action, f"{path.relative_to(COGS.parents[1])}:{call.lineno}")
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            found: set[str] = set()
            records = False
            for call in ast.walk(function):
                if not isinstance(call, ast.Call):
                    continue
                name = call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "")
                if name not in RECORDERS:
                    continue
                records = True
                for keyword in call.keywords:
                    if keyword.arg == "action":
                        found |= _strings(keyword.value)
                if name == "_audit" and len(call.args) > 3:
                    found |= _strings(call.args[3])
            if records:
                # `action = "release.submit"` and the like, handed to the recorder as a variable.
                for assign in ast.walk(function):
                    if isinstance(assign, ast.Assign) and any(
                        isinstance(t, ast.Name) and t.id == "action" for t in assign.targets
                    ):
                        found |= _strings(assign.value)
            for action in found:
                actions.setdefault(action, f"{path.relative_to(COGS.parents[1])}:{function.lineno}")
    return actions


async def test_every_audit_action_a_feature_records_reads_as_a_title_in_the_mod_log(harness: BotHarness) -> None:
    bot = await harness.start()
    actions = recorded_actions()
    # The finder sees every feature's actions, the ones that once showed raw included.
    assert {"release.create", "release.announce_now", "collab.close", "party.schedule", "settings.limit"} <= set(
        actions
    )
    untitled = {action: where for action, where in actions.items() if action not in bot.features.audit_titles}
    assert untitled == {}, f"audit actions that would show raw in the mod log: {untitled}"
    assert bot.features.audit_titles.title("release.announce_now") == "Release announced early"

    # A feature's titles leave with it.
    await bot.unload_extension("labelbot.features.releases")
    assert bot.features.audit_titles.title("release.create") == "release.create"
    await bot.load_extension("labelbot.features.releases")
    assert bot.features.audit_titles.title("release.create") == "Release drafted"


async def test_every_extension_reloads_and_commands_and_persistent_buttons_still_answer(harness: BotHarness) -> None:
    h = harness
    guild = h.guild
    indie, rock = guild.add_role("Indie"), guild.add_role("Rock")
    fan = guild.add_member("fan")
    bot = await h.start()
    await build_panel(h, "Genres", "buttons", "one", [indie, rock])
    assert "Posted **Genres**" in (await run(h, "roles-admin panel post", panel="Genres")).content
    [message] = panel_messages(h)
    loaded = sorted(bot.extensions)
    assert "labelbot.features.fan_roles" in loaded

    # What an operator does after an update: unload everything, load it again, then reload each once more.
    for extension in loaded:
        await bot.unload_extension(extension)
    assert not bot.extensions
    for extension in loaded:
        await bot.load_extension(extension)
    for extension in loaded:
        await bot.reload_extension(extension)
    assert sorted(bot.extensions) == loaded

    answer = await run(h, "about")
    assert "Labelbot" in answer.text, answer.text
    # The button posted before the reloads is answered by the reloaded feature, once.
    answer = await (await h.fake.click(guild, h.general, fan.user, message, message.custom_ids[0])).reply(timeout=10)
    assert answer.content == f"Gave you <@&{indie.id}>.", answer.text
    assert role_ids(guild, fan) == {indie.id}
    # And a command of a reloaded feature writes through its tables as before.
    answer = await run(h, "roles-admin panel create", name="Moods", style="select", mode="any")
    assert "Created the role panel" in answer.content, answer.text
