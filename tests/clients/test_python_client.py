"""The typed Python client that ariadne-codegen generates from schema.graphql and the saved
playground operations, used against a live server.

ariadne-codegen pins an older graphql-core than Strawberry, so it runs from its own virtualenv,
.venv-codegen (built from clients/python/requirements.txt). The client it generates needs only
httpx and pydantic, so these tests import it into the project's own virtualenv. It is generated
once per test session into a temporary copy of the tree, so the checkout is left as it was.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import importlib
import json
import re
import shutil
import sys
import tomllib
import typing
import warnings
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from graphql import (
    FieldNode,
    GraphQLScalarType,
    OperationDefinitionNode,
    Visitor,
    build_schema,
    parse,
    specified_scalar_types,
    visit,
)

from tests.clients.conftest import ROOT, run_tool
from tests.conftest import Api, run

PYTHON_CLIENT = ROOT / "clients" / "python"
OPERATIONS = ROOT / "playground" / "operations"
CODEGEN = ROOT / ".venv-codegen" / "bin" / "ariadne-codegen"
PACKAGE = "gateway_client"
# The saved operations that are subscriptions.
SUBSCRIPTIONS = {"WatchVerificationSession"}
PLACEHOLDER = "vs_REPLACE_WITH_AN_ID_FROM_CREATE"
# What the generated package may import besides the standard library and itself; `websockets`
# only inside a guard, for subscriptions.
RUNTIME_DEPENDENCIES = {"httpx", "pydantic", "pydantic_core", "websockets"}
MAKE_CODEGEN_VENV = (
    "python3 -m venv .venv-codegen && "
    ".venv-codegen/bin/pip install -r clients/python/requirements.txt"
)


def snake_case(name: str) -> str:
    """An operation's method name as ariadne-codegen spells it: CreateVerificationSession ->
    create_verification_session."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def saved_operations() -> dict[str, str]:
    """Every named operation of playground/operations, by name, with its document."""
    operations = {}
    for path in sorted(OPERATIONS.glob("*.graphql")):
        document = path.read_text(encoding="utf-8")
        for definition in parse(document).definitions:
            assert isinstance(definition, OperationDefinitionNode) and definition.name, path
            operations[definition.name.value] = document
    return operations


def saved_variables(name: str, session_id: str | None = None) -> dict[str, Any]:
    text = (OPERATIONS / f"{name}.variables.json").read_text(encoding="utf-8")
    if session_id is not None:
        text = text.replace(PLACEHOLDER, session_id)
    variables: dict[str, Any] = json.loads(text)
    return variables


@pytest.fixture(scope="session")
def generated_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A temporary copy of schema.graphql, playground/operations and clients/python with the
    client generated into it exactly as the checkout would get it; returns the copy's root."""
    if not CODEGEN.exists():
        pytest.fail(f"{CODEGEN} is missing: run `{MAKE_CODEGEN_VENV}` (or `make test`)")
    pinned = (PYTHON_CLIENT / "requirements.txt").read_text(encoding="utf-8").strip()
    version = run_tool([CODEGEN, "--version"], cwd=ROOT).stdout.split()[-1]
    if pinned != f"ariadne-codegen=={version}":
        pytest.fail(
            f".venv-codegen has ariadne-codegen {version}, clients/python/requirements.txt pins "
            f"{pinned!r}: rebuild it with `rm -rf .venv-codegen && {MAKE_CODEGEN_VENV}`"
        )
    root = tmp_path_factory.mktemp("python-client")
    shutil.copy(ROOT / "schema.graphql", root / "schema.graphql")
    shutil.copytree(OPERATIONS, root / "playground" / "operations")
    shutil.copytree(
        PYTHON_CLIENT,
        root / "clients" / "python",
        ignore=shutil.ignore_patterns(PACKAGE, "__pycache__"),
    )
    # The config's paths are relative to the directory ariadne-codegen runs in.
    run_tool([CODEGEN, "--config", "pyproject.toml"], cwd=root / "clients" / "python")
    assert (root / "clients" / "python" / PACKAGE / "__init__.py").is_file()
    return root


@pytest.fixture(scope="session")
def gateway_client(generated_tree: Path) -> Iterator[ModuleType]:
    """The generated package, imported into this process (warnings would be errors)."""
    path = str(generated_tree / "clients" / "python")
    sys.path.insert(0, path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            module = importlib.import_module(PACKAGE)
        assert Path(module.__file__ or "").is_relative_to(generated_tree), module.__file__
        yield module
    finally:
        sys.path.remove(path)
        for name in [name for name in sys.modules if name.partition(".")[0] == PACKAGE]:
            del sys.modules[name]


def client_of(api: Api, gateway_client: ModuleType, key: str | None = None) -> Any:
    """The generated (asyncio) client, authenticated as the test's account, or with `key`."""
    bearer = f"Bearer {key or api.key}"
    return gateway_client.Client(
        url=f"{api.server.base_url}/graphql",
        headers={"Authorization": bearer},
        ws_url=api.server.base_url.replace("http", "ws", 1) + "/graphql",
        ws_connection_init_payload={"Authorization": bearer},
    )


def test_the_client_has_a_typed_method_for_every_saved_operation(
    gateway_client: ModuleType,
) -> None:
    # given: the operations saved in the playground
    names = sorted(saved_operations())
    assert len(names) >= 11
    client_class = gateway_client.Client
    # then: the client has exactly one method per operation, named in snake_case ...
    methods = {
        name
        for name, value in vars(client_class).items()
        if callable(value) and not name.startswith("_")
    }
    assert methods == {snake_case(name) for name in names}
    # ... returning the operation's own result model (a stream of them for a subscription)
    for name in names:
        hints = typing.get_type_hints(getattr(client_class, snake_case(name)))
        model = getattr(gateway_client, name)
        expected = AsyncIterator[model] if name in SUBSCRIPTIONS else model
        assert hints["return"] == expected, name


def test_every_custom_scalar_of_the_schema_is_mapped_to_a_python_type() -> None:
    # given: the custom scalars of schema.graphql (an unmapped one would be typed Any)
    schema = build_schema((ROOT / "schema.graphql").read_text(encoding="utf-8"))
    custom = {
        name
        for name, type_ in schema.type_map.items()
        if isinstance(type_, GraphQLScalarType) and name not in specified_scalar_types
    }
    assert {"DateTime", "JSON", "Metadata"} <= custom
    # then: the codegen config maps each of them
    config = tomllib.loads((PYTHON_CLIENT / "pyproject.toml").read_text(encoding="utf-8"))
    assert set(config["tool"]["ariadne-codegen"]["scalars"]) == custom


def test_custom_scalars_are_typed(gateway_client: ModuleType) -> None:
    # given: every `created` the saved operations select (a DateTime wherever it is selected)
    selected = 0

    class CountCreated(Visitor):
        def enter_field(self, node: FieldNode, *_: Any) -> None:
            nonlocal selected
            selected += node.name.value == "created" and node.selection_set is None

    for document in saved_operations().values():
        visit(parse(document), CountCreated())
    assert selected >= 6
    # when: looking at the result models generated for those operations
    created_types = [
        model.model_fields["created"].annotation
        for name in saved_operations()
        for model in vars(importlib.import_module(f"{PACKAGE}.{snake_case(name)}")).values()
        if isinstance(model, type)
        and issubclass(model, gateway_client.BaseModel)
        and model.__module__ == f"{PACKAGE}.{snake_case(name)}"
        and "created" in model.model_fields
    ]
    # then: each one is a datetime, and so is every bound of a DateTimeFilter
    assert created_types == [datetime] * selected
    for bound in ("gt", "gte", "lt", "lte"):
        assert gateway_client.DateTimeFilter.model_fields[bound].annotation == datetime | None
    # and: Metadata is a dict of strings, JSON any value, enums the generated enums
    session = gateway_client.CreateVerificationSessionCreateVerificationSessionVerificationSession
    assert session.model_fields["metadata"].annotation == dict[str, str]
    assert session.model_fields["status"].annotation is gateway_client.VerificationSessionStatus
    assert gateway_client.ListEventsEventsNodes.model_fields["data"].annotation is Any
    update = gateway_client.UpdateVerificationSessionInput
    assert update.model_fields["metadata"].annotation == dict[str, str] | None


def test_the_generated_package_needs_only_httpx_and_pydantic(generated_tree: Path) -> None:
    package = generated_tree / "clients" / "python" / PACKAGE
    # given: every absolute import of the generated modules
    imported = set()
    for path in package.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported |= {alias.name.partition(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module.partition(".")[0])
    # then: they name the standard library, httpx and pydantic only
    assert imported - set(sys.stdlib_module_names) == RUNTIME_DEPENDENCIES
    # and: importing the package in a fresh interpreter loads neither the generator (nor its
    # dependencies) nor the server's GraphQL libraries, and warns of nothing
    script = (
        f"import json, sys; import {PACKAGE}; "
        "print(json.dumps(sorted({m.partition('.')[0] for m in sys.modules})))"
    )
    result = run_tool([sys.executable, "-W", "error", "-c", script], cwd=package.parent)
    loaded = set(json.loads(result.stdout))
    assert PACKAGE in loaded
    assert not loaded & {"ariadne_codegen", "graphql", "strawberry", "toml"}


def test_the_client_drives_a_session_against_a_live_server(
    api: Api, gateway_client: ModuleType
) -> None:
    g = gateway_client

    async def scenario() -> None:
        async with client_of(api, g) as client:
            await drive(client)

    async def drive(client: Any) -> None:
        # when: a session is created with the saved operation's variables
        created_payload = (
            await client.create_verification_session(
                g.CreateVerificationSessionInput.model_validate(
                    saved_variables("CreateVerificationSession")["input"]
                )
            )
        ).create_verification_session
        # then: the result is typed, enums as enums and `created` as an aware datetime
        assert created_payload.user_errors == []
        created = created_payload.verification_session
        assert created is not None
        assert created.id.startswith("vs_")
        assert created.status is g.VerificationSessionStatus.REQUIRES_INPUT
        assert created.type_ is g.VerificationSessionType.DOCUMENT
        assert isinstance(created.created, datetime)
        assert created.created.utcoffset() == UTC.utcoffset(None)
        assert abs((datetime.now(UTC) - created.created).total_seconds()) < 60
        assert created.metadata == {"order": "1001"}
        assert created.client_secret and created.url
        assert created.options.document.require_matching_selfie is True
        assert set(created.options.document.allowed_types) == {
            g.DocumentType.PASSPORT,
            g.DocumentType.ID_CARD,
        }

        # when: it is fetched back by id
        fetched = (await client.get_verification_session(created.id)).verification_session
        # then: the same session comes back, `created` to the microsecond
        assert fetched is not None
        assert (fetched.id, fetched.status, fetched.created) == (
            created.id,
            g.VerificationSessionStatus.REQUIRES_INPUT,
            created.created,
        )
        assert fetched.object_ == "identity.verification_session"
        assert fetched.livemode is False
        assert fetched.client_reference_id == "user_42"
        assert fetched.provided_details.email == "jenny@example.com"
        assert fetched.last_error is None and fetched.redaction is None
        missing = await client.get_verification_session("vs_" + "0" * 24)
        assert missing.verification_session is None

        # when: it is updated with the saved operation's variables ("" removes a key)
        updated_payload = (
            await client.update_verification_session(
                g.UpdateVerificationSessionInput.model_validate(
                    saved_variables("UpdateVerificationSession", created.id)["input"]
                )
            )
        ).update_verification_session
        # then: the change is in the typed result
        assert updated_payload.user_errors == []
        updated = updated_payload.verification_session
        assert (updated.id, updated.type_, updated.metadata) == (
            created.id,
            g.VerificationSessionType.ID_NUMBER,
            {"plan": "pro"},
        )

        # given: a second session, canceled
        other = (
            await client.create_verification_session(
                g.CreateVerificationSessionInput(
                    type_=g.VerificationSessionType.DOCUMENT, client_reference_id="user_43"
                )
            )
        ).create_verification_session.verification_session
        canceled_payload = (
            await client.cancel_verification_session(g.CancelVerificationSessionInput(id=other.id))
        ).cancel_verification_session
        assert canceled_payload.user_errors == []
        canceled = canceled_payload.verification_session
        assert (canceled.id, canceled.status) == (other.id, g.VerificationSessionStatus.CANCELED)
        assert canceled.client_secret is None and canceled.url is None

        # when: sessions are listed with filters, a datetime from the API passed back as a bound
        async def listed(**filters: Any) -> list[tuple[str, Any]]:
            page = (
                await client.list_verification_sessions(
                    first=10, filter_=g.VerificationSessionFilter(**filters)
                )
            ).verification_sessions
            assert page.total_count == len(page.edges)
            assert all(isinstance(edge.node.created, datetime) for edge in page.edges)
            return [(edge.node.id, edge.node.status) for edge in page.edges]

        # then: each filter keeps only what it should
        waiting = g.VerificationSessionStatus.REQUIRES_INPUT
        assert await listed(status=waiting) == [(created.id, waiting)]
        assert await listed(status=g.VerificationSessionStatus.CANCELED) == [
            (other.id, g.VerificationSessionStatus.CANCELED)
        ]
        assert await listed(created=g.DateTimeFilter(gte=created.created)) == [
            (other.id, g.VerificationSessionStatus.CANCELED),
            (created.id, waiting),
        ]
        assert await listed(created=g.DateTimeFilter(gt=created.created)) == [
            (other.id, g.VerificationSessionStatus.CANCELED)
        ]
        assert await listed(client_reference_id="user_42") == [(created.id, waiting)]

        # when: the first session is refetched as a node
        node = (await client.node(created.id)).node
        # then: the union member is the VerificationSession model
        assert isinstance(node, g.NodeNodeVerificationSession)
        assert (node.typename__, node.id, node.status, node.created) == (
            "VerificationSession",
            created.id,
            waiting,
            created.created,
        )
        assert (await client.node("vs_" + "0" * 24)).node is None

    run(scenario())


def test_user_errors_are_data_and_a_bad_key_is_the_clients_http_error(
    api: Api, gateway_client: ModuleType
) -> None:
    g = gateway_client

    async def scenario() -> None:
        async with client_of(api, g) as client:
            session = (
                await client.create_verification_session(
                    g.CreateVerificationSessionInput(type_=g.VerificationSessionType.DOCUMENT)
                )
            ).create_verification_session.verification_session
            # when: metadata with a key over 40 characters is set
            long_key = "k" * 41
            payload = (
                await client.update_verification_session(
                    g.UpdateVerificationSessionInput(id=session.id, metadata={long_key: "v"})
                )
            ).update_verification_session
            # then: it comes back as data, a typed userError naming the field, nothing changed
            assert payload.verification_session is None
            assert len(payload.user_errors) == 1
            error = payload.user_errors[0]
            assert error.code is g.UserErrorCode.PARAMETER_INVALID
            assert error.field == ["metadata", long_key]
            assert "40" in error.message
            again = await client.get_verification_session(session.id)
            assert again.verification_session.metadata == {}
        # when: a request is sent with a key that is not valid
        async with client_of(api, g, key="sk_test_not_a_real_key") as stranger:
            with pytest.raises(g.GraphQLClientHttpError) as raised:
                await stranger.get_verification_session(session.id)
        # then: the client raises its HTTP error with the 401
        assert raised.value.status_code == 401
        body = raised.value.response.json()
        assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"

    run(scenario())


def test_the_client_watches_a_session_over_the_websocket(
    api: Api, gateway_client: ModuleType
) -> None:
    g = gateway_client

    async def scenario() -> list[Any]:
        async with client_of(api, g) as client:
            made = (
                await client.create_verification_session(
                    g.CreateVerificationSessionInput(type_=g.VerificationSessionType.DOCUMENT)
                )
            ).create_verification_session.verification_session
            seen = []
            # Closed in this loop when done, so the socket's own tasks end with it.
            async with contextlib.aclosing(client.watch_verification_session(made.id)) as updates:
                async for update in updates:
                    seen.append(update.verification_session)
                    if len(seen) == 2:
                        break
                    # when: it is canceled while watched
                    await client.cancel_verification_session(
                        g.CancelVerificationSessionInput(id=made.id)
                    )
        # The socket's transport closes on a later turn of the loop than its close handshake.
        await asyncio.sleep(0.1)
        return seen

    seen = run(scenario())
    # then: the session as it was, then as the cancel left it, as typed models
    assert [session.status for session in seen] == [
        g.VerificationSessionStatus.REQUIRES_INPUT,
        g.VerificationSessionStatus.CANCELED,
    ]


def test_the_example_runs_against_a_live_server(api: Api, generated_tree: Path) -> None:
    # when: clients/python/example.py runs as its docstring says, next to the generated package
    result = run_tool(
        [sys.executable, "clients/python/example.py"],
        cwd=generated_tree,
        env={"GATEWAY_URL": f"{api.server.base_url}/graphql", "GATEWAY_KEY": api.key},
        timeout=60,
    )
    # then: it created one session in the key's account, fetched it and listed it
    sessions = api.gql("{ verificationSessions { nodes { id clientReferenceId } } }")[
        "verificationSessions"
    ]["nodes"]
    assert len(sessions) == 1
    session_id = sessions[0]["id"]
    assert f"created {session_id}" in result.stdout
    assert f"fetched {session_id}: REQUIRES_INPUT" in result.stdout
    assert "1 session(s) waiting for input" in result.stdout
