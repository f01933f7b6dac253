"""The gateway's Prometheus metrics, aggregated over every process that serves it.

Two modes, chosen by PROMETHEUS_MULTIPROC_DIR (prometheus-client's multiprocess mode):

    set     every process writes its values to files in that directory and `GET /metrics`
            (served by any of them) adds up all the files: the sum over the processes
    unset   the values live in the app's own registry (a test's in-process server); `serve`
            never runs like this, as it sets the directory first (below)

prometheus-client picks the mode when it creates a metric's values, from the environment, so the
directory must be in `os.environ` before the first `Metrics` exists. `serve` (and a supervisor that
forks workers) does this:

    directory = metrics.prepare_directory()   # once, before the app or any worker starts:
                                              # PROMETHEUS_MULTIPROC_DIR, or a new private
                                              # temporary directory put into os.environ, which
                                              # the workers inherit
    ...                                       # fork / run the workers
    metrics.process_exited(pid)               # whenever a worker exits (and for itself at the
                                              # end): its live gauges leave the sums, its
                                              # counters stay (totals never go down)
    directory.cleanup()                       # at the very end: removes the directory if
                                              # prepare_directory made it

A directory the operator set is never emptied by the gateway: prometheus-client wants it empty
when the set of processes starts (a service manager's pre-start step), and two `serve` processes
sharing one must not wipe each other's files.

What one request costs: a few dict updates (about half a microsecond). prometheus-client's own
writes to its files take a lock, a `getpid` and a write per value, some 4 µs for a request's
counter and histogram; so requests and operations are tallied in the process and added to
prometheus-client's values once a second (`flush`, run by the app's lifespan, and before this
process renders a scrape). Another process's latest second may be missing from a scrape.
Label values come from fixed sets (route templates, HTTP methods, codes), never from a request's
text: no id, key, token or secret can become a label.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import tempfile
import weakref
from bisect import bisect_left
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from graphql import OperationDefinitionNode
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, values
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from app.services.backlog import Backlog

ENVIRONMENT_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# The codes of `app.schema.limits`: a document refused before it runs.
LIMIT_CODES = (
    "TOO_MANY_TOKENS",
    "TOO_MANY_DIRECTIVES",
    "QUERY_TOO_DEEP",
    "TOO_MANY_ALIASES",
    "NODE_BUDGET_EXCEEDED",
    "QUERY_TOO_COMPLEX",
)
_LIMIT_CODES = frozenset(LIMIT_CODES)
OPERATION_TYPES = ("query", "mutation", "subscription")
OUTCOMES = ("ok", "errors", "refused")
SURFACES = ("graphql", "rest", "websocket", "hosted")
# Any other method (a client may send any token) is counted as OTHER.
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Requests are mostly sub-millisecond reads, so the buckets start at 1 ms.
DURATION_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
UNMATCHED_ROUTE = "other"
# How often a process adds its tallies to the values every scrape reads.
FLUSH_SECONDS = 1.0


@dataclass(frozen=True)
class Directory:
    """Where the processes write their values. `created`: made by `prepare_directory`, so
    `cleanup` removes it, in the process that made it only (a forked worker that inherited the
    object, and runs the same exit path, leaves it to its parent)."""

    path: Path
    created: bool
    owner: int = field(default_factory=os.getpid)

    def cleanup(self) -> None:
        if self.created and os.getpid() == self.owner:
            shutil.rmtree(self.path, ignore_errors=True)


def prepare_directory() -> Directory:
    """PROMETHEUS_MULTIPROC_DIR when set; else a new private (0700) temporary directory, put into
    `os.environ` so that this process and every process started from it write there. Call it
    once, before the app (and any worker) starts."""
    given = os.environ.get(ENVIRONMENT_VARIABLE)
    if given:
        directory = Directory(Path(given), created=False)
    else:
        directory = Directory(Path(tempfile.mkdtemp(prefix="gateway-metrics-")), created=True)
    os.environ[ENVIRONMENT_VARIABLE] = str(directory.path)
    # prometheus-client chose its value class when it was imported; choose again now that the
    # directory is set (no metric exists yet, so none keeps the in-process class).
    if not values.ValueClass._multiprocess:
        values.ValueClass = values.get_value_class()  # type: ignore[no-untyped-call]
    return directory


def process_exited(pid: int) -> None:
    """Drop the live gauges of a process that has exited (prometheus-client's
    `mark_process_dead`); its counters and histograms stay in the sums."""
    path = os.environ.get(ENVIRONMENT_VARIABLE)
    if path:
        mark_process_dead(pid, path)  # type: ignore[no-untyped-call]


class Metrics:
    """The metrics of one process (multiprocess mode) or one app (in-process mode)."""

    def __init__(self, registry: CollectorRegistry | None, directory: Path | None = None) -> None:
        # In multiprocess mode nothing is registered: scrapes read the directory instead.
        self.registry = registry
        self.directory = directory
        self.requests = Counter(
            "gateway_http_requests",
            "HTTP requests answered, by route template, method and status.",
            ("route", "method", "status"),
            registry=registry,
        )
        self.durations = Histogram(
            "gateway_http_request_duration_seconds",
            "How long HTTP requests took, by route template and method.",
            ("route", "method"),
            buckets=DURATION_BUCKETS,
            registry=registry,
        )
        operations = Counter(
            "gateway_graphql_operations",
            "GraphQL operations (HTTP and WebSocket), by type and outcome (ok, errors, refused).",
            ("type", "outcome"),
            registry=registry,
        )
        refusals = Counter(
            "gateway_graphql_refusals",
            "GraphQL documents refused by a query limit, by its code.",
            ("code",),
            registry=registry,
        )
        rate_limited = Counter(
            "gateway_rate_limited",
            "Requests refused by the rate limits, by surface.",
            ("surface",),
            registry=registry,
        )
        self.replays = Counter(
            "gateway_idempotent_replays",
            "Keyed requests answered with a stored response (Idempotent-Replayed).",
            registry=registry,
        )
        self.connections = Gauge(
            "gateway_db_connections_in_use",
            "Connections checked out of the database engine's pool, per process.",
            multiprocess_mode="liveall",
            registry=registry,
        )
        self.reader_connections = Gauge(
            "gateway_db_reader_connections_in_use",
            "Connections of the lean reader's pool (Postgres) running a read, per process, "
            "sampled once a second.",
            multiprocess_mode="liveall",
            registry=registry,
        )
        # Weakly: one process's metrics outlive the apps that come and go in it (tests).
        self._readers: weakref.WeakSet[Any] = weakref.WeakSet()
        # Every child of a fixed label set exists from the start, so each series starts at 0.
        self._operations = {
            (kind, outcome): operations.labels(kind, outcome)
            for kind in OPERATION_TYPES
            for outcome in OUTCOMES
        }
        self._refusals = {code: refusals.labels(code) for code in LIMIT_CODES}
        self._rate_limited = {surface: rate_limited.labels(surface) for surface in SURFACES}
        # Tallies since the last flush: per (route, method, status) the count, the sum of the
        # durations and the count per bucket (prometheus-client's own, non-cumulative, +Inf
        # last); per (type, outcome) the operations.
        self._requests: dict[tuple[str, str, int], list[Any]] = {}
        self._operation_counts: dict[tuple[str, str], int] = {}

    @classmethod
    def create(cls, directory: Path | None) -> Metrics:
        """This process's metrics, written to `directory` (settings.metrics_directory, which
        must be PROMETHEUS_MULTIPROC_DIR) and shared by every app of the process; without a
        directory, a new set in a registry of the app's own."""
        if directory is None:
            return cls(CollectorRegistry(auto_describe=True))
        given = os.environ.get(ENVIRONMENT_VARIABLE)
        if not values.ValueClass._multiprocess or given is None or not _same(given, directory):
            raise RuntimeError(
                f"prometheus-client does not write to {directory}: set {ENVIRONMENT_VARIABLE} "
                "with app.metrics.prepare_directory() before creating the app"
            )
        return _process_metrics(directory)

    def observe_request(self, route: object, method: str, status: int, seconds: float) -> None:
        """Count one HTTP request. `route` is Starlette's matched route (`scope.get("route")`):
        its path template is the label; None (no route matched) counts as `other`."""
        if method not in _METHODS:
            method = "OTHER"
        key = (getattr(route, "path", None) or UNMATCHED_ROUTE, method, status)
        tally = self._requests.get(key)
        if tally is None:
            tally = self._requests[key] = [0, 0.0, [0] * (len(DURATION_BUCKETS) + 1)]
        tally[0] += 1
        tally[1] += seconds
        # The first bucket whose upper bound is at least `seconds`, as Histogram.observe finds it.
        tally[2][bisect_left(DURATION_BUCKETS, seconds)] += 1

    def observe_graphql(self, operation_type: str, errors: Iterable[Any] | None) -> None:
        """Count one GraphQL operation that was answered: `operation_type` is query, mutation
        or subscription (`operation_type_of`), `errors` the result's errors (GraphQLErrors); one
        with a query-limit code makes it `refused`."""
        outcome = "ok"
        if errors:
            outcome = "errors"
            for error in errors:
                code = (getattr(error, "extensions", None) or {}).get("code")
                if code in _LIMIT_CODES:
                    outcome = "refused"
                    self._refusals[code].inc()
                    break
        key = (operation_type, outcome)
        self._operation_counts[key] = self._operation_counts.get(key, 0) + 1

    def flush(self) -> None:
        """Add what was tallied since the last flush to prometheus-client's values."""
        requests, self._requests = self._requests, {}
        operations, self._operation_counts = self._operation_counts, {}
        for (path, method, status), (count, total, buckets) in requests.items():
            self.requests.labels(path, method, str(status)).inc(count)
            histogram = self.durations.labels(path, method)
            # Histogram.observe, `count` times at once: its sum and its (non-cumulative) buckets.
            histogram._sum.inc(total)
            for bucket, observed in zip(histogram._buckets, buckets, strict=True):
                if observed:
                    bucket.inc(observed)
        for key, count in operations.items():
            self._operations[key].inc(count)
        if self._readers:
            self.reader_connections.set(sum(r.connections_in_use() for r in self._readers))

    async def run(self, stop: asyncio.Event) -> None:
        """Flush every FLUSH_SECONDS until `stop`, and once more then."""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=FLUSH_SECONDS)
            self.flush()

    def rate_limited(self, surface: str) -> None:
        self._rate_limited[surface].inc()

    def replayed(self) -> None:
        self.replays.inc()

    def watch_reader(self, reader: Any) -> None:
        """Sample `reader.connections_in_use()` into `gateway_db_reader_connections_in_use` at
        every flush (app.db.Reader: its pool has no checkout events, and a read is the hot
        path)."""
        self._readers.add(reader)

    def watch_pool(self, engine: AsyncEngine) -> None:
        """Keep `gateway_db_connections_in_use` at the number of connections checked out of the
        engine's pool (the write transactions' and the ORM reads'; not the Reader's own)."""
        pool = engine.sync_engine.pool
        event.listen(pool, "checkout", lambda *_: self.connections.inc())
        event.listen(pool, "checkin", lambda *_: self.connections.dec())

    def render(self, backlog: Backlog | None) -> bytes:
        """The exposition text: every process's values (or this app's), then `backlog`, read
        from the database by the scraping process alone (None when it could not be read)."""
        self.flush()
        scrape = CollectorRegistry(auto_describe=True)
        if self.registry is not None:
            scrape.register(_Forward(self.registry))
        else:
            MultiProcessCollector(scrape, path=str(self.directory))  # type: ignore[no-untyped-call]
        if backlog is not None:
            scrape.register(_BacklogCollector(backlog))
        return generate_latest(scrape)


def _same(given: str, directory: Path) -> bool:
    return Path(given).resolve() == directory.resolve()


@cache
def _process_metrics(directory: Path) -> Metrics:
    return Metrics(None, directory)


class _Forward:
    """Another registry's metrics, collected into the scrape's registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry

    def collect(self) -> Iterable[Metric]:
        return self.registry.collect()


class _BacklogCollector:
    def __init__(self, backlog: Backlog) -> None:
        self.backlog = backlog

    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(
            "gateway_jobs_due", "Background jobs due now.", value=self.backlog.jobs_due
        )
        yield GaugeMetricFamily(
            "gateway_jobs_oldest_due_age_seconds",
            "How long the oldest due background job has been due (0 when none is).",
            value=self.backlog.oldest_due_job_age_seconds,
        )
        yield GaugeMetricFamily(
            "gateway_webhook_attempts_due",
            "Webhook delivery attempts due now.",
            value=self.backlog.webhook_attempts_due,
        )


def operation_type_of(operation: OperationDefinitionNode | None) -> str:
    """The `type` label of a request's operation (the limiter's `operation`): a document that
    does not parse, or lacks the operation named, counts as a query, as the request is answered
    by the query path's errors."""
    return "query" if operation is None else operation.operation.value
