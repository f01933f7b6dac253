"""One typed settings object, read once from an environ mapping at start.

Every setting has a safe default except where none can be guessed. A bad value fails at start with
the variable's name and the rule it broke, so a misconfigured process never starts half-working.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


class SettingsError(ValueError):
    """A setting in the environment is malformed; the message names the variable."""


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Process configuration.

    Attributes:
        database_url: SQLAlchemy async URL. SQLite (`sqlite+aiosqlite:///path`) or Postgres
            (`postgresql+asyncpg://user@host/db`). Defaults to `gateway.sqlite3` in the working
            directory.
        public_base_url: Origin the hosted verification pages are reachable at, without a trailing
            slash; session `url`s are built from it.
        log_level: One of DEBUG, INFO, WARNING, ERROR.
    """

    database_url: str
    public_base_url: str = "http://127.0.0.1:8000"
    log_level: str = "INFO"

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        database_url = env.get("DATABASE_URL") or default_database_url(Path.cwd())
        if not database_url.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise SettingsError(
                "DATABASE_URL must start with sqlite+aiosqlite:// or postgresql+asyncpg://, "
                f"got a URL with scheme {database_url.split(':', 1)[0]!r}"
            )
        public_base_url = env.get("PUBLIC_BASE_URL", cls.public_base_url).rstrip("/")
        parts = urlsplit(public_base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise SettingsError(
                f"PUBLIC_BASE_URL must be an absolute http(s) URL, got {public_base_url!r}"
            )
        log_level = env.get("LOG_LEVEL", cls.log_level).upper()
        if log_level not in LOG_LEVELS:
            raise SettingsError(
                f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, got {log_level!r}"
            )
        return cls(database_url=database_url, public_base_url=public_base_url, log_level=log_level)


def default_database_url(directory: Path) -> str:
    return f"sqlite+aiosqlite:///{directory / 'gateway.sqlite3'}"
