"""The `labelbot` command line: run, check-config, db upgrade, backup, restore, sync-commands, i18n-catalog."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

import discord

from labelbot import __version__
from labelbot.config import ConfigError, Settings, load_settings
from labelbot.logging import configure_logging
from labelbot.permissions import bot_permissions

log = logging.getLogger(__name__)

EXIT_CONFIG = 2


def required_permissions() -> discord.Permissions:
    """What the bot asks for in its invite link: every permission it uses (labelbot.permissions.BOT_PERMISSIONS says why)."""
    return bot_permissions()


def invite_url(application_id: str = "YOUR_APPLICATION_ID") -> str:
    scopes = "bot+applications.commands"
    perms = required_permissions().value
    return f"https://discord.com/oauth2/authorize?client_id={application_id}&scope={scopes}&permissions={perms}"


NO_TOKEN_HELP = f"""\
Labelbot needs a Discord bot token to run.

1. Open https://discord.com/developers/applications, create an application (or pick yours),
   open "Bot" and press "Reset Token" to get the token.
2. Give it to Labelbot in one of these ways:
     export LABELBOT_DISCORD__TOKEN=...        (or DISCORD_TOKEN=...)
     or in config.toml:   [discord]
                          token = "..."
   (copy config.example.toml to config.toml to start.)
3. Privileged gateway intents: none are needed. Leave "Server Members" and "Message Content" off.
4. Invite the bot with the permissions it needs (put your application id in the link):
     {invite_url()}
   Then move the bot's role above the fan roles it should hand out.
"""


def _load(args: argparse.Namespace) -> Settings:
    try:
        return load_settings(args.config)
    except ConfigError as error:
        print("The configuration has problems:", file=sys.stderr)
        for problem in error.problems:
            print(f"  - {problem}", file=sys.stderr)
        raise SystemExit(EXIT_CONFIG) from None


def _database_failure(error: BaseException, settings: Settings) -> int:
    """Print the one sentence for a database that cannot be used and return exit 2; re-raise anything else."""
    from labelbot.db.failures import describe_database_failure

    sentence = describe_database_failure(error, settings.database.url)
    if sentence is None:
        raise error
    print(sentence, file=sys.stderr)
    return EXIT_CONFIG


def _database_preflight(settings: Settings) -> bool:
    """Print the sentence for a SQLite file that cannot be written, before any connection is tried."""
    from labelbot.db.failures import sqlite_preflight

    sentence = sqlite_preflight(settings.database.url)
    if sentence is not None:
        print(sentence, file=sys.stderr)
    return sentence is None


def cmd_check_config(args: argparse.Namespace) -> int:
    from labelbot.checks import deeper_problems

    settings = _load(args)
    problems, warnings = deeper_problems(settings)
    for warning in warnings:
        print(f"Warning: {warning}", file=sys.stderr)
    if problems:
        print("The configuration has problems:", file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
        return EXIT_CONFIG
    print(f"Configuration is valid. Database: {settings.database.url.split('://', 1)[0]}.")
    if settings.discord.token is None:
        print("Note: no Discord token is set yet; `labelbot run` will explain how to get one.")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    settings = _load(args)
    if settings.discord.token is None:
        print(NO_TOKEN_HELP, file=sys.stderr)
        return EXIT_CONFIG
    if not _database_preflight(settings):
        return EXIT_CONFIG
    # Imported only now: a config problem is reported without loading discord.py, SQLAlchemy and the cogs.
    from labelbot.runner import MigrationFailed, SchemaOutOfDate, run_bot

    configure_logging(settings.logging)
    log.info("Starting Labelbot %s", __version__)
    try:
        asyncio.run(run_bot(settings))
    except (SchemaOutOfDate, MigrationFailed) as error:
        print(error, file=sys.stderr)
        return EXIT_CONFIG
    except discord.LoginFailure:
        print("Discord refused the token. Check LABELBOT_DISCORD__TOKEN (or DISCORD_TOKEN).", file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        pass
    except Exception as error:
        return _database_failure(error, settings)
    return 0


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from labelbot.db import create_engine, migrate
    from labelbot.db.failures import describe_database_failure

    settings = _load(args)
    if not _database_preflight(settings):
        return EXIT_CONFIG
    configure_logging(settings.logging)

    async def upgrade() -> str | None:
        engine = create_engine(settings.database.url)
        try:
            newer = await migrate.unknown_revisions(engine)
            if newer:
                return (
                    f"The database was migrated by a newer Labelbot (schema {', '.join(sorted(newer))}) than this one "
                    "knows: run that newer version, or restore the backup taken before the update."
                )
            try:
                await migrate.upgrade(engine)
            except Exception as error:
                if describe_database_failure(error, settings.database.url) is not None:
                    raise
                log.debug("Migration failed", exc_info=True)
                detail = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
                return (
                    f"The database migration failed ({detail[:300]}): restore the backup taken before the update "
                    "(`labelbot restore FILE --yes`) or run the previous version, then report the error."
                )
            return None
        finally:
            await engine.dispose()

    try:
        refusal = asyncio.run(upgrade())
    except Exception as error:
        return _database_failure(error, settings)
    if refusal is not None:
        print(refusal, file=sys.stderr)
        return EXIT_CONFIG
    print("Database schema is up to date.")
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    from labelbot.db.backup import BackupError, backup, default_backup_path

    settings = _load(args)
    target = Path(args.path) if args.path else default_backup_path(settings.database.url)
    try:
        backup(settings.database.url, target)
    except BackupError as error:
        print(error, file=sys.stderr)
        return EXIT_CONFIG
    print(f"Backed up the database to {target}.")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from labelbot.db.backup import BackupError, restore

    settings = _load(args)
    if not args.yes:
        print(
            "Restoring replaces everything in the database with the backup. Stop the bot first, "
            "then run this again with --yes.",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    try:
        kept = restore(settings.database.url, Path(args.path))
    except BackupError as error:
        print(error, file=sys.stderr)
        return EXIT_CONFIG
    print(f"Restored the database from {args.path}.")
    if kept is not None:
        print(f"The database it replaced is kept as {kept}.")
    print("If the backup is from an older version, `labelbot db upgrade` (or `labelbot run`) migrates it.")
    return 0


def cmd_sync_commands(args: argparse.Namespace) -> int:
    from labelbot.runner import build_bot, dispose, point_discord_at, prepare_database

    settings = _load(args)
    if settings.discord.token is None:
        print(NO_TOKEN_HELP, file=sys.stderr)
        return EXIT_CONFIG
    configure_logging(settings.logging)
    token = settings.discord.token.get_secret_value()

    async def sync() -> int:
        point_discord_at(settings)
        await prepare_database(settings)
        bot = build_bot(settings, run_jobs=False, sync_commands=False, serve_web=False)
        try:
            async with bot:
                await bot.login(token)
                return await bot.sync_commands_if_changed(force=True)
        finally:
            await dispose(bot)

    count = asyncio.run(sync())
    print(f"Synced the command tree to {count} target(s).")
    return 0


def cmd_i18n_catalog(args: argparse.Namespace) -> int:
    """Write (or, with --check, compare) the English catalog of every command string translators fill from."""
    from labelbot.client import find_extensions
    from labelbot.i18n import LOCALES_DIR, SOURCE_LOCALE, source_catalog, tree_strings
    from labelbot.runner import build_bot, dispose

    # Every feature's commands, whatever this install disables, and no database: nothing is opened or synced.
    settings = Settings.model_validate({"database": {"url": "sqlite+aiosqlite:///:memory:"}})

    async def collect() -> dict[str, list[str]]:
        bot = build_bot(settings, run_jobs=False, sync_commands=False, serve_web=False)
        try:
            async with bot:
                for extension in find_extensions():
                    await bot.load_extension(extension)
                return await tree_strings(bot.tree)
        finally:
            await dispose(bot)

    strings = asyncio.run(collect())
    text = source_catalog(strings)
    path = Path(args.output) if args.output else LOCALES_DIR / f"{SOURCE_LOCALE}.json"
    if args.check:
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            print(f"{path} is out of date: run `labelbot i18n-catalog` and commit it.", file=sys.stderr)
            return 1
        print(f"{path} lists every command string.")
        return 0
    path.write_text(text, encoding="utf-8")
    count = sum(len(texts) for texts in strings.values())
    print(f"Wrote {count} strings to {path}; translators copy it to <locale>.json and fill in the values.")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="labelbot", description="Labelbot, the Discord bot for record labels.")
    parser.add_argument("--version", action="version", version=f"labelbot {__version__}")
    parser.add_argument("--config", help="path of config.toml (default: $LABELBOT_CONFIG or ./config.toml)")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="run the bot").set_defaults(func=cmd_run)
    commands.add_parser("check-config", help="validate the settings without connecting").set_defaults(
        func=cmd_check_config
    )
    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    db_commands.add_parser("upgrade", help="migrate the schema to this version").set_defaults(func=cmd_db_upgrade)
    commands.add_parser("sync-commands", help="push the slash commands to Discord now").set_defaults(
        func=cmd_sync_commands
    )
    backup = commands.add_parser("backup", help="copy the database to a file, while the bot runs or not")
    backup.add_argument("path", nargs="?", help="where to write it (default: labelbot-backup-<time>.db or .dump)")
    backup.set_defaults(func=cmd_backup)
    restore = commands.add_parser("restore", help="replace the database with a backup (stop the bot first)")
    restore.add_argument("path", help="the backup file")
    restore.add_argument("--yes", action="store_true", help="confirm that the database is to be replaced")
    restore.set_defaults(func=cmd_restore)
    catalog = commands.add_parser("i18n-catalog", help="write the catalog of command strings translators fill in")
    catalog.add_argument("--output", help="where to write it (default: the package's locales/en-US.json)")
    catalog.add_argument("--check", action="store_true", help="only check that the catalog is up to date")
    catalog.set_defaults(func=cmd_i18n_catalog)
    # `--config` is accepted after the subcommand too (labelbot run --config x.toml).
    for sub in (*commands.choices.values(), *db_commands.choices.values()):
        sub.add_argument("--config", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "config"):
        args.config = None
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
