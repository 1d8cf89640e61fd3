"""Run the real Labelbot against the fake Discord: in this process, or as a child process a test can kill."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import random
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from labelbot.client import LabelBot
from labelbot.config import load_settings
from labelbot.db import guard
from labelbot.runner import run_bot
from tests.fakediscord import ChannelType, FakeDiscord

ROOT = Path(__file__).resolve().parent.parent
READY_TIMEOUT = 20.0


# Below Linux's ephemeral range (32768-60999): the kernel never gives these to an outgoing connection, so none can
# take the port between this check and the bot's bind (a port the kernel chose was taken so: "address in use").
TEST_PORTS = range(20000, 32768)
# Each xdist worker hands out its own share, in turn: no other worker, and no earlier test of this one whose bot is
# still starting, can be given the same port before its bot binds it.
_WORKERS = 8


def _worker_ports() -> Iterator[int]:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    share = len(TEST_PORTS) // _WORKERS
    first = TEST_PORTS.start + (int(worker) % _WORKERS if worker.isdigit() else 0) * share
    ports = list(range(first, first + share))
    random.shuffle(ports)  # two test runs side by side (a developer's and CI) rarely meet
    return itertools.cycle(ports)


_ports = _worker_ports()


def free_port() -> int:
    """A TCP port on 127.0.0.1 nothing listens on right now (for the bot's web server in tests)."""
    while True:
        port = next(_ports)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port


@contextlib.contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """Set environment variables for the duration of a block."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


class BotProcess:
    """`python -m labelbot run` as a child process, configured by environment variables only."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.log_path = log_path
        self._log = log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "labelbot", "run"],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def kill(self) -> None:
        """SIGKILL: no cleanup at all, as in a crash or an OOM kill."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        self._log.close()

    async def terminate(self, timeout: float = 15.0) -> int:
        """SIGTERM and wait for a clean exit; return the exit status."""
        self.process.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(self.process.wait, timeout)
        self._log.close()
        return code

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")


class BotHarness:
    """The fake Discord with one label server, and the real bot pointed at it."""

    def __init__(self, fake: FakeDiscord, database_url: str, workdir: Path) -> None:
        self.fake = fake
        self.database_url = database_url
        self.workdir = workdir
        self.guild = fake.add_guild("Midnight Tapes Records")
        self.general = self.guild.add_channel("general", type=ChannelType.text)
        self.moderator = self.guild.owner
        self.bot: LabelBot | None = None
        self._task: asyncio.Task[None] | None = None
        self.extra_env: dict[str, str] = {}
        self.processes: list[BotProcess] = []

    def env(self) -> dict[str, str]:
        """The environment the bot is configured by (the same for in-process and child-process runs)."""
        return {
            "LABELBOT_DISCORD__TOKEN": self.fake.token,
            "LABELBOT_DISCORD__API_BASE": self.fake.api_base,
            "LABELBOT_DISCORD__GATEWAY_URL": self.fake.gateway_url,
            "LABELBOT_DISCORD__GUILD_IDS": f"[{self.guild.id}]",
            # The fake sends every server at once; discord.py's default 2 s wait for more is dead time here.
            "LABELBOT_DISCORD__GUILD_READY_TIMEOUT": "0.1",
            "LABELBOT_DATABASE__URL": self.database_url,
            "LABELBOT_WEB__ENABLED": "false",
            "LABELBOT_LINK_PREVIEWS__ALLOW_PRIVATE_ADDRESSES": "true",
            "LABELBOT_JOBS__SWEEP_SECONDS": "1",
            "LABELBOT_JOBS__LEASE_SECONDS": "5",
            "LABELBOT_JOBS__RETRY_BASE_SECONDS": "0.5",
            "LABELBOT_LOGGING__LEVEL": "INFO",
            # Every e2e test fails on a Discord request made while a database session is open (see held_sessions).
            "LABELBOT_DATABASE__SESSION_GUARD": "strict",
            "LABELBOT_CONFIG": str(self.workdir / "no-config.toml"),
            **self.extra_env,
        }

    async def start(self) -> LabelBot:
        """Start the bot in this process and wait until it is connected and ready."""
        assert self._task is None, "already running"
        with environment(self.env()):
            settings = load_settings()
        ready: asyncio.Future[LabelBot] = asyncio.get_running_loop().create_future()

        async def on_ready(bot: LabelBot) -> None:
            if not ready.done():
                ready.set_result(bot)

        self._task = asyncio.create_task(run_bot(settings, on_ready=on_ready, handle_signals=False, own_process=False))
        done, _ = await asyncio.wait({self._task, ready}, timeout=READY_TIMEOUT, return_when=asyncio.FIRST_COMPLETED)
        if ready not in done:
            if self._task in done:
                self._task.result()  # raises what stopped the bot
            raise TimeoutError("the bot did not become ready")
        self.bot = ready.result()
        return self.bot

    async def stop(self) -> None:
        """Close the bot as SIGTERM would, and wait for it to finish."""
        if self.bot is not None:
            await self.bot.close()
        if self._task is not None:
            await asyncio.wait_for(self._task, timeout=15)
        self.bot = None
        self._task = None

    async def restart(self) -> LabelBot:
        await self.stop()
        return await self.start()

    def spawn(self) -> BotProcess:
        """Start the bot as a child process on the same fake and database."""
        process = BotProcess(self.env(), self.workdir / f"bot-{len(self.processes)}.log")
        self.processes.append(process)
        return process

    def assert_no_held_sessions(self) -> None:
        """Fail with both stacks if the bot awaited Discord while one of its tasks held a database session."""
        found = guard.violations()
        guard.reset()
        if found:
            raise AssertionError(
                f"{len(found)} Discord request(s) made while a database session was open:\n\n"
                + "\n\n".join(str(violation) for violation in found[:5])
            )

    async def wait_until(self, predicate: Any, timeout: float = 10.0, interval: float = 0.05) -> None:
        """Poll until predicate() (sync or async) is true."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            value = predicate()
            if asyncio.iscoroutine(value):
                value = await value
            if value:
                return
            if loop.time() > deadline:
                raise TimeoutError("condition not met in time")
            await asyncio.sleep(interval)


@pytest.fixture
async def harness(fake_discord: FakeDiscord, database_url: str, tmp_path: Path) -> AsyncIterator[BotHarness]:
    """A label server on the fake Discord and a bot ready to start against a fresh database."""
    harness = BotHarness(fake_discord, database_url, tmp_path)
    guard.reset()
    yield harness
    await harness.stop()
    for process in harness.processes:
        if process.process.poll() is None:
            process.kill()
    harness.assert_no_held_sessions()


@pytest.fixture
async def labelbot(harness: BotHarness) -> BotHarness:
    """The harness with the bot already running and ready."""
    await harness.start()
    return harness
