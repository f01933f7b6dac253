"""What fuzzing `/graphql` turned up, pinned as plain tests (see tests/fuzz/).

JSON nested about a thousand levels deep reached the interpreter's recursion limit: in the json
module while reading the body (any depth past it) and, just below that, in the idempotency
fingerprint's `json.dumps` of the variables. Both were bare 500s. Request JSON nesting more than
MAX_JSON_DEPTH levels is now refused with a 400 before anything else reads it.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from app.web.graphql import MAX_JSON_DEPTH
from tests.conftest import Api

TYPENAME = "{ __typename }"

UPDATE = """
mutation Update($input: UpdateVerificationSessionInput!) {
  updateVerificationSession(input: $input) { userErrors { field code } }
}
"""


def nested(depth: int) -> str:
    """A JSON array `depth` levels deep, as text (json.dumps itself could not write it)."""
    return "[" * depth + "1" + "]" * depth


def post_raw(api: Api, body: str, **headers: str) -> httpx.Response:
    return api.http.post(
        "/graphql",
        content=body,
        headers={
            "Authorization": f"Bearer {api.key}",
            "Content-Type": "application/json",
            **headers,
        },
    )


def metadata_body(value: str) -> str:
    """An update whose metadata value is the JSON text `value`: at depth 5 of the body (body,
    variables, input, metadata, value)."""
    return (
        f'{{"query": {json.dumps(UPDATE)}, '
        f'"variables": {{"input": {{"id": "vs_x", "metadata": {{"k": {value}}}}}}}}}'
    )


def assert_too_deep(response: httpx.Response, what: str) -> None:
    assert response.status_code == 400, response.text
    assert response.json() == {
        "errors": [
            {
                "message": f"{what} nests JSON more than {MAX_JSON_DEPTH} levels deep.",
                "extensions": {"code": "BAD_REQUEST"},
            }
        ]
    }


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH, 1_000, 100_000])
def test_a_body_nested_past_the_limit_is_a_bad_request(api: Api, depth: int) -> None:
    # when
    response = post_raw(api, f'{{"query": "{TYPENAME}", "variables": {{"a": {nested(depth)}}}}}')
    # then: the body, variables and the array's levels: past the limit whatever the depth
    assert_too_deep(response, "The request body")


def test_keyed_mutation_with_variables_nested_near_the_recursion_limit_is_a_bad_request(
    api: Api,
) -> None:
    # given: one depth (about 970 levels; where exactly depends on the stack) used to parse
    # and then fail in the idempotency fingerprint, so every depth around the limit is tried
    depths = range(900, 1_000)
    # when
    statuses = {
        depth: post_raw(
            api, metadata_body(nested(depth)), **{"Idempotency-Key": f"deep-{depth}"}
        ).status_code
        for depth in depths
    }
    # then
    assert {depth: status for depth, status in statuses.items() if status != 400} == {}


def test_json_nested_up_to_the_limit_is_still_read(api: Api) -> None:
    # given: the metadata value sits at level 5, so this body nests exactly MAX_JSON_DEPTH levels
    value = nested(MAX_JSON_DEPTH - 4)
    # when
    response = post_raw(api, metadata_body(value), **{"Idempotency-Key": "deep-at-the-limit"})
    # then: read and answered (the session does not exist), not refused
    assert response.status_code == 200, response.text
    payload: dict[str, Any] = response.json()["data"]["updateVerificationSession"]
    assert payload == {"userErrors": [{"field": ["id"], "code": "RESOURCE_MISSING"}]}


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH, 3_000])
def test_get_variables_nested_past_the_limit_are_a_bad_request(api: Api, depth: int) -> None:
    # when
    response = api.http.get(
        "/graphql",
        params={"query": TYPENAME, "variables": f'{{"a": {nested(depth)}}}'},
        headers={"Authorization": f"Bearer {api.key}"},
    )
    # then
    assert_too_deep(response, "`variables`")
