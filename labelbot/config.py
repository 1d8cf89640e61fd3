"""Settings: config.toml overridden by LABELBOT_<SECTION>__<KEY> environment variables, validated once."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
    TomlConfigSettingsSource,
)

DISCORD_API_BASE = "https://discord.com/api/v10"
DEFAULT_CONFIG_PATH = Path("config.toml")


class Section(BaseModel):
    """A [section] of config.toml; unknown keys are errors, so a typo never passes silently."""

    model_config = ConfigDict(extra="forbid")


class DiscordSettings(Section):
    """How the bot reaches Discord."""

    token: SecretStr | None = None
    api_base: str = DISCORD_API_BASE
    # None: use what /gateway/bot answers. Also replaces discord.py's fallback gateway, which it uses with a
    # fixed shard range and after an INVALID_SESSION.
    gateway_url: str | None = None
    shard_count: int | None = Field(default=None, ge=1)
    shard_ids: list[int] | None = None
    guild_ids: list[int] = Field(default_factory=list)
    owner_ids: list[int] = Field(default_factory=list)
    # How long discord.py waits after the last server arrives before it calls the bot ready.
    guild_ready_timeout: float = Field(default=2.0, ge=0)
    # Discord's global limit for this token (50 unless Discord raised it for a large bot); the bot paces every
    # REST request to it. Behind a REST proxy that paces for a whole cluster, set the proxy's share here.
    global_requests_per_second: int = Field(default=50, ge=1)

    @field_validator("token", mode="before")
    @classmethod
    def _blank_is_missing(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("api_base")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("gateway_url")
    @classmethod
    def _ws_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("ws://", "wss://")):
            raise ValueError("must start with ws:// or wss://")
        return value

    @model_validator(mode="after")
    def _shards_fit(self) -> DiscordSettings:
        if self.shard_ids is not None:
            if self.shard_count is None:
                raise ValueError("shard_ids needs shard_count")
            bad = [i for i in self.shard_ids if not 0 <= i < self.shard_count]
            if bad:
                raise ValueError(f"shard_ids {bad} are outside 0..{self.shard_count - 1}")
        return self


class DatabaseSettings(Section):
    """Where the bot keeps its records."""

    url: str = "sqlite+aiosqlite:///labelbot.db"
    auto_migrate: bool = True
    echo: bool = False
    # Whether a Discord request made while a session is open is logged ("warn"), kept for tests ("strict") or not.
    session_guard: Literal["off", "warn", "strict"] = "warn"

    @field_validator("url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        if value.startswith("postgres://") or value.startswith("postgresql://"):
            return "postgresql+asyncpg://" + value.split("://", 1)[1]
        if value.startswith("sqlite://"):
            return "sqlite+aiosqlite://" + value.split("://", 1)[1]
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("must be a sqlite+aiosqlite:// or postgresql+asyncpg:// URL")
        return value

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")


class WebSettings(Section):
    """The small web side: health, metrics, calendar feed, release webhooks."""

    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    # The public address people's calendar apps use to reach the feed (behind a reverse proxy, say).
    public_url: str | None = None
    # /metrics on its own address (e.g. a private interface for Prometheus) instead of beside the public routes.
    metrics_host: str | None = None
    metrics_port: int | None = Field(default=None, ge=0, le=65535)
    # When set, /metrics answers only requests with "Authorization: Bearer <token>".
    metrics_token: SecretStr | None = None
    # Sites allowed to show the public page in an iframe (`?embed=1`), e.g. ["https://midnighttapes.example"].
    embed_origins: list[str] = Field(default_factory=list)

    @field_validator("embed_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        for origin in value:
            if not origin.startswith(("http://", "https://")) or any(c in origin for c in " ;,'\""):
                raise ValueError(f"{origin!r} is not an origin such as https://label.example")
        return [origin.rstrip("/") for origin in value]

    @field_validator("public_url", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("public_url")
    @classmethod
    def _public_http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError(f"must start with https:// or http:// (e.g. https://{value.split('/', 1)[0]})")
        return value.rstrip("/") if value else value


class LoggingSettings(Section):
    """How much the bot says about itself."""

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    discord_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "WARNING"


class JobSettings(Section):
    """Tuning of the durable scheduled work."""

    lease_seconds: float = Field(default=60.0, gt=0)
    sweep_seconds: float = Field(default=15.0, gt=0)
    max_attempts: int = Field(default=5, ge=1)
    retry_base_seconds: float = Field(default=5.0, gt=0)
    keep_done_days: int = Field(default=30, ge=1)
    # Each dispatcher beats this often; one silent for dead_after_beats beats is dead and its claims are taken back.
    heartbeat_seconds: float = Field(default=2.0, gt=0)
    dead_after_beats: int = Field(default=5, ge=2)
    # A handler running longer is abandoned and its job retried as a failure (a kind may set its own limit).
    time_limit_seconds: float = Field(default=60.0, gt=0)
    # Jobs one process runs at once. In a cluster behind the shared REST proxy, fewer (e.g. 100) keep a burst
    # spread over the processes instead of one claiming it all and starving its own event loop and heartbeat.
    concurrency: int = Field(default=1000, ge=1)  # labelbot.jobs.queue.DEFAULT_CONCURRENCY says why so many


class LinkPreviewSettings(Section):
    """Fetching OpenGraph previews of release links."""

    enabled: bool = True
    timeout_seconds: float = Field(default=3.0, gt=0)
    max_bytes: int = Field(default=512 * 1024, gt=0)
    # Tests serve pages on loopback; real deployments never should fetch private addresses.
    allow_private_addresses: bool = False


class PrivacySettings(Section):
    """What happens to data the bot no longer needs."""

    # Days a server's data is kept after the bot is removed from it; adding the bot back within them keeps it all.
    guild_purge_days: int = Field(default=30, ge=0, le=3650)


class FeatureSettings(Section):
    """Which extensions run."""

    # Extensions (dotted module paths) loaded after the built-in ones, e.g. a label's own cog.
    extra_extensions: list[str] = Field(default_factory=list)
    # Built-in features to switch off, by package name under labelbot/features/ (e.g. "collabs").
    disabled: list[str] = Field(default_factory=list)


class Settings(BaseSettings):
    """Everything Labelbot reads at startup."""

    model_config = SettingsConfigDict(
        env_prefix="LABELBOT_",
        env_nested_delimiter="__",
        extra="forbid",
        # Overridden per instance by `load_settings`.
        toml_file=None,
    )

    discord: DiscordSettings = Field(default_factory=DiscordSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    web: WebSettings = Field(default_factory=WebSettings)
    logging: LoggingSettings = Field(default_factory=LoggingSettings)
    jobs: JobSettings = Field(default_factory=JobSettings)
    link_previews: LinkPreviewSettings = Field(default_factory=LinkPreviewSettings)
    features: FeatureSettings = Field(default_factory=FeatureSettings)
    privacy: PrivacySettings = Field(default_factory=PrivacySettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(settings_cls, toml_file=_toml_path_var)
        return init_settings, env_settings, toml


class ConfigError(Exception):
    """The configuration is invalid; `problems` holds one line per bad key."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


# Set by load_settings just before building Settings: pydantic-settings reads the TOML path from the class.
_toml_path_var: Path | None = None


def load_settings(path: str | os.PathLike[str] | None = None, **overrides: Any) -> Settings:
    """Read and validate the settings once; raise ConfigError listing every problem."""
    global _toml_path_var
    chosen = Path(path) if path else Path(os.environ.get("LABELBOT_CONFIG", DEFAULT_CONFIG_PATH))
    if path and not chosen.is_file():
        raise ConfigError([f"config file {chosen} does not exist"])
    _toml_path_var = chosen if chosen.is_file() else None
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError([_describe(error) for error in exc.errors()]) from None
    except SettingsError as exc:
        raise ConfigError([_describe_environment(exc)]) from None
    except ValueError as exc:  # a TOML syntax error
        raise ConfigError([f"{chosen}: {exc}"]) from None
    finally:
        _toml_path_var = None
    if settings.discord.token is None and (token := os.environ.get("DISCORD_TOKEN")):
        settings.discord.token = SecretStr(token)
    return settings


LIST_HELP = (
    "lists in environment variables are written as JSON, e.g. "
    """LABELBOT_FEATURES__DISABLED='["collabs", "events"]' or LABELBOT_DISCORD__GUILD_IDS='[123456789012345678]'"""
)


def _describe_environment(error: SettingsError) -> str:
    """An environment variable pydantic-settings could not parse: name the variables, and how lists are written."""
    text = str(error)
    section = text.split('field "', 1)[1].split('"', 1)[0] if 'field "' in text else ""
    names = sorted(name for name in os.environ if name.upper().startswith(f"LABELBOT_{section.upper()}__"))
    where = ", ".join(names) if names and section else "a LABELBOT_ environment variable"
    return f"{where}: could not be read ({LIST_HELP})"


def _describe(error: Any) -> str:
    key = ".".join(str(part) for part in error["loc"]) or "(top level)"
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = "is not a known setting"
    return f"{key}: {message}"
