"""Live mode: a submission is decided by the verifier the `VERIFIER` setting names, and refused
with VERIFIER_UNAVAILABLE when none is configured. The verifiers below are the test module's own;
each server that uses one gets a database of its own, because every gateway process's worker takes
due jobs from its database, and the shared test server has no live verifier."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

import pytest

from app.domain import ids
from app.migrations import upgrade
from app.verifiers import Decision, Submission
from tests.conftest import Api, Server, client_of, fresh_database_url, running_server
from tests.helpers import (
    CREATE_CREDENTIALS,
    event_types,
    events_of,
    missing,
    submit,
    wait_for_status,
)


class ApproveEverything:
    """Verifies every submission with the data the frontend sent, and remembers what it saw."""

    seen: ClassVar[list[Submission]] = []

    async def decide(self, submission: Submission) -> Decision:
        ApproveEverything.seen.append(submission)
        return Decision(
            outcome="verified",
            last_error_code=None,
            person={**submission.data["person"], "id_number_type": "us_ssn"},
        )


class RejectEverything:
    """Fails every submission with a selfie mismatch."""

    async def decide(self, submission: Submission) -> Decision:
        return Decision(outcome="requires_input", last_error_code="selfie_face_mismatch", person={})


SESSION = """
query Session($id: ID!) {
  verificationSession(id: $id) {
    id livemode status clientSecret url
    lastError { code reason }
    verifiedOutputs { firstName lastName dob { day month year } idNumberType idNumber email sex }
    lastVerificationReport {
      livemode
      document { status error { code } firstName }
      selfie { status error { code reason } }
    }
  }
}
"""

UNAVAILABLE = {
    "verificationSession": None,
    "userErrors": [
        {
            "field": None,
            "message": (
                "Live-mode verification is not available: no verifier is configured "
                "(set VERIFIER). Nothing was submitted."
            ),
            "code": "VERIFIER_UNAVAILABLE",
        }
    ],
}
TEST_MODE_CHOICES = (
    "outcome and lastErrorCode are test-mode choices; in live mode the verifier decides."
)


# --- servers ----------------------------------------------------------------------------------


@contextmanager
def serving(
    server: Server, tmp_path_factory: pytest.TempPathFactory, *, verifier: str
) -> Iterator[Server]:
    """The app as the shared test `server` runs it but with `verifier`, over an empty, migrated
    database of its own on the same backend."""
    backend = "sqlite" if server.database.url.startswith("sqlite") else "postgres"
    sqlite_file = tmp_path_factory.mktemp("verifier") / "gateway.sqlite3"
    with fresh_database_url(backend, sqlite_file) as url:
        upgrade(url)
        settings = dataclasses.replace(server.settings, database_url=url, verifier=verifier)
        with running_server(settings) as started:
            yield started


@pytest.fixture(scope="module")
def approving_server(server: Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with serving(server, tmp_path_factory, verifier=f"{__name__}:ApproveEverything") as started:
        yield started


@pytest.fixture(scope="module")
def rejecting_server(server: Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with serving(server, tmp_path_factory, verifier=f"{__name__}:RejectEverything") as started:
        yield started


@pytest.fixture
def approving(approving_server: Server) -> Iterator[Api]:
    """An account on the approving server whose default key is a live secret key."""
    with client_of(approving_server, livemode=True) as client:
        yield client


@pytest.fixture
def rejecting(rejecting_server: Server) -> Iterator[Api]:
    """An account on the rejecting server whose default key is a live secret key."""
    with client_of(rejecting_server, livemode=True) as client:
        yield client


@pytest.fixture
def unconfigured(server: Server) -> Iterator[Api]:
    """A live key on the shared test server, which has no VERIFIER."""
    with client_of(server, livemode=True) as client:
        yield client


# --- helpers ----------------------------------------------------------------------------------


def create_live(api: Api, **input: Any) -> dict[str, Any]:
    payload = api.gql(CREATE_CREDENTIALS, {"input": {"type": "DOCUMENT", **input}})[
        "createVerificationSession"
    ]
    assert payload["userErrors"] == [], payload["userErrors"]
    session: dict[str, Any] = payload["verificationSession"]
    assert session["livemode"] is True
    return session


def read(api: Api, session_id: str) -> dict[str, Any]:
    session: dict[str, Any] = api.gql(SESSION, {"id": session_id})["verificationSession"]
    return session


def live_event_types(api: Api, session_id: str) -> list[str]:
    """The session's event types, oldest first, each checked to be a live-mode event."""
    assert all(event["livemode"] for event in events_of(api, session_id))
    return event_types(api, session_id)


# --- no verifier ------------------------------------------------------------------------------


def test_live_submission_without_a_verifier_is_refused(unconfigured: Api) -> None:
    # given
    session = create_live(unconfigured)
    # when
    payload = submit(unconfigured, id=session["id"])
    # then
    assert payload == UNAVAILABLE
    after = read(unconfigured, session["id"])
    assert (after["status"], after["clientSecret"], after["url"]) == (
        "REQUIRES_INPUT",
        session["clientSecret"],
        session["url"],
    )
    assert after["lastVerificationReport"] is None
    assert live_event_types(unconfigured, session["id"]) == ["created"]


def test_live_submission_with_the_client_secret_without_a_verifier_is_refused(
    unconfigured: Api,
) -> None:
    # given
    session = create_live(unconfigured)
    # when
    payload = submit(unconfigured, key=session["clientSecret"], id=session["id"])
    # then
    assert payload == UNAVAILABLE
    still = unconfigured.gql(
        "query($id: ID!) { verificationSession(id: $id) { status } }",
        {"id": session["id"]},
        key=session["clientSecret"],
    )
    assert still == {"verificationSession": {"status": "REQUIRES_INPUT"}}


def test_live_submission_without_a_verifier_stays_requires_input(unconfigured: Api) -> None:
    # given
    session = create_live(unconfigured)
    submit(unconfigured, id=session["id"])
    # when
    time.sleep(unconfigured.server.settings.processing_delay_seconds + 0.5)
    # then
    assert read(unconfigured, session["id"])["status"] == "REQUIRES_INPUT"


# --- a configured verifier --------------------------------------------------------------------


def test_live_submission_is_decided_by_the_configured_verifier(approving: Api) -> None:
    # given
    session = create_live(
        approving,
        options={"document": {"requireMatchingSelfie": True}},
        providedDetails={"email": "ada@example.com"},
    )
    # when
    payload = submit(
        approving,
        id=session["id"],
        verifiedOutputs={"firstName": "Ada", "lastName": "Lovelace", "idNumber": "123456789"},
    )
    verified = wait_for_status(approving, session["id"], "VERIFIED", document=SESSION)
    # then
    assert payload == {
        "verificationSession": {
            "id": session["id"],
            "status": "PROCESSING",
            "url": None,
            "lastError": None,
        },
        "userErrors": [],
    }
    # No test person is mixed in live mode: only what the verifier returned.
    assert verified["verifiedOutputs"] == {
        "firstName": "Ada",
        "lastName": "Lovelace",
        "dob": None,
        "idNumberType": "US_SSN",
        "idNumber": "123456789",
        "email": None,
        "sex": None,
    }
    assert verified["lastError"] is None
    assert verified["lastVerificationReport"] == {
        "livemode": True,
        "document": {"status": "VERIFIED", "error": None, "firstName": "Ada"},
        "selfie": {"status": "VERIFIED", "error": None},
    }
    assert live_event_types(approving, session["id"]) == ["created", "processing", "verified"]


def test_verifier_receives_the_submission(approving: Api) -> None:
    # given
    session = create_live(
        approving,
        options={"document": {"allowedTypes": ["PASSPORT"]}},
        providedDetails={"email": "ada@example.com"},
    )
    # when
    submit(approving, id=session["id"], verifiedOutputs={"lastName": "Lovelace"})
    wait_for_status(approving, session["id"], "VERIFIED", document=SESSION)
    # then
    assert [seen for seen in ApproveEverything.seen if seen.session_id == session["id"]] == [
        Submission(
            session_id=session["id"],
            livemode=True,
            type="document",
            options={"document": {"allowed_types": ["passport"]}},
            provided_details={"email": "ada@example.com"},
            data={"person": {"last_name": "Lovelace"}},
        )
    ]


def test_live_submission_with_the_client_secret_is_decided_by_the_verifier(
    approving: Api,
) -> None:
    # given
    session = create_live(approving)
    # when
    payload = submit(approving, key=session["clientSecret"], id=session["id"])
    verified = wait_for_status(approving, session["id"], "VERIFIED", document=SESSION)
    # then
    assert payload["verificationSession"]["status"] == "PROCESSING"
    assert verified["verifiedOutputs"]["idNumberType"] == "US_SSN"


def test_failing_verifier_sends_the_session_back_with_its_code(rejecting: Api) -> None:
    # given
    session = create_live(rejecting, options={"document": {"requireMatchingSelfie": True}})
    # when
    submit(rejecting, id=session["id"])
    failed = wait_for_status(rejecting, session["id"], "REQUIRES_INPUT", document=SESSION)
    # then
    assert failed["lastError"] == {
        "code": "SELFIE_FACE_MISMATCH",
        "reason": "The selfie does not match the document's photo.",
    }
    assert failed["verifiedOutputs"] is None
    assert failed["lastVerificationReport"]["selfie"] == {
        "status": "UNVERIFIED",
        "error": failed["lastError"],
    }
    assert failed["clientSecret"] not in (None, session["clientSecret"])
    assert failed["url"] not in (None, session["url"])
    assert live_event_types(rejecting, session["id"]) == ["created", "processing", "requires_input"]


def test_test_mode_on_a_server_with_a_verifier_still_carries_out_the_testers_choice(
    rejecting: Api,
) -> None:
    # given
    test_key = rejecting.new_key(livemode=False)
    session = rejecting.gql(CREATE_CREDENTIALS, {"input": {"type": "DOCUMENT"}}, key=test_key)[
        "createVerificationSession"
    ]["verificationSession"]
    # when
    submit(rejecting, key=test_key, id=session["id"])
    verified = wait_for_status(rejecting, session["id"], "VERIFIED", document=SESSION, key=test_key)
    # then: the rejecting verifier would have failed it
    assert verified["livemode"] is False
    assert verified["lastError"] is None
    assert verified["verifiedOutputs"]["firstName"] == "Jenny"


# --- test-mode choices are refused in live mode -----------------------------------------------


@pytest.mark.parametrize(
    ("choice", "field"),
    [
        ({"outcome": "REQUIRES_INPUT", "lastErrorCode": "DOCUMENT_EXPIRED"}, ["outcome"]),
        ({"outcome": "REQUIRES_INPUT"}, ["outcome"]),
        ({"lastErrorCode": "ABANDONED"}, ["lastErrorCode"]),
    ],
    ids=["outcome_and_code", "outcome", "code"],
)
def test_test_mode_choices_in_live_mode_are_refused(
    approving: Api, choice: dict[str, Any], field: list[str]
) -> None:
    # given
    session = create_live(approving)
    # when
    payload = submit(approving, id=session["id"], **choice)
    # then
    assert payload == {
        "verificationSession": None,
        "userErrors": [{"field": field, "message": TEST_MODE_CHOICES, "code": "PARAMETER_INVALID"}],
    }
    after = read(approving, session["id"])
    assert (after["status"], after["clientSecret"]) == ("REQUIRES_INPUT", session["clientSecret"])
    assert live_event_types(approving, session["id"]) == ["created"]


def test_test_mode_choices_with_the_client_secret_in_live_mode_are_refused(
    approving: Api,
) -> None:
    # given
    session = create_live(approving)
    # when
    payload = submit(
        approving,
        key=session["clientSecret"],
        id=session["id"],
        outcome="REQUIRES_INPUT",
        lastErrorCode="CONSENT_DECLINED",
    )
    # then
    assert payload["userErrors"] == [
        {"field": ["outcome"], "message": TEST_MODE_CHOICES, "code": "PARAMETER_INVALID"}
    ]


def test_unavailable_verifier_is_reported_before_test_mode_choices(unconfigured: Api) -> None:
    # given
    session = create_live(unconfigured)
    # when
    payload = submit(
        unconfigured, id=session["id"], outcome="REQUIRES_INPUT", lastErrorCode="ABANDONED"
    )
    # then
    assert payload == UNAVAILABLE


def test_live_submission_of_an_unknown_session_is_resource_missing(unconfigured: Api) -> None:
    # given
    session_id = "vs_" + ids.random_base62(24)
    # when
    payload = submit(unconfigured, id=session_id)
    # then
    assert payload == missing(session_id)


@pytest.mark.parametrize(
    ("outputs", "field", "message"),
    [
        (
            {"dob": {"day": 1, "month": 1, "year": 2999}},
            ["verifiedOutputs", "dob"],
            "dob cannot be in the future.",
        ),
        (
            {"address": {"country": "usa"}},
            ["verifiedOutputs", "address", "country"],
            "country must be a two-letter ISO 3166-1 code such as US.",
        ),
        ({"sex": "REDACTED"}, ["verifiedOutputs", "sex"], "sex must be FEMALE, MALE or UNKNOWN."),
    ],
    ids=["future_dob", "three_letter_country", "redacted_sex"],
)
def test_invalid_personal_data_in_live_mode_is_refused_before_the_verifier_sees_it(
    approving: Api, outputs: dict[str, Any], field: list[str], message: str
) -> None:
    # given
    session = create_live(approving)
    # when
    payload = submit(approving, id=session["id"], verifiedOutputs=outputs)
    # then
    assert payload == {
        "verificationSession": None,
        "userErrors": [{"field": field, "message": message, "code": "PARAMETER_INVALID"}],
    }
    assert read(approving, session["id"])["status"] == "REQUIRES_INPUT"
    assert [seen for seen in ApproveEverything.seen if seen.session_id == session["id"]] == []
