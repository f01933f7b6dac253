"""The pure parts of `app.metrics` and its settings: the operation type of the document's
operation, the limit codes it knows, label values from fixed sets only, and METRICS_TOKEN and
PROMETHEUS_MULTIPROC_DIR refused with the variable's name and the rule."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

import app.schema.limits
from app.metrics import LIMIT_CODES, Metrics, operation_type_of
from app.schema import build_schema
from app.settings import Settings, SettingsError

TOKEN = "a-metrics-token-of-32-characters"


@pytest.mark.parametrize(
    ("query", "operation_name", "expected"),
    [
        ("{ a }", None, "query"),
        ("query { a }", None, "query"),
        ("  \n# a comment\n, mutation M($x: Int) { a }", None, "mutation"),
        ("mutation { a }", None, "mutation"),
        ("subscription S { a }", "S", "subscription"),
        ("query Q { a } mutation M { b }", "M", "mutation"),
        ("query Q { a } mutation M { b }", "Q", "query"),
        ("fragment F on T { a } mutation M { ...F }", None, "mutation"),
        ("fragment F on T { a } mutation M { ...F }", "M", "mutation"),
        ("not graphql at all", None, "query"),
        ("", None, "query"),
    ],
)
def test_the_operation_type_is_the_parsed_operations(
    query: str, operation_name: str | None, expected: str
) -> None:
    limiter = build_schema(Settings(database_url="sqlite+aiosqlite:///unused")).limiter
    assert operation_type_of(limiter.operation(query, operation_name)) == expected


def test_the_limit_codes_are_those_of_the_query_limits() -> None:
    # given the codes app.schema.limits lists in its docstring
    documented = re.findall(r"^    ([A-Z_]+)\s", app.schema.limits.__doc__ or "", re.MULTILINE)
    # then
    assert sorted(LIMIT_CODES) == sorted(documented)


def test_request_labels_come_from_fixed_sets() -> None:
    # given
    metrics = Metrics.create(None)

    class Route:
        path = "/v1/identity/verification_sessions/{id}"

    # when methods a client invented, and paths no route matched, are observed
    for index in range(100):
        metrics.observe_request(None, f"M{index}", 404, 0.001)
    metrics.observe_request(Route(), "GET", 200, 0.002)
    text = metrics.render(None).decode()
    # then they share one OTHER series, and the route is the template
    labels = [
        sample.labels
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "gateway_http_requests_total"
    ]
    assert sorted(labels, key=str) == sorted(
        [
            {"route": "other", "method": "OTHER", "status": "404"},
            {"route": Route.path, "method": "GET", "status": "200"},
        ],
        key=str,
    )


def test_metrics_token_is_checked_without_being_echoed() -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.from_environ({"METRICS_TOKEN": "short-secret"})
    message = str(raised.value)
    assert message.startswith("METRICS_TOKEN must be 16 to 256 printable ASCII characters")
    assert "short-secret" not in message


def test_metrics_token_never_shows_in_the_settings_repr() -> None:
    settings = Settings.from_environ({"METRICS_TOKEN": TOKEN})
    assert settings.metrics_token == TOKEN
    assert TOKEN not in repr(settings)


def test_metrics_directory_must_exist(tmp_path: Path) -> None:
    missing = tmp_path / "missing"
    with pytest.raises(SettingsError, match="PROMETHEUS_MULTIPROC_DIR must be an existing"):
        Settings.from_environ({"PROMETHEUS_MULTIPROC_DIR": str(missing)})
    assert Settings.from_environ({"PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}).metrics_directory == (
        tmp_path.resolve()
    )


class _Route:
    path = "/graphql"


def test_tallied_requests_flush_to_what_observing_each_would_give() -> None:
    """Requests are tallied and flushed in bulk: the exposition is exactly what prometheus-client
    gives for the same requests counted and observed one by one."""
    durations = [0.0, 0.0005, 0.001, 0.0010001, 0.003, 0.02, 0.7, 9.9, 10.0, 10.5, 120.0]
    tallied = Metrics(CollectorRegistry(auto_describe=True))
    direct = Metrics(CollectorRegistry(auto_describe=True))
    for index, seconds in enumerate(durations):
        status = 200 if index % 3 else 400
        tallied.observe_request(_Route(), "POST", status, seconds)
        direct.requests.labels("/graphql", "POST", str(status)).inc()
        direct.durations.labels("/graphql", "POST").observe(seconds)
        tallied.observe_graphql("query", None)
        direct._operations[("query", "ok")].inc()
    before = _samples(tallied)
    tallied.flush()
    assert _samples(tallied) == pytest.approx(_samples(direct))
    assert before != _samples(direct)  # nothing reached the values before the flush
    tallied.flush()  # a flush with nothing new changes nothing
    assert _samples(tallied) == pytest.approx(_samples(direct))


def _samples(metrics: Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    assert metrics.registry is not None
    return dict(
        ((sample.name, tuple(sorted(sample.labels.items()))), sample.value)
        for family in metrics.registry.collect()
        for sample in family.samples
        if not sample.name.endswith("_created")
    )


def test_the_readers_connections_are_sampled_at_each_flush() -> None:
    class Reader:
        in_use = 3

        def connections_in_use(self) -> int:
            return self.in_use

    metrics = Metrics(CollectorRegistry(auto_describe=True))
    reader = Reader()
    metrics.watch_reader(reader)
    metrics.flush()
    assert _samples(metrics)[("gateway_db_reader_connections_in_use", ())] == 3
    reader.in_use = 0
    metrics.flush()
    assert _samples(metrics)[("gateway_db_reader_connections_in_use", ())] == 0
