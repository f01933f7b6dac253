"""updateVerificationSession over HTTP: merge and replace semantics, the status rules, and scoping.

A rejected update must come back as exactly one userError with no session, and the session read
back afterwards must equal the session read before.
"""

from __future__ import annotations

import threading
from typing import Any

import httpx
import pytest

from tests.conftest import Api
from tests.helpers import CREATE, SESSION, SESSION_FIELDS, assert_forbidden, missing, rejected

UPDATE = f"""
mutation Update($input: UpdateVerificationSessionInput!) {{
  updateVerificationSession(input: $input) {{
    verificationSession {{ {SESSION_FIELDS} }}
    userErrors {{ field message code }}
  }}
}}
"""

UPDATE_METADATA_INLINE_NULL = """
mutation Update($id: ID!) {
  updateVerificationSession(input: {id: $id, metadata: null}) {
    verificationSession { metadata }
    userErrors { field message code }
  }
}
"""

# An update that returns the attributes SESSION_FIELDS predates.
UPDATE_RELATED = """
mutation Update($input: UpdateVerificationSessionInput!) {
  updateVerificationSession(input: $input) {
    verificationSession {
      id relatedPerson { account person }
      options { document { requireMatchingSelfie } matching { dob name } idNumber { requested } }
    }
    userErrors { field message code }
  }
}
"""
CREATE_RELATED = """
mutation Create($input: CreateVerificationSessionInput!) {
  createVerificationSession(input: $input) {
    verificationSession { id }
    userErrors { field message code }
  }
}
"""

SELFIE_ONLY = {
    "allowedTypes": None,
    "requireIdNumber": None,
    "requireLiveCapture": None,
    "requireMatchingSelfie": True,
}


# -- helpers -----------------------------------------------------------------------------------


def create(api: Api, **input: Any) -> dict[str, Any]:
    """A new session (type DOCUMENT unless given) as the API returned it."""
    payload = api.gql(CREATE, {"input": {"type": "DOCUMENT", **input}})["createVerificationSession"]
    assert payload["userErrors"] == [], payload["userErrors"]
    session: dict[str, Any] = payload["verificationSession"]
    return session


def update(api: Api, input: dict[str, Any], *, key: str | None = "default") -> dict[str, Any]:
    """The updateVerificationSession payload for this input."""
    payload: dict[str, Any] = api.gql(UPDATE, {"input": input}, key=key)[
        "updateVerificationSession"
    ]
    return payload


def updated(api: Api, input: dict[str, Any]) -> dict[str, Any]:
    payload = update(api, input)
    assert payload["userErrors"] == [], payload["userErrors"]
    session: dict[str, Any] = payload["verificationSession"]
    return session


def read(api: Api, session_id: str, *, key: str | None = "default") -> dict[str, Any]:
    session: dict[str, Any] = api.gql(SESSION, {"id": session_id}, key=key)["verificationSession"]
    return session


def set_columns(api: Api, session_id: str, **columns: Any) -> None:
    """Put a session into a state the API cannot reach yet."""
    assignments = ", ".join(f"{name} = :{name}" for name in columns)
    api.server.database.execute(
        f"UPDATE verification_sessions SET {assignments} WHERE id = :id",
        {"id": session_id, **columns},
    )


def leave_requires_input(api: Api, session_id: str, status: str) -> None:
    """What the lifecycle does on leaving requires_input: a new status, no secret and no url."""
    set_columns(api, session_id, status=status, client_secret=None, url_token=None)


def wrong_status(status: str) -> str:
    return (
        f'You cannot update this VerificationSession because it has a status of "{status}". '
        'Only a VerificationSession in "requires_input" status may be updated.'
    )


REDACTED = "You cannot update this VerificationSession because it has been redacted."


# -- type ----------------------------------------------------------------------------------------


def test_update_changes_type_from_document_to_id_number(api: Api) -> None:
    # given
    session = create(api, clientReferenceId="ref-1", metadata={"a": "1"})
    # when
    result = updated(api, {"id": session["id"], "type": "ID_NUMBER"})
    # then
    assert result == {**session, "type": "ID_NUMBER"}
    assert read(api, session["id"]) == result


def test_update_keeps_client_secret_url_and_created(api: Api) -> None:
    # given
    session = create(api)
    # when
    result = updated(api, {"id": session["id"], "metadata": {"x": "y"}, "type": "ID_NUMBER"})
    # then
    assert (result["clientSecret"], result["url"], result["created"], result["status"]) == (
        session["clientSecret"],
        session["url"],
        session["created"],
        "REQUIRES_INPUT",
    )


def test_update_with_only_the_id_changes_nothing(api: Api) -> None:
    # given
    session = create(
        api,
        metadata={"a": "1"},
        options={"document": {"requireMatchingSelfie": True}},
        providedDetails={"email": "jenny@example.com"},
    )
    # when
    result = updated(api, {"id": session["id"]})
    # then
    assert result == session
    assert read(api, session["id"]) == session


def test_update_rejects_verification_flow_type(api: Api) -> None:
    # given
    session = create(api)
    # when
    payload = update(api, {"id": session["id"], "type": "VERIFICATION_FLOW"})
    # then
    assert payload == rejected(
        code="PARAMETER_INVALID",
        field=["type"],
        message=(
            "Invalid type: 'verification_flow'. Callers may choose document or id_number; "
            "verification_flow is set by giving a verification flow."
        ),
    )
    assert read(api, session["id"]) == session


def test_update_rejects_null_type(api: Api) -> None:
    # given
    session = create(api, type="ID_NUMBER")
    # when
    payload = update(api, {"id": session["id"], "type": None})
    # then
    assert payload == rejected(
        code="PARAMETER_INVALID",
        field=["type"],
        message="type cannot be cleared; give document or id_number.",
    )
    assert read(api, session["id"]) == session


# -- metadata --------------------------------------------------------------------------------------


def test_update_merges_metadata_keys(api: Api) -> None:
    # given
    session = create(api, metadata={"a": "1", "b": "2"})
    # when
    result = updated(api, {"id": session["id"], "metadata": {"b": "20", "c": "3"}})
    # then
    assert result["metadata"] == {"a": "1", "b": "20", "c": "3"}
    assert read(api, session["id"])["metadata"] == {"a": "1", "b": "20", "c": "3"}


def test_update_removes_metadata_key_set_to_empty_string(api: Api) -> None:
    # given
    session = create(api, metadata={"a": "1", "b": "2"})
    # when
    result = updated(api, {"id": session["id"], "metadata": {"a": "", "never-set": ""}})
    # then
    assert result["metadata"] == {"b": "2"}
    assert read(api, session["id"])["metadata"] == {"b": "2"}


def test_update_with_null_metadata_clears_every_key(api: Api) -> None:
    # given
    session = create(api, metadata={"a": "1", "b": "2"})
    # when
    result = updated(api, {"id": session["id"], "metadata": None})
    # then
    assert result["metadata"] == {}
    assert read(api, session["id"]) == {**session, "metadata": {}}


def test_update_with_inline_null_metadata_clears_every_key(api: Api) -> None:
    # given
    session = create(api, metadata={"a": "1"})
    # when
    payload = api.gql(UPDATE_METADATA_INLINE_NULL, {"id": session["id"]})[
        "updateVerificationSession"
    ]
    # then
    assert payload == {"verificationSession": {"metadata": {}}, "userErrors": []}
    assert read(api, session["id"])["metadata"] == {}


def test_update_without_metadata_leaves_it_alone(api: Api) -> None:
    # given
    session = create(api, metadata={"a": "1"})
    # when
    result = updated(api, {"id": session["id"], "providedDetails": {"phone": "+14155550123"}})
    # then
    assert result["metadata"] == {"a": "1"}
    assert read(api, session["id"])["metadata"] == {"a": "1"}


def test_update_with_empty_metadata_object_leaves_it_alone(api: Api) -> None:
    # given
    session = create(api, metadata={"a": "1"})
    # when
    result = updated(api, {"id": session["id"], "metadata": {}})
    # then
    assert result == session


def test_update_rejects_merged_metadata_over_50_keys(api: Api) -> None:
    # given
    session = create(api, metadata={f"key{index}": "v" for index in range(49)})
    # when
    payload = update(api, {"id": session["id"], "metadata": {"new1": "v", "new2": "v"}})
    # then
    assert payload == rejected(
        code="PARAMETER_INVALID",
        field=["metadata"],
        message="Metadata can have up to 50 keys, but you've set 51.",
    )
    assert read(api, session["id"]) == session


def test_update_accepts_50_keys_when_a_removal_makes_room(api: Api) -> None:
    # given
    session = create(api, metadata={f"key{index}": "v" for index in range(50)})
    # when
    result = updated(api, {"id": session["id"], "metadata": {"key0": "", "new": "v"}})
    # then
    expected = {**{f"key{index}": "v" for index in range(1, 50)}, "new": "v"}
    assert result["metadata"] == expected
    assert read(api, session["id"])["metadata"] == expected


def test_update_accepts_metadata_at_the_limits(api: Api) -> None:
    # given
    session = create(api)
    metadata = {"k" * 40: "v" * 500}
    # when
    result = updated(api, {"id": session["id"], "metadata": metadata})
    # then
    assert result["metadata"] == metadata


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("order[1]", "v", "Metadata keys may not contain '[' or ']'. Invalid key: order[1]"),
        (
            "k" * 41,
            "v",
            "Metadata keys can have up to 40 characters, but you passed in a key that is 41 characters. "
            f"Invalid key: {'k' * 41}",
        ),
        (
            "note",
            "v" * 501,
            "Metadata values can have up to 500 characters, but you passed in a value that is 501 "
            "characters. Invalid value for key: note",
        ),
        ("count", 3, "Metadata values must be strings, but the value for key count is not."),
        ("count", None, "Metadata values must be strings, but the value for key count is not."),
        (
            "note",
            "a\x00b",
            "Metadata keys and values must not contain the NUL character (U+0000). Invalid pair for key: 'note'",
        ),
    ],
)
def test_update_rejects_bad_metadata_pair_and_changes_nothing(
    api: Api, key: str, value: Any, message: str
) -> None:
    # given
    session = create(api, metadata={"a": "1"})
    # when
    payload = update(
        api, {"id": session["id"], "metadata": {"a": "", key: value}, "type": "ID_NUMBER"}
    )
    # then
    assert payload == rejected(code="PARAMETER_INVALID", field=["metadata", key], message=message)
    assert read(api, session["id"]) == session


def test_concurrent_metadata_updates_all_merge(api: Api) -> None:
    # given
    session = create(api, metadata={"base": "0"})
    writers = 8
    barrier = threading.Barrier(writers)
    failures: list[str] = []

    def add_key(index: int) -> None:
        with httpx.Client(base_url=api.server.base_url, timeout=60) as client:
            barrier.wait()
            response = client.post(
                "/graphql",
                json={
                    "query": UPDATE,
                    "variables": {
                        "input": {"id": session["id"], "metadata": {f"k{index}": str(index)}}
                    },
                },
                headers={"Authorization": f"Bearer {api.key}"},
            )
            errors = response.json()["data"]["updateVerificationSession"]["userErrors"]
            if response.status_code != 200 or errors:
                failures.append(response.text)

    threads = [threading.Thread(target=add_key, args=(index,)) for index in range(writers)]
    # when
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then
    assert failures == []
    assert read(api, session["id"])["metadata"] == {
        "base": "0",
        **{f"k{index}": str(index) for index in range(writers)},
    }


# -- options ---------------------------------------------------------------------------------------


def test_update_replaces_document_options_whole(api: Api) -> None:
    # given
    session = create(
        api,
        options={
            "document": {
                "allowedTypes": ["PASSPORT"],
                "requireLiveCapture": True,
                "requireIdNumber": True,
            }
        },
    )
    # when
    result = updated(
        api, {"id": session["id"], "options": {"document": {"requireMatchingSelfie": True}}}
    )
    # then
    assert result["options"] == {"document": SELFIE_ONLY, "email": None, "phone": None}
    assert read(api, session["id"]) == result


def test_update_with_null_document_clears_document_options(api: Api) -> None:
    # given
    session = create(api, options={"document": {"requireMatchingSelfie": True}})
    # when
    result = updated(api, {"id": session["id"], "options": {"document": None}})
    # then
    assert result["options"] == {"document": None, "email": None, "phone": None}
    assert read(api, session["id"]) == result


def test_update_with_null_options_clears_document_options(api: Api) -> None:
    # given
    session = create(api, options={"document": {"requireMatchingSelfie": True}})
    # when
    result = updated(api, {"id": session["id"], "options": None})
    # then
    assert result["options"] == {"document": None, "email": None, "phone": None}
    assert read(api, session["id"]) == result


def test_update_with_empty_options_leaves_document_options(api: Api) -> None:
    # given
    session = create(api, options={"document": {"requireMatchingSelfie": True}})
    # when
    result = updated(api, {"id": session["id"], "options": {}})
    # then
    assert result == session
    assert read(api, session["id"]) == session


def test_update_without_options_leaves_them(api: Api) -> None:
    # given
    session = create(api, options={"document": {"allowedTypes": ["DRIVING_LICENSE"]}})
    # when
    result = updated(api, {"id": session["id"], "type": "ID_NUMBER"})
    # then
    assert result["options"] == session["options"]


def test_update_of_flow_session_options_keeps_flow_email_and_phone_checks(api: Api) -> None:
    # given
    flow_id = api.new_flow(
        options={"document": {"require_id_number": True}, "email": {"require_verification": True}},
    )
    payload = api.gql(CREATE, {"input": {"verificationFlow": flow_id}})["createVerificationSession"]
    session = payload["verificationSession"]
    # when
    replaced = updated(
        api, {"id": session["id"], "options": {"document": {"requireMatchingSelfie": True}}}
    )
    cleared = updated(api, {"id": session["id"], "options": None})
    # then
    email_check = {"requireVerification": True}
    assert replaced["options"] == {"document": SELFIE_ONLY, "email": email_check, "phone": None}
    assert cleared["options"] == {"document": None, "email": email_check, "phone": None}
    assert read(api, session["id"]) == cleared


def test_update_of_flow_session_options_keeps_flow_matching_and_id_number(api: Api) -> None:
    # given
    flow_id = api.new_flow(options={"matching": {"name": "similar"}, "id_number": {}})
    made = api.gql(CREATE_RELATED, {"input": {"verificationFlow": flow_id}})
    session_id = made["createVerificationSession"]["verificationSession"]["id"]
    # when
    replaced = api.gql(
        UPDATE_RELATED,
        {"input": {"id": session_id, "options": {"document": {"requireMatchingSelfie": True}}}},
    )["updateVerificationSession"]
    cleared = api.gql(UPDATE_RELATED, {"input": {"id": session_id, "options": None}})[
        "updateVerificationSession"
    ]
    # then
    flow_options = {"matching": {"dob": None, "name": "SIMILAR"}, "idNumber": {"requested": True}}
    assert replaced["verificationSession"]["options"] == {
        "document": {"requireMatchingSelfie": True},
        **flow_options,
    }
    assert cleared["verificationSession"]["options"] == {"document": None, **flow_options}


def test_update_cannot_change_the_related_person(api: Api) -> None:
    # given
    person = {"account": "acct_1", "person": "person_1"}
    made = api.gql(CREATE_RELATED, {"input": {"type": "DOCUMENT", "relatedPerson": person}})
    session_id = made["createVerificationSession"]["verificationSession"]["id"]
    # when: the input has no such field, as Stripe's update has no such parameter
    response = api.post(
        UPDATE_RELATED,
        {"input": {"id": session_id, "relatedPerson": {"account": "acct_2", "person": "person_2"}}},
    )
    # then
    body = response.json()
    assert [error["extensions"]["code"] for error in body["errors"]] == ["BAD_USER_INPUT"]
    assert "relatedPerson" in body["errors"][0]["message"]
    unchanged = api.gql(UPDATE_RELATED, {"input": {"id": session_id}})["updateVerificationSession"]
    assert unchanged["verificationSession"]["relatedPerson"] == person


def test_update_rejects_empty_allowed_types_and_changes_nothing(api: Api) -> None:
    # given
    session = create(api, options={"document": {"allowedTypes": ["PASSPORT"]}})
    # when
    payload = update(api, {"id": session["id"], "options": {"document": {"allowedTypes": []}}})
    # then
    assert payload == rejected(
        code="PARAMETER_INVALID",
        field=["options", "document", "allowedTypes"],
        message=(
            "allowed_types must list at least one of driving_license, id_card, passport; "
            "omit it to allow all three."
        ),
    )
    assert read(api, session["id"]) == session


# -- provided details ------------------------------------------------------------------------------


def test_update_replaces_provided_details_whole(api: Api) -> None:
    # given
    session = create(api, providedDetails={"email": "jenny@example.com", "phone": "+14155550123"})
    # when
    result = updated(api, {"id": session["id"], "providedDetails": {"email": "rosen@example.org"}})
    # then
    assert result["providedDetails"] == {"email": "rosen@example.org", "phone": None}
    assert read(api, session["id"]) == result


def test_update_with_null_provided_details_clears_them(api: Api) -> None:
    # given
    session = create(api, providedDetails={"email": "jenny@example.com", "phone": "+14155550123"})
    # when
    result = updated(api, {"id": session["id"], "providedDetails": None})
    # then
    assert result["providedDetails"] is None
    assert read(api, session["id"]) == {**session, "providedDetails": None}


def test_update_without_provided_details_leaves_them(api: Api) -> None:
    # given
    session = create(api, providedDetails={"email": "jenny@example.com"})
    # when
    result = updated(api, {"id": session["id"], "metadata": {"a": "1"}})
    # then
    assert result["providedDetails"] == {"email": "jenny@example.com", "phone": None}


@pytest.mark.parametrize(
    ("details", "field", "message"),
    [
        (
            {"email": "jenny@example"},
            ["providedDetails", "email"],
            "provided_details.email must be an email address such as jenny@example.com, got 'jenny@example'.",
        ),
        (
            {"email": "rosen@example.org", "phone": "415-555-0123"},
            ["providedDetails", "phone"],
            "provided_details.phone must be in E.164 format, a plus sign and 7 to 15 digits such as +14155550123.",
        ),
    ],
)
def test_update_rejects_malformed_provided_details_and_changes_nothing(
    api: Api, details: dict[str, str], field: list[str], message: str
) -> None:
    # given
    session = create(api, providedDetails={"email": "jenny@example.com", "phone": "+14155550123"})
    # when
    payload = update(api, {"id": session["id"], "providedDetails": details, "metadata": {"a": "1"}})
    # then
    assert payload == rejected(code="PARAMETER_INVALID", field=field, message=message)
    assert read(api, session["id"]) == session


# -- which session ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "session_id",
    [
        "vs_000000000000000000000000",
        "vs_123",
        "not-an-id",
        "",
        "vf_000000000000000000000000",
        "vs_\x00",
    ],
)
def test_update_of_unknown_or_malformed_id_is_resource_missing(api: Api, session_id: str) -> None:
    # when
    payload = update(api, {"id": session_id, "metadata": {"a": "1"}})
    # then
    assert payload == missing(session_id)


def test_update_of_another_accounts_session_is_resource_missing(api: Api, other_api: Api) -> None:
    # given
    theirs = other_api.gql(CREATE, {"input": {"type": "DOCUMENT", "metadata": {"owner": "other"}}})
    session = theirs["createVerificationSession"]["verificationSession"]
    # when
    payload = update(api, {"id": session["id"], "metadata": {"owner": "me"}})
    # then
    assert payload == missing(session["id"])
    assert read(other_api, session["id"]) == session


def test_update_of_live_session_with_test_key_is_resource_missing(api: Api) -> None:
    # given
    live_key = api.new_key(livemode=True)
    payload = api.gql(CREATE, {"input": {"type": "DOCUMENT"}}, key=live_key)
    session = payload["createVerificationSession"]["verificationSession"]
    # when
    result = update(api, {"id": session["id"], "type": "ID_NUMBER"})
    # then
    assert result == missing(session["id"])
    assert read(api, session["id"], key=live_key) == session


def test_update_with_live_key_updates_live_session(api: Api) -> None:
    # given
    live_key = api.new_key(livemode=True)
    payload = api.gql(CREATE, {"input": {"type": "DOCUMENT"}}, key=live_key)
    session = payload["createVerificationSession"]["verificationSession"]
    # when
    result = update(api, {"id": session["id"], "type": "ID_NUMBER"}, key=live_key)
    # then
    assert result == {"verificationSession": {**session, "type": "ID_NUMBER"}, "userErrors": []}


# -- status ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["processing", "verified", "canceled"])
def test_update_rejects_session_not_in_requires_input(api: Api, status: str) -> None:
    # given
    session = create(api, metadata={"a": "1"})
    leave_requires_input(api, session["id"], status)
    before = read(api, session["id"])
    assert before["status"] == status.upper()
    # when
    payload = update(api, {"id": session["id"], "metadata": {"a": "2"}, "type": "ID_NUMBER"})
    # then
    assert payload == rejected(code="INVALID_STATE", field=None, message=wrong_status(status))
    assert read(api, session["id"]) == before


def test_update_rejects_canceled_session(api: Api) -> None:
    # given
    session = create(api)
    leave_requires_input(api, session["id"], "canceled")
    # when
    payload = update(api, {"id": session["id"]})
    # then
    assert payload == rejected(code="INVALID_STATE", field=None, message=wrong_status("canceled"))


def test_update_reports_state_before_checking_values(api: Api) -> None:
    # given
    session = create(api)
    leave_requires_input(api, session["id"], "verified")
    # when
    payload = update(api, {"id": session["id"], "metadata": {"bad[key]": "v"}})
    # then
    assert payload == rejected(code="INVALID_STATE", field=None, message=wrong_status("verified"))


@pytest.mark.parametrize(
    ("status", "redaction"), [("canceled", "redacted"), ("verified", "processing")]
)
def test_update_rejects_redacted_session(api: Api, status: str, redaction: str) -> None:
    # given
    session = create(api, metadata={"a": "1"})
    leave_requires_input(api, session["id"], status)
    set_columns(api, session["id"], redaction_status=redaction)
    before = read(api, session["id"])
    assert before["redaction"] == {"status": redaction.upper()}
    # when
    payload = update(api, {"id": session["id"], "metadata": {"a": "2"}})
    # then
    assert payload == rejected(code="INVALID_STATE", field=None, message=REDACTED)
    assert read(api, session["id"]) == before


def test_update_rejects_redacted_session_even_in_requires_input(api: Api) -> None:
    # given
    session = create(api, metadata={"a": "1"})
    set_columns(api, session["id"], redaction_status="redacted")
    before = read(api, session["id"])
    # when
    payload = update(api, {"id": session["id"], "metadata": None})
    # then
    assert payload == rejected(code="INVALID_STATE", field=None, message=REDACTED)
    assert read(api, session["id"]) == before


# -- keys ------------------------------------------------------------------------------------------


def test_update_with_restricted_key_is_forbidden_and_writes_nothing(api: Api) -> None:
    # given
    session = create(api, metadata={"a": "1"})
    restricted_key = api.new_key(restricted=True)
    # when
    response = api.post(
        UPDATE,
        {"input": {"id": session["id"], "metadata": None, "type": "ID_NUMBER"}},
        key=restricted_key,
    )
    # then
    assert_forbidden(response, "updateVerificationSession")
    assert read(api, session["id"]) == session


def test_update_without_key_is_unauthenticated_and_writes_nothing(api: Api) -> None:
    # given
    session = create(api, metadata={"a": "1"})
    # when
    response = api.post(UPDATE, {"input": {"id": session["id"], "metadata": None}}, key=None)
    # then
    assert response.status_code == 401
    body = response.json()
    assert [error["extensions"]["code"] for error in body["errors"]] == ["UNAUTHENTICATED"]
    assert body.get("data") is None
    assert read(api, session["id"]) == session


def test_update_with_unknown_key_is_unauthenticated_and_writes_nothing(api: Api) -> None:
    # given
    session = create(api, metadata={"a": "1"})
    # when
    response = api.post(
        UPDATE, {"input": {"id": session["id"], "metadata": None}}, key="sk_test_" + "0" * 32
    )
    # then
    assert response.status_code == 401
    assert response.json() == {
        "errors": [
            {
                "message": "Invalid API key or client secret provided.",
                "extensions": {"code": "UNAUTHENTICATED"},
            }
        ]
    }
    assert read(api, session["id"]) == session
