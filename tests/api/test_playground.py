"""Every saved playground operation runs against a live server without errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import Api

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
    data = api.gql(document, variables)
    # then: it finds or changes the session, with no userErrors
    payload = next(iter(data.values()))
    assert payload is not None
    assert payload.get("userErrors", []) == []
    assert session_id in json.dumps(payload)
