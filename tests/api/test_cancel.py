"""`cancelVerificationSession`: REQUIRES_INPUT -> CANCELED, as Stripe's cancel."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from app.domain.ids import random_base62
from tests.conftest import Api
from tests.helpers import (
    STATUS,
    assert_forbidden,
    event_types,
    events_of,
    missing,
    simulate,
)

CANCEL = """
mutation Cancel($input: CancelVerificationSessionInput!) {
  cancelVerificationSession(input: $input) {
    verificationSession { id status clientSecret url lastError { code reason } redaction { status } }
    userErrors { field message code }
  }
}
"""

SIMULATE = """
mutation Simulate($input: SimulateVerificationSessionInput!) {
  simulateVerificationSession(input: $input) {
    verificationSession { id status clientSecret url lastError { code } }
    userErrors { field message code }
  }
}
"""

SESSION = """
query Session($id: ID!) {
  verificationSession(id: $id) { id status clientSecret url lastError { code reason } }
}
"""


def refused(status: str) -> dict[str, Any]:
    """The payload of a cancel refused because of the session's status, in Stripe's words."""
    return {
        "verificationSession": None,
        "userErrors": [
            {
                "field": None,
                "message": (
                    "You cannot cancel this VerificationSession because it has a status of "
                    f'"{status}". Only a VerificationSession in "requires_input" status may be '
                    "canceled."
                ),
                "code": "INVALID_STATE",
            }
        ],
    }


def cancel(api: Api, session_id: str) -> dict[str, Any]:
    payload: dict[str, Any] = api.gql(CANCEL, {"input": {"id": session_id}})[
        "cancelVerificationSession"
    ]
    return payload


def test_cancel_moves_requires_input_to_canceled_and_clears_credentials(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = create_session()
    # when
    payload = cancel(api, session["id"])
    # then
    expected = {
        "id": session["id"],
        "status": "CANCELED",
        "clientSecret": None,
        "url": None,
        "lastError": None,
        "redaction": None,
    }
    assert payload == {"verificationSession": expected, "userErrors": []}
    stored = api.gql(SESSION, {"id": session["id"]})["verificationSession"]
    assert stored == {key: expected[key] for key in stored}


def test_cancel_clears_the_last_error_of_a_failed_attempt(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = create_session()
    failed = simulate(
        api,
        session["id"],
        "REQUIRES_INPUT",
        document=SIMULATE,
        lastErrorCode="SELFIE_FACE_MISMATCH",
    )
    assert failed["lastError"] == {"code": "SELFIE_FACE_MISMATCH"}
    # when
    payload = cancel(api, session["id"])
    # then
    assert payload["verificationSession"]["lastError"] is None
    assert payload["verificationSession"]["clientSecret"] is None
    assert payload["verificationSession"]["url"] is None
    assert api.http.get(failed["url"]).status_code == 410


def test_cancel_records_a_canceled_event(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = create_session()
    # when
    cancel(api, session["id"])
    # then
    created, canceled = events_of(api, session["id"])
    assert created["type"] == "identity.verification_session.created"
    assert canceled["type"] == "identity.verification_session.canceled"
    assert canceled["data"]["object"]["status"] == "canceled"
    assert canceled["data"]["previous_attributes"] == {"status": "requires_input"}


def test_cancel_after_a_failed_attempt_records_the_cleared_last_error(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = create_session()
    simulate(api, session["id"], "REQUIRES_INPUT", lastErrorCode="ABANDONED")
    # when
    cancel(api, session["id"])
    # then
    canceled = events_of(api, session["id"])[-1]
    assert canceled["data"]["object"]["last_error"] is None
    assert canceled["data"]["previous_attributes"] == {
        "status": "requires_input",
        "last_error": {"code": "abandoned", "reason": "The user abandoned the verification."},
    }


def test_cancel_spends_the_client_secret_and_url(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = create_session()
    # when
    cancel(api, session["id"])
    # then
    response = api.post(STATUS, {"id": session["id"]}, key=session["clientSecret"])
    assert response.status_code == 401
    assert api.http.get(session["url"]).status_code == 410


def test_canceling_a_canceled_session_is_a_successful_no_op(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = create_session()
    first = cancel(api, session["id"])
    events_before = events_of(api, session["id"])
    # when
    second = cancel(api, session["id"])
    # then
    assert second == first
    assert second["userErrors"] == []
    assert events_of(api, session["id"]) == events_before
    assert event_types(api, session["id"]) == ["created", "canceled"]


def test_canceling_a_processing_session_is_refused(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given: a simulated PROCESSING stays there
    session = create_session()
    simulate(api, session["id"], "PROCESSING")
    # when
    payload = cancel(api, session["id"])
    # then
    assert payload == refused("processing")
    assert api.gql(STATUS, {"id": session["id"]})["verificationSession"]["status"] == "PROCESSING"
    assert event_types(api, session["id"]) == ["created", "processing"]


def test_canceling_a_verified_session_is_refused_in_stripes_words(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = create_session()
    simulate(api, session["id"], "VERIFIED")
    # when
    payload = cancel(api, session["id"])
    # then
    assert payload == {
        "verificationSession": None,
        "userErrors": [
            {
                "field": None,
                "message": (
                    'You cannot cancel this VerificationSession because it has a status of "verified". '
                    'Only a VerificationSession in "requires_input" status may be canceled.'
                ),
                "code": "INVALID_STATE",
            }
        ],
    }
    assert event_types(api, session["id"]) == ["created", "processing", "verified"]


def test_canceling_a_submitted_session_is_refused(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given: submitted for real; whether or not the worker has finished it, it left requires_input
    session = create_session()
    api.gql(
        "mutation($id: ID!) { submitVerificationSession(input: {id: $id}) { userErrors { code } } }",
        {"id": session["id"]},
    )
    # when
    payload = cancel(api, session["id"])
    # then
    assert payload["verificationSession"] is None
    [error] = payload["userErrors"]
    assert error["code"] == "INVALID_STATE"
    assert error["message"] in (
        refused("processing")["userErrors"][0]["message"],
        refused("verified")["userErrors"][0]["message"],
    )
    assert "canceled" not in event_types(api, session["id"])


def test_canceling_an_unknown_session_is_resource_missing(api: Api) -> None:
    # given
    session_id = "vs_" + random_base62(24)
    # when
    payload = cancel(api, session_id)
    # then
    assert payload == missing(session_id)


def test_canceling_another_accounts_session_is_resource_missing(
    api: Api, other_api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = create_session()
    # when
    payload = cancel(other_api, session["id"])
    # then
    assert payload == missing(session["id"])
    assert api.gql(STATUS, {"id": session["id"]})["verificationSession"]["status"] == (
        "REQUIRES_INPUT"
    )


@pytest.mark.parametrize("livemode", [False, True], ids=["test", "live"])
def test_canceling_with_a_restricted_key_is_forbidden(
    api: Api, create_session: Callable[..., dict[str, Any]], livemode: bool
) -> None:
    # given
    session = create_session()
    restricted = api.new_key(restricted=True, livemode=livemode)
    # when
    response = api.post(CANCEL, {"input": {"id": session["id"]}}, key=restricted)
    # then
    assert_forbidden(response, "cancelVerificationSession")
    assert api.gql(STATUS, {"id": session["id"]})["verificationSession"]["status"] == (
        "REQUIRES_INPUT"
    )
