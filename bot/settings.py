"""Settings, read once from the environment (and a ``.env`` file when present)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_API_BASE_URL = "https://api.telegram.org/bot"
PROJECT_ROOT = Path(__file__).resolve().parent.parent
BUNDLED = Path(__file__).resolve().parent / "bundled"
"""Where a wheel carries ``content/``, ``seeds/`` and ``migrations/`` (pyproject.toml maps
the checkout's top-level folders there as package data)."""


def bundled(name: str) -> Path:
    """The folder ``name`` (``content``, ``seeds``, ``migrations``): the checkout's own when
    running from one (or an editable install), else the copy installed with the package."""
    checkout = PROJECT_ROOT / name
    if checkout.is_dir() and (PROJECT_ROOT / "bot" / "settings.py").is_file():
        return checkout
    return BUNDLED / name


def default_data_dir() -> Path:
    """Where the default SQLite file lives: ``$XDG_DATA_HOME/quizbot`` (``~/.local/share``)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "quizbot"


def default_database_url() -> str:
    return f"sqlite+aiosqlite:///{default_data_dir() / 'quizbot.db'}"


def default_content_dir() -> Path:
    """``content/`` in the working directory, else the bundled ``content/`` folder."""
    here = Path("content")
    if here.is_dir():
        return here
    return bundled("content")


class Settings(BaseSettings):
    """Every setting the bot reads; see the "Configuration" table in docs/operations.md."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True
    )

    telegram_bot_token: SecretStr | None = Field(default=None, alias="TELEGRAM_BOT_TOKEN")
    database_url: str = Field(default_factory=default_database_url, alias="DATABASE_URL")
    telegram_api_base_url: str = Field(default=DEFAULT_API_BASE_URL, alias="TELEGRAM_API_BASE_URL")
    content_dir: Path = Field(default_factory=default_content_dir, alias="QUIZBOT_CONTENT_DIR")
    admin_ids: Annotated[frozenset[int], NoDecode] = Field(
        default=frozenset(), alias="QUIZBOT_ADMIN_IDS"
    )
    lobby_seconds: int = Field(default=60, ge=5, le=3600, alias="QUIZBOT_LOBBY_SECONDS")
    startup_retries: int = Field(default=5, ge=0, le=100, alias="QUIZBOT_STARTUP_RETRIES")
    """Retries when the Bot API cannot be reached at start-up (then the bot exits)."""
    startup_backoff: float = Field(default=2.0, gt=0, le=60, alias="QUIZBOT_STARTUP_BACKOFF")
    """Seconds before the first retry; each retry waits twice as long (at most a minute)."""

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = Field(
        default="INFO", alias="QUIZBOT_LOG_LEVEL"
    )
    webhook_secret: SecretStr | None = Field(default=None, alias="QUIZBOT_WEBHOOK_SECRET")
    upload_max_bytes: int = Field(
        default=512 * 1024, ge=1024, le=20 * 1024 * 1024, alias="QUIZBOT_UPLOAD_MAX_BYTES"
    )
    metrics_port: int | None = Field(default=None, ge=1, le=65535, alias="QUIZBOT_METRICS_PORT")
    metrics_address: str = Field(default="127.0.0.1", alias="QUIZBOT_METRICS_ADDRESS")
    send_rate: float = Field(default=30.0, gt=0, le=30, alias="QUIZBOT_SEND_RATE")
    """Bot API calls a second this process sends at most (python-telegram-bot's
    ``AIORateLimiter``): Telegram allows a bot about 30 in all, so N workers of one bot each
    take 30 / N."""

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [p for p in value.replace(";", ",").replace(" ", ",").split(",") if p]
            try:
                return frozenset(int(p) for p in parts)
            except ValueError:
                raise ValueError(
                    "QUIZBOT_ADMIN_IDS must be Telegram user ids separated by commas"
                ) from None
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _level(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("telegram_api_base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("TELEGRAM_API_BASE_URL must start with http:// or https://")
        return value.rstrip("/") if not value.endswith("/bot") else value

    @property
    def token(self) -> str | None:
        return self.telegram_bot_token.get_secret_value() if self.telegram_bot_token else None

    @property
    def file_base_url(self) -> str:
        """The download base URL that matches the API base URL (``…/file/bot``)."""
        base = self.telegram_api_base_url
        if base.endswith("/bot"):
            return base[: -len("/bot")] + "/file/bot"
        return base + "/file/bot"
