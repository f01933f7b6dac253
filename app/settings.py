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
        verifier: Live-mode verifier as `package.module:attribute`; None refuses live
            submissions (see `app.verifiers`).
        processing_delay_seconds: How long a submitted session stays PROCESSING (0 to 3600).
        redaction_delay_seconds: How long a redaction stays PROCESSING (0 to 3600).
        worker_poll_seconds: How often each process looks for due background jobs (0.05 to 60).
        cors_origins: Origins whose browser pages may call /graphql; none by default.
    """

    database_url: str
    public_base_url: str = "http://127.0.0.1:8000"
    log_level: str = "INFO"
    verifier: str | None = None
    processing_delay_seconds: float = 2.0
    redaction_delay_seconds: float = 5.0
    worker_poll_seconds: float = 0.5
    cors_origins: tuple[str, ...] = ()

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
        cors_origins = tuple(
            origin.strip().rstrip("/")
            for origin in env.get("CORS_ORIGINS", "").split(",")
            if origin.strip()
        )
        for origin in cors_origins:
            if origin != "*" and urlsplit(origin).scheme not in ("http", "https"):
                raise SettingsError(
                    f"CORS_ORIGINS must be a comma-separated list of http(s) origins, got {origin!r}"
                )
        return cls(
            database_url=database_url,
            public_base_url=public_base_url,
            log_level=log_level,
            verifier=env.get("VERIFIER") or None,
            processing_delay_seconds=_seconds(
                env, "PROCESSING_DELAY_SECONDS", cls.processing_delay_seconds, 0, 3600
            ),
            redaction_delay_seconds=_seconds(
                env, "REDACTION_DELAY_SECONDS", cls.redaction_delay_seconds, 0, 3600
            ),
            worker_poll_seconds=_seconds(
                env, "WORKER_POLL_SECONDS", cls.worker_poll_seconds, 0.05, 60
            ),
            cors_origins=cors_origins,
        )


def _seconds(env: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number of seconds, got {raw!r}") from None
    if not low <= value <= high:
        raise SettingsError(f"{name} must be between {low:g} and {high:g} seconds, got {raw!r}")
    return value


def default_database_url(directory: Path) -> str:
    return f"sqlite+aiosqlite:///{directory / 'gateway.sqlite3'}"
