"""The wheel as an operator installs it: one package, runtime dependencies only, working from any directory."""

from __future__ import annotations

import ast
import os
import shutil
import sqlite3
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

# Building the wheel and installing requirements.lock into a fresh venv takes a minute or two.
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
DEV_TOOLS = ("pytest", "ruff", "mypy", "hypothesis", "selenium", "jsonschema")


def _version() -> str:
    """The one place the version is written: labelbot/__init__.py."""
    tree = ast.parse((ROOT / "labelbot" / "__init__.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "__version__" for t in node.targets):
            assert isinstance(node.value, ast.Constant)
            return str(node.value.value)
    raise AssertionError("no __version__ in labelbot/__init__.py")


def _run(*command: str | Path, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    # No PYTHONPATH, no LABELBOT_* from the test run: the installed package alone.
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("LABELBOT_", "PYTHON", "VIRTUAL_ENV")) and k != "DISCORD_TOKEN"
    }
    return subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env={**clean, **(env or {})},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel built from a copy of the sources (the checkout itself stays free of build/ and egg-info)."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "labelbot", source / "labelbot", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    built = _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--wheel-dir", work / "dist", source, cwd=work)
    assert built.returncode == 0, built.stdout + built.stderr
    (found,) = (work / "dist").glob("labelbot-*.whl")
    return found


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clean virtual environment holding requirements.lock and the wheel, nothing else."""
    where = tmp_path_factory.mktemp("venv") / "venv"
    made = _run(sys.executable, "-m", "venv", where, cwd=where.parent)
    assert made.returncode == 0, made.stderr
    pip = where / "bin" / "pip"
    installed = _run(
        pip,
        "install",
        "--quiet",
        "--no-compile",
        "--no-deps",
        "-r",
        ROOT / "requirements.lock",
        wheel,
        cwd=where.parent,
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    return where


def test_the_wheel_holds_one_package_with_its_data(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    tops = {name.split("/", 1)[0] for name in names}
    assert tops == {"labelbot", f"labelbot-{_version()}.dist-info"}, tops
    assert "labelbot/__main__.py" in names
    assert "labelbot/migrations/env.py" in names
    assert "labelbot/migrations/script.py.mako" in names
    versions = [n for n in names if n.startswith("labelbot/migrations/versions/") and n.endswith(".py")]
    assert len(versions) == len(list((ROOT / "labelbot" / "migrations" / "versions").glob("*.py")))
    assert "labelbot/locales/en-US.json" in names
    assert any(n.startswith("labelbot/features/web_pages/templates/") for n in names)
    assert any(n.startswith("labelbot/features/web_pages/static/") for n in names)
    assert f"Version: {_version()}" in zipfile.ZipFile(wheel).read(f"labelbot-{_version()}.dist-info/METADATA").decode()


def test_installed_wheel_works_from_another_directory_without_dev_tools(venv: Path, tmp_path: Path) -> None:
    labelbot = venv / "bin" / "labelbot"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    listed = _run(venv / "bin" / "python", "-m", "pip", "list", "--format=freeze", cwd=elsewhere)
    packages = {line.split("==")[0].lower() for line in listed.stdout.splitlines()}
    assert not packages & set(DEV_TOOLS), packages & set(DEV_TOOLS)
    # The package comes from the venv, not from the checkout.
    where = _run(venv / "bin" / "python", "-c", "import labelbot; print(labelbot.__file__)", cwd=elsewhere)
    assert where.stdout.strip().startswith(str(venv)), where.stdout + where.stderr

    version = _run(labelbot, "--version", cwd=elsewhere)
    assert version.returncode == 0, version.stderr
    assert version.stdout.strip() == f"labelbot {_version()}"

    (elsewhere / "config.toml").write_text((ROOT / "config.example.toml").read_text())
    checked = _run(labelbot, "check-config", cwd=elsewhere)
    assert checked.returncode == 0, checked.stderr
    assert "Configuration is valid" in checked.stdout

    env = {"LABELBOT_DATABASE__URL": f"sqlite+aiosqlite:///{elsewhere / 'label.db'}"}
    upgraded = _run(labelbot, "db", "upgrade", cwd=elsewhere, env=env)
    assert upgraded.returncode == 0, upgraded.stderr
    assert "up to date" in upgraded.stdout

    def probe(value: str | None = None) -> str:
        with sqlite3.connect(elsewhere / "label.db") as connection:
            if value is not None:
                connection.execute("DELETE FROM bot_state WHERE key = 'wheel:probe'")
                connection.execute(
                    "INSERT INTO bot_state (key, value, updated_at) VALUES ('wheel:probe', ?, CURRENT_TIMESTAMP)",
                    (value,),
                )
            row = connection.execute("SELECT value FROM bot_state WHERE key = 'wheel:probe'").fetchone()
        connection.close()
        return str(row[0])

    probe("before the backup")
    backed_up = _run(labelbot, "backup", "label-backup.db", cwd=elsewhere, env=env)
    assert backed_up.returncode == 0, backed_up.stderr
    probe("after the backup")
    restored = _run(labelbot, "restore", "label-backup.db", "--yes", cwd=elsewhere, env=env)
    assert restored.returncode == 0, restored.stderr
    assert probe() == "before the backup"
