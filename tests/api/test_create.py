"""createVerificationSession over HTTP: the new session's shape, and every input rule.

Each rejected input must come back as exactly one userError (code, camelCase field path, a message
that names the rule) with no session, and must leave the account's sessions as they were.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.conftest import Api, Server
from tests.helpers import CREATE, SESSION, assert_forbidden, rejected

TOTAL_COUNT = "{ verificationSessions { totalCount } }"

CREATE_WITH_INLINE_METADATA = """
mutation {
  createVerificationSession(input: {type: DOCUMENT, metadata: {order: "42", kind: "gold"}}) {
    verificationSession { metadata }
    userErrors { field message code }
  }
}
"""

SESSION_ID = re.compile(r"^vs_[0-9A-Za-z]{24}$")
CREATED = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")
TOKEN = r"[0-9A-Za-z]+"

NO_DOCUMENT_OPTIONS = {"document": None, "email": None, "phone": None}

# The attributes added after SESSION_FIELDS was written: Stripe's related_person and the options a
# verification flow may set.
CREATE_RELATED = """
mutation Create($input: CreateVerificationSessionInput!) {
  createVerificationSession(input: $input) {
    verificationSession {
      id relatedPerson { account person }
      options { matching { dob name } idNumber { requested } }
    }
    userErrors { field message code }
  }
}
"""
SESSION_RELATED = """
query Session($id: ID!) {
  verificationSession(id: $id) {
    id relatedPerson { account person }
    options { matching { dob name } idNumber { requested } }
  }
}
"""


# -- helpers -----------------------------------------------------------------------------------


def create(api: Api, input: dict[str, Any], *, key: str | None = "default") -> dict[str, Any]:
    """The createVerificationSession payload for this input."""
    payload: dict[str, Any] = api.gql(CREATE, {"input": input}, key=key)[
        "createVerificationSession"
    ]
    return payload


def created_session(
    api: Api, input: dict[str, Any], *, key: str | None = "default"
) -> dict[str, Any]:
    payload = create(api, input, key=key)
    assert payload["userErrors"] == [], payload["userErrors"]
    session: dict[str, Any] = payload["verificationSession"]
    return session


def total_count(api: Api, *, key: str | None = "default") -> int:
    count: int = api.gql(TOTAL_COUNT, key=key)["verificationSessions"]["totalCount"]
    return count


def stored_count(api: Api) -> int:
    """Sessions of this account in either mode, read from the database itself."""
    rows = api.server.database.execute(
        "SELECT count(*) FROM verification_sessions WHERE account_id = :account",
        {"account": api.account_id},
    )
    return int(rows[0][0])


def assert_nothing_stored(api: Api) -> None:
    assert total_count(api) == 0
    assert stored_count(api) == 0


def parse_created(value: str) -> datetime:
    assert CREATED.match(value), value
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


# -- success -------------------------------------------------------------------------------------


def test_create_returns_new_session_in_requires_input(api: Api, server: Server) -> None:
    # given
    before = datetime.now(UTC)
    # when
    payload = create(api, {"type": "DOCUMENT"})
    # then
    after = datetime.now(UTC)
    assert payload["userErrors"] == []
    session = payload["verificationSession"]
    session_id = session["id"]
    assert SESSION_ID.match(session_id), session_id
    assert before <= parse_created(session["created"]) <= after
    assert re.fullmatch(rf"{session_id}_secret_{TOKEN}", session["clientSecret"]), session[
        "clientSecret"
    ]
    assert re.fullmatch(rf"{re.escape(server.base_url)}/verify/{TOKEN}", session["url"]), session[
        "url"
    ]
    assert session == {
        "id": session_id,
        "object": "identity.verification_session",
        "created": session["created"],
        "status": "REQUIRES_INPUT",
        "type": "DOCUMENT",
        "clientReferenceId": None,
        "clientSecret": session["clientSecret"],
        "url": session["url"],
        "livemode": False,
        "metadata": {},
        "relatedCustomer": None,
        "verificationFlow": None,
        "options": NO_DOCUMENT_OPTIONS,
        "providedDetails": None,
        "lastError": None,
        "redaction": None,
        "verifiedOutputs": None,
        "lastVerificationReport": None,
    }


def test_create_stores_the_session_so_it_reads_back_identically(api: Api) -> None:
    # given
    session = created_session(api, {"type": "ID_NUMBER", "clientReferenceId": "user-7"})
    # when
    read = api.gql(SESSION, {"id": session["id"]})["verificationSession"]
    # then
    assert read == session
    assert total_count(api) == 1


def test_create_gives_each_session_its_own_id_secret_and_url(api: Api) -> None:
    # given
    first = created_session(api, {"type": "DOCUMENT"})
    # when
    second = created_session(api, {"type": "DOCUMENT"})
    # then
    assert first["id"] != second["id"]
    assert first["clientSecret"] != second["clientSecret"]
    assert first["url"] != second["url"]
    assert second["clientSecret"].startswith(f"{second['id']}_secret_")
    assert total_count(api) == 2


def test_create_with_live_key_makes_live_session_invisible_to_test_key(api: Api) -> None:
    # given
    live_key = api.new_key(livemode=True)
    # when
    session = created_session(api, {"type": "DOCUMENT"}, key=live_key)
    # then
    assert session["livemode"] is True
    assert session["status"] == "REQUIRES_INPUT"
    assert session["clientSecret"].startswith(f"{session['id']}_secret_")
    assert total_count(api, key=live_key) == 1
    assert total_count(api) == 0
    assert api.gql(SESSION, {"id": session["id"]})["verificationSession"] is None


def test_create_with_test_key_is_not_livemode(api: Api) -> None:
    # when
    session = created_session(api, {"type": "ID_NUMBER"})
    # then
    assert session["livemode"] is False
    assert session["type"] == "ID_NUMBER"


def test_create_stores_every_optional_field(api: Api) -> None:
    # given
    input = {
        "type": "DOCUMENT",
        "clientReferenceId": "order-1234",
        "relatedCustomer": "cus_NffrFeUfNV2Hib",
        "returnUrl": "https://example.com/done?step=2",
        "metadata": {"order": "1234", "tier": "gold"},
        "options": {
            "document": {
                "allowedTypes": ["PASSPORT", "ID_CARD"],
                "requireIdNumber": True,
                "requireLiveCapture": False,
                "requireMatchingSelfie": True,
            }
        },
        "providedDetails": {"email": "jenny@example.com", "phone": "+14155550123"},
    }
    # when
    session = created_session(api, input)
    # then
    assert session["clientReferenceId"] == "order-1234"
    assert session["relatedCustomer"] == "cus_NffrFeUfNV2Hib"
    assert session["metadata"] == {"order": "1234", "tier": "gold"}
    assert session["options"] == {
        "document": {
            "allowedTypes": ["PASSPORT", "ID_CARD"],
            "requireIdNumber": True,
            "requireLiveCapture": False,
            "requireMatchingSelfie": True,
        },
        "email": None,
        "phone": None,
    }
    assert session["providedDetails"] == {"email": "jenny@example.com", "phone": "+14155550123"}
    assert api.gql(SESSION, {"id": session["id"]})["verificationSession"] == session
    stored = api.server.database.execute(
        "SELECT return_url FROM verification_sessions WHERE id = :id", {"id": session["id"]}
    )
    assert stored == [("https://example.com/done?step=2",)]


def test_create_stores_the_related_person_and_reads_it_back(api: Api) -> None:
    # given
    person = {"account": "acct_1032D82eZvKYlo2C", "person": "person_1MqjB62eZvKYlo2C"}
    # when
    payload = api.gql(CREATE_RELATED, {"input": {"type": "DOCUMENT", "relatedPerson": person}})
    # then
    created = payload["createVerificationSession"]
    assert created["userErrors"] == []
    session = created["verificationSession"]
    assert session["relatedPerson"] == person
    assert api.gql(SESSION_RELATED, {"id": session["id"]})["verificationSession"] == session


def test_create_without_related_person_or_flow_options_answers_null(api: Api) -> None:
    # when
    payload = api.gql(CREATE_RELATED, {"input": {"type": "DOCUMENT"}})
    # then
    session = payload["createVerificationSession"]["verificationSession"]
    assert (session["relatedPerson"], session["options"]) == (
        None,
        {"matching": None, "idNumber": None},
    )


def test_create_from_flow_answers_its_matching_and_id_number_options(api: Api) -> None:
    # given
    flow_id = api.new_flow(
        type="id_number", options={"matching": {"dob": "similar", "name": "none"}, "id_number": {}}
    )
    # when
    payload = api.gql(CREATE_RELATED, {"input": {"verificationFlow": flow_id}})
    # then
    session = payload["createVerificationSession"]["verificationSession"]
    assert session["options"] == {
        "matching": {"dob": "SIMILAR", "name": "NONE"},
        "idNumber": {"requested": True},
    }
    assert api.gql(SESSION_RELATED, {"id": session["id"]})["verificationSession"] == session


def test_create_cannot_set_matching_options_of_its_own(api: Api) -> None:
    # when: the input has no such field, as Stripe's create takes only options.document
    response = api.post(
        CREATE, {"input": {"type": "DOCUMENT", "options": {"matching": {"dob": "SIMILAR"}}}}
    )
    # then
    body = response.json()
    assert [error["extensions"]["code"] for error in body["errors"]] == ["BAD_USER_INPUT"]
    assert "matching" in body["errors"][0]["message"]
    assert_nothing_stored(api)


def test_create_keeps_only_the_document_options_given(api: Api) -> None:
    # when
    session = created_session(
        api, {"type": "DOCUMENT", "options": {"document": {"requireMatchingSelfie": True}}}
    )
    # then
    assert session["options"]["document"] == {
        "allowedTypes": None,
        "requireIdNumber": None,
        "requireLiveCapture": None,
        "requireMatchingSelfie": True,
    }


def test_create_drops_repeated_allowed_types_keeping_order(api: Api) -> None:
    # when
    session = created_session(
        api,
        {
            "type": "DOCUMENT",
            "options": {"document": {"allowedTypes": ["ID_CARD", "PASSPORT", "ID_CARD"]}},
        },
    )
    # then
    assert session["options"]["document"]["allowedTypes"] == ["ID_CARD", "PASSPORT"]


def test_create_with_empty_options_has_no_document_options(api: Api) -> None:
    # when
    session = created_session(api, {"type": "DOCUMENT", "options": {}})
    # then
    assert session["options"] == NO_DOCUMENT_OPTIONS


def test_create_drops_metadata_keys_with_empty_values(api: Api) -> None:
    # when
    session = created_session(api, {"type": "DOCUMENT", "metadata": {"kept": "yes", "dropped": ""}})
    # then
    assert session["metadata"] == {"kept": "yes"}


def test_create_with_null_metadata_has_empty_metadata(api: Api) -> None:
    # when
    session = created_session(api, {"type": "DOCUMENT", "metadata": None})
    # then
    assert session["metadata"] == {}


def test_create_accepts_metadata_written_inline_in_the_document(api: Api) -> None:
    # when
    payload = api.gql(CREATE_WITH_INLINE_METADATA)["createVerificationSession"]
    # then
    assert payload == {
        "verificationSession": {"metadata": {"order": "42", "kind": "gold"}},
        "userErrors": [],
    }


def test_create_accepts_metadata_at_the_limits(api: Api) -> None:
    # given
    metadata = {f"key{index:02d}": f"value {index}" for index in range(48)}
    metadata["k" * 40] = "forty-character key"
    metadata["long"] = "v" * 500
    assert len(metadata) == 50
    # when
    session = created_session(api, {"type": "DOCUMENT", "metadata": metadata})
    # then
    assert session["metadata"] == metadata
    assert api.gql(SESSION, {"id": session["id"]})["verificationSession"]["metadata"] == metadata


def test_create_keeps_unicode_metadata_and_reference(api: Api) -> None:
    # when
    session = created_session(
        api,
        {"type": "DOCUMENT", "clientReferenceId": "Zoë-ü-東京", "metadata": {"città": "Zürich 🏔"}},
    )
    # then
    read = api.gql(SESSION, {"id": session["id"]})["verificationSession"]
    assert read["clientReferenceId"] == "Zoë-ü-東京"
    assert read["metadata"] == {"città": "Zürich 🏔"}


def test_create_accepts_strings_of_exactly_5000_characters(api: Api) -> None:
    # when
    session = created_session(
        api,
        {
            "type": "DOCUMENT",
            "clientReferenceId": "r" * 5000,
            "relatedCustomer": "cus_" + "a" * 4996,
        },
    )
    # then
    assert session["clientReferenceId"] == "r" * 5000
    assert session["relatedCustomer"] == "cus_" + "a" * 4996


@pytest.mark.parametrize("return_url", ["https://example.com/done", "http://localhost:3000/back"])
def test_create_accepts_absolute_http_return_url(api: Api, return_url: str) -> None:
    # when
    session = created_session(api, {"type": "DOCUMENT", "returnUrl": return_url})
    # then
    stored = api.server.database.execute(
        "SELECT return_url FROM verification_sessions WHERE id = :id", {"id": session["id"]}
    )
    assert stored == [(return_url,)]


@pytest.mark.parametrize("email", ["jenny@example.com", "jenny.rosen+id@mail.example.co.uk"])
def test_create_accepts_well_formed_email(api: Api, email: str) -> None:
    # when
    session = created_session(api, {"type": "DOCUMENT", "providedDetails": {"email": email}})
    # then
    assert session["providedDetails"] == {"email": email, "phone": None}


@pytest.mark.parametrize(
    "phone", ["+14155550123", "+4915112345678", "+1234567", "+123456789012345"]
)
def test_create_accepts_e164_phone(api: Api, phone: str) -> None:
    # when
    session = created_session(api, {"type": "ID_NUMBER", "providedDetails": {"phone": phone}})
    # then
    assert session["providedDetails"] == {"email": None, "phone": phone}


# -- type and verification flow -------------------------------------------------------------------

MISSING_TYPE = (
    "Missing required param: type. Provide a type (document or id_number) or a verification_flow."
)
TYPE_AND_FLOW = (
    "You cannot provide both type and verification_flow: a session made from a verification flow "
    "takes its type from the flow."
)
FLOW_TYPE_AS_INPUT = (
    "Invalid type: 'verification_flow'. Callers may choose document or id_number; "
    "verification_flow is set by giving a verification flow."
)


@pytest.mark.parametrize("input", [{}, {"type": None}, {"clientReferenceId": "ref"}])
def test_create_without_type_or_flow_is_parameter_missing(api: Api, input: dict[str, Any]) -> None:
    # when
    payload = create(api, input)
    # then
    assert payload == rejected(code="PARAMETER_MISSING", field=["type"], message=MISSING_TYPE)
    assert_nothing_stored(api)


def test_create_with_type_and_flow_is_parameter_invalid(api: Api) -> None:
    # given
    flow_id = api.new_flow()
    # when
    payload = create(api, {"type": "DOCUMENT", "verificationFlow": flow_id})
    # then
    assert payload == rejected(code="PARAMETER_INVALID", field=["type"], message=TYPE_AND_FLOW)
    assert_nothing_stored(api)


def test_create_rejects_verification_flow_as_input_type(api: Api) -> None:
    # when
    payload = create(api, {"type": "VERIFICATION_FLOW"})
    # then
    assert payload == rejected(code="PARAMETER_INVALID", field=["type"], message=FLOW_TYPE_AS_INPUT)
    assert_nothing_stored(api)


def test_create_rejects_unknown_type_value_at_the_graphql_layer(api: Api) -> None:
    # when
    response = api.post(CREATE, {"input": {"type": "SELFIE"}})
    # then
    assert response.status_code == 200
    errors = response.json()["errors"]
    assert [error["extensions"]["code"] for error in errors] == ["BAD_USER_INPUT"]
    assert "SELFIE" in errors[0]["message"]
    assert_nothing_stored(api)


@pytest.mark.parametrize("flow_id", ["vf_0000000000000000000000aa", "vf_nope", "not-a-flow-id"])
def test_create_with_unknown_flow_is_resource_missing(api: Api, flow_id: str) -> None:
    # when
    payload = create(api, {"verificationFlow": flow_id})
    # then
    assert payload == rejected(
        code="RESOURCE_MISSING",
        field=["verificationFlow"],
        message=f"No such verification flow: '{flow_id}'",
    )
    assert_nothing_stored(api)


def test_create_with_another_accounts_flow_is_resource_missing(api: Api, other_api: Api) -> None:
    # given
    flow_id = api.server.database.create_flow(account_id=other_api.account_id)
    # when
    payload = create(api, {"verificationFlow": flow_id})
    # then
    assert payload == rejected(
        code="RESOURCE_MISSING",
        field=["verificationFlow"],
        message=f"No such verification flow: '{flow_id}'",
    )
    assert_nothing_stored(api)
    assert total_count(other_api) == 0


def test_create_with_live_flow_and_test_key_is_resource_missing(api: Api) -> None:
    # given
    flow_id = api.new_flow(livemode=True)
    # when
    payload = create(api, {"verificationFlow": flow_id})
    # then
    assert payload == rejected(
        code="RESOURCE_MISSING",
        field=["verificationFlow"],
        message=f"No such verification flow: '{flow_id}'",
    )
    assert_nothing_stored(api)


def test_create_from_flow_has_flow_type_and_copies_its_options(api: Api) -> None:
    # given
    flow_id = api.new_flow(
        type="document",
        options={
            "document": {"allowed_types": ["passport"], "require_matching_selfie": True},
            "email": {"require_verification": True},
            "phone": {"require_verification": False},
        },
    )
    # when
    session = created_session(
        api,
        {
            "verificationFlow": flow_id,
            "clientReferenceId": "ref-flow",
            "metadata": {"from": "flow"},
        },
    )
    # then
    assert session["type"] == "VERIFICATION_FLOW"
    assert session["verificationFlow"] == flow_id
    assert session["status"] == "REQUIRES_INPUT"
    assert session["clientReferenceId"] == "ref-flow"
    assert session["metadata"] == {"from": "flow"}
    assert session["options"] == {
        "document": {
            "allowedTypes": ["PASSPORT"],
            "requireIdNumber": None,
            "requireLiveCapture": None,
            "requireMatchingSelfie": True,
        },
        "email": {"requireVerification": True},
        "phone": {"requireVerification": False},
    }
    assert api.gql(SESSION, {"id": session["id"]})["verificationSession"] == session


def test_create_from_live_flow_with_live_key(api: Api) -> None:
    # given
    live_key = api.new_key(livemode=True)
    flow_id = api.new_flow(livemode=True, type="id_number")
    # when
    session = created_session(api, {"verificationFlow": flow_id}, key=live_key)
    # then
    assert (session["type"], session["verificationFlow"], session["livemode"]) == (
        "VERIFICATION_FLOW",
        flow_id,
        True,
    )
    assert session["options"] == NO_DOCUMENT_OPTIONS


def test_create_from_flow_copies_options_at_creation_time(api: Api) -> None:
    # given
    flow_id = api.new_flow(
        options={"document": {"require_id_number": True}},
    )
    session = created_session(api, {"verificationFlow": flow_id})
    # when
    api.server.database.execute(
        "UPDATE verification_flows SET options = :options WHERE id = :id",
        {"options": '{"document": {"require_live_capture": true}}', "id": flow_id},
    )
    # then
    read = api.gql(SESSION, {"id": session["id"]})["verificationSession"]
    assert read["options"]["document"] == {
        "allowedTypes": None,
        "requireIdNumber": True,
        "requireLiveCapture": None,
        "requireMatchingSelfie": None,
    }


def test_create_from_flow_rejects_options_of_its_own(api: Api) -> None:
    # given
    flow_id = api.new_flow(
        options={"document": {"require_id_number": True}},
    )
    # when
    payload = create(
        api, {"verificationFlow": flow_id, "options": {"document": {"requireMatchingSelfie": True}}}
    )
    # then
    assert payload == rejected(
        code="PARAMETER_INVALID",
        field=["options"],
        message=(
            "You cannot provide both options and verification_flow: a session made from a "
            "verification flow takes its options from the flow."
        ),
    )
    assert_nothing_stored(api)


# -- field rules -----------------------------------------------------------------------------------

RETURN_URL_RULE = (
    "return_url must be an absolute http or https URL, such as https://example.com/done."
)
EMAIL_RULE = "provided_details.email must be an email address such as jenny@example.com, got {!r}."
PHONE_RULE = "provided_details.phone must be in E.164 format, a plus sign and 7 to 15 digits such as +14155550123."


@pytest.mark.parametrize(
    "return_url",
    [
        "/done",
        "done.html",
        "example.com/done",
        "//example.com/done",
        "ftp://example.com/done",
        "javascript:alert(1)",
        "https://",
        "",
        # An unclosed IPv6 literal, on which urlsplit itself raises.
        "http://[::1",
        "https://[fe80::1/done",
    ],
)
def test_create_rejects_return_url_that_is_not_absolute_http(api: Api, return_url: str) -> None:
    # when
    payload = create(api, {"type": "DOCUMENT", "returnUrl": return_url})
    # then
    assert payload == rejected(
        code="PARAMETER_INVALID", field=["returnUrl"], message=RETURN_URL_RULE
    )
    assert_nothing_stored(api)


@pytest.mark.parametrize(
    "email",
    [
        "jenny",
        "jenny@example",
        "@example.com",
        "jenny@",
        "jenny@@example.com",
        "jenny rosen@example.com",
        "jenny@example.com.",
        "",
    ],
)
def test_create_rejects_malformed_email(api: Api, email: str) -> None:
    # when
    payload = create(api, {"type": "DOCUMENT", "providedDetails": {"email": email}})
    # then
    assert payload == rejected(
        code="PARAMETER_INVALID",
        field=["providedDetails", "email"],
        message=EMAIL_RULE.format(email),
    )
    assert_nothing_stored(api)


def test_create_rejects_email_longer_than_5000_characters(api: Api) -> None:
    # given
    email = "a" * 4990 + "@example.com"
    # when
    payload = create(api, {"type": "DOCUMENT", "providedDetails": {"email": email}})
    # then
    assert payload == rejected(
        code="PARAMETER_INVALID",
        field=["providedDetails", "email"],
        message="email can have up to 5000 characters, but you passed in 5002.",
    )
    assert_nothing_stored(api)


@pytest.mark.parametrize(
    "phone",
    [
        "4155550123",
        "+1 415 555 0123",
        "+1-415-555-0123",
        "+0123456789",
        "+123456",
        "+1234567890123456",
        "+1415555012a",
        "",
        "+",
    ],
)
def test_create_rejects_phone_not_in_e164(api: Api, phone: str) -> None:
    # when
    payload = create(
        api, {"type": "DOCUMENT", "providedDetails": {"email": "jenny@example.com", "phone": phone}}
    )
    # then
    assert payload == rejected(
        code="PARAMETER_INVALID", field=["providedDetails", "phone"], message=PHONE_RULE
    )
    assert_nothing_stored(api)


def test_create_rejects_client_reference_id_of_5001_characters(api: Api) -> None:
    # when
    payload = create(api, {"type": "DOCUMENT", "clientReferenceId": "r" * 5001})
    # then
    assert payload == rejected(
        code="PARAMETER_INVALID",
        field=["clientReferenceId"],
        message="client_reference_id can have up to 5000 characters, but you passed in 5001.",
    )
    assert_nothing_stored(api)


@pytest.mark.parametrize(
    "customer", ["cust_123", "123", "cus_", "cus_12-3", "CUS_123", "acct_123", ""]
)
def test_create_rejects_related_customer_that_is_not_a_customer_id(api: Api, customer: str) -> None:
    # when
    payload = create(api, {"type": "DOCUMENT", "relatedCustomer": customer})
    # then
    assert payload == rejected(
        code="PARAMETER_INVALID",
        field=["relatedCustomer"],
        message=f"related_customer must be a customer id such as cus_123, got {customer!r}.",
    )
    assert_nothing_stored(api)


@pytest.mark.parametrize(
    ("person", "field", "message"),
    [
        (
            {"account": "cus_123", "person": "person_1"},
            "account",
            "related_person.account must be an account id: acct_ then letters and digits, such "
            "as acct_123; got 'cus_123'.",
        ),
        (
            {"account": "acct_1", "person": "prsn_1"},
            "person",
            "related_person.person must be a person id: person_ then letters and digits, such "
            "as person_123; got 'prsn_1'.",
        ),
        (
            {"account": "acct_1", "person": ""},
            "person",
            "related_person.person must be a person id: person_ then letters and digits, such "
            "as person_123; got ''.",
        ),
        (
            {"account": "acct_" + "a" * 4996, "person": "person_1"},
            "account",
            "account can have up to 5000 characters, but you passed in 5001.",
        ),
    ],
)
def test_create_rejects_related_person_ids_of_the_wrong_shape(
    api: Api, person: dict[str, str], field: str, message: str
) -> None:
    # when
    payload = create(api, {"type": "DOCUMENT", "relatedPerson": person})
    # then
    assert payload == rejected(
        code="PARAMETER_INVALID", field=["relatedPerson", field], message=message
    )
    assert_nothing_stored(api)


def test_create_rejects_related_person_without_a_person_at_the_graphql_layer(api: Api) -> None:
    # when
    response = api.post(
        CREATE, {"input": {"type": "DOCUMENT", "relatedPerson": {"account": "acct_1"}}}
    )
    # then
    body = response.json()
    assert [error["extensions"]["code"] for error in body["errors"]] == ["BAD_USER_INPUT"]
    assert "person" in body["errors"][0]["message"]
    assert_nothing_stored(api)


def test_create_rejects_related_customer_of_5001_characters(api: Api) -> None:
    # when
    payload = create(api, {"type": "DOCUMENT", "relatedCustomer": "cus_" + "a" * 4997})
    # then
    assert payload == rejected(
        code="PARAMETER_INVALID",
        field=["relatedCustomer"],
        message="related_customer can have up to 5000 characters, but you passed in 5001.",
    )
    assert_nothing_stored(api)


def test_create_rejects_return_url_of_5001_characters(api: Api) -> None:
    # given
    return_url = "https://example.com/" + "a" * 4981
    # when
    payload = create(api, {"type": "DOCUMENT", "returnUrl": return_url})
    # then
    assert payload == rejected(
        code="PARAMETER_INVALID",
        field=["returnUrl"],
        message="return_url can have up to 5000 characters, but you passed in 5001.",
    )
    assert_nothing_stored(api)


def test_create_rejects_empty_allowed_types(api: Api) -> None:
    # when
    payload = create(api, {"type": "DOCUMENT", "options": {"document": {"allowedTypes": []}}})
    # then
    assert payload == rejected(
        code="PARAMETER_INVALID",
        field=["options", "document", "allowedTypes"],
        message=(
            "allowed_types must list at least one of driving_license, id_card, passport; "
            "omit it to allow all three."
        ),
    )
    assert_nothing_stored(api)


@pytest.mark.parametrize(
    ("input", "field", "name"),
    [
        ({"clientReferenceId": "ref\x00"}, ["clientReferenceId"], "client_reference_id"),
        ({"relatedCustomer": "cus_1\x00"}, ["relatedCustomer"], "related_customer"),
        ({"returnUrl": "https://example.com/\x00"}, ["returnUrl"], "return_url"),
        (
            {"providedDetails": {"email": "a\x00b@example.com"}},
            ["providedDetails", "email"],
            "email",
        ),
    ],
)
def test_create_rejects_nul_character_in_strings(
    api: Api, input: dict[str, Any], field: list[str], name: str
) -> None:
    # when
    payload = create(api, {"type": "DOCUMENT", **input})
    # then
    assert payload == rejected(
        code="PARAMETER_INVALID",
        field=field,
        message=f"{name} must not contain the NUL character (U+0000).",
    )
    assert_nothing_stored(api)


def test_create_with_nul_in_flow_id_is_resource_missing(api: Api) -> None:
    # when
    payload = create(api, {"verificationFlow": "vf_\x00"})
    # then
    assert payload == rejected(
        code="RESOURCE_MISSING",
        field=["verificationFlow"],
        message="No such verification flow: 'vf_\x00'",
    )
    assert_nothing_stored(api)


# -- metadata rules --------------------------------------------------------------------------------


def test_create_rejects_51_metadata_keys(api: Api) -> None:
    # given
    metadata = {f"key{index}": "v" for index in range(51)}
    # when
    payload = create(api, {"type": "DOCUMENT", "metadata": metadata})
    # then
    assert payload == rejected(
        code="PARAMETER_INVALID",
        field=["metadata"],
        message="Metadata can have up to 50 keys, but you've set 51.",
    )
    assert_nothing_stored(api)


def test_create_rejects_metadata_key_of_41_characters(api: Api) -> None:
    # given
    key = "k" * 41
    # when
    payload = create(api, {"type": "DOCUMENT", "metadata": {"ok": "1", key: "v"}})
    # then
    assert payload == rejected(
        code="PARAMETER_INVALID",
        field=["metadata", key],
        message=(
            "Metadata keys can have up to 40 characters, but you passed in a key that is 41 "
            f"characters. Invalid key: {key}"
        ),
    )
    assert_nothing_stored(api)


@pytest.mark.parametrize("key", ["order[1]", "order]", "[order", "[]"])
def test_create_rejects_metadata_key_with_square_bracket(api: Api, key: str) -> None:
    # when
    payload = create(api, {"type": "DOCUMENT", "metadata": {key: "v"}})
    # then
    assert payload == rejected(
        code="PARAMETER_INVALID",
        field=["metadata", key],
        message=f"Metadata keys may not contain '[' or ']'. Invalid key: {key}",
    )
    assert_nothing_stored(api)


def test_create_rejects_empty_metadata_key(api: Api) -> None:
    # when
    payload = create(api, {"type": "DOCUMENT", "metadata": {"": "v"}})
    # then
    assert payload == rejected(
        code="PARAMETER_INVALID", field=["metadata", ""], message="Metadata keys must not be empty."
    )
    assert_nothing_stored(api)


def test_create_rejects_metadata_value_of_501_characters(api: Api) -> None:
    # when
    payload = create(api, {"type": "DOCUMENT", "metadata": {"note": "v" * 501}})
    # then
    assert payload == rejected(
        code="PARAMETER_INVALID",
        field=["metadata", "note"],
        message=(
            "Metadata values can have up to 500 characters, but you passed in a value that is 501 "
            "characters. Invalid value for key: note"
        ),
    )
    assert_nothing_stored(api)


@pytest.mark.parametrize("value", [42, 1.5, True, None, ["a"], {"nested": "object"}])
def test_create_rejects_metadata_value_that_is_not_a_string(api: Api, value: Any) -> None:
    # when
    payload = create(api, {"type": "DOCUMENT", "metadata": {"count": value}})
    # then
    assert payload == rejected(
        code="PARAMETER_INVALID",
        field=["metadata", "count"],
        message="Metadata values must be strings, but the value for key count is not.",
    )
    assert_nothing_stored(api)


@pytest.mark.parametrize(("key", "value"), [("note", "a\x00b"), ("no\x00te", "ab")])
def test_create_rejects_nul_character_in_metadata(api: Api, key: str, value: str) -> None:
    # when
    payload = create(api, {"type": "DOCUMENT", "metadata": {key: value}})
    # then
    assert payload == rejected(
        code="PARAMETER_INVALID",
        field=["metadata", key],
        message=(
            "Metadata keys and values must not contain the NUL character (U+0000). "
            f"Invalid pair for key: {key!r}"
        ),
    )
    assert_nothing_stored(api)


@pytest.mark.parametrize("metadata", ["order=1", ["order", "1"], 7])
def test_create_rejects_metadata_that_is_not_an_object_as_bad_user_input(
    api: Api, metadata: Any
) -> None:
    # when
    response = api.post(CREATE, {"input": {"type": "DOCUMENT", "metadata": metadata}})
    # then
    assert response.status_code == 200
    body = response.json()
    assert "data" not in body
    assert [error["extensions"]["code"] for error in body["errors"]] == ["BAD_USER_INPUT"]
    assert (
        "Metadata must be a JSON object of string keys to string values"
        in body["errors"][0]["message"]
    )
    assert_nothing_stored(api)


# -- keys ------------------------------------------------------------------------------------------


def test_create_with_restricted_key_is_forbidden_and_writes_nothing(api: Api) -> None:
    # given
    restricted_key = api.new_key(restricted=True)
    # when
    response = api.post(CREATE, {"input": {"type": "DOCUMENT"}}, key=restricted_key)
    # then
    assert_forbidden(response, "createVerificationSession")
    assert total_count(api, key=restricted_key) == 0
    assert_nothing_stored(api)


def test_create_without_key_is_unauthenticated(api: Api) -> None:
    # when
    response = api.post(CREATE, {"input": {"type": "DOCUMENT"}}, key=None)
    # then
    assert response.status_code == 401
    body = response.json()
    assert [error["extensions"]["code"] for error in body["errors"]] == ["UNAUTHENTICATED"]
    assert body.get("data") is None
    assert_nothing_stored(api)


@pytest.mark.parametrize("bad_key", ["sk_test_" + "0" * 32, "rk_live_" + "0" * 32, "not-a-key"])
def test_create_with_unknown_key_is_unauthenticated(api: Api, bad_key: str) -> None:
    # when
    response = api.post(CREATE, {"input": {"type": "DOCUMENT"}}, key=bad_key)
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
    assert_nothing_stored(api)
