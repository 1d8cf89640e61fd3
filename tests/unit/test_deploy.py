"""The deployment files: the systemd unit passes systemd-analyze, the image is small, non-root and health-checked."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.unit.test_cli import ROOT


def test_systemd_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    unit = (ROOT / "deploy" / "labelbot.service").read_text()
    assert "Restart=on-failure" in unit
    assert "RestartPreventExitStatus=2" in unit  # a configuration problem is not restarted in a loop
    # verify checks that ExecStart exists: point it at this checkout's labelbot.
    installed = ROOT / ".venv" / "bin" / "labelbot"
    if not installed.exists():
        pytest.skip("no .venv/bin/labelbot to point the unit at")
    (tmp_path / "labelbot.service").write_text(unit.replace("/opt/labelbot/.venv/bin/labelbot", str(installed)))
    result = subprocess.run(
        [analyze, "verify", str(tmp_path / "labelbot.service")], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "labelbot.service" not in result.stderr, result.stderr  # no warning about our unit


def test_dockerfile_runs_as_a_user_and_checks_readiness() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "-slim" in dockerfile
    assert "requirements.lock" in dockerfile
    assert "requirements-dev.lock" not in dockerfile
    user_lines = [line for line in dockerfile.splitlines() if line.startswith("USER ")]
    assert user_lines
    assert user_lines[-1] != "USER root"
    assert "/healthz" in next(line for line in dockerfile.splitlines() if "urlopen" in line)


def test_the_image_builds_where_a_container_engine_runs() -> None:
    docker = shutil.which("docker")
    if docker is None or subprocess.run([docker, "info"], capture_output=True, check=False).returncode != 0:
        pytest.skip("no container engine runs here; the image is not built")
    result = subprocess.run(
        [docker, "build", "--quiet", "-t", "labelbot:test", str(ROOT)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
