"""The labelbot command line as an operator meets it: exit codes and what it prints."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_cli(*args: str, env: dict[str, str] | None = None, cwd: Path) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LABELBOT_") and k != "DISCORD_TOKEN"}
    clean["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", "labelbot", *args],
        cwd=cwd,
        env={**clean, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_run_without_token_explains_and_exits_2(tmp_path: Path) -> None:
    result = run_cli("run", cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "LABELBOT_DISCORD__TOKEN" in result.stderr
    assert "discord.com/developers/applications" in result.stderr
    assert "scope=bot+applications.commands&permissions=" in result.stderr
    assert "Message Content" in result.stderr  # which intents to leave off


def test_bad_config_value_is_one_line_per_problem(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('[web]\nport = "x"\n[jobs]\nmax_attempts = 0\n')
    result = run_cli("run", cwd=tmp_path, env={"LABELBOT_DISCORD__TOKEN": "t"})
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("  - ")]
    assert len(lines) == 2
    assert any(line.startswith("  - web.port:") for line in lines)
    assert any(line.startswith("  - jobs.max_attempts:") for line in lines)


def test_check_config_accepts_the_example(tmp_path: Path) -> None:
    result = run_cli("check-config", "--config", str(ROOT / "config.example.toml"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Configuration is valid" in result.stdout


def test_db_upgrade_creates_the_schema(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'label.db'}"
    result = run_cli("db", "upgrade", cwd=tmp_path, env={"LABELBOT_DATABASE__URL": url})
    assert result.returncode == 0, result.stderr
    assert "up to date" in result.stdout
    assert (tmp_path / "label.db").stat().st_size > 0
