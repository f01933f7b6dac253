"""What several test files share: GraphQL documents they send unchanged, the people they verify,
and plain functions for what many tests do in passing (simulate, submit, wait for the worker,
read a session's events).

A document, constant or helper that only one test file needs stays in that file. Helpers that
read a session take the document to read it with, so each test still selects exactly the fields
it asserts on.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import graphql
import httpx
from alembic.script import ScriptDirectory
from hypothesis_graphql import nodes

from app.migrations import alembic_config

if TYPE_CHECKING:
    from tests.conftest import Api

T = TypeVar("T")

# How long a test waits for the worker. The test servers process a submission and a redaction
# after 1 s, so this is only reached when something is broken.
WAIT_SECONDS = 10.0

EVENT_PREFIX = "identity.verification_session."

RESTRICTED_MESSAGE = "Restricted keys may only read; use a secret key (sk_…) for mutations."

# --- documents --------------------------------------------------------------------------------

# Every field of a session a secret key may read.
SESSION_FIELDS = """
  id object created status type clientReferenceId clientSecret url livemode metadata
  relatedCustomer verificationFlow
  options { document { allowedTypes requireIdNumber requireLiveCapture requireMatchingSelfie }
            email { requireVerification } phone { requireVerification } }
  providedDetails { email phone }
  lastError { code reason }
  redaction { status }
  verifiedOutputs { firstName }
  lastVerificationReport { id }
"""

CREATE = f"""
mutation Create($input: CreateVerificationSessionInput!) {{
  createVerificationSession(input: $input) {{
    verificationSession {{ {SESSION_FIELDS} }}
    userErrors {{ field message code }}
  }}
}}
"""

# A create that returns only the new session's id, mode and credentials.
CREATE_CREDENTIALS = """
mutation Create($input: CreateVerificationSessionInput!) {
  createVerificationSession(input: $input) {
    verificationSession { id livemode clientSecret url }
    userErrors { field message code }
  }
}
"""

SESSION = f"""
query Session($id: ID!) {{
  verificationSession(id: $id) {{ {SESSION_FIELDS} }}
}}
"""

# An update that returns only the session's metadata.
UPDATE = """
mutation Update($input: UpdateVerificationSessionInput!) {
  updateVerificationSession(input: $input) {
    verificationSession { id metadata }
    userErrors { field message code }
  }
}
"""

# A session's status; readable with a client secret too.
STATUS = """
query Session($id: ID!) { verificationSession(id: $id) { id status } }
"""

REDACTION = """
query Redaction($id: ID!) { verificationSession(id: $id) { id status redaction { status } } }
"""

SIMULATE = """
mutation Simulate($input: SimulateVerificationSessionInput!) {
  simulateVerificationSession(input: $input) {
    verificationSession { id status }
    userErrors { field message code }
  }
}
"""

SUBMIT = """
mutation Submit($input: SubmitVerificationSessionInput!) {
  submitVerificationSession(input: $input) {
    verificationSession { id status }
    userErrors { field message code }
  }
}
"""

# What a frontend holding only the client secret may select.
SUBMIT_WITH_CLIENT_SECRET = """
mutation Submit($input: SubmitVerificationSessionInput!) {
  submitVerificationSession(input: $input) {
    verificationSession { id status url lastError { code reason } }
    userErrors { field message code }
  }
}
"""

CANCEL = """
mutation Cancel($id: ID!) {
  cancelVerificationSession(input: {id: $id}) {
    verificationSession { id status }
    userErrors { field message code }
  }
}
"""

REDACT = """
mutation Redact($id: ID!) {
  redactVerificationSession(input: {id: $id}) {
    verificationSession { id status redaction { status } }
    userErrors { field message code }
  }
}
"""

EVENTS = """
query Events($id: ID!) {
  events(first: 100, filter: {verificationSession: $id}) { nodes { id type livemode data } }
}
"""

# --- people -----------------------------------------------------------------------------------

# Stripe's test person as the API shows it: what a tester who enters nothing is verified as.
# Spelled out rather than derived from app.domain.verification.TEST_PERSON, so that the API tests
# pin the values a tester gets.
TEST_PERSON = {
    "firstName": "Jenny",
    "lastName": "Rosen",
    "dob": {"day": 1, "month": 1, "year": 1901},
    "address": {
        "line1": "354 Oyster Point Blvd",
        "line2": None,
        "city": "South San Francisco",
        "state": "CA",
        "postalCode": "94080",
        "country": "US",
    },
    "idNumberType": "US_SSN",
    "idNumber": "000000000",
    "email": "jenny.rosen@example.com",
    "phone": "+14155550123",
    "sex": "FEMALE",
    "unparsedPlaceOfBirth": None,
    "unparsedSex": None,
}

# A tester's own person, with a value in every field the hosted page offers, as the API shows it.
ADA = {
    "firstName": "Ada",
    "lastName": "Lovelace",
    "dob": {"day": 10, "month": 12, "year": 1815},
    "address": {
        "line1": "12 St James's Square",
        "line2": "Flat 2",
        "city": "London",
        "state": None,
        "postalCode": "SW1Y 4JH",
        "country": "GB",
    },
    "idNumberType": "SG_NRIC",
    "idNumber": "S1234567D",
    "email": "ada@example.com",
    "phone": "+442071234567",
}

# --- payloads ---------------------------------------------------------------------------------


def rejected(code: str, message: str, field: list[str] | None = None) -> dict[str, Any]:
    """A mutation payload refused with one userError, and no session."""
    return {
        "verificationSession": None,
        "userErrors": [{"field": field, "message": message, "code": code}],
    }


def missing(session_id: str) -> dict[str, Any]:
    """A mutation payload refused because the caller cannot see the session: RESOURCE_MISSING
    on `id`, in Stripe's words."""
    return rejected(
        "RESOURCE_MISSING", f"No such VerificationSession: '{session_id}'", field=["id"]
    )


def assert_forbidden(
    response: httpx.Response, mutation: str, message: str = RESTRICTED_MESSAGE
) -> None:
    """`response` refused `mutation` with one top-level FORBIDDEN error saying `message`, and
    no data (a restricted key, by default)."""
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["data"] is None
    assert [(error["message"], error["path"], error["extensions"]) for error in body["errors"]] == [
        (message, [mutation], {"code": "FORBIDDEN"})
    ]


def only_error(response: httpx.Response) -> dict[str, Any]:
    """The one top-level GraphQL error of `response`; fails if there are more or none."""
    errors = response.json()["errors"]
    assert len(errors) == 1, errors
    error: dict[str, Any] = errors[0]
    return error


def ids_of(connection: dict[str, Any]) -> list[str]:
    """The ids of a connection's nodes, in the order listed."""
    return [node["id"] for node in connection["nodes"]]


def token_of(url: str) -> str:
    """The token at the end of a session's hosted-page `url`."""
    return url.rsplit("/", 1)[1]


# --- mutations --------------------------------------------------------------------------------


def create_live_session(api: Api) -> tuple[str, dict[str, Any]]:
    """A new live secret key of the account, and a live DOCUMENT session made with it (its id,
    livemode, clientSecret and url)."""
    live = api.new_key(livemode=True)
    payload = api.gql(CREATE_CREDENTIALS, {"input": {"type": "DOCUMENT"}}, key=live)[
        "createVerificationSession"
    ]
    assert payload["userErrors"] == [], payload["userErrors"]
    session: dict[str, Any] = payload["verificationSession"]
    return live, session


def simulate(
    api: Api, session_id: str, outcome: str = "VERIFIED", *, document: str = SIMULATE, **extra: Any
) -> dict[str, Any]:
    """Simulate `outcome` in test mode, failing on any userError.

    Args:
        extra: More fields of the input, such as `lastErrorCode` or `verifiedOutputs`.

    Returns:
        The session as `document` (a simulateVerificationSession mutation) selects it.
    """
    payload = api.gql(document, {"input": {"id": session_id, "outcome": outcome, **extra}})[
        "simulateVerificationSession"
    ]
    assert payload["userErrors"] == [], payload["userErrors"]
    session: dict[str, Any] = payload["verificationSession"]
    return session


def submit(
    api: Api,
    key: str | None = "default",
    *,
    document: str = SUBMIT_WITH_CLIENT_SECRET,
    **input: Any,
) -> dict[str, Any]:
    """The submitVerificationSession payload for `input`, sent with `key` (the account's secret
    key by default, or a client secret); its userErrors are the caller's to check."""
    payload: dict[str, Any] = api.gql(document, {"input": input}, key=key)[
        "submitVerificationSession"
    ]
    return payload


# --- waiting for the worker -------------------------------------------------------------------


def wait_for(read: Callable[[], T], until: Callable[[T], bool], *, what: str) -> T:
    """Call `read` until `until` holds for what it returns, and return that.

    Raises:
        AssertionError: `until` still did not hold after WAIT_SECONDS; the message names `what`
            was awaited and shows the last value read.
    """
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        value = read()
        if until(value):
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}; last read {value!r}"
        time.sleep(0.05)


def read_session(
    api: Api, session_id: str, document: str, *, key: str | None = "default"
) -> dict[str, Any]:
    """The session as `document` (a query taking `$id`) selects it."""
    session: dict[str, Any] = api.gql(document, {"id": session_id}, key=key)["verificationSession"]
    return session


def wait_for_status(
    api: Api, session_id: str, status: str, *, document: str = STATUS, key: str = "default"
) -> dict[str, Any]:
    """The session, read with `document`, once its status is `status`."""
    return wait_for(
        lambda: read_session(api, session_id, document, key=key),
        lambda session: session["status"] == status,
        what=f"status {status}",
    )


def wait_until_processed(
    api: Api, session_id: str, *, document: str = STATUS, key: str = "default"
) -> dict[str, Any]:
    """The session, read with `document`, once it has left PROCESSING (whatever the outcome)."""
    return wait_for(
        lambda: read_session(api, session_id, document, key=key),
        lambda session: session["status"] != "PROCESSING",
        what="the session to leave PROCESSING",
    )


def wait_for_redaction(
    api: Api, session_id: str, *, document: str = REDACTION, key: str = "default"
) -> dict[str, Any]:
    """The session, read with `document` (which must select `redaction`), once redacted."""
    return wait_for(
        lambda: read_session(api, session_id, document, key=key),
        lambda session: session["redaction"] == {"status": "REDACTED"},
        what="the redaction to finish",
    )


# --- events -----------------------------------------------------------------------------------


def events_of(api: Api, session_id: str) -> list[dict[str, Any]]:
    """The session's events (id, type, livemode, data), oldest first; the API lists them newest
    first."""
    nodes: list[dict[str, Any]] = api.gql(EVENTS, {"id": session_id})["events"]["nodes"]
    return nodes[::-1]


def event_types(api: Api, session_id: str) -> list[str]:
    """The session's event types without their common prefix, oldest first: `["created", ...]`."""
    types = [event["type"] for event in events_of(api, session_id)]
    assert all(type.startswith(EVENT_PREFIX) for type in types), types
    return [type.removeprefix(EVENT_PREFIX) for type in types]


# --- processes --------------------------------------------------------------------------------


def post_graphql(
    base_url: str, key: str, query: str, variables: dict[str, Any] | None = None
) -> dict[str, Any]:
    """POST a document to the gateway at `base_url` with `key`; its data, asserting a 200
    without top-level errors. For gateways the tests start as processes, which have no `Api`."""
    response = httpx.post(
        f"{base_url}/graphql",
        json={"query": query, "variables": variables or {}},
        headers={"Authorization": f"Bearer {key}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    return body["data"]  # type: ignore[no-any-return]


def head_revision() -> str:
    """The newest Alembic revision: where `python -m app migrate` leaves a database."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def literal(value: Any) -> graphql.ValueNode:
    """A JSON value as a GraphQL literal (object keys must be GraphQL names), for the documents
    the fuzz and differential tests generate."""
    if value is None:
        return nodes.Null
    if isinstance(value, bool):
        return nodes.Boolean(value)
    if isinstance(value, int):
        return nodes.Int(value)
    if isinstance(value, float):
        return nodes.Float(value)
    if isinstance(value, str):
        return nodes.String(value)
    if isinstance(value, list):
        return nodes.List([literal(item) for item in value])
    return nodes.Object(
        [
            graphql.ObjectFieldNode(name=graphql.NameNode(value=key), value=literal(item))
            for key, item in value.items()
        ]
    )
