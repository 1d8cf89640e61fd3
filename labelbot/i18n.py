"""Command and option names and descriptions in the member's Discord language, from catalog files.

`labelbot/locales/en-US.json` holds every string of the command tree in three sections, English in place (key and value
alike): "names" (commands, groups, options: lower case, no spaces, at most 32 characters), "descriptions" and
"choices" (at most 100 characters). `labelbot i18n-catalog` keeps it in step and a test checks it. A translator
copies it to `<locale>.json` (Discord's locale codes: `de.json`, `pt-BR.json`, ...) and fills in the values; a value
left empty or equal to the English falls back to English. discord.py hands every name and description to the translator as a `locale_str` when it syncs, and
sends what it answers as `name_localizations` / `description_localizations`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import discord
from discord import app_commands
from discord.app_commands import TranslationContextLocation as Where

log = logging.getLogger(__name__)

LOCALES_DIR = Path(__file__).with_name("locales")
SOURCE_LOCALE = "en-US"

# Discord's rules for what it accepts (application-commands doc): a name is lower case, no spaces, 1-32 characters;
# a description or a choice's name at most 100. A translation that breaks them would make the whole sync fail.
NAME = re.compile(r"^[-_\w]{1,32}$")
NAME_LOCATIONS = {Where.command_name, Where.group_name, Where.parameter_name}
TEXT_MAX = 100
SECTIONS = ("names", "descriptions", "choices")


def section_of(location: Where) -> str:
    """The catalog section a string of this kind is kept in."""
    if location in NAME_LOCATIONS:
        return "names"
    if location is Where.choice_name:
        return "choices"
    return "descriptions"


Catalog = dict[str, dict[str, str]]  # section -> English -> translation


def load_catalogs(directory: Path | None = None) -> dict[str, Catalog]:
    """Every `<locale>.json` in the directory (default: the package's) but the English source, by locale code."""
    directory = LOCALES_DIR if directory is None else directory
    known = {locale.value for locale in discord.Locale}
    catalogs: dict[str, Catalog] = {}
    for path in sorted(directory.glob("*.json")):
        code = path.stem
        if code == SOURCE_LOCALE:
            continue
        if code not in known:
            log.warning("Skipped the catalog %s: %r is not one of Discord's locales", path.name, code)
            continue
        sections = json.loads(path.read_text(encoding="utf-8"))
        catalogs[code] = {
            section: {
                key: value for key, value in sections.get(section, {}).items() if isinstance(value, str) and value
            }
            for section in SECTIONS
        }
    return catalogs


def acceptable(location: Where, text: str) -> bool:
    """Whether Discord would take this translation where it goes."""
    if location in NAME_LOCATIONS:
        return bool(NAME.match(text)) and text == text.lower()
    return 0 < len(text) <= TEXT_MAX


class CatalogTranslator(app_commands.Translator):
    """Answers from the catalogs; English (and anything untranslated) is left to discord.py's default."""

    def __init__(self, catalogs: dict[str, Catalog] | None = None) -> None:
        self.catalogs = load_catalogs() if catalogs is None else catalogs
        self._refused: set[tuple[str, str]] = set()

    @property
    def fingerprint(self) -> str:
        """Changes whenever a translation does, so the command tree is synced again."""
        return hashlib.sha256(json.dumps(self.catalogs, sort_keys=True).encode()).hexdigest()

    async def translate(
        self,
        string: app_commands.locale_str,
        locale: discord.Locale,
        context: app_commands.TranslationContext[Any, Any],
    ) -> str | None:
        text = self.catalogs.get(locale.value, {}).get(section_of(context.location), {}).get(string.message)
        if text is None or text == string.message:
            return None
        if not acceptable(context.location, text):
            if (locale.value, string.message) not in self._refused:
                self._refused.add((locale.value, string.message))
                log.warning(
                    "Left out the %s translation of %r: Discord would refuse %r", locale.value, string.message, text
                )
            return None
        return text


class _Collector(app_commands.Translator):
    """Translates nothing; notes every string discord.py asks about."""

    def __init__(self) -> None:
        self.strings: dict[str, set[str]] = {section: set() for section in SECTIONS}

    async def translate(
        self,
        string: app_commands.locale_str,
        locale: discord.Locale,
        context: app_commands.TranslationContext[Any, Any],
    ) -> str | None:
        self.strings[section_of(context.location)].add(string.message)
        return None


async def tree_strings(
    tree: app_commands.CommandTree[Any], guilds: Iterable[discord.abc.Snowflake | None] = (None,)
) -> dict[str, list[str]]:
    """Every name, description and choice name of the command tree by section, as discord.py hands them over."""
    collector = _Collector()
    for guild in guilds:
        for command in tree.get_commands(guild=guild):
            await command.get_translated_payload(tree, collector)
    return {section: sorted(strings) for section, strings in collector.strings.items()}


def source_catalog(strings: dict[str, list[str]]) -> str:
    """The English catalog's text: each string mapped to itself, by section, sorted."""
    sections = {section: {text: text for text in strings.get(section, [])} for section in SECTIONS}
    return json.dumps(sections, ensure_ascii=False, indent=2) + "\n"
