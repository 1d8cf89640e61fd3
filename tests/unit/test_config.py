"""Settings: TOML, environment overrides, and one clear line per bad value."""

from __future__ import annotations

from pathlib import Path

import pytest

from labelbot.config import ConfigError, load_settings


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import os

    for key in list(os.environ):
        if key.startswith("LABELBOT_") or key == "DISCORD_TOKEN":
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_defaults_use_sqlite_and_no_token() -> None:
    settings = load_settings()
    assert settings.database.url == "sqlite+aiosqlite:///labelbot.db"
    assert settings.discord.token is None
    assert settings.web.port == 8080


def test_toml_is_read_and_environment_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, '[discord]\ntoken = "from-file"\nguild_ids = [1, 2]\n[web]\nport = 9000\n')
    monkeypatch.setenv("LABELBOT_WEB__PORT", "9100")
    settings = load_settings(path)
    assert settings.discord.token is not None
    assert settings.discord.token.get_secret_value() == "from-file"
    assert settings.discord.guild_ids == [1, 2]
    assert settings.web.port == 9100


def test_config_path_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "[logging]\nlevel = 'DEBUG'\n")
    monkeypatch.setenv("LABELBOT_CONFIG", str(path))
    assert load_settings().logging.level == "DEBUG"


def test_discord_token_variable_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", "abc")
    settings = load_settings()
    assert settings.discord.token is not None
    assert settings.discord.token.get_secret_value() == "abc"


def test_token_is_never_printed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LABELBOT_DISCORD__TOKEN", "very-secret-token")
    settings = load_settings()
    assert "very-secret-token" not in repr(settings)
    assert "very-secret-token" not in str(settings.model_dump())


def test_postgres_url_gets_the_async_driver(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LABELBOT_DATABASE__URL", "postgresql://bot@db/labelbot")
    assert load_settings().database.url == "postgresql+asyncpg://bot@db/labelbot"


def test_every_problem_is_reported_by_key(tmp_path: Path) -> None:
    path = write(tmp_path, '[web]\nport = "eighty"\n[discord]\napi_base = "ftp://x"\ntypo = 1\n[databse]\nurl = "x"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    problems = caught.value.problems
    assert "web.port: Input should be a valid integer, unable to parse string as an integer" in problems
    assert "discord.api_base: must start with http:// or https://" in problems
    assert "discord.typo: is not a known setting" in problems
    assert "databse: is not a known setting" in problems
    assert len(problems) == 4


def test_shard_ids_must_fit_the_shard_count(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LABELBOT_DISCORD__SHARD_COUNT", "2")
    monkeypatch.setenv("LABELBOT_DISCORD__SHARD_IDS", "[0, 2]")
    with pytest.raises(ConfigError, match=r"shard_ids \[2\] are outside 0..1"):
        load_settings()


def test_missing_config_file_named_explicitly(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.toml")


def test_broken_toml_is_one_clear_line(tmp_path: Path) -> None:
    path = write(tmp_path, "[discord\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert len(caught.value.problems) == 1
    assert "config.toml" in caught.value.problems[0]


def test_example_config_is_valid() -> None:
    example = Path(__file__).resolve().parents[2] / "config.example.toml"
    settings = load_settings(example)
    assert settings.discord.token is None  # the blank token in the example means "not set"
