"""Two servers over one database, one per execution mode, and the data they serve.

The fixture runs once per backend in BACKENDS (SQLite, and Postgres with TEST_DATABASE_URL), on a
database of its own: the shared test database's server has no live verifier, and its worker would
take this fixture's live submissions. Both servers get the same settings but for
`graphql_execution`, the same public origin (session `url`s are built from it, as two processes
behind one load balancer build them) and only the reference server runs the worker.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import httpx
import pytest

from app.migrations import upgrade
from app.settings import Settings
from tests.conftest import BACKENDS, fresh_database_url, running_server
from tests.differential.twins import Twins
from tests.differential.world import Keys, World, build_world


@dataclasses.dataclass(frozen=True)
class Deployment:
    twins: Twins
    world: World


@pytest.fixture(scope="session", params=BACKENDS)
def deployment(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    sqlite_file = tmp_path_factory.mktemp("differential") / "gateway.sqlite3"
    with fresh_database_url(request.param, sqlite_file) as url:
        upgrade(url)
        settings = Settings(
            database_url=url,
            verifier="tests.differential.world:LiveVerifier",
            processing_delay_seconds=0.2,
            redaction_delay_seconds=0.2,
            worker_poll_seconds=0.05,
            rate_limit_live_per_second=0,
            rate_limit_test_per_second=0,
        )
        with (
            running_server(
                dataclasses.replace(settings, graphql_execution="reference")
            ) as reference,
            running_server(
                dataclasses.replace(settings, graphql_execution="compiled"),
                run_worker=False,
                public_base_url=reference.settings.public_base_url,
            ) as compiled,
            httpx.Client(base_url=reference.base_url, timeout=30) as reference_http,
            httpx.Client(base_url=compiled.base_url, timeout=30) as compiled_http,
        ):
            assert reference.settings.graphql_execution == "reference"
            assert compiled.settings.graphql_execution == "compiled"
            world = build_world(reference)
            yield Deployment(Twins(reference=reference_http, compiled=compiled_http), world)


@pytest.fixture
def twins(deployment: Deployment) -> Twins:
    """Send a request to both servers and get their one answer (or a failure with a diff)."""
    return deployment.twins


@pytest.fixture
def world(deployment: Deployment) -> World:
    return deployment.world


@pytest.fixture
def keys(world: World) -> Keys:
    return world.keys
