"""A page of sessions fetches only the columns its selection reads (FIELD_ATTRIBUTES in
app/schema/types.py): every field, selected alone on a page, answers what the same session
answers when read whole by `verificationSession(id:)`, and no field is left undeclared."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import graphql
import pytest

from app.schema.types import FIELD_ATTRIBUTES
from tests.conftest import Api, client_of
from tests.differential.documents import SCHEMA, every_field
from tests.helpers import CREATE_CREDENTIALS, REDACT, simulate, wait_for_redaction

SESSION_TYPE = SCHEMA.get_type("VerificationSession")
assert isinstance(SESSION_TYPE, graphql.GraphQLObjectType)
FIELDS = sorted(SESSION_TYPE.fields)


def selection(name: str) -> str:
    field = SESSION_TYPE.fields[name]
    return f"{name} {every_field(field.type, frozenset({'VerificationSession'}))}".strip()


@pytest.fixture(scope="module")
def varied(server: Any) -> Iterator[tuple[Api, list[str]]]:
    """Sessions with every attribute set somewhere: verified (outputs, a report), failed (a last
    error), redacted, plain."""
    with client_of(server) as api:
        ids = []
        for index in range(4):
            created = api.gql(
                CREATE_CREDENTIALS,
                {
                    "input": {
                        "type": "DOCUMENT",
                        "clientReferenceId": f"ref-{index}",
                        "relatedCustomer": f"cus_{index}",
                        "metadata": {"order": str(index)},
                        "providedDetails": {"email": f"p{index}@example.com"},
                        "options": {"document": {"requireMatchingSelfie": True}},
                    }
                },
            )["createVerificationSession"]
            ids.append(created["verificationSession"]["id"])
        simulate(api, ids[0], "VERIFIED")
        simulate(api, ids[1], "REQUIRES_INPUT", lastErrorCode="DOCUMENT_EXPIRED")
        simulate(api, ids[2], "VERIFIED")
        api.gql(REDACT, {"id": ids[2]})
        wait_for_redaction(api, ids[2])
        yield api, ids


def test_every_field_of_a_session_is_declared() -> None:
    assert set(FIELDS) <= set(FIELD_ATTRIBUTES)


@pytest.mark.parametrize("name", FIELDS)
def test_a_field_read_on_a_page_equals_the_whole_session(
    varied: tuple[Api, list[str]], name: str
) -> None:
    api, ids = varied
    # when
    page = api.gql(f"{{ verificationSessions(first: 10) {{ nodes {{ id {selection(name)} }} }} }}")
    whole = {
        session_id: api.gql(
            f'{{ verificationSession(id: "{session_id}") {{ id {selection(name)} }} }}'
        )["verificationSession"]
        for session_id in ids
    }
    # then
    nodes = {node["id"]: node for node in page["verificationSessions"]["nodes"]}
    assert nodes == whole
