"""/metrics the Prometheus way: the client library's exposition, OpenMetrics on request, process and build info."""

from __future__ import annotations

import asyncio
import shutil
import subprocess

import aiohttp
import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_openmetrics
from prometheus_client.parser import text_string_to_metric_families as parse_text

from labelbot import __version__
from tests.harness import BotHarness, free_port

OPENMETRICS = "application/openmetrics-text; version=1.0.0; charset=utf-8"


async def _scrape(harness: BotHarness) -> tuple[str, str, str]:
    """The classic text, the OpenMetrics text and its content type, after one /about."""
    port = free_port()
    harness.extra_env.update({"LABELBOT_WEB__ENABLED": "true", "LABELBOT_WEB__PORT": str(port)})
    await harness.start()
    await (await harness.fake.slash(harness.guild, harness.general, harness.moderator, "about")).reply()
    async with aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{port}/metrics") as response:
            assert response.status == 200
            assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
            text = await response.text()
        async with http.get(f"http://127.0.0.1:{port}/metrics", headers={"Accept": OPENMETRICS}) as response:
            assert response.status == 200
            content_type = response.headers["Content-Type"]
            openmetrics = await response.text()
    return text, openmetrics, content_type


async def test_metrics_negotiate_openmetrics_and_carry_process_build_and_command_latency(harness: BotHarness) -> None:
    text, openmetrics, content_type = await _scrape(harness)
    assert content_type.startswith("application/openmetrics-text")
    assert openmetrics.rstrip().endswith("# EOF")
    families = {family.name: family for family in parse_openmetrics(openmetrics)}
    assert {
        "process_cpu_seconds",
        "process_resident_memory_bytes",
        "python_info",
        "python_gc_objects_collected",
    } <= set(families)
    [build] = families["labelbot_build"].samples
    assert build.labels["version"] == __version__
    latency = {(s.name, s.labels.get("command")) for s in families["labelbot_command_latency_seconds"].samples}
    assert ("labelbot_command_latency_seconds_count", "about") in latency
    classic = {family.name for family in parse_text(text)}
    assert {"labelbot_build_info", "labelbot_command_latency_seconds", "process_cpu_seconds"} <= classic


async def test_promtool_accepts_the_metrics(harness: BotHarness) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed (Debian package prometheus)")
    text, _, _ = await _scrape(harness)
    result = await asyncio.to_thread(
        subprocess.run, [promtool, "check", "metrics"], input=text, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
