"""The cluster's REST proxy (deploy/proxy: discord.js's @discordjs/proxy) run with node in front of the fake Discord."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.harness import ROOT, free_port

PROXY_DIR = ROOT / "deploy" / "proxy"


def proxy_unavailable() -> str | None:
    """Why the proxy can't run here (no node, or its npm packages not installed), or None."""
    if shutil.which("node") is None:
        return "node is not installed: the REST proxy (deploy/proxy) can't run"
    if not (PROXY_DIR / "node_modules" / "@discordjs" / "proxy").is_dir():
        return "the REST proxy's npm packages are missing: run `npm ci --prefix deploy/proxy` (make test does)"
    return None


def skip_without_proxy() -> None:
    reason = proxy_unavailable()
    if reason is not None:
        pytest.skip(reason)


class RestProxy:
    """A running proxy; `api_base` is what the bot's discord.api_base points at."""

    def __init__(self, process: asyncio.subprocess.Process, port: int, log_path: Path) -> None:
        self.process = process
        self.port = port
        self.log_path = log_path

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v10"

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@contextlib.asynccontextmanager
async def run_proxy(upstream_api_base: str, log_path: Path, **env: str) -> AsyncIterator[RestProxy]:
    """Start `node deploy/proxy/server.mjs` forwarding to `upstream_api_base` (".../api/v10"); stop it after."""
    skip_without_proxy()
    port = free_port()
    upstream = upstream_api_base.rstrip("/").removesuffix("/v10")
    with log_path.open("ab") as log:
        process = await asyncio.create_subprocess_exec(
            "node",
            str(PROXY_DIR / "server.mjs"),
            env={**os.environ, "PORT": str(port), "HOST": "127.0.0.1", "DISCORD_API": upstream, **env},
            stdout=log,
            stderr=asyncio.subprocess.STDOUT,
        )
    proxy = RestProxy(process, port, log_path)
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 15
        while "listening" not in proxy.output():
            if process.returncode is not None or loop.time() > deadline:
                raise RuntimeError(f"the REST proxy did not start:\n{proxy.output()}")
            await asyncio.sleep(0.05)
        yield proxy
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
                await process.wait()
