"""Command names and descriptions come from catalogs a translator fills: the English one lists every string of the
command tree, and a filled one reaches Discord as name/description localizations."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import labelbot.i18n
from labelbot.cli import main
from labelbot.i18n import LOCALES_DIR, CatalogTranslator, source_catalog, tree_strings
from tests.e2e.helpers import running
from tests.harness import BotHarness

SOURCE = LOCALES_DIR / "en-US.json"


async def test_the_english_catalog_lists_every_command_string(labelbot: BotHarness) -> None:
    bot = running(labelbot)
    assert isinstance(bot.tree.translator, CatalogTranslator)
    strings = await tree_strings(bot.tree)
    catalog = json.loads(SOURCE.read_text(encoding="utf-8"))
    for section, texts in strings.items():
        missing = sorted(set(texts) - set(catalog[section]))
        assert missing == [], f"not in {SOURCE.name} {section} (run `labelbot i18n-catalog`): {missing[:10]}"
    assert "me" in catalog["names"]
    assert "Your own settings in this server." in catalog["descriptions"]
    assert SOURCE.read_text(encoding="utf-8") == source_catalog(strings), "stale strings: run `labelbot i18n-catalog`"


def test_the_catalog_command_writes_and_checks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    written = tmp_path / "en-US.json"
    assert main(["i18n-catalog", "--output", str(written)]) == 0
    assert written.read_text(encoding="utf-8") == SOURCE.read_text(encoding="utf-8")
    assert main(["i18n-catalog", "--check", "--output", str(written)]) == 0
    stale = json.loads(written.read_text(encoding="utf-8"))
    del stale["names"]["me"]
    written.write_text(json.dumps(stale), encoding="utf-8")
    assert main(["i18n-catalog", "--check", "--output", str(written)]) == 1
    assert "out of date" in capsys.readouterr().err


async def test_a_filled_catalog_reaches_discord_and_a_bad_name_is_left_out(
    harness: BotHarness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    locales = tmp_path / "locales"
    locales.mkdir()
    german = {
        "names": {"me": "ich", "timezone": "Zeitzone"},  # a name with a capital letter: Discord would refuse it
        "descriptions": {"Your own settings in this server.": "Deine eigenen Einstellungen auf diesem Server."},
        "choices": {},
    }
    (locales / "de.json").write_text(json.dumps(german), encoding="utf-8")
    monkeypatch.setattr(labelbot.i18n, "LOCALES_DIR", locales)
    await harness.start()

    me = {c["name"]: c for c in harness.fake.synced_commands(harness.guild)}["me"]
    assert me["name_localizations"] == {"de": "ich"}
    assert me["description_localizations"] == {"de": "Deine eigenen Einstellungen auf diesem Server."}
    [timezone] = me["options"]
    assert timezone["name"] == "timezone"
    assert not timezone.get("name_localizations")
    # English members see the English names: a Discord client without the locale falls back to them.
    reply = await (
        await harness.fake.slash(harness.guild, harness.general, harness.moderator, "me timezone", zone="Asia/Tokyo")
    ).reply(timeout=10)
    assert "Asia/Tokyo" in reply.content

    # A translator's change reaches Discord at the next start, though the commands themselves did not change.
    syncs = sum(1 for r in harness.fake.requests if r.method == "PUT" and "/commands" in r.path)
    german["names"]["me"] = "mein"
    (locales / "de.json").write_text(json.dumps(german), encoding="utf-8")
    await harness.restart()
    assert sum(1 for r in harness.fake.requests if r.method == "PUT" and "/commands" in r.path) == syncs + 1
    me = {c["name"]: c for c in harness.fake.synced_commands(harness.guild)}["me"]
    assert me["name_localizations"] == {"de": "mein"}
