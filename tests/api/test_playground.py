"""Every saved playground operation runs against a live server without errors (a subscription
over the WebSocket, as the playground runs it, up to its first message)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from graphql import OperationType, get_operation_ast, parse

from tests.conftest import Api, run
from tests.ws_client import session

OPERATIONS = Path(__file__).resolve().parents[2] / "playground" / "operations"
PLACEHOLDER = "vs_REPLACE_WITH_AN_ID_FROM_CREATE"
# Operations shown on a session that already went through one attempt (so it has a report).
NEEDS_AN_ATTEMPT = {"ListVerificationReports", "ListEvents", "RedactVerificationSession"}
SIMULATE_VERIFIED = """
mutation($id: ID!) { simulateVerificationSession(input: {id: $id, outcome: VERIFIED}) { userErrors { message } } }
"""


def _load(name: str) -> tuple[str, dict[str, object]]:
    document = (OPERATIONS / f"{name}.graphql").read_text(encoding="utf-8")
    variables = json.loads((OPERATIONS / f"{name}.variables.json").read_text(encoding="utf-8"))
    return document, variables


def _execute(api: Api, document: str, variables: dict[str, object]) -> dict[str, object]:
    """The operation's data: over HTTP, or for a subscription its first message's."""
    operation = get_operation_ast(parse(document))
    if operation is None or operation.operation != OperationType.SUBSCRIPTION:
        return api.gql(document, variables)

    async def first_message() -> dict[str, object]:
        async with session(api.server.base_url, api.key) as client:
            await client.subscribe("1", document, variables)
            [payload] = await client.payloads("1", 1)
            await client.complete("1")
            assert "errors" not in payload, payload
            data: dict[str, object] = payload["data"]
            return data

    result: dict[str, object] = run(first_message())
    return result


def _names() -> list[str]:
    return sorted(path.stem for path in OPERATIONS.glob("*.graphql"))


def test_every_operation_has_variables_beside_it() -> None:
    variables = sorted(
        path.name.removesuffix(".variables.json") for path in OPERATIONS.glob("*.variables.json")
    )
    assert _names() == variables
    assert len(_names()) >= 11


@pytest.mark.parametrize("name", [name for name in _names() if name != "CreateVerificationSession"])
def test_saved_operation_runs_against_a_live_server(api: Api, name: str) -> None:
    # given: a session made by the saved create operation
    document, variables = _load("CreateVerificationSession")
    created = api.gql(document, variables)["createVerificationSession"]
    assert created["userErrors"] == []
    session_id = created["verificationSession"]["id"]
    if name in NEEDS_AN_ATTEMPT:
        assert (
            api.gql(SIMULATE_VERIFIED, {"id": session_id})["simulateVerificationSession"][
                "userErrors"
            ]
            == []
        )
    # when: the operation runs with that id in place of the placeholder
    document, variables = _load(name)
    variables = json.loads(json.dumps(variables).replace(PLACEHOLDER, session_id))
    data = _execute(api, document, variables)
    # then: it finds or changes the session, with no userErrors
    payload = next(iter(data.values()))
    assert payload is not None
    assert payload.get("userErrors", []) == []
    assert session_id in json.dumps(payload)
