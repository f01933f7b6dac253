"""`redactVerificationSession`: the personal data of a session, its reports and its events is
erased by a durable background job after the redaction delay; then `.redacted` is recorded."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest

from app.domain.ids import random_base62
from tests.conftest import Api
from tests.helpers import (
    CANCEL,
    SIMULATE,
    UPDATE,
    assert_forbidden,
    event_types,
    events_of,
    missing,
    rejected,
    simulate,
    submit,
    wait_for_redaction,
)

REDACT = """
mutation Redact($input: RedactVerificationSessionInput!) {
  redactVerificationSession(input: $input) {
    verificationSession { id status clientSecret url lastError { code } redaction { status } }
    userErrors { field message code }
  }
}
"""

PERSON_FIELDS = """
firstName lastName dob { day month year }
address { line1 line2 city state postalCode country }
"""

SESSION = f"""
query Session($id: ID!) {{
  verificationSession(id: $id) {{
    id status clientSecret url clientReferenceId metadata
    redaction {{ status }}
    lastError {{ code }}
    providedDetails {{ email phone }}
    verifiedOutputs {{
      {PERSON_FIELDS}
      idNumberType idNumber email phone sex unparsedPlaceOfBirth unparsedSex
    }}
  }}
}}
"""

REPORTS = f"""
query Reports($id: ID!) {{
  verificationReports(first: 100, filter: {{verificationSession: $id}}) {{
    nodes {{
      id
      document {{
        status error {{ code reason }} {PERSON_FIELDS}
        issuingCountry type number
        expirationDate {{ day month year }} issuedDate {{ day month year }}
      }}
      idNumber {{ status error {{ code }} idNumberType firstName lastName dob {{ day month year }} }}
      selfie {{ status error {{ code }} }}
    }}
  }}
}}
"""

EVENTS = """
query Events($id: ID!) {
  events(first: 100, filter: {verificationSession: $id}) { nodes { id type data } }
}
"""

R = "[redacted]"
REDACTED_ADDRESS = {
    "line1": R,
    "line2": R,
    "city": R,
    "state": R,
    "postalCode": R,
    "country": R,
}
OPTIONS = {"document": {"requireIdNumber": True, "requireMatchingSelfie": True}}
METADATA = {"nickname": "Zeb", "order": "ord-9137"}
PROVIDED = {"email": "zeb@example.com", "phone": "+14155550999"}
PERSON = {
    "firstName": "Zebulon",
    "lastName": "Quartermaine",
    "dob": {"day": 17, "month": 5, "year": 1980},
    "address": {
        "line1": "Hauptstrasse 1",
        "line2": "Hinterhaus",
        "city": "Berlin",
        "state": "BE",
        "postalCode": "10115",
        "country": "DE",
    },
    "idNumber": "987654321",
    "email": "zq@example.com",
    "phone": "+4915112345678",
    "sex": "MALE",
    "unparsedPlaceOfBirth": "Hamburg",
    "unparsedSex": "M",
}
# Personal values entered above that must be gone from every event once redacted.
PERSONAL_VALUES = [
    "Zeb",
    "ord-9137",
    "zeb@example.com",
    "+14155550999",
    "Quartermaine",
    "987654321",
    "zq@example.com",
    "+4915112345678",
    "Hauptstrasse",
    "Hinterhaus",
    "Berlin",
    "10115",
    "Hamburg",
]


def redact(api: Api, session_id: str) -> dict[str, Any]:
    payload: dict[str, Any] = api.gql(REDACT, {"input": {"id": session_id}})[
        "redactVerificationSession"
    ]
    return payload


def read(api: Api, session_id: str) -> dict[str, Any]:
    session: dict[str, Any] = api.gql(SESSION, {"id": session_id})["verificationSession"]
    return session


def reports_of(api: Api, session_id: str) -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = api.gql(REPORTS, {"id": session_id})["verificationReports"][
        "nodes"
    ]
    return nodes


def personal_session(create_session: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    """A session holding personal data in every place redaction must reach."""
    return create_session(
        options=OPTIONS, metadata=METADATA, providedDetails=PROVIDED, clientReferenceId="user-7"
    )


# --- starting ---------------------------------------------------------------------------------


def test_redacting_a_requires_input_session_cancels_it_at_once(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = personal_session(create_session)
    # when
    payload = redact(api, session["id"])
    # then
    assert payload == {
        "verificationSession": {
            "id": session["id"],
            "status": "CANCELED",
            "clientSecret": None,
            "url": None,
            "lastError": None,
            "redaction": {"status": "PROCESSING"},
        },
        "userErrors": [],
    }
    types = event_types(api, session["id"])
    assert types[:2] == ["created", "canceled"]
    assert types in (["created", "canceled"], ["created", "canceled", "redacted"])
    assert (
        api.post(
            "query($id: ID!) { verificationSession(id: $id) { id } }",
            {"id": session["id"]},
            key=session["clientSecret"],
        ).status_code
        == 401
    )


def test_redacting_a_verified_session_keeps_its_status(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = personal_session(create_session)
    simulate(api, session["id"], "VERIFIED", verifiedOutputs=PERSON)
    # when
    payload = redact(api, session["id"])
    # then
    assert payload == {
        "verificationSession": {
            "id": session["id"],
            "status": "VERIFIED",
            "clientSecret": None,
            "url": None,
            "lastError": None,
            "redaction": {"status": "PROCESSING"},
        },
        "userErrors": [],
    }
    assert event_types(api, session["id"])[:3] == ["created", "processing", "verified"]


def test_redacting_a_canceled_session_records_no_second_cancel(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = personal_session(create_session)
    api.gql(CANCEL, {"id": session["id"]})
    # when
    payload = redact(api, session["id"])
    # then
    assert payload["userErrors"] == []
    assert payload["verificationSession"]["status"] == "CANCELED"
    assert payload["verificationSession"]["redaction"] == {"status": "PROCESSING"}
    wait_for_redaction(api, session["id"])
    assert event_types(api, session["id"]) == ["created", "canceled", "redacted"]


def test_redacting_a_processing_session_is_refused(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given: a simulated PROCESSING stays there
    session = personal_session(create_session)
    simulate(api, session["id"], "PROCESSING")
    # when
    payload = redact(api, session["id"])
    # then
    assert payload == rejected(
        "INVALID_STATE",
        'You cannot redact this VerificationSession because it has a status of "processing". '
        'Only a VerificationSession in "requires_input", "verified" or "canceled" status may be '
        "redacted.",
    )
    after = read(api, session["id"])
    assert (after["status"], after["redaction"], after["metadata"]) == (
        "PROCESSING",
        None,
        METADATA,
    )


def test_redacting_an_unknown_session_is_resource_missing(api: Api) -> None:
    # given
    session_id = "vs_" + random_base62(24)
    # when
    payload = redact(api, session_id)
    # then
    assert payload == missing(session_id)


def test_redacting_another_accounts_session_is_resource_missing(
    api: Api, other_api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = personal_session(create_session)
    # when
    payload = redact(other_api, session["id"])
    # then
    assert payload == missing(session["id"])
    assert read(api, session["id"])["redaction"] is None


def test_redacting_with_a_restricted_key_is_forbidden(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = personal_session(create_session)
    restricted = api.new_key(restricted=True)
    # when
    response = api.post(REDACT, {"input": {"id": session["id"]}}, key=restricted)
    # then
    assert_forbidden(response, "redactVerificationSession")
    assert read(api, session["id"])["redaction"] is None


# --- second requests --------------------------------------------------------------------------


def test_second_redact_while_processing_is_a_no_op(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = personal_session(create_session)
    first = redact(api, session["id"])
    # when
    second = redact(api, session["id"])
    # then
    assert second["userErrors"] == []
    assert second["verificationSession"]["status"] == "CANCELED"
    assert second["verificationSession"]["redaction"]["status"] in ("PROCESSING", "REDACTED")
    assert first["verificationSession"]["redaction"] == {"status": "PROCESSING"}
    wait_for_redaction(api, session["id"])
    assert event_types(api, session["id"]) == ["created", "canceled", "redacted"]


def test_second_redact_after_redaction_is_a_no_op(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = personal_session(create_session)
    simulate(api, session["id"], "VERIFIED", verifiedOutputs=PERSON)
    redact(api, session["id"])
    redacted = wait_for_redaction(api, session["id"], document=SESSION)
    events_before = events_of(api, session["id"])
    # when
    payload = redact(api, session["id"])
    # then
    assert payload == {
        "verificationSession": {
            "id": session["id"],
            "status": "VERIFIED",
            "clientSecret": None,
            "url": None,
            "lastError": None,
            "redaction": {"status": "REDACTED"},
        },
        "userErrors": [],
    }
    time.sleep(api.server.settings.redaction_delay_seconds + 0.5)
    assert read(api, session["id"]) == redacted
    assert events_of(api, session["id"]) == events_before


# --- what redaction erases --------------------------------------------------------------------


def test_redaction_erases_the_personal_data_of_a_verified_session(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = personal_session(create_session)
    simulate(api, session["id"], "VERIFIED", verifiedOutputs=PERSON)
    # when
    redact(api, session["id"])
    redacted = wait_for_redaction(api, session["id"], document=SESSION)
    # then
    assert redacted == {
        "id": session["id"],
        "status": "VERIFIED",
        "clientSecret": None,
        "url": None,
        "clientReferenceId": "user-7",
        "metadata": {},
        "redaction": {"status": "REDACTED"},
        "lastError": None,
        "providedDetails": {"email": R, "phone": R},
        "verifiedOutputs": {
            "firstName": R,
            "lastName": R,
            "dob": None,
            "address": REDACTED_ADDRESS,
            # The kind of number is not personal; the number is.
            "idNumberType": "US_SSN",
            "idNumber": R,
            "email": R,
            "phone": R,
            "sex": "REDACTED",
            "unparsedPlaceOfBirth": R,
            "unparsedSex": R,
        },
    }


def test_redaction_keeps_absent_personal_values_null(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given: the test person has no line2, place of birth or printed sex
    session = create_session()
    simulate(api, session["id"], "VERIFIED")
    # when
    redact(api, session["id"])
    redacted = wait_for_redaction(api, session["id"], document=SESSION)
    # then
    outputs = redacted["verifiedOutputs"]
    assert outputs["address"] == {**REDACTED_ADDRESS, "line2": None}
    assert (outputs["unparsedPlaceOfBirth"], outputs["unparsedSex"]) == (None, None)
    assert redacted["providedDetails"] is None
    assert redacted["metadata"] == {}


def test_redaction_erases_the_personal_data_of_a_requires_input_session(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given: a failed attempt left a report behind
    session = personal_session(create_session)
    simulate(
        api,
        session["id"],
        "REQUIRES_INPUT",
        lastErrorCode="SELFIE_FACE_MISMATCH",
        verifiedOutputs=PERSON,
    )
    # when
    redact(api, session["id"])
    redacted = wait_for_redaction(api, session["id"], document=SESSION)
    # then
    assert (redacted["status"], redacted["metadata"], redacted["providedDetails"]) == (
        "CANCELED",
        {},
        {"email": R, "phone": R},
    )
    assert redacted["verifiedOutputs"] is None
    [report] = reports_of(api, session["id"])
    assert report["document"]["firstName"] == R
    assert report["selfie"] == {
        "status": "UNVERIFIED",
        "error": {"code": "SELFIE_FACE_MISMATCH"},
    }


def test_redaction_erases_the_personal_data_of_every_report(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given: two attempts, two reports
    session = personal_session(create_session)
    simulate(
        api,
        session["id"],
        "REQUIRES_INPUT",
        lastErrorCode="DOCUMENT_EXPIRED",
        verifiedOutputs=PERSON,
    )
    simulate(api, session["id"], "VERIFIED", verifiedOutputs=PERSON)
    # when
    redact(api, session["id"])
    wait_for_redaction(api, session["id"])
    # then
    verified, failed = reports_of(api, session["id"])
    assert verified["document"] == {
        "status": "VERIFIED",
        "error": None,
        "firstName": R,
        "lastName": R,
        "dob": None,
        "address": REDACTED_ADDRESS,
        "issuingCountry": R,
        "type": "DRIVING_LICENSE",
        "number": R,
        "expirationDate": None,
        "issuedDate": None,
    }
    assert verified["idNumber"] == {
        "status": "VERIFIED",
        "error": None,
        "idNumberType": "US_SSN",
        "firstName": R,
        "lastName": R,
        "dob": None,
    }
    assert verified["selfie"] == {"status": "VERIFIED", "error": None}
    assert failed["document"]["status"] == "UNVERIFIED"
    assert failed["document"]["error"] == {
        "code": "DOCUMENT_EXPIRED",
        "reason": "The provided identity document has expired.",
    }
    assert (failed["document"]["firstName"], failed["document"]["dob"]) == (R, None)
    assert failed["idNumber"]["firstName"] == R
    text = json.dumps([verified, failed])
    for value in PERSONAL_VALUES:
        assert value not in text


def test_redaction_erases_personal_data_from_every_event_and_records_redacted_last(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given: personal data changed between status changes, so events hold old and new values
    session = personal_session(create_session)
    simulate(api, session["id"], "REQUIRES_INPUT", lastErrorCode="ABANDONED")
    api.gql(
        UPDATE,
        {
            "input": {
                "id": session["id"],
                "metadata": {"nickname": "Zebby"},
                "providedDetails": {"email": "zebby@example.com"},
            }
        },
    )
    simulate(api, session["id"], "VERIFIED", verifiedOutputs=PERSON)
    before = events_of(api, session["id"])
    assert "zeb@example.com" in json.dumps([event["data"] for event in before])
    # when
    redact(api, session["id"])
    wait_for_redaction(api, session["id"])
    # then
    events = events_of(api, session["id"])
    assert [event["type"].rsplit(".", 1)[1] for event in events] == [
        "created",
        "processing",
        "requires_input",
        "processing",
        "verified",
        "redacted",
    ]
    assert [event["id"] for event in events[:-1]] == [event["id"] for event in before]
    text = json.dumps([event["data"] for event in events])
    for value in [*PERSONAL_VALUES, "Zebby", "zebby@example.com"]:
        assert value not in text
    for event in events:
        assert event["data"]["object"]["metadata"] == {}
        assert set(event["data"]["object"]["provided_details"].values()) == {R}
        previous = event["data"]["previous_attributes"]
        assert previous.get("metadata", {}) == {}
    # Status changes are not personal: the history still reads as it happened.
    assert [event["data"]["object"]["status"] for event in events] == [
        "requires_input",
        "processing",
        "requires_input",
        "processing",
        "verified",
        "verified",
    ]


def test_redacted_event_carries_the_redacted_session(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = personal_session(create_session)
    simulate(api, session["id"], "VERIFIED", verifiedOutputs=PERSON)
    # when
    redact(api, session["id"])
    wait_for_redaction(api, session["id"])
    # then
    last = events_of(api, session["id"])[-1]
    assert last["type"] == "identity.verification_session.redacted"
    assert last["data"]["previous_attributes"] == {"redaction": {"status": "processing"}}
    snapshot = last["data"]["object"]
    assert (snapshot["status"], snapshot["redaction"], snapshot["metadata"]) == (
        "verified",
        {"status": "redacted"},
        {},
    )
    assert snapshot["provided_details"] == {"email": R, "phone": R}
    assert not {"client_secret", "url", "verified_outputs"} & set(snapshot)


# --- after redaction --------------------------------------------------------------------------


@pytest.mark.parametrize("wait", [False, True], ids=["while_processing", "once_redacted"])
def test_redacted_session_cannot_be_updated(
    api: Api, create_session: Callable[..., dict[str, Any]], wait: bool
) -> None:
    # given
    session = personal_session(create_session)
    redact(api, session["id"])
    if wait:
        wait_for_redaction(api, session["id"])
    # when
    payload = api.gql(UPDATE, {"input": {"id": session["id"], "metadata": {"a": "b"}}})[
        "updateVerificationSession"
    ]
    # then
    assert payload == rejected(
        "INVALID_STATE", "You cannot update this VerificationSession because it has been redacted."
    )


def test_redacted_verified_session_cannot_be_updated(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = personal_session(create_session)
    simulate(api, session["id"], "VERIFIED")
    redact(api, session["id"])
    wait_for_redaction(api, session["id"])
    # when
    payload = api.gql(UPDATE, {"input": {"id": session["id"], "metadata": {"a": "b"}}})[
        "updateVerificationSession"
    ]
    # then
    assert payload == rejected(
        "INVALID_STATE", "You cannot update this VerificationSession because it has been redacted."
    )
    assert read(api, session["id"])["metadata"] == {}


def test_redacted_session_cannot_be_submitted(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = personal_session(create_session)
    redact(api, session["id"])
    wait_for_redaction(api, session["id"])
    # when
    payload = submit(api, id=session["id"])
    # then
    assert payload == rejected(
        "INVALID_STATE", "You cannot submit this VerificationSession because it has been redacted."
    )


def test_redacted_session_cannot_be_simulated(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = personal_session(create_session)
    redact(api, session["id"])
    # when
    payload = api.gql(SIMULATE, {"input": {"id": session["id"], "outcome": "VERIFIED"}})[
        "simulateVerificationSession"
    ]
    # then
    assert payload == rejected(
        "INVALID_STATE",
        "You cannot simulate this VerificationSession because it has been redacted.",
    )


def test_redacted_session_is_still_listed_and_retrievable(
    api: Api, create_session: Callable[..., dict[str, Any]]
) -> None:
    # given
    session = personal_session(create_session)
    redact(api, session["id"])
    wait_for_redaction(api, session["id"])
    # when
    listed = api.gql("{ verificationSessions { nodes { id redaction { status } } } }")
    # then
    assert listed["verificationSessions"]["nodes"] == [
        {"id": session["id"], "redaction": {"status": "REDACTED"}}
    ]
