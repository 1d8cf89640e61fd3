"""The skeleton as an operator and a member meet it: start, sync, /about, errors, health, shutdown."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import pytest
from sqlalchemy.engine import make_url

from labelbot.db.base import utcnow
from labelbot.jobs import JobQueue
from tests.databases import postgres_base_url
from tests.e2e.helpers import nothing_more_happens, running
from tests.fakediscord import ChannelType
from tests.harness import ROOT, BotHarness, free_port
from tests.support.tcpproxy import TcpProxy
from tests.support.ticker import KIND as TICK


def command_syncs(harness: BotHarness) -> int:
    return sum(1 for r in harness.fake.requests if r.method == "PUT" and "/commands" in r.path)


async def test_first_start_syncs_commands_and_a_restart_with_the_same_tree_does_not(harness: BotHarness) -> None:
    await harness.start()
    assert command_syncs(harness) == 1
    synced = {command["name"] for command in harness.fake.synced_commands(guild=harness.guild)}
    assert "about" in synced

    await harness.restart()
    assert command_syncs(harness) == 1, "an unchanged command tree must not be synced again"


async def test_a_bot_stopped_while_its_job_queue_starts_leaves_no_queue_running_behind(
    harness: BotHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stopped right after READY (an update, a crash loop), the bot leaves no job queue beating and claiming on."""
    starting = asyncio.Event()
    database_back = asyncio.Event()
    start = JobQueue.start

    async def slow_start(queue: JobQueue, bot: object) -> None:
        starting.set()
        await database_back.wait()  # as on a busy database: the first beat takes its time
        await start(queue, bot)  # type: ignore[arg-type]

    monkeypatch.setattr(JobQueue, "start", slow_start)
    await harness.start()
    await asyncio.wait_for(starting.wait(), timeout=10)
    await harness.stop()
    database_back.set()
    await asyncio.sleep(0.5)
    running = sorted(task.get_name() for task in asyncio.all_tasks() if task.get_name().startswith("labelbot-"))
    assert running == [], f"left running after the bot stopped: {running}"


async def test_about_shows_version_database_and_features(labelbot: BotHarness, backend: str) -> None:
    ix = await labelbot.fake.slash(labelbot.guild, labelbot.general, labelbot.moderator, "about")
    reply = await ix.reply()
    assert reply.ephemeral
    embed = reply.embeds[0]
    fields = {field["name"]: field["value"] for field in embed["fields"]}
    assert fields["Version"] == "0.1.0"
    assert fields["Database"] == ("PostgreSQL" if backend == "postgres" else "SQLite")
    assert re.fullmatch(r"\d+ ms|not measured yet", fields["Gateway latency"])
    assert "About" in fields["What I can do"]


async def test_bad_input_gets_one_ephemeral_sentence(harness: BotHarness) -> None:
    harness.extra_env["LABELBOT_FEATURES__EXTRA_EXTENSIONS"] = '["tests.support.faulty"]'
    await harness.start()
    reply = await (await harness.fake.slash(harness.guild, harness.general, harness.moderator, "refuse")).reply()
    assert reply.ephemeral
    assert reply.content == "That date has already passed."


@pytest.mark.expect_error_log("Unexpected error in boom")
async def test_a_bug_gets_an_apology_with_a_reference_and_no_traceback(
    harness: BotHarness, caplog: pytest.LogCaptureFixture
) -> None:
    harness.extra_env["LABELBOT_FEATURES__EXTRA_EXTENSIONS"] = '["tests.support.faulty"]'
    await harness.start()
    reply = await (await harness.fake.slash(harness.guild, harness.general, harness.moderator, "boom")).reply()
    assert reply.ephemeral
    assert "a bug the member must never see" not in reply.content
    reference = re.search(r"reference `([0-9a-f]{8})`", reply.content)
    assert reference, reply.content
    logged = [r for r in caplog.records if reference.group(1) in r.getMessage()]
    assert logged, "the reference must be in the log"
    assert logged[0].exc_info, "the log entry must carry the traceback"


async def test_health_and_metrics(harness: BotHarness) -> None:
    port = free_port()
    harness.extra_env.update({"LABELBOT_WEB__ENABLED": "true", "LABELBOT_WEB__PORT": str(port)})
    await harness.start()
    base = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base}/healthz") as response:
            body = await response.json()
            assert response.status == 200, body
            assert body["checks"]["database"]["ok"]
            assert body["checks"]["gateway"]["ok"]

        await (await harness.fake.slash(harness.guild, harness.general, harness.moderator, "about")).reply()
        async with http.get(f"{base}/metrics") as response:
            text = await response.text()
        assert response.status == 200
        assert 'labelbot_commands_total{command="about",outcome="ok"} 1.0' in text


@pytest.fixture
async def postgres_proxy(backend: str) -> AsyncIterator[TcpProxy]:
    """A proxy between the bot and PostgreSQL that the test can cut."""
    if backend != "postgres":
        pytest.skip("cutting the database connection is tested on PostgreSQL, through a TCP proxy")
    url = make_url(postgres_base_url() or "")
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    await proxy.start()
    yield proxy
    await proxy.stop()


async def test_health_turns_503_when_the_database_is_unreachable(harness: BotHarness, postgres_proxy: TcpProxy) -> None:
    port = free_port()
    through_proxy = make_url(harness.database_url).set(host="127.0.0.1", port=postgres_proxy.port)
    harness.database_url = through_proxy.render_as_string(hide_password=False)
    harness.extra_env.update({"LABELBOT_WEB__ENABLED": "true", "LABELBOT_WEB__PORT": str(port)})
    await harness.start()
    async with aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
            assert response.status == 200
        await postgres_proxy.cut()
        async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
            body = await response.json()
        assert response.status == 503
        assert body["checks"]["database"]["ok"] is False
        postgres_proxy.restore()
        await harness.wait_until(_healthy(http, port), timeout=15)


def _healthy(http: aiohttp.ClientSession, port: int) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
            return response.status == 200

    return check


async def test_a_database_away_as_the_job_queue_starts_delays_scheduled_posts_but_loses_none(
    harness: BotHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL restarting just as the bot becomes ready: the job queue starts once it is back, and posts go out."""
    attempts = 0
    start = JobQueue.start

    async def start_after_an_outage(queue: JobQueue, bot: object) -> None:
        nonlocal attempts
        attempts += 1
        if attempts <= 2:
            raise ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 5432)")
        await start(queue, bot)  # type: ignore[arg-type]

    monkeypatch.setattr(JobQueue, "start", start_after_an_outage)
    harness.extra_env["LABELBOT_FEATURES__EXTRA_EXTENSIONS"] = json.dumps(["tests.support.ticker"])
    await harness.start()
    posts = harness.guild.add_channel("ticks", type=ChannelType.text)
    bot = running(harness)
    async with bot.sessionmaker.begin() as session:
        await bot.jobs.schedule(session, TICK, {"channel_id": posts.id, "n": 1}, utcnow(), key="tick:after-start")
    # Given up after the first failure, the bot answered members but never posted anything scheduled.
    await harness.fake.wait_for_message(posts, lambda m: m.content == "tick 1", timeout=20)
    assert attempts == 3
    await nothing_more_happens(harness, "tick:after-start")
    assert [m.content for m in harness.fake.messages(posts)] == ["tick 1"]


@pytest.mark.slow
async def test_labelbot_run_logs_in_and_exits_cleanly_on_sigterm(harness: BotHarness) -> None:
    process = harness.spawn()
    await harness.wait_until(lambda: command_syncs(harness) == 1 or process.process.poll() is not None, timeout=30)
    assert process.process.poll() is None, process.output()
    await harness.wait_until(lambda: "Synced app commands" in process.output(), timeout=10)
    code = await process.terminate(timeout=15)
    assert code == 0, process.output()
    assert "Traceback" not in process.output()
    assert harness.fake.token not in process.output(), "the token must never be logged"


@pytest.mark.slow
async def test_out_of_date_schema_with_auto_migrate_off_refuses_to_start(harness: BotHarness) -> None:
    env = {**harness.env(), "LABELBOT_DATABASE__AUTO_MIGRATE": "false"}
    env["LABELBOT_DATABASE__URL"] = f"sqlite+aiosqlite:///{harness.workdir / 'empty.db'}"
    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "labelbot", "run"],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "labelbot db upgrade" in result.stderr
    assert "Traceback" not in result.stderr
