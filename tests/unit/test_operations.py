"""Operating the bot from a shell: backup and restore, database failures as one sentence, deeper config checks."""

from __future__ import annotations

import asyncio
import shutil
import socket
import uuid
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from labelbot.db import create_engine
from tests.databases import postgres_base_url
from tests.unit.test_cli import ROOT, run_cli


async def _state(url: str, value: str | None = None) -> str | None:
    """Write (with `value`) or read the bot_state row the round trip follows."""
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            if value is not None:
                await connection.execute(text("DELETE FROM bot_state WHERE key = 'ops:probe'"))
                await connection.execute(
                    text("INSERT INTO bot_state (key, value, updated_at) VALUES ('ops:probe', :v, CURRENT_TIMESTAMP)"),
                    {"v": value},
                )
            return await connection.scalar(text("SELECT value FROM bot_state WHERE key = 'ops:probe'"))
    finally:
        await engine.dispose()


async def test_backup_then_restore_brings_the_data_back(database_url: str, tmp_path: Path) -> None:
    if not database_url.startswith("sqlite") and shutil.which("pg_dump") is None:
        pytest.skip("pg_dump is not installed")
    env = {"LABELBOT_DATABASE__URL": database_url}
    await _state(database_url, "before the backup")
    backup = tmp_path / "elsewhere" / "label-backup"
    backup.parent.mkdir()
    made = await asyncio.to_thread(run_cli, "backup", str(backup), cwd=tmp_path, env=env)
    assert made.returncode == 0, made.stderr
    assert backup.is_file()
    await _state(database_url, "after the backup")

    refused = await asyncio.to_thread(run_cli, "restore", str(backup), cwd=tmp_path, env=env)
    assert refused.returncode == 2
    assert "--yes" in refused.stderr
    assert await _state(database_url) == "after the backup"  # nothing changed without the confirmation

    restored = await asyncio.to_thread(run_cli, "restore", str(backup), "--yes", cwd=tmp_path, env=env)
    assert restored.returncode == 0, restored.stderr
    assert await _state(database_url) == "before the backup"


def test_sqlite_backup_is_one_file_and_never_overwrites(tmp_path: Path) -> None:
    env = {"LABELBOT_DATABASE__URL": f"sqlite+aiosqlite:///{tmp_path / 'label.db'}"}
    assert run_cli("db", "upgrade", cwd=tmp_path, env=env).returncode == 0
    first = run_cli("backup", "copy.db", cwd=tmp_path, env=env)
    assert first.returncode == 0, first.stderr
    assert not (tmp_path / "copy.db-wal").exists()
    again = run_cli("backup", "copy.db", cwd=tmp_path, env=env)
    assert again.returncode == 2
    assert again.stderr.strip() == "copy.db already exists: choose another file name, or move the old backup away."


def test_restore_refuses_a_file_that_is_not_a_backup(tmp_path: Path) -> None:
    env = {"LABELBOT_DATABASE__URL": f"sqlite+aiosqlite:///{tmp_path / 'label.db'}"}
    (tmp_path / "notes.db").write_text("not a database")
    result = run_cli("restore", "notes.db", "--yes", cwd=tmp_path, env=env)
    assert result.returncode == 2
    assert "is not a Labelbot SQLite backup" in result.stderr
    assert "Traceback" not in result.stderr


def test_postgres_backup_without_pg_dump_says_what_to_install(tmp_path: Path) -> None:
    env = {"LABELBOT_DATABASE__URL": "postgresql+asyncpg://label@127.0.0.1:5432/label", "PATH": str(tmp_path)}
    result = run_cli("backup", cwd=tmp_path, env=env)
    assert result.returncode == 2
    assert result.stderr.strip().startswith("pg_dump is not installed: install the PostgreSQL client tools")


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _one_sentence(result: object, *starts: str) -> None:
    stderr = result.stderr  # type: ignore[attr-defined]
    assert result.returncode == 2, stderr  # type: ignore[attr-defined]
    assert "Traceback" not in stderr
    lines = [line for line in stderr.splitlines() if line.strip() and " INFO " not in line]
    assert len(lines) == 1, stderr
    assert lines[0].startswith(starts), lines[0]


@pytest.mark.parametrize("command", [("db", "upgrade"), ("run",)])
def test_sqlite_in_a_missing_directory_is_one_sentence(tmp_path: Path, command: tuple[str, ...]) -> None:
    env = {"LABELBOT_DATABASE__URL": f"sqlite+aiosqlite:///{tmp_path / 'gone' / 'label.db'}", "DISCORD_TOKEN": "t"}
    result = run_cli(*command, cwd=tmp_path, env=env)
    _one_sentence(result, f"The SQLite database {tmp_path / 'gone' / 'label.db'} cannot be opened or created")
    assert f"make sure the directory {tmp_path / 'gone'} exists" in result.stderr


def test_read_only_sqlite_is_one_sentence(tmp_path: Path) -> None:
    # Tests may run as root, who writes through file modes; a read-only open is what a read-only mount gives.
    env = {"LABELBOT_DATABASE__URL": f"sqlite+aiosqlite:///file:{tmp_path / 'label.db'}?mode=ro&uri=true"}
    (tmp_path / "label.db").write_bytes(b"")
    result = run_cli("db", "upgrade", cwd=tmp_path, env=env)
    _one_sentence(result, "The SQLite database")
    assert "is read-only for this user: give the user running Labelbot write access" in result.stderr


@pytest.mark.parametrize("command", [("db", "upgrade"), ("run",)])
def test_refused_connection_is_one_sentence(tmp_path: Path, command: tuple[str, ...]) -> None:
    port = _closed_port()
    env = {"LABELBOT_DATABASE__URL": f"postgresql+asyncpg://label@127.0.0.1:{port}/label", "DISCORD_TOKEN": "t"}
    result = run_cli(*command, cwd=tmp_path, env=env)
    _one_sentence(result, f"Nothing answers at 127.0.0.1:{port} (connection refused): start PostgreSQL there")


@pytest.mark.skipif(postgres_base_url() is None, reason="needs LABELBOT_TEST_POSTGRES_URL")
@pytest.mark.parametrize("command", [("db", "upgrade"), ("run",)])
def test_missing_postgres_database_is_one_sentence(tmp_path: Path, command: tuple[str, ...]) -> None:
    name = f"labelbot_missing_{uuid.uuid4().hex[:8]}"
    url = make_url(postgres_base_url() or "").set(database=name).render_as_string(hide_password=False)
    result = run_cli(*command, cwd=tmp_path, env={"LABELBOT_DATABASE__URL": url, "DISCORD_TOKEN": "t"})
    _one_sentence(result, f'The PostgreSQL database "{name}" does not exist')
    assert f"createdb {name}" in result.stderr


def test_check_config_names_an_unknown_feature_and_lists_the_real_ones(tmp_path: Path) -> None:
    result = run_cli("check-config", cwd=tmp_path, env={"LABELBOT_FEATURES__DISABLED": '["colabs"]'})
    assert result.returncode == 2
    assert "features.disabled: 'colabs' is not a feature; the features are" in result.stderr
    assert "collabs" in result.stderr.split("the features are", 1)[1]


def test_check_config_names_an_extension_that_does_not_import(tmp_path: Path) -> None:
    (tmp_path / "label_extra.py").write_text("import not_installed_anywhere\n")
    env = {"LABELBOT_FEATURES__EXTRA_EXTENSIONS": '["label_extra"]', "PYTHONPATH": f"{ROOT}:{tmp_path}"}
    result = run_cli("check-config", cwd=tmp_path, env=env)
    assert result.returncode == 2
    assert "features.extra_extensions: 'label_extra' does not import (ModuleNotFoundError" in result.stderr


def test_check_config_wants_a_scheme_on_public_url(tmp_path: Path) -> None:
    result = run_cli("check-config", cwd=tmp_path, env={"LABELBOT_WEB__PUBLIC_URL": "bot.label.example"})
    assert result.returncode == 2
    assert "web.public_url: must start with https:// or http:// (e.g. https://bot.label.example)" in result.stderr


def test_check_config_warns_when_links_would_point_at_this_machine(tmp_path: Path) -> None:
    unset = run_cli("check-config", cwd=tmp_path)
    assert unset.returncode == 0, unset.stderr
    assert "Warning: web.public_url is not set, so calendar links point at http://127.0.0.1:8080" in unset.stderr
    set_ = run_cli("check-config", cwd=tmp_path, env={"LABELBOT_WEB__PUBLIC_URL": "https://bot.label.example"})
    assert set_.returncode == 0, set_.stderr
    assert "Warning" not in set_.stderr


def test_a_list_written_plainly_in_the_environment_is_explained(tmp_path: Path) -> None:
    result = run_cli("check-config", cwd=tmp_path, env={"LABELBOT_FEATURES__DISABLED": "collabs"})
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "LABELBOT_FEATURES__DISABLED: could not be read" in result.stderr
    assert """written as JSON, e.g. LABELBOT_FEATURES__DISABLED='["collabs", "events"]'""" in result.stderr
