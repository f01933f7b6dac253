"""`simulateVerificationSession`: Stripe's test helpers as one mutation. Same rules and events as a
real run, but a final outcome is reached in the mutation itself; test-mode secret keys only."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from app.domain.ids import random_base62
from tests.conftest import Api
from tests.helpers import (
    CANCEL,
    RESTRICTED_MESSAGE,
    SUBMIT,
    assert_forbidden,
    create_live_session,
    events_of,
    missing,
    rejected,
)

SIMULATE = """
mutation Simulate($input: SimulateVerificationSessionInput!) {
  simulateVerificationSession(input: $input) {
    verificationSession {
      id status clientSecret url
      lastError { code reason }
      verifiedOutputs { firstName lastName dob { day month year } sex }
      lastVerificationReport { id document { status error { code } firstName } }
    }
    userErrors { field message code }
  }
}
"""

SESSION = """
query Session($id: ID!) {
  verificationSession(id: $id) {
    id status clientSecret url lastError { code } lastVerificationReport { id }
  }
}
"""

REPORTS = """
query Reports($id: ID!) {
  verificationReports(first: 100, filter: {verificationSession: $id}) { nodes { id } }
}
"""

TEST_MODE_ONLY = "Test helpers only work with test-mode keys (sk_test_…)."
TEST_PERSON_OUTPUTS = {
    "firstName": "Jenny",
    "lastName": "Rosen",
    "dob": {"day": 1, "month": 1, "year": 1901},
    "sex": "FEMALE",
}


def simulate(api: Api, session_id: str, outcome: str, **extra: Any) -> dict[str, Any]:
    payload: dict[str, Any] = api.gql(
        SIMULATE, {"input": {"id": session_id, "outcome": outcome, **extra}}
    )["simulateVerificationSession"]
    return payload


def simulated(api: Api, session_id: str, outcome: str, **extra: Any) -> dict[str, Any]:
    """The session after a simulation that must succeed."""
    payload = simulate(api, session_id, outcome, **extra)
    assert payload["userErrors"] == [], payload["userErrors"]
    session: dict[str, Any] = payload["verificationSession"]
    return session


def read(api: Api, session_id: str) -> dict[str, Any]:
    session: dict[str, Any] = api.gql(SESSION, {"id": session_id})["verificationSession"]
    return session


def event_types(api: Api, session_id: str) -> list[str]:
    """The session's event types in full, oldest first."""
    return [event["type"] for event in events_of(api, session_id)]


def report_ids(api: Api, session_id: str) -> list[str]:
    nodes = api.gql(REPORTS, {"id": session_id})["verificationReports"]["nodes"]
    return [node["id"] for node in nodes]


def refused_status(status: str) -> str:
    return (
        f'You cannot simulate this VerificationSession because it has a status of "{status}". '
        'Only a VerificationSession in "requires_input" or "processing" status may be simulated.'
    )


CREATED = "identity.verification_session.created"
PROCESSING = "identity.verification_session.processing"
VERIFIED = "identity.verification_session.verified"
REQUIRES_INPUT = "identity.verification_session.requires_input"
CANCELED = "identity.verification_session.canceled"


# --- outcomes ---------------------------------------------------------------------------------


def test_simulating_verified_finishes_in_the_mutation(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = create_session()
    # when
    result = simulated(api, session["id"], "VERIFIED", verifiedOutputs={"firstName": "Zebulon"})
    # then
    report = result["lastVerificationReport"]
    assert result == {
        "id": session["id"],
        "status": "VERIFIED",
        "clientSecret": None,
        "url": None,
        "lastError": None,
        "verifiedOutputs": {**TEST_PERSON_OUTPUTS, "firstName": "Zebulon"},
        "lastVerificationReport": {
            "id": report["id"],
            "document": {"status": "VERIFIED", "error": None, "firstName": "Zebulon"},
        },
    }
    assert report_ids(api, session["id"]) == [report["id"]]


def test_simulating_verified_records_processing_then_verified(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = create_session()
    # when
    simulated(api, session["id"], "VERIFIED")
    # then
    created, processing, verified = events_of(api, session["id"])
    assert [created["type"], processing["type"], verified["type"]] == [
        CREATED,
        PROCESSING,
        VERIFIED,
    ]
    assert processing["data"]["object"]["status"] == "processing"
    assert processing["data"]["previous_attributes"] == {"status": "requires_input"}
    assert verified["data"]["object"]["status"] == "verified"
    assert verified["data"]["previous_attributes"]["status"] == "processing"


def test_simulating_requires_input_finishes_with_last_error_and_fresh_credentials(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = create_session()
    # when
    result = simulated(api, session["id"], "REQUIRES_INPUT", lastErrorCode="UNDER_SUPPORTED_AGE")
    # then
    assert result["status"] == "REQUIRES_INPUT"
    assert result["lastError"] == {
        "code": "UNDER_SUPPORTED_AGE",
        "reason": "The user is under the minimum supported age.",
    }
    assert result["verifiedOutputs"] is None
    assert result["lastVerificationReport"]["document"] == {
        "status": "UNVERIFIED",
        "error": {"code": "UNDER_SUPPORTED_AGE"},
        "firstName": "Jenny",
    }
    assert result["clientSecret"].startswith(f"{session['id']}_secret_")
    assert result["clientSecret"] != session["clientSecret"]
    assert result["url"] != session["url"]
    assert api.gql(
        "query($id: ID!) { verificationSession(id: $id) { status } }",
        {"id": session["id"]},
        key=result["clientSecret"],
    ) == {"verificationSession": {"status": "REQUIRES_INPUT"}}
    assert event_types(api, session["id"]) == [CREATED, PROCESSING, REQUIRES_INPUT]


def test_simulating_processing_stays_processing_without_a_job(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = create_session()
    # when
    result = simulated(api, session["id"], "PROCESSING")
    time.sleep(3)
    # then
    assert (result["status"], result["clientSecret"], result["url"]) == ("PROCESSING", None, None)
    assert result["lastVerificationReport"] is None
    after = read(api, session["id"])
    assert (after["status"], after["lastVerificationReport"]) == ("PROCESSING", None)
    assert event_types(api, session["id"]) == [CREATED, PROCESSING]


def test_a_later_simulation_finishes_a_simulated_processing(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = create_session()
    simulated(api, session["id"], "PROCESSING")
    # when
    result = simulated(api, session["id"], "VERIFIED")
    # then: no second processing event
    assert result["status"] == "VERIFIED"
    assert event_types(api, session["id"]) == [CREATED, PROCESSING, VERIFIED]


def test_a_later_simulation_sends_a_simulated_processing_back_for_input(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = create_session()
    simulated(api, session["id"], "PROCESSING")
    # when
    result = simulated(api, session["id"], "REQUIRES_INPUT", lastErrorCode="CONSENT_DECLINED")
    # then
    assert result["status"] == "REQUIRES_INPUT"
    assert result["lastError"]["code"] == "CONSENT_DECLINED"
    assert result["clientSecret"] is not None
    assert event_types(api, session["id"]) == [CREATED, PROCESSING, REQUIRES_INPUT]


def test_simulating_a_submitted_session_finishes_it_and_its_job_never_runs(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given: submitted for VERIFIED; the simulation may or may not beat the worker
    session = create_session()
    api.gql(SUBMIT, {"input": {"id": session["id"]}})
    # when
    payload = simulate(api, session["id"], "REQUIRES_INPUT", lastErrorCode="DEVICE_NOT_SUPPORTED")
    time.sleep(api.server.settings.processing_delay_seconds + 1)
    # then
    after = read(api, session["id"])
    if payload["userErrors"]:
        # The worker finished first: the session was verified, and the simulation was refused.
        assert payload == rejected("INVALID_STATE", refused_status("verified"))
        assert event_types(api, session["id"]) == [CREATED, PROCESSING, VERIFIED]
        return
    assert payload["verificationSession"]["status"] == "REQUIRES_INPUT"
    assert (after["status"], after["lastError"]) == (
        "REQUIRES_INPUT",
        {"code": "DEVICE_NOT_SUPPORTED"},
    )
    assert report_ids(api, session["id"]) == [after["lastVerificationReport"]["id"]]
    assert event_types(api, session["id"]) == [CREATED, PROCESSING, REQUIRES_INPUT]


def test_simulating_again_after_a_simulated_failure_passes_through_processing_again(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = create_session()
    simulated(api, session["id"], "REQUIRES_INPUT", lastErrorCode="ID_NUMBER_UNVERIFIED_OTHER")
    # when
    result = simulated(api, session["id"], "VERIFIED")
    # then
    assert (result["status"], result["lastError"]) == ("VERIFIED", None)
    assert len(report_ids(api, session["id"])) == 2
    assert event_types(api, session["id"]) == [
        CREATED,
        PROCESSING,
        REQUIRES_INPUT,
        PROCESSING,
        VERIFIED,
    ]


# --- refusals ---------------------------------------------------------------------------------


def test_simulating_a_verified_session_is_refused(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = create_session()
    simulated(api, session["id"], "VERIFIED")
    # when
    payload = simulate(api, session["id"], "REQUIRES_INPUT", lastErrorCode="ABANDONED")
    # then
    assert payload == rejected("INVALID_STATE", refused_status("verified"))
    assert event_types(api, session["id"]) == [CREATED, PROCESSING, VERIFIED]


def test_simulating_a_canceled_session_is_refused(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = create_session()
    api.gql(CANCEL, {"id": session["id"]})
    # when
    payload = simulate(api, session["id"], "VERIFIED")
    # then
    assert payload == rejected("INVALID_STATE", refused_status("canceled"))
    assert event_types(api, session["id"]) == [CREATED, CANCELED]


def test_simulating_requires_input_without_error_code_is_refused(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = create_session()
    # when
    payload = simulate(api, session["id"], "REQUIRES_INPUT")
    # then
    assert payload == rejected(
        "PARAMETER_INVALID",
        "last_error_code is required when the outcome is REQUIRES_INPUT.",
        ["lastErrorCode"],
    )
    assert event_types(api, session["id"]) == [CREATED]


@pytest.mark.parametrize("outcome", ["VERIFIED", "PROCESSING"])
def test_simulating_with_an_error_code_for_another_outcome_is_refused(
    api: Api, create_session: Callable[..., dict[str, Any]], outcome: str
) -> None:
    # given
    session = create_session()
    # when
    payload = simulate(api, session["id"], outcome, lastErrorCode="ABANDONED")
    # then
    assert payload == rejected(
        "PARAMETER_INVALID",
        "last_error_code can only be given when the outcome is REQUIRES_INPUT.",
        ["lastErrorCode"],
    )
    assert read(api, session["id"])["status"] == "REQUIRES_INPUT"


def test_simulating_with_invalid_verified_outputs_is_refused(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = create_session()
    # when
    payload = simulate(
        api, session["id"], "VERIFIED", verifiedOutputs={"address": {"country": "usa"}}
    )
    # then
    assert payload == rejected(
        "PARAMETER_INVALID",
        "country must be a two-letter ISO 3166-1 code such as US.",
        ["verifiedOutputs", "address", "country"],
    )
    assert event_types(api, session["id"]) == [CREATED]


def test_simulating_an_unknown_session_is_resource_missing(api: Api) -> None:
    # given
    session_id = "vs_" + random_base62(24)
    # when
    payload = simulate(api, session_id, "VERIFIED")
    # then
    assert payload == missing(session_id)


def test_simulating_another_accounts_session_is_resource_missing(
    api: Api, other_api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = create_session()
    # when
    payload = simulate(other_api, session["id"], "VERIFIED")
    # then
    assert payload == missing(session["id"])
    assert read(api, session["id"])["status"] == "REQUIRES_INPUT"


@pytest.mark.parametrize(
    ("livemode", "restricted", "message"),
    [
        (True, False, TEST_MODE_ONLY),
        (False, True, RESTRICTED_MESSAGE),
        (True, True, RESTRICTED_MESSAGE),
    ],
    ids=["live_secret_key", "test_restricted_key", "live_restricted_key"],
)
def test_simulating_with_anything_but_a_test_secret_key_is_forbidden(
    api: Api,
    create_session: Callable[..., dict[str, Any]],
    livemode: bool,
    restricted: bool,
    message: str,
) -> None:
    # given
    session = create_session()
    key = api.new_key(livemode=livemode, restricted=restricted)
    # when
    response = api.post(SIMULATE, {"input": {"id": session["id"], "outcome": "VERIFIED"}}, key=key)
    # then
    assert_forbidden(response, "simulateVerificationSession", message)
    assert read(api, session["id"])["status"] == "REQUIRES_INPUT"


def test_simulating_a_live_session_with_a_live_key_is_forbidden(api: Api) -> None:
    # given
    live_key, created = create_live_session(api)
    # when
    response = api.post(
        SIMULATE, {"input": {"id": created["id"], "outcome": "VERIFIED"}}, key=live_key
    )
    # then
    assert [(error["message"], error["extensions"]) for error in response.json()["errors"]] == [
        (TEST_MODE_ONLY, {"code": "FORBIDDEN"})
    ]
    status = api.gql(
        "query($id: ID!) { verificationSession(id: $id) { status } }",
        {"id": created["id"]},
        key=live_key,
    )
    assert status == {"verificationSession": {"status": "REQUIRES_INPUT"}}
