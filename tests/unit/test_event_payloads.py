"""Event payloads (app.domain.events), without a database: the session snapshot in Stripe's shape,
`{object, previous_attributes}`, and the redacted form of both."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from app.domain.events import (
    SNAPSHOT_FIELDS,
    event_data,
    redact_event_data,
    redact_snapshot,
    snapshot,
)
from app.domain.verification import REDACTED

CREATED = datetime(2026, 1, 31, 12, 0, 0, 999999, tzinfo=UTC)
CREATED_UNIX = 1769860800

SESSION: dict[str, Any] = {
    "id": "vs_" + "a" * 24,
    "created": CREATED,
    "livemode": False,
    "status": "requires_input",
    "type": "document",
    "client_reference_id": "ref-1",
    "last_error": None,
    "last_verification_report": None,
    "metadata": {"order": "7"},
    "options": {"document": {"require_matching_selfie": True}},
    "provided_details": {"email": "jenny@example.com", "phone": "+14155550123"},
    "redaction_status": None,
    "related_customer": "cus_123",
    "related_person": {"account": "acct_123", "person": "person_123"},
    "verification_flow": None,
}


def snapshot_of(**overrides: Any) -> dict[str, Any]:
    return snapshot(**{**SESSION, **overrides})


# --- snapshot --------------------------------------------------------------------------------


def test_snapshot_is_the_session_in_stripes_shape() -> None:
    # when
    found = snapshot_of()
    # then
    assert found == {
        "id": "vs_" + "a" * 24,
        "object": "identity.verification_session",
        "client_reference_id": "ref-1",
        "created": CREATED_UNIX,
        "last_error": None,
        "last_verification_report": None,
        "livemode": False,
        "metadata": {"order": "7"},
        "options": {"document": {"require_matching_selfie": True}},
        "provided_details": {"email": "jenny@example.com", "phone": "+14155550123"},
        "redaction": None,
        "related_customer": "cus_123",
        "related_person": {"account": "acct_123", "person": "person_123"},
        "status": "requires_input",
        "type": "document",
        "verification_flow": None,
    }
    assert tuple(found) == SNAPSHOT_FIELDS


def test_snapshot_has_no_credential_or_verified_data_field() -> None:
    # when
    found = snapshot_of()
    # then
    assert {"client_secret", "url", "verified_outputs"}.isdisjoint(found)


def test_snapshot_without_a_related_person_answers_null() -> None:
    # given
    session = {**SESSION, "related_person": None}
    # when
    found = snapshot(**session)
    # then
    assert found["related_person"] is None


def test_snapshot_created_is_whole_unix_seconds_in_any_time_zone() -> None:
    # given
    elsewhere = CREATED.astimezone(timezone(timedelta(hours=-5)))
    # when
    found = snapshot_of(created=elsewhere)
    # then
    assert found["created"] == CREATED_UNIX
    assert type(found["created"]) is int


def test_snapshot_of_a_finished_session_carries_its_error_report_and_redaction() -> None:
    # given
    last_error = {
        "code": "document_expired",
        "reason": "The provided identity document has expired.",
    }
    # when
    found = snapshot_of(
        status="requires_input",
        last_error=last_error,
        last_verification_report="vr_" + "b" * 24,
        redaction_status="processing",
        provided_details=None,
        type="verification_flow",
        verification_flow="vf_" + "c" * 24,
    )
    # then
    assert (
        found["last_error"],
        found["last_verification_report"],
        found["redaction"],
        found["provided_details"],
        found["type"],
        found["verification_flow"],
    ) == (
        last_error,
        "vr_" + "b" * 24,
        {"status": "processing"},
        None,
        "verification_flow",
        "vf_" + "c" * 24,
    )


def test_snapshot_copies_what_it_is_given() -> None:
    # given
    metadata = {"order": "7"}
    options: dict[str, Any] = {"document": {}}
    last_error = {"code": "abandoned", "reason": "x"}
    found = snapshot_of(metadata=metadata, options=options, last_error=last_error)
    # when
    metadata["order"] = "8"
    options["email"] = {"require_verification": True}
    last_error["code"] = "consent_declined"
    # then
    assert found["metadata"] == {"order": "7"}
    assert found["options"] == {"document": {}}
    assert found["last_error"] == {"code": "abandoned", "reason": "x"}


def test_snapshot_is_plain_json() -> None:
    # given
    found = snapshot_of(
        last_error={"code": "abandoned", "reason": "x"}, redaction_status="redacted"
    )
    # when
    text = json.dumps(found)
    # then
    assert json.loads(text) == found


# --- event_data ------------------------------------------------------------------------------


def test_event_data_of_a_creation_has_no_previous_attributes() -> None:
    # given
    after = snapshot_of()
    # when
    data = event_data(None, after)
    # then
    assert data == {"object": after, "previous_attributes": {}}
    assert data["object"] is not after


def test_event_data_previous_attributes_hold_the_old_value_of_each_changed_field() -> None:
    # given
    before = snapshot_of(status="processing")
    after = snapshot_of(
        status="requires_input",
        last_error={"code": "abandoned", "reason": "The user abandoned the verification."},
        last_verification_report="vr_" + "b" * 24,
    )
    # when
    data = event_data(before, after)
    # then
    assert data == {
        "object": after,
        "previous_attributes": {
            "status": "processing",
            "last_error": None,
            "last_verification_report": None,
        },
    }


def test_event_data_previous_attributes_hold_a_changed_object_whole() -> None:
    # given
    before = snapshot_of(redaction_status="processing", metadata={"order": "7", "kept": "1"})
    after = snapshot_of(redaction_status="redacted", metadata={})
    # when
    data = event_data(before, after)
    # then
    assert data["previous_attributes"] == {
        "redaction": {"status": "processing"},
        "metadata": {"order": "7", "kept": "1"},
    }


def test_event_data_of_an_unchanged_session_has_no_previous_attributes() -> None:
    # when
    data = event_data(snapshot_of(), snapshot_of())
    # then
    assert data["previous_attributes"] == {}


# --- redaction -------------------------------------------------------------------------------


def test_redact_snapshot_erases_metadata_and_provided_details_only() -> None:
    # given
    original = snapshot_of()
    # when
    redacted = redact_snapshot(original)
    # then
    assert redacted == {
        **original,
        "metadata": {},
        "provided_details": {"email": REDACTED, "phone": REDACTED},
    }
    assert original == snapshot_of()


def test_redact_snapshot_leaves_absent_details_absent() -> None:
    # given
    partial = {"status": "processing", "provided_details": None}
    # when
    redacted = redact_snapshot(partial)
    # then
    assert redacted == {"status": "processing", "provided_details": None}


def test_redact_event_data_redacts_the_object_and_the_previous_attributes() -> None:
    # given
    before = snapshot_of(metadata={"order": "6"}, status="requires_input")
    after = snapshot_of(metadata={"order": "7"}, status="processing")
    data = event_data(before, after)
    original = copy.deepcopy(data)
    # when
    redacted = redact_event_data(data)
    # then
    assert redacted == {
        "object": {
            **after,
            "metadata": {},
            "provided_details": {"email": REDACTED, "phone": REDACTED},
        },
        "previous_attributes": {"metadata": {}, "status": "requires_input"},
    }
    assert data == original


def test_redact_event_data_keeps_previous_attributes_without_personal_data() -> None:
    # given
    data = event_data(snapshot_of(status="processing"), snapshot_of(status="verified"))
    # when
    redacted = redact_event_data(data)
    # then
    assert redacted["previous_attributes"] == {"status": "processing"}


def test_redact_event_data_erases_changed_provided_details_in_the_previous_attributes() -> None:
    # given
    before = snapshot_of(
        status="requires_input",
        metadata={"nickname": "Zeb"},
        provided_details={"email": "zeb@example.com"},
    )
    after = snapshot_of(
        status="canceled", metadata={"nickname": "Zebby"}, provided_details={"phone": "+4912345"}
    )
    data = event_data(before, after)
    # when
    redacted = redact_event_data(data)
    # then
    assert redacted["object"]["metadata"] == {}
    assert redacted["object"]["provided_details"] == {"phone": REDACTED}
    assert redacted["previous_attributes"] == {
        "status": "requires_input",
        "metadata": {},
        "provided_details": {"email": REDACTED},
    }
    for value in ("Zeb", "zeb@example.com", "+4912345"):
        assert value not in repr(redacted)
    assert redacted["object"]["status"] == "canceled"
    assert redacted["object"]["client_reference_id"] == "ref-1"


def test_redact_event_data_without_personal_data_changes_nothing() -> None:
    # given
    data = event_data(
        snapshot_of(status="processing", metadata={}, provided_details=None),
        snapshot_of(status="verified", metadata={}, provided_details=None),
    )
    # when
    redacted = redact_event_data(data)
    # then
    assert redacted == data


@pytest.mark.parametrize("rounds", [1, 2])
def test_redact_event_data_is_idempotent(rounds: int) -> None:
    # given
    data = event_data(None, snapshot_of())
    once = redact_event_data(data)
    # when
    again = once
    for _ in range(rounds):
        again = redact_event_data(again)
    # then
    assert again == once
