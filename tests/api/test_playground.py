"""Every saved playground operation runs against a live server without errors."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import Api

OPERATIONS = Path(__file__).resolve().parents[2] / "playground" / "operations"
PLACEHOLDER = "vs_REPLACE_WITH_AN_ID_FROM_CREATE"


def _load(name: str) -> tuple[str, dict[str, object]]:
    document = (OPERATIONS / f"{name}.graphql").read_text(encoding="utf-8")
    variables = json.loads((OPERATIONS / f"{name}.variables.json").read_text(encoding="utf-8"))
    return document, variables


def test_every_operation_has_variables_beside_it() -> None:
    names = sorted(path.stem for path in OPERATIONS.glob("*.graphql"))
    assert names == sorted(
        path.name.removesuffix(".variables.json") for path in OPERATIONS.glob("*.variables.json")
    )
    assert len(names) >= 5


def test_saved_operations_run_against_a_live_server(api: Api) -> None:
    # given: a session made by the saved create operation
    document, variables = _load("CreateVerificationSession")
    created = api.gql(document, variables)["createVerificationSession"]
    assert created["userErrors"] == []
    session_id = created["verificationSession"]["id"]
    # when: every other operation runs with that id in place of the placeholder
    for path in sorted(OPERATIONS.glob("*.graphql")):
        if path.stem == "CreateVerificationSession":
            continue
        document, variables = _load(path.stem)
        variables = json.loads(json.dumps(variables).replace(PLACEHOLDER, session_id))
        data = api.gql(document, variables)
        # then: each finds the session or lists it, with no userErrors
        payload = next(iter(data.values()))
        assert payload is not None, path.stem
        assert payload.get("userErrors", []) == [], path.stem
        assert session_id in json.dumps(payload), path.stem
