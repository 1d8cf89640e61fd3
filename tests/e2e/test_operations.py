"""Operating the bot: liveness apart from readiness, and the mod-log notices about the schema."""

from __future__ import annotations

import aiohttp
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from labelbot.config import load_settings
from labelbot.db import create_engine
from labelbot.guilds.service import get_guild_settings
from labelbot.runner import MigrationFailed, run_bot
from tests.e2e.test_startup import postgres_proxy  # noqa: F401 - the fixture, shared
from tests.fakediscord import ChannelType
from tests.harness import BotHarness, environment, free_port
from tests.support.tcpproxy import TcpProxy


async def _set_alembic_version(url: str, revision: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": revision})
    finally:
        await engine.dispose()


async def _with_mod_log(harness: BotHarness) -> int:
    mod_log = harness.guild.add_channel("mod-log", type=ChannelType.text)
    assert harness.bot is not None
    async with harness.bot.sessionmaker.begin() as session:
        (await get_guild_settings(session, harness.guild.id)).mod_log_channel_id = mod_log.id
    return mod_log.id


def _titles(harness: BotHarness, channel_id: int) -> list[str]:
    return [message.embeds[0]["title"] for message in harness.fake.messages(channel_id) if message.embeds]


async def test_livez_answers_while_healthz_reports_the_database_gone(
    harness: BotHarness,
    postgres_proxy: TcpProxy,  # noqa: F811
) -> None:
    port = free_port()
    through_proxy = make_url(harness.database_url).set(host="127.0.0.1", port=postgres_proxy.port)
    harness.database_url = through_proxy.render_as_string(hide_password=False)
    harness.extra_env.update({"LABELBOT_WEB__ENABLED": "true", "LABELBOT_WEB__PORT": str(port)})
    await harness.start()
    async with aiohttp.ClientSession() as http:
        await postgres_proxy.cut()
        async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
            assert response.status == 503
        async with http.get(f"http://127.0.0.1:{port}/livez") as response:
            body = await response.json()
        assert response.status == 200
        assert body["ok"] is True
        postgres_proxy.restore()


async def test_a_schema_newer_than_the_code_is_told_in_the_mod_log_once(harness: BotHarness) -> None:
    await harness.start()
    mod_log = await _with_mod_log(harness)
    await harness.stop()
    await _set_alembic_version(harness.database_url, "9999_from_the_future")

    await harness.start()
    await harness.wait_until(lambda: "Labelbot is older than its database" in _titles(harness, mod_log))
    notice = next(m for m in harness.fake.messages(mod_log) if m.embeds)
    assert "9999_from_the_future" in notice.embeds[0]["description"]
    assert "restore the backup" in notice.embeds[0]["description"]

    await harness.restart()  # the same newer schema is not announced again
    await harness.wait_until(lambda: harness.bot is not None and harness.bot.is_ready())
    assert _titles(harness, mod_log).count("Labelbot is older than its database") == 1


async def test_a_failed_migration_is_told_in_the_mod_log_and_stops_the_bot(harness: BotHarness) -> None:
    await harness.start()
    mod_log = await _with_mod_log(harness)
    await harness.stop()
    # The schema is at the head already; claiming it is one step behind makes the last migration fail midway.
    await _set_alembic_version(harness.database_url, "0012_quotas")
    with environment(harness.env()):
        settings = load_settings()
    with pytest.raises(MigrationFailed) as failure:
        await run_bot(settings, handle_signals=False, own_process=False)
    assert "restore the backup taken before the update" in str(failure.value)
    titles = _titles(harness, mod_log)
    assert titles == ["The update could not migrate the database"]
