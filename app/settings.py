"""One typed settings object, read once from an environ mapping at start.

Every setting has a safe default except where none can be guessed. A bad value fails at start with
the variable's name and the rule it broke, so a misconfigured process never starts half-working.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from app.domain.retention import Retention

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
LOG_FORMATS = ("text", "json")
GATEWAY_ENVS = ("production", "development")
GRAPHQL_EXECUTIONS = ("compiled", "reference")
PERSISTED_DOCUMENT_MODES = ("allow", "only")


IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class SettingsError(ValueError):
    """A setting in the environment is malformed; the message names the variable."""


# Stripe retries live-mode deliveries with exponential backoff for up to 3 days (these add up
# to 2.9 days), test-mode ones a few times over hours.
LIVE_RETRY_SECONDS = (
    60.0,
    300.0,
    1800.0,
    3600.0,
    7200.0,
    14400.0,
    28800.0,
    43200.0,
    86400.0,
    64800.0,
)
TEST_RETRY_SECONDS = (60.0, 600.0, 3600.0, 10800.0)


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
        log_format: `text` (one human-readable line per record) or `json` (one JSON object per
            line, for log collectors).
        verifier: Live-mode verifier as `package.module:attribute`; None refuses live
            submissions (see `app.verifiers`).
        processing_delay_seconds: How long a submitted session stays PROCESSING (0 to 3600).
        redaction_delay_seconds: How long a redaction stays PROCESSING (0 to 3600).
        worker_poll_seconds: How often each process looks for due background jobs (0.05 to 60).
        job_retry_seconds: How long a failed background job waits before it runs again (1 to
            86400).
        job_lease_seconds: The longest a live verifier's call may take (1 to 86400): a process
            that dies during one leaves its job to another process after this long, and a call
            still running then counts as a failure.
        cors_origins: Origins whose browser pages may call /graphql; none by default.
        rate_limit_live_per_second: Requests per second one live-mode key may make (0: no limit).
        rate_limit_test_per_second: Requests per second one test-mode key may make (0: no limit).
        rate_limit_anonymous_per_second: Requests per second one client address may make
            without a valid credential (0: no limit; see `app.web.ratelimit`).
        trusted_proxies: Networks of the proxies whose X-Forwarded-For is believed
            (TRUSTED_PROXIES, comma-separated addresses or CIDRs); none by default, so the
            client address is always the connection's peer (see `app.web.client_address`).
        redis_url: Redis shared by every gateway process for the rate limits
            (`redis://host:port/db`); None counts in each process alone.
        redis_key_prefix: Prefix of the gateway's Redis keys, so several gateways share a Redis.
        gateway_env: `production` or `development`; only development shows "Did you mean"
            suggestions in errors.
        max_query_depth: Most fields on one path of a document (`{ a { b } }` is 2).
        max_aliases: Most aliases in an operation, a fragment's counted at every spread.
        max_tokens: Most lexical tokens in a document (and, apart, most comments).
        max_directives_per_field: Most directives on one field, fragment, operation or variable.
        node_budget: Most connection nodes an operation may ask for (GitHub's rule, see
            `app.schema.limits`).
        max_errors: Most errors in one response.
        max_body_bytes: Largest POST body /graphql and the REST surface read; a larger one gets 413.
        graphql_execution: `compiled` (queries run as plans compiled once per document, falling
            back to graphql-core for anything a plan does not cover) or `reference` (graphql-core
            only). Both answer the same; `reference` is the switch to turn the compiler off.
        webhook_retry_seconds: The delays between a live-mode delivery's failed attempts and
            the next (WEBHOOK_RETRY_SECONDS, comma-separated): exponential backoff over about 3
            days by default, as Stripe promises. After the last, a delivery has failed.
        webhook_test_retry_seconds: The same for test mode (WEBHOOK_TEST_RETRY_SECONDS), a few
            hours by default; WEBHOOK_RETRY_SECONDS alone sets both.
        webhook_timeout_seconds: How long one delivery attempt waits for an answer (1 to 60).
        persisted_documents: `allow` (free-text documents run, as do trusted documents and
            automatic persisted queries) or `only` (trusted documents alone; see
            `app.web.documents`).
        persisted_documents_files: Manifests of trusted documents beside the saved operations
            (PERSISTED_DOCUMENTS_FILE, comma-separated paths): Apollo persisted-query manifests
            or Relay `{id: text}` maps.
        apq_store_size: Most documents the shared automatic-persisted-query store keeps, the
            least recently used evicted past it (0 to 10,000,000; 0 turns APQ off).
        subscription_poll_seconds: How often each process reads new events and watched
            sessions for its subscribers (0.05 to 60).
        subscriptions_per_connection: Most operations one WebSocket connection may run at once
            (1 to 10,000); one more is refused with TOO_MANY_SUBSCRIPTIONS.
        websocket_connections_per_key: Most WebSocket connections one credential may hold open in
            one process (1 to 100,000); one more is closed with 4429.
        websocket_init_timeout_seconds: How long a new WebSocket may wait before its
            `connection_init` (1 to 600); past it the socket is closed with 4408.
        websocket_ping_seconds: How often the server sends a `ping` on an idle WebSocket (1 to
            3600); a client that has not answered the previous one by then is closed with 1013.
        subscription_queue_size: Most results waiting for one subscriber (1 to 1,000,000); a
            client that stops reading past it is closed with 1013 and resumes with its cursor.
        idempotency_retention_hours: How long an idempotency key is remembered before the worker
            purges its record (1 to 8760; 0: never purged, keys still expire after 24 h).
        event_retention_days: How long events are kept (1 to 3650; 0: for good). An event with a
            webhook attempt still due stays until it is done.
        hosted_link_retention_days: How long a spent or expired hosted-page link is kept, so it
            answers 410 rather than 404 (1 to 3650; 0: for good).
        metrics_token: The bearer token `GET /metrics` asks for (METRICS_TOKEN: 16 to 256
            printable ASCII characters, no spaces); None leaves /metrics open. Kept out of
            `repr`, so it never reaches a log.
        metrics_directory: PROMETHEUS_MULTIPROC_DIR, an existing writable directory every
            process writes its metrics to (see `app.metrics`); `serve` makes a private one
            when unset.
        otel_exporter_otlp_endpoint: Where OpenTelemetry traces go over OTLP/HTTP (the base URL,
            without a trailing slash; spans are posted to its `/v1/traces`); None sends none.
            Tracing also needs the `otel` extra (see `app.tracing`).
        shutdown_grace_seconds: How long, in whole seconds (0 to 3600), a stopping process
            waits for its in-flight requests, and then for its background job or webhook
            delivery in hand, before canceling what is left (handed back, due at once).
    """

    database_url: str
    public_base_url: str = "http://127.0.0.1:8000"
    log_level: str = "INFO"
    log_format: str = "text"
    verifier: str | None = None
    processing_delay_seconds: float = 2.0
    redaction_delay_seconds: float = 5.0
    worker_poll_seconds: float = 0.5
    job_retry_seconds: float = 30.0
    job_lease_seconds: float = 300.0
    cors_origins: tuple[str, ...] = ()
    rate_limit_live_per_second: int = 100
    rate_limit_test_per_second: int = 25
    rate_limit_anonymous_per_second: int = 20
    trusted_proxies: tuple[IPNetwork, ...] = ()
    redis_url: str | None = None
    redis_key_prefix: str = "gateway:"
    gateway_env: str = "production"
    max_query_depth: int = 15
    max_aliases: int = 30
    max_tokens: int = 5000
    max_directives_per_field: int = 5
    node_budget: int = 50_000
    max_errors: int = 20
    max_body_bytes: int = 1_000_000
    graphql_execution: str = "compiled"
    webhook_retry_seconds: tuple[float, ...] = LIVE_RETRY_SECONDS
    webhook_test_retry_seconds: tuple[float, ...] = TEST_RETRY_SECONDS
    webhook_timeout_seconds: float = 10.0
    persisted_documents: str = "allow"
    persisted_documents_files: tuple[Path, ...] = ()
    apq_store_size: int = 10_000
    subscription_poll_seconds: float = 1.0
    subscriptions_per_connection: int = 100
    websocket_connections_per_key: int = 100
    websocket_init_timeout_seconds: float = 10.0
    websocket_ping_seconds: float = 15.0
    subscription_queue_size: int = 1000
    idempotency_retention_hours: int = 24
    event_retention_days: int = 30
    hosted_link_retention_days: int = 7
    metrics_token: str | None = field(default=None, repr=False)
    metrics_directory: Path | None = None
    otel_exporter_otlp_endpoint: str | None = None
    shutdown_grace_seconds: int = 30

    @property
    def retention(self) -> Retention:
        return Retention(
            idempotency_hours=self.idempotency_retention_hours,
            event_days=self.event_retention_days,
            hosted_link_days=self.hosted_link_retention_days,
        )

    @property
    def development(self) -> bool:
        return self.gateway_env == "development"

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
        log_format = (env.get("LOG_FORMAT") or cls.log_format).lower()
        if log_format not in LOG_FORMATS:
            raise SettingsError(
                f"LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}, got {log_format!r}"
            )
        gateway_env = env.get("GATEWAY_ENV") or cls.gateway_env
        if gateway_env not in GATEWAY_ENVS:
            raise SettingsError(
                f"GATEWAY_ENV must be one of {', '.join(GATEWAY_ENVS)}, got {gateway_env!r}"
            )
        graphql_execution = env.get("GRAPHQL_EXECUTION") or cls.graphql_execution
        if graphql_execution not in GRAPHQL_EXECUTIONS:
            raise SettingsError(
                f"GRAPHQL_EXECUTION must be one of {', '.join(GRAPHQL_EXECUTIONS)}, "
                f"got {graphql_execution!r}"
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
        persisted_documents = env.get("PERSISTED_DOCUMENTS") or cls.persisted_documents
        if persisted_documents not in PERSISTED_DOCUMENT_MODES:
            raise SettingsError(
                f"PERSISTED_DOCUMENTS must be one of {', '.join(PERSISTED_DOCUMENT_MODES)}, "
                f"got {persisted_documents!r}"
            )
        live_retries = _schedule(env, "WEBHOOK_RETRY_SECONDS")
        test_retries = _schedule(env, "WEBHOOK_TEST_RETRY_SECONDS")
        return cls(
            database_url=database_url,
            public_base_url=public_base_url,
            log_level=log_level,
            log_format=log_format,
            verifier=env.get("VERIFIER") or None,
            processing_delay_seconds=_seconds(
                env, "PROCESSING_DELAY_SECONDS", cls.processing_delay_seconds, 0, 3600
            ),
            redaction_delay_seconds=_seconds(
                env, "REDACTION_DELAY_SECONDS", cls.redaction_delay_seconds, 0, 3600
            ),
            job_retry_seconds=_seconds(env, "JOB_RETRY_SECONDS", cls.job_retry_seconds, 1, 86400),
            job_lease_seconds=_seconds(env, "JOB_LEASE_SECONDS", cls.job_lease_seconds, 1, 86400),
            worker_poll_seconds=_seconds(
                env, "WORKER_POLL_SECONDS", cls.worker_poll_seconds, 0.05, 60
            ),
            cors_origins=cors_origins,
            rate_limit_live_per_second=_per_second(
                env, "RATE_LIMIT_LIVE_PER_SECOND", cls.rate_limit_live_per_second
            ),
            rate_limit_test_per_second=_per_second(
                env, "RATE_LIMIT_TEST_PER_SECOND", cls.rate_limit_test_per_second
            ),
            rate_limit_anonymous_per_second=_per_second(
                env, "RATE_LIMIT_ANONYMOUS_PER_SECOND", cls.rate_limit_anonymous_per_second
            ),
            trusted_proxies=_networks(env, "TRUSTED_PROXIES"),
            redis_url=_redis_url(env),
            redis_key_prefix=env.get("REDIS_KEY_PREFIX") or cls.redis_key_prefix,
            gateway_env=gateway_env,
            max_query_depth=_count(env, "MAX_QUERY_DEPTH", cls.max_query_depth, 1, 1000),
            max_aliases=_count(env, "MAX_ALIASES", cls.max_aliases, 0, 100_000),
            max_tokens=_count(env, "MAX_TOKENS", cls.max_tokens, 100, 1_000_000),
            max_directives_per_field=_count(
                env, "MAX_DIRECTIVES_PER_FIELD", cls.max_directives_per_field, 0, 1000
            ),
            node_budget=_count(env, "NODE_BUDGET", cls.node_budget, 1, 1_000_000_000),
            max_errors=_count(env, "MAX_ERRORS", cls.max_errors, 2, 1000),
            max_body_bytes=_count(env, "MAX_BODY_BYTES", cls.max_body_bytes, 1024, 100_000_000),
            graphql_execution=graphql_execution,
            webhook_retry_seconds=LIVE_RETRY_SECONDS if live_retries is None else live_retries,
            webhook_test_retry_seconds=next(
                given
                for given in (test_retries, live_retries, TEST_RETRY_SECONDS)
                if given is not None
            ),
            webhook_timeout_seconds=_seconds(
                env, "WEBHOOK_TIMEOUT_SECONDS", cls.webhook_timeout_seconds, 1, 60
            ),
            persisted_documents=persisted_documents,
            persisted_documents_files=_files(env, "PERSISTED_DOCUMENTS_FILE"),
            apq_store_size=_count(env, "APQ_STORE_SIZE", cls.apq_store_size, 0, 10_000_000),
            subscription_poll_seconds=_seconds(
                env, "SUBSCRIPTION_POLL_SECONDS", cls.subscription_poll_seconds, 0.05, 60
            ),
            subscriptions_per_connection=_count(
                env, "SUBSCRIPTIONS_PER_CONNECTION", cls.subscriptions_per_connection, 1, 10_000
            ),
            websocket_connections_per_key=_count(
                env, "WEBSOCKET_CONNECTIONS_PER_KEY", cls.websocket_connections_per_key, 1, 100_000
            ),
            websocket_init_timeout_seconds=_seconds(
                env, "WEBSOCKET_INIT_TIMEOUT_SECONDS", cls.websocket_init_timeout_seconds, 1, 600
            ),
            websocket_ping_seconds=_seconds(
                env, "WEBSOCKET_PING_SECONDS", cls.websocket_ping_seconds, 1, 3600
            ),
            subscription_queue_size=_count(
                env, "SUBSCRIPTION_QUEUE_SIZE", cls.subscription_queue_size, 1, 1_000_000
            ),
            idempotency_retention_hours=_retention(
                env, "IDEMPOTENCY_RETENTION_HOURS", cls.idempotency_retention_hours, "hours", 8760
            ),
            event_retention_days=_retention(
                env, "EVENT_RETENTION_DAYS", cls.event_retention_days, "days", 3650
            ),
            hosted_link_retention_days=_retention(
                env, "HOSTED_LINK_RETENTION_DAYS", cls.hosted_link_retention_days, "days", 3650
            ),
            metrics_token=_token(env, "METRICS_TOKEN"),
            metrics_directory=_directory(env, "PROMETHEUS_MULTIPROC_DIR"),
            otel_exporter_otlp_endpoint=_otlp_endpoint(env),
            shutdown_grace_seconds=_count(
                env, "SHUTDOWN_GRACE_SECONDS", cls.shutdown_grace_seconds, 0, 3600
            ),
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


def _per_second(env: Mapping[str, str], name: str, default: int) -> int:
    return _count(
        env, name, default, 0, 1_000_000, unit="requests", rule="between 0 (no limit) and 1000000"
    )


def _count(
    env: Mapping[str, str],
    name: str,
    default: int,
    low: int,
    high: int,
    *,
    unit: str | None = None,
    rule: str | None = None,
) -> int:
    """A whole number from `low` to `high`; `unit` and `rule` word the errors ("a whole number
    of <unit>", "must be <rule>")."""
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        number = f"a whole number of {unit}" if unit else "a whole number"
        raise SettingsError(f"{name} must be {number}, got {raw!r}") from None
    if not low <= value <= high:
        raise SettingsError(f"{name} must be {rule or f'between {low} and {high}'}, got {raw!r}")
    return value


def _retention(env: Mapping[str, str], name: str, default: int, unit: str, high: int) -> int:
    """A retention window in whole `unit`s, 1 to `high`, or 0 for "never purge"."""
    return _count(
        env,
        name,
        default,
        0,
        high,
        unit=unit,
        rule=f"0 (never purge) or between 1 and {high} {unit}",
    )


def _schedule(env: Mapping[str, str], name: str) -> tuple[float, ...] | None:
    """Comma-separated delays in seconds (`1,1,1`), each 0 to 7 days, at most 50; `""` for none
    (no retries). None when the variable is not set."""
    raw = env.get(name)
    if raw is None:
        return None
    parts = [part.strip() for part in raw.split(",") if part.strip()]
    try:
        delays = tuple(float(part) for part in parts)
    except ValueError:
        raise SettingsError(
            f"{name} must be comma-separated numbers of seconds such as 60,300,1800, got {raw!r}"
        ) from None
    if len(delays) > 50 or not all(0 <= delay <= 7 * 86400 for delay in delays):
        raise SettingsError(f"{name} takes at most 50 delays of 0 to 604800 seconds, got {raw!r}")
    return delays


def _files(env: Mapping[str, str], name: str) -> tuple[Path, ...]:
    """Comma-separated paths of existing files, made absolute (relative to the working
    directory); `""` or unset for none. A path that holds a comma cannot be named: link it."""
    raw = env.get(name) or ""
    paths = tuple(Path(part.strip()).resolve() for part in raw.split(",") if part.strip())
    for path in paths:
        if not path.is_file():
            raise SettingsError(
                f"{name} must name existing files (comma-separated), got {str(path)!r}"
            )
    return paths


def _networks(env: Mapping[str, str], name: str) -> tuple[IPNetwork, ...]:
    """Comma-separated IP addresses (`10.0.0.7`, `::1`) and CIDR networks (`10.0.0.0/8`,
    `fd00::/8`); `""` or unset for none. A network with host bits set (`10.0.0.7/8`) is refused
    rather than guessed at: it is a typo for either the address or the network."""
    networks = []
    for part in (env.get(name) or "").split(","):
        entry = part.strip()
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry))
        except ValueError as error:
            rule = (
                "must name networks without host bits set (10.0.0.0/8, not 10.0.0.7/8)"
                if "host bits set" in str(error)
                else "must be comma-separated IP addresses or CIDR networks such as 10.0.0.0/8"
            )
            raise SettingsError(f"{name} {rule}, got {entry!r}") from None
    return tuple(networks)


def _token(env: Mapping[str, str], name: str) -> str | None:
    """A bearer token: 16 to 256 printable ASCII characters without spaces; None when unset or
    empty. The value itself is never part of the error."""
    raw = env.get(name) or None
    if raw is not None and not (16 <= len(raw) <= 256 and all("!" <= c <= "~" for c in raw)):
        raise SettingsError(
            f"{name} must be 16 to 256 printable ASCII characters without spaces "
            f"(got {len(raw)} characters)"
        )
    return raw


def _directory(env: Mapping[str, str], name: str) -> Path | None:
    """An existing directory this process may write to, made absolute; None when unset."""
    raw = env.get(name) or None
    if raw is None:
        return None
    path = Path(raw).resolve()
    if not path.is_dir() or not os.access(path, os.W_OK | os.X_OK):
        raise SettingsError(f"{name} must be an existing writable directory, got {str(path)!r}")
    return path


def _redis_url(env: Mapping[str, str]) -> str | None:
    url = env.get("REDIS_URL") or None
    if url is not None and urlsplit(url).scheme not in ("redis", "rediss", "unix"):
        raise SettingsError(
            "REDIS_URL must be a redis://, rediss:// or unix:// URL, "
            f"got a URL with scheme {url.split(':', 1)[0]!r}"
        )
    return url


def _otlp_endpoint(env: Mapping[str, str]) -> str | None:
    raw = env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or None
    if raw is None:
        return None
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise SettingsError(
            "OTEL_EXPORTER_OTLP_ENDPOINT must be an OTLP/HTTP collector's absolute http(s) URL "
            "without a query or fragment, such as http://127.0.0.1:4318 (the value given is "
            "not repeated: it may hold a credential)"
        )
    return raw.rstrip("/")


def default_database_url(directory: Path) -> str:
    return f"sqlite+aiosqlite:///{directory / 'gateway.sqlite3'}"
