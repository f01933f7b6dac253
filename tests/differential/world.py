"""The data both servers answer from, made through the real GraphQL API.

One account holds sessions in every state the lifecycle reaches, in test and live mode: open with
every create field set, verified by simulation and by the worker (with reports of every check),
failed with last errors, processing, canceled, redacted, and made from a verification flow (email
and phone checks, matching and ID number options). Another account holds a few sessions of its own. Every object type the queries
can return has instances, which `test_every_field.py` checks.

Everything the worker does is finished before `build_world` returns: a session changing between
the two servers' answers would be a difference of timing, not of execution.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.verifiers import Decision, Submission
from tests.conftest import Api, Server, client_of
from tests.helpers import (
    ADA,
    CANCEL,
    CREATE_CREDENTIALS,
    REDACT,
    SUBMIT,
    simulate,
    submit,
    wait_for_redaction,
    wait_for_status,
)

# A first name the live verifier turns down: how a live session gets a failed attempt.
REJECTED_NAME = "Mallory"

# The create input with every field a secret key may set.
RICH_INPUT: dict[str, Any] = {
    "type": "DOCUMENT",
    "clientReferenceId": "user_rich",
    "relatedCustomer": "cus_rich",
    "relatedPerson": {"account": "acct_rich", "person": "person_rich"},
    "metadata": {"order": "1001", "tier": "gold", "note": "a value with spaces"},
    "options": {
        "document": {
            "allowedTypes": ["PASSPORT", "ID_CARD"],
            "requireIdNumber": True,
            "requireLiveCapture": True,
            "requireMatchingSelfie": True,
        }
    },
    "providedDetails": {"email": "ada@example.com", "phone": "+442071234567"},
    "returnUrl": "https://shop.example/done",
}

# ADA as simulateVerificationSession takes it, with every optional field set.
ADA_INPUT: dict[str, Any] = {
    **ADA,
    "sex": "FEMALE",
    "unparsedPlaceOfBirth": "London",
    "unparsedSex": "F",
}

FLOW_OPTIONS = {
    "document": {"allowed_types": ["passport"], "require_matching_selfie": True},
    "email": {"require_verification": True},
    "phone": {"require_verification": True},
    "matching": {"dob": "similar", "name": "none"},
    "id_number": {},
}

LISTS = """
query Lists {
  verificationSessions(first: 100) {
    edges { cursor node { id created clientReferenceId relatedCustomer } }
  }
  verificationReports(first: 100) { edges { cursor node { id created } } }
}
"""

EVENTS_PAGE = """
query Events($after: String) {
  events(first: 100, after: $after) {
    edges { cursor node { id type created } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


class LiveVerifier:
    """The live-mode verifier of both servers: verifies every submission with the data sent,
    except for a person named REJECTED_NAME, whose document has expired."""

    async def decide(self, submission: Submission) -> Decision:
        person = dict(submission.data["person"])
        if person.get("first_name") == REJECTED_NAME:
            return Decision(outcome="requires_input", last_error_code="document_expired", person={})
        return Decision(outcome="verified", last_error_code=None, person=person)


@dataclass(frozen=True)
class Keys:
    """The credentials requests carry.

    Attributes:
        secret: The account's test-mode secret key.
        live: The account's live-mode secret key.
        restricted: A test-mode restricted key (`rk_…`) of the account.
        client_secret: The client secret of the session `World.sessions["plain"]`.
        other_account: The test-mode secret key of another account.
    """

    secret: str
    live: str
    restricted: str
    client_secret: str
    other_account: str

    def all(self) -> dict[str, str | None]:
        """Every credential by name, and no credential at all as "none"."""
        return {
            "secret": self.secret,
            "live": self.live,
            "restricted": self.restricted,
            "client_secret": self.client_secret,
            "other_account": self.other_account,
            "none": None,
        }


@dataclass(frozen=True)
class World:
    """The ids and values the tests point at.

    Attributes:
        keys: The credentials.
        sessions: Test-mode sessions of the account by their role (`"verified"`, ...).
        live_sessions: Live-mode sessions of the account by their role.
        other_sessions: Sessions of the other account.
        reports, events: The ids of the account's test-mode reports and events, newest first.
        live_reports, live_events: The same in live mode.
        cursors: Edge cursors of the account's sessions, reports and events.
        strings: Values the string filters match: client reference ids, customers, event types.
        moments: The `created` of sessions, reports and events, as the API shows them.
    """

    keys: Keys
    sessions: dict[str, str]
    live_sessions: dict[str, str]
    other_sessions: list[str]
    reports: list[str] = field(default_factory=list)
    live_reports: list[str] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    live_events: list[str] = field(default_factory=list)
    cursors: list[str] = field(default_factory=list)
    strings: list[str] = field(default_factory=list)
    moments: list[str] = field(default_factory=list)

    @property
    def ids(self) -> list[str]:
        """Every id of the fixture: sessions of both modes and accounts, reports and events."""
        return [
            *self.sessions.values(),
            *self.live_sessions.values(),
            *self.other_sessions,
            *self.reports,
            *self.live_reports,
            *self.events,
            *self.live_events,
        ]


def _create(api: Api, input: dict[str, Any], *, key: str = "default") -> dict[str, Any]:
    payload = api.gql(CREATE_CREDENTIALS, {"input": input}, key=key)["createVerificationSession"]
    assert payload["userErrors"] == [], payload["userErrors"]
    session: dict[str, Any] = payload["verificationSession"]
    return session


def _ok(api: Api, document: str, session_id: str, *, key: str = "default") -> None:
    """Run a mutation taking `$id` (cancel, redact), failing on any userError."""
    data = api.gql(document, {"id": session_id}, key=key)
    (payload,) = data.values()
    assert payload["userErrors"] == [], payload["userErrors"]


def _submit(api: Api, *, key: str = "default", **input: Any) -> None:
    """Submit a session for the worker to decide, failing on any userError."""
    payload = submit(api, key, document=SUBMIT, **input)
    assert payload["userErrors"] == [], payload["userErrors"]


def _test_mode_sessions(api: Api) -> tuple[dict[str, str], str]:
    """The account's test-mode sessions by role, and the client secret of "plain"."""
    plain = _create(api, {"type": "DOCUMENT"})
    ids: dict[str, str] = {"plain": plain["id"]}

    def made(role: str, **input: Any) -> str:
        session_id: str = _create(api, {"type": "DOCUMENT", **input})["id"]
        ids[role] = session_id
        return session_id

    # Twelve sessions in plain states first (the oldest), so that lists run to several pages.
    for number in range(12):
        made(
            f"filler_{number}",
            clientReferenceId="user_shared" if number % 3 == 0 else f"user_{number}",
            relatedCustomer="cus_shared" if number % 4 == 0 else None,
            metadata={"batch": str(number // 4)},
        )
    made("rich", **RICH_INPUT)
    made("mutable", metadata={"state": "initial"})
    simulate(api, made("verified", **RICH_INPUT), "VERIFIED", verifiedOutputs=ADA_INPUT)
    simulate(api, made("id_number_verified", type="ID_NUMBER"), "VERIFIED")
    options = {"document": {"requireMatchingSelfie": True, "requireIdNumber": True}}
    simulate(
        api,
        made("failed_selfie", options=options),
        "REQUIRES_INPUT",
        lastErrorCode="SELFIE_FACE_MISMATCH",
    )
    simulate(
        api,
        made("failed_id_number", type="ID_NUMBER"),
        "REQUIRES_INPUT",
        lastErrorCode="ID_NUMBER_MISMATCH",
    )
    simulate(api, made("abandoned"), "REQUIRES_INPUT", lastErrorCode="ABANDONED")
    simulate(api, made("processing"), "PROCESSING")
    flow = api.new_flow(options=FLOW_OPTIONS)
    simulate(api, made("flow_verified", verificationFlow=flow, type=None), "VERIFIED")
    simulate(
        api,
        made("flow_failed", verificationFlow=flow, type=None, clientReferenceId="user_flow"),
        "REQUIRES_INPUT",
        lastErrorCode="PHONE_VERIFICATION_DECLINED",
    )
    _ok(api, CANCEL, made("canceled", clientReferenceId="user_shared"))
    # Through the worker: a submission processed after the delay, verified and failed.
    submitted = made("submitted_verified", relatedCustomer="cus_shared")
    failed = made("submitted_failed")
    _submit(api, id=submitted)
    _submit(api, id=failed, outcome="REQUIRES_INPUT", lastErrorCode="DOCUMENT_EXPIRED")
    # Redacted once verified, and while open (which cancels it first).
    redacted = made("redacted_verified", **RICH_INPUT)
    simulate(api, redacted, "VERIFIED", verifiedOutputs=ADA_INPUT)
    _ok(api, REDACT, redacted)
    _ok(api, REDACT, made("redacted_open", metadata={"erase": "me"}))

    wait_for_status(api, submitted, "VERIFIED")
    wait_for_status(api, failed, "REQUIRES_INPUT")
    wait_for_redaction(api, redacted)
    wait_for_redaction(api, ids["redacted_open"])
    return ids, plain["clientSecret"]


def _live_sessions(api: Api, live: str) -> dict[str, str]:
    """The account's live-mode sessions by role, decided by LiveVerifier."""
    ids = {
        role: _create(api, {"type": "DOCUMENT", "clientReferenceId": f"live_{role}"}, key=live)[
            "id"
        ]
        for role in ("open", "verified", "failed", "canceled", "redacted")
    }
    for role in ("verified", "redacted"):
        _submit(api, key=live, id=ids[role], verifiedOutputs=ADA)
    _submit(api, key=live, id=ids["failed"], verifiedOutputs={**ADA, "firstName": REJECTED_NAME})
    _ok(api, CANCEL, ids["canceled"], key=live)
    wait_for_status(api, ids["verified"], "VERIFIED", key=live)
    wait_for_status(api, ids["failed"], "REQUIRES_INPUT", key=live)
    wait_for_status(api, ids["redacted"], "VERIFIED", key=live)
    _ok(api, REDACT, ids["redacted"], key=live)
    wait_for_redaction(api, ids["redacted"], key=live)
    return ids


def _other_account(server: Server) -> tuple[str, list[str]]:
    """Another account's secret key and its sessions (one verified)."""
    with client_of(server) as other:
        ids = [_create(other, {"type": "DOCUMENT"})["id"] for _ in range(3)]
        simulate(other, ids[0], "VERIFIED")
        return other.key, ids


def _event_edges(api: Api, key: str) -> list[dict[str, Any]]:
    """Every event edge `key` sees, newest first."""
    edges: list[dict[str, Any]] = []
    after = None
    while True:
        page = api.gql(EVENTS_PAGE, {"after": after}, key=key)["events"]
        edges.extend(page["edges"])
        if not page["pageInfo"]["hasNextPage"]:
            return edges
        after = page["pageInfo"]["endCursor"]


def build_world(server: Server) -> World:
    """Fill the database `server` serves, through its API, and return what was made."""
    with client_of(server) as api:
        live = api.new_key(livemode=True)
        sessions, client_secret = _test_mode_sessions(api)
        live_sessions = _live_sessions(api, live)
        other_key, other_sessions = _other_account(server)
        keys = Keys(
            secret=api.key,
            live=live,
            restricted=api.new_key(restricted=True),
            client_secret=client_secret,
            other_account=other_key,
        )
        lists = [api.gql(LISTS, key=key) for key in (api.key, live)]
        event_edges = [_event_edges(api, key) for key in (api.key, live)]
    reports: dict[bool, list[str]] = {False: [], True: []}
    events: dict[bool, list[str]] = {False: [], True: []}
    cursors: list[str] = []
    strings: list[str] = []
    moments: list[str] = []
    for livemode, data in zip((False, True), lists, strict=True):
        for edge in data["verificationSessions"]["edges"]:
            node = edge["node"]
            cursors.append(edge["cursor"])
            moments.append(node["created"])
            strings.extend(v for v in (node["clientReferenceId"], node["relatedCustomer"]) if v)
        for edge in data["verificationReports"]["edges"]:
            reports[livemode].append(edge["node"]["id"])
            cursors.append(edge["cursor"])
            moments.append(edge["node"]["created"])
    for livemode, edges in zip((False, True), event_edges, strict=True):
        for edge in edges:
            events[livemode].append(edge["node"]["id"])
            cursors.append(edge["cursor"])
            moments.append(edge["node"]["created"])
            strings.append(edge["node"]["type"])
    return World(
        keys=keys,
        sessions=sessions,
        live_sessions=live_sessions,
        other_sessions=other_sessions,
        reports=reports[False],
        live_reports=reports[True],
        events=events[False],
        live_events=events[True],
        cursors=cursors,
        strings=sorted(set(strings)),
        moments=moments,
    )
