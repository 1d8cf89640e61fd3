"""The `labelbot` command line: run, check-config, db upgrade, sync-commands."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence

import discord

from bot import __version__
from bot.config import ConfigError, Settings, load_settings
from bot.logging import configure_logging

log = logging.getLogger(__name__)

EXIT_CONFIG = 2


def required_permissions() -> discord.Permissions:
    """What the bot asks for in its invite link, and why each is needed."""
    return discord.Permissions(
        view_channel=True,
        send_messages=True,
        send_messages_in_threads=True,
        embed_links=True,
        attach_files=True,
        read_message_history=True,
        add_reactions=True,
        create_public_threads=True,
        create_private_threads=True,
        manage_threads=True,  # archive collab posts, open party threads
        manage_messages=True,  # crosspost announcements, pin party cards
        manage_roles=True,  # fan roles and loyalty tiers (only roles below its own)
        manage_events=True,  # native scheduled events for parties and community events
        create_events=True,
        # Lets the bot ping fan roles that members themselves cannot ping; every message still lists exactly
        # which roles it may mention, so @everyone is never pinged.
        mention_everyone=True,
    )


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


def cmd_check_config(args: argparse.Namespace) -> int:
    settings = _load(args)
    print(f"Configuration is valid. Database: {settings.database.url.split('://', 1)[0]}.")
    if settings.discord.token is None:
        print("Note: no Discord token is set yet; `labelbot run` will explain how to get one.")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    settings = _load(args)
    if settings.discord.token is None:
        print(NO_TOKEN_HELP, file=sys.stderr)
        return EXIT_CONFIG
    # Imported only now: a config problem is reported without loading discord.py, SQLAlchemy and the cogs.
    from bot.runner import SchemaOutOfDate, run_bot

    configure_logging(settings.logging)
    log.info("Starting Labelbot %s", __version__)
    try:
        asyncio.run(run_bot(settings))
    except SchemaOutOfDate as error:
        print(error, file=sys.stderr)
        return EXIT_CONFIG
    except discord.LoginFailure:
        print("Discord refused the token. Check LABELBOT_DISCORD__TOKEN (or DISCORD_TOKEN).", file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        pass
    return 0


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from bot.db import create_engine, migrate

    settings = _load(args)
    configure_logging(settings.logging)

    async def upgrade() -> None:
        engine = create_engine(settings.database.url)
        try:
            await migrate.upgrade(engine)
        finally:
            await engine.dispose()

    asyncio.run(upgrade())
    print("Database schema is up to date.")
    return 0


def cmd_sync_commands(args: argparse.Namespace) -> int:
    from bot.runner import build_bot, dispose, point_discord_at, prepare_database

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
