"""VerificationSession rules (app.domain.sessions), without a database."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app.domain import ids
from app.domain.errors import (
    DomainError,
    ErrorCode,
    InvalidParameter,
    InvalidState,
    MissingParameter,
    ResourceMissing,
)
from app.domain.sessions import (
    FLOW_ONLY_OPTIONS,
    KEEP,
    SessionCreate,
    SessionUpdate,
    Status,
    check_create,
    check_customer,
    check_input_type,
    check_options,
    check_provided_details,
    check_related_person,
    check_return_url,
    check_string,
    check_update,
    flow_session_values,
    fresh_credentials,
    hosted_url,
)

NOW = datetime(2026, 1, 31, 12, 0, 0, 123456, tzinfo=UTC)
SELFIE = {"document": {"require_matching_selfie": True}}


def update_of(
    update: SessionUpdate,
    *,
    status: str = "requires_input",
    redacted: bool = False,
    metadata: Mapping[str, str] | None = None,
    options: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """check_update for a session in requires_input (unless overridden) with the given state."""
    return check_update(
        status=status,
        redacted=redacted,
        current_metadata=metadata or {},
        current_options=options or {},
        update=update,
    )


# -- errors ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (InvalidParameter, "parameter_invalid"),
        (MissingParameter, "parameter_missing"),
        (ResourceMissing, "resource_missing"),
        (InvalidState, "invalid_state"),
    ],
)
def test_each_domain_error_has_its_stable_code(error: type[DomainError], code: str) -> None:
    # when
    raised = error("why", field=("a", "b"))
    # then
    assert raised.code == ErrorCode(code)
    assert (raised.message, raised.field, str(raised)) == ("why", ["a", "b"], "why")


# -- create ----------------------------------------------------------------------------------------


def test_check_create_returns_every_value_to_store() -> None:
    # given
    params = SessionCreate(
        type="document",
        client_reference_id="ref-1",
        metadata={"a": "1", "dropped": ""},
        options={"document": {"allowed_types": ["passport"], "require_id_number": True}},
        provided_details={"email": "jenny@example.com", "phone": "+14155550123"},
        related_customer="cus_123",
        related_person={"account": "acct_123", "person": "person_456"},
        return_url="https://example.com/done",
    )
    # when
    values = check_create(params)
    # then
    assert values == {
        "type": "document",
        "client_reference_id": "ref-1",
        "related_customer": "cus_123",
        "related_person": {"account": "acct_123", "person": "person_456"},
        "return_url": "https://example.com/done",
        "metadata": {"a": "1"},
        "options": {"document": {"allowed_types": ["passport"], "require_id_number": True}},
        "provided_details": {"email": "jenny@example.com", "phone": "+14155550123"},
    }


def test_check_create_with_only_a_type_has_empty_defaults() -> None:
    # when
    values = check_create(SessionCreate(type="id_number"))
    # then
    assert values == {
        "type": "id_number",
        "client_reference_id": None,
        "related_customer": None,
        "related_person": None,
        "return_url": None,
        "metadata": {},
        "options": {},
        "provided_details": None,
    }


def test_check_create_without_type_or_flow_is_missing_parameter() -> None:
    # when
    with pytest.raises(MissingParameter) as raised:
        check_create(SessionCreate(client_reference_id="ref"))
    # then
    assert raised.value.field == ["type"]
    assert raised.value.message == (
        "Missing required param: type. Provide a type (document or id_number) or a verification_flow."
    )


def test_check_create_with_type_and_flow_is_invalid() -> None:
    # when
    with pytest.raises(InvalidParameter) as raised:
        check_create(SessionCreate(type="document", verification_flow="vf_123"))
    # then
    assert raised.value.field == ["type"]
    assert "both type and verification_flow" in raised.value.message


def test_check_create_with_flow_leaves_type_and_options_to_the_flow() -> None:
    # when
    values = check_create(SessionCreate(verification_flow="vf_123", metadata={"a": "1"}))
    # then
    assert "type" not in values
    assert values["options"] == {}
    assert values["metadata"] == {"a": "1"}


def test_check_create_with_flow_rejects_options() -> None:
    # when
    with pytest.raises(InvalidParameter) as raised:
        check_create(SessionCreate(verification_flow="vf_123", options=SELFIE))
    # then
    assert raised.value.field == ["options"]
    assert raised.value.message == (
        "You cannot provide both options and verification_flow: a session made from a "
        "verification flow takes its options from the flow."
    )


def test_check_create_with_flow_accepts_empty_options() -> None:
    # when
    values = check_create(SessionCreate(verification_flow="vf_123", options={}))
    # then
    assert values["options"] == {}


def test_check_create_rejects_verification_flow_type() -> None:
    # when
    with pytest.raises(InvalidParameter) as raised:
        check_create(SessionCreate(type="verification_flow"))
    # then
    assert raised.value.field == ["type"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        (SessionCreate(type="document", client_reference_id="r" * 5001), ["client_reference_id"]),
        (SessionCreate(type="document", related_customer="cust_1"), ["related_customer"]),
        (
            SessionCreate(type="document", related_person={"account": "a", "person": "person_1"}),
            ["related_person", "account"],
        ),
        (SessionCreate(type="document", return_url="/done"), ["return_url"]),
        (SessionCreate(type="document", metadata={"a[0]": "v"}), ["metadata", "a[0]"]),
        (SessionCreate(type="document", options={"selfie": {}}), ["options", "selfie"]),
        (
            SessionCreate(type="document", provided_details={"phone": "555"}),
            ["provided_details", "phone"],
        ),
    ],
)
def test_check_create_names_the_offending_field(params: SessionCreate, field: list[str]) -> None:
    # when
    with pytest.raises(InvalidParameter) as raised:
        check_create(params)
    # then
    assert raised.value.field == field


# -- single values ---------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["document", "id_number"])
def test_check_input_type_accepts_document_and_id_number(value: str) -> None:
    # then
    assert check_input_type(value) == value


@pytest.mark.parametrize("value", ["verification_flow", "DOCUMENT", "selfie", ""])
def test_check_input_type_rejects_anything_else(value: str) -> None:
    # when
    with pytest.raises(InvalidParameter) as raised:
        check_input_type(value)
    # then
    assert raised.value.field == ["type"]
    assert raised.value.message.startswith(f"Invalid type: {value!r}.")


def test_check_string_accepts_5000_characters_and_none() -> None:
    # then
    assert check_string("x" * 5000, field=["client_reference_id"]) == "x" * 5000
    assert check_string(None, field=["client_reference_id"]) is None


def test_check_string_rejects_5001_characters() -> None:
    # when
    with pytest.raises(InvalidParameter) as raised:
        check_string("x" * 5001, field=["provided_details", "email"])
    # then
    assert raised.value.field == ["provided_details", "email"]
    assert raised.value.message == "email can have up to 5000 characters, but you passed in 5001."


def test_check_string_rejects_nul_character() -> None:
    # when
    with pytest.raises(InvalidParameter) as raised:
        check_string("a\x00b", field=["client_reference_id"])
    # then
    assert raised.value.field == ["client_reference_id"]
    assert (
        raised.value.message == "client_reference_id must not contain the NUL character (U+0000)."
    )


@pytest.mark.parametrize("value", ["cus_123", "cus_NffrFeUfNV2Hib", None])
def test_check_customer_accepts_customer_ids(value: str | None) -> None:
    # then
    assert check_customer(value) == value


@pytest.mark.parametrize("value", ["cus_", "cust_1", "CUS_1", "cus_1-2", "cus_1 ", "", "acct_1"])
def test_check_customer_rejects_other_strings(value: str) -> None:
    # when
    with pytest.raises(InvalidParameter) as raised:
        check_customer(value)
    # then
    assert raised.value.field == ["related_customer"]
    assert (
        raised.value.message
        == f"related_customer must be a customer id such as cus_123, got {value!r}."
    )


@pytest.mark.parametrize(
    "value",
    [
        None,
        {"account": "acct_123", "person": "person_456"},
        {"account": "acct_1032D82eZvKYlo2C", "person": "person_1MqjB62eZvKYlo2C"},
    ],
)
def test_check_related_person_accepts_an_account_and_a_person(value: Any) -> None:
    # then
    assert check_related_person(value) == value


def test_check_related_person_copies_what_it_is_given() -> None:
    # given
    given = {"account": "acct_1", "person": "person_1"}
    # when
    found = check_related_person(given)
    given["account"] = "acct_2"
    # then
    assert found == {"account": "acct_1", "person": "person_1"}


@pytest.mark.parametrize(
    ("value", "key"),
    [
        ({"person": "person_1"}, "account"),
        ({"account": "acct_1"}, "person"),
        ({"account": "acct_1", "person": None}, "person"),
        ({}, "account"),
    ],
)
def test_check_related_person_needs_both_ids(value: dict[str, Any], key: str) -> None:
    # when
    with pytest.raises(MissingParameter) as raised:
        check_related_person(value)
    # then
    assert raised.value.field == ["related_person", key]
    assert raised.value.message == (
        f"Missing required param: related_person.{key}. related_person needs both account and "
        "person."
    )


@pytest.mark.parametrize(
    ("key", "value", "rule"),
    [
        ("account", "acct_", "an account id: acct_ then letters and digits, such as acct_123"),
        ("account", "person_1", "an account id: acct_ then letters and digits, such as acct_123"),
        ("account", "ACCT_1", "an account id: acct_ then letters and digits, such as acct_123"),
        ("account", "acct_1-2", "an account id: acct_ then letters and digits, such as acct_123"),
        ("person", "per_1", "a person id: person_ then letters and digits, such as person_123"),
        ("person", "person_1 ", "a person id: person_ then letters and digits, such as person_123"),
        ("person", "", "a person id: person_ then letters and digits, such as person_123"),
    ],
)
def test_check_related_person_rejects_ids_of_the_wrong_shape(
    key: str, value: str, rule: str
) -> None:
    # given
    given = {"account": "acct_1", "person": "person_1", key: value}
    # when
    with pytest.raises(InvalidParameter) as raised:
        check_related_person(given)
    # then
    assert raised.value.field == ["related_person", key]
    assert raised.value.message == f"related_person.{key} must be {rule}; got {value!r}."


def test_check_related_person_rejects_a_value_that_is_not_text() -> None:
    # when
    with pytest.raises(InvalidParameter) as raised:
        check_related_person({"account": ["acct_1"], "person": "person_1"})
    # then
    assert raised.value.field == ["related_person", "account"]


def test_check_related_person_rejects_an_id_over_5000_characters() -> None:
    # when
    with pytest.raises(InvalidParameter) as raised:
        check_related_person({"account": "acct_1", "person": "person_" + "a" * 4994})
    # then
    assert raised.value.field == ["related_person", "person"]
    assert raised.value.message == "person can have up to 5000 characters, but you passed in 5001."


def test_check_related_person_rejects_an_unknown_key() -> None:
    # when
    with pytest.raises(InvalidParameter) as raised:
        check_related_person({"account": "acct_1", "person": "person_1", "customer": "cus_1"})
    # then
    assert raised.value.field == ["related_person", "customer"]
    assert raised.value.message == (
        "Unknown field 'customer'; related_person holds account and person."
    )


@pytest.mark.parametrize(
    "value",
    ["https://example.com", "http://localhost:8000/done?x=1#y", "HTTPS://EXAMPLE.COM/", None],
)
def test_check_return_url_accepts_absolute_http_urls(value: str | None) -> None:
    # then
    assert check_return_url(value) == value


@pytest.mark.parametrize(
    "value",
    [
        "/done",
        "example.com",
        "//example.com",
        "ftp://example.com",
        "mailto:a@b.c",
        "https://",
        "http:/x",
        "",
    ],
)
def test_check_return_url_rejects_relative_and_non_http_urls(value: str) -> None:
    # when
    with pytest.raises(InvalidParameter) as raised:
        check_return_url(value)
    # then
    assert raised.value.field == ["return_url"]
    assert (
        raised.value.message
        == "return_url must be an absolute http or https URL, such as https://example.com/done."
    )


# -- options ---------------------------------------------------------------------------------------


def test_check_options_keeps_only_given_document_flags() -> None:
    # when
    result = check_options({"document": {"require_live_capture": False, "require_id_number": None}})
    # then
    assert result == {"document": {"require_live_capture": False}}


def test_check_options_drops_repeated_allowed_types_keeping_order() -> None:
    # when
    result = check_options({"document": {"allowed_types": ["passport", "id_card", "passport"]}})
    # then
    assert result == {"document": {"allowed_types": ["passport", "id_card"]}}


def test_check_options_skips_null_document() -> None:
    # then
    assert check_options({"document": None}) == {}


@pytest.mark.parametrize("allowed_types", [[], "passport", ["passport", "selfie"], ["PASSPORT"]])
def test_check_options_rejects_bad_allowed_types(allowed_types: Any) -> None:
    # when
    with pytest.raises(InvalidParameter) as raised:
        check_options({"document": {"allowed_types": allowed_types}})
    # then
    assert raised.value.field == ["options", "document", "allowed_types"]


def test_check_options_rejects_unknown_document_flag() -> None:
    # when
    with pytest.raises(InvalidParameter) as raised:
        check_options({"document": {"require_selfie": True}})
    # then
    assert raised.value.field == ["options", "document", "require_selfie"]


@pytest.mark.parametrize("value", ["yes", 1, 0])
def test_check_options_rejects_flag_that_is_not_a_boolean(value: Any) -> None:
    # when
    with pytest.raises(InvalidParameter) as raised:
        check_options({"document": {"require_id_number": value}})
    # then
    assert raised.value.field == ["options", "document", "require_id_number"]
    assert raised.value.message == "require_id_number must be true or false."


def test_check_options_rejects_document_that_is_not_an_object() -> None:
    # when
    with pytest.raises(InvalidParameter) as raised:
        check_options({"document": ["passport"]})
    # then
    assert raised.value.field == ["options", "document"]


@pytest.mark.parametrize("name", ["email", "phone"])
def test_check_options_refuses_email_and_phone_from_callers(name: str) -> None:
    # when
    with pytest.raises(InvalidParameter) as raised:
        check_options({name: {"require_verification": True}})
    # then
    assert raised.value.field == ["options", name]


@pytest.mark.parametrize("name", FLOW_ONLY_OPTIONS)
def test_check_options_says_a_flow_only_option_comes_from_a_flow(name: str) -> None:
    # when
    with pytest.raises(InvalidParameter) as raised:
        check_options({name: {}})
    # then
    assert raised.value.field == ["options", name]
    assert raised.value.message == (
        f"options.{name} is set only by a verification flow; a session's own options may hold: "
        "document."
    )


def test_check_options_accepts_matching_and_id_number_from_flows() -> None:
    # when
    result = check_options(
        {"matching": {"dob": "similar", "name": "none"}, "id_number": {}}, allow_output_only=True
    )
    # then
    assert result == {"matching": {"dob": "similar", "name": "none"}, "id_number": {}}


def test_check_options_keeps_only_the_given_matching_policies() -> None:
    # when
    result = check_options({"matching": {"dob": None, "name": "similar"}}, allow_output_only=True)
    # then
    assert result == {"matching": {"name": "similar"}}


@pytest.mark.parametrize("value", ["SIMILAR", "exact", "", True, 1])
def test_check_options_rejects_a_matching_policy_that_is_not_none_or_similar(value: Any) -> None:
    # when
    with pytest.raises(InvalidParameter) as raised:
        check_options({"matching": {"dob": value}}, allow_output_only=True)
    # then
    assert raised.value.field == ["options", "matching", "dob"]
    assert raised.value.message == (
        f"options.matching.dob must be none or similar, got {str(value)!r}."
    )


def test_check_options_rejects_an_unknown_matching_field() -> None:
    # when
    with pytest.raises(InvalidParameter) as raised:
        check_options({"matching": {"address": "similar"}}, allow_output_only=True)
    # then
    assert raised.value.field == ["options", "matching", "address"]
    assert raised.value.message == (
        "Unknown option 'address'; options.matching may hold: dob, name."
    )


def test_check_options_rejects_settings_in_id_number() -> None:
    # when
    with pytest.raises(InvalidParameter) as raised:
        check_options({"id_number": {"require": True}}, allow_output_only=True)
    # then
    assert raised.value.field == ["options", "id_number", "require"]
    assert raised.value.message == (
        "options.id_number takes no settings: give it as an empty object."
    )


@pytest.mark.parametrize("name", ["matching", "id_number"])
def test_check_options_rejects_matching_or_id_number_that_is_not_an_object(name: str) -> None:
    # when
    with pytest.raises(InvalidParameter) as raised:
        check_options({name: "similar"}, allow_output_only=True)
    # then
    assert raised.value.field == ["options", name]
    assert raised.value.message == f"options.{name} must be an object."


def test_check_update_keeps_a_flows_matching_and_id_number_options() -> None:
    # given
    current = {"matching": {"dob": "similar"}, "id_number": {}, "document": {}}
    # when
    changes = update_of(SessionUpdate(options=SELFIE), options=current)
    # then
    assert changes == {"options": {"matching": {"dob": "similar"}, "id_number": {}, **SELFIE}}


def test_check_update_refuses_matching_from_the_caller() -> None:
    # when
    with pytest.raises(InvalidParameter) as raised:
        update_of(SessionUpdate(options={"matching": {"dob": "similar"}}))
    # then
    assert raised.value.field == ["options", "matching"]


def test_check_options_accepts_email_and_phone_from_flows() -> None:
    # when
    result = check_options(
        {"email": {"require_verification": True}, "phone": {"require_verification": False}},
        allow_output_only=True,
    )
    # then
    assert result == {
        "email": {"require_verification": True},
        "phone": {"require_verification": False},
    }


# -- provided details ------------------------------------------------------------------------------


def test_check_provided_details_none_and_empty() -> None:
    # then
    assert check_provided_details(None) is None
    assert check_provided_details({}) == {}
    assert check_provided_details({"email": None, "phone": None}) == {}


@pytest.mark.parametrize("email", ["jenny@example.com", "j.r+tag@sub.example.co.uk", "a@b.cd"])
def test_check_provided_details_accepts_email_shapes(email: str) -> None:
    # then
    assert check_provided_details({"email": email}) == {"email": email}


@pytest.mark.parametrize(
    "email", ["jenny", "jenny@example", "@example.com", "jenny@", "a@b@c.de", "a b@c.de", "a@b.c."]
)
def test_check_provided_details_rejects_malformed_email(email: str) -> None:
    # when
    with pytest.raises(InvalidParameter) as raised:
        check_provided_details({"email": email})
    # then
    assert raised.value.field == ["provided_details", "email"]


@pytest.mark.parametrize("phone", ["+14155550123", "+1234567", "+123456789012345"])
def test_check_provided_details_accepts_e164_phone(phone: str) -> None:
    # then
    assert check_provided_details({"phone": phone}) == {"phone": phone}


@pytest.mark.parametrize(
    "phone",
    ["14155550123", "+0415555012", "+123456", "+1234567890123456", "+1 4155550123", "+1415555012x"],
)
def test_check_provided_details_rejects_phone_not_in_e164(phone: str) -> None:
    # when
    with pytest.raises(InvalidParameter) as raised:
        check_provided_details({"phone": phone})
    # then
    assert raised.value.field == ["provided_details", "phone"]


# -- update ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["processing", "verified", "canceled"])
def test_check_update_refuses_every_status_but_requires_input(status: str) -> None:
    # when
    with pytest.raises(InvalidState) as raised:
        update_of(SessionUpdate(type="id_number"), status=status)
    # then
    assert raised.value.field is None
    assert raised.value.message == (
        f'You cannot update this VerificationSession because it has a status of "{status}". '
        'Only a VerificationSession in "requires_input" status may be updated.'
    )


def test_check_update_refuses_redacted_session_before_looking_at_status() -> None:
    # when
    with pytest.raises(InvalidState) as raised:
        update_of(SessionUpdate(), status="canceled", redacted=True)
    # then
    assert (
        raised.value.message
        == "You cannot update this VerificationSession because it has been redacted."
    )


def test_check_update_checks_state_before_values() -> None:
    # when
    with pytest.raises(InvalidState):
        update_of(SessionUpdate(metadata={"bad[key]": "v"}), status="verified")


def test_check_update_with_nothing_given_changes_nothing() -> None:
    # when
    changes = update_of(SessionUpdate(), metadata={"a": "1"}, options=SELFIE)
    # then
    assert changes == {}


def test_check_update_changes_type() -> None:
    # then
    assert update_of(SessionUpdate(type="id_number")) == {"type": "id_number"}


@pytest.mark.parametrize("value", [None, "verification_flow"])
def test_check_update_rejects_clearing_or_flow_type(value: str | None) -> None:
    # when
    with pytest.raises(InvalidParameter) as raised:
        update_of(SessionUpdate(type=value))
    # then
    assert raised.value.field == ["type"]


def test_check_update_merges_metadata() -> None:
    # when
    changes = update_of(SessionUpdate(metadata={"a": "", "c": "3"}), metadata={"a": "1", "b": "2"})
    # then
    assert changes == {"metadata": {"b": "2", "c": "3"}}


def test_check_update_with_null_metadata_clears_it() -> None:
    # then
    assert update_of(SessionUpdate(metadata=None), metadata={"a": "1"}) == {"metadata": {}}


def test_check_update_replaces_document_options_whole() -> None:
    # given
    current = {"document": {"allowed_types": ["passport"], "require_id_number": True}}
    # when
    changes = update_of(SessionUpdate(options=SELFIE), options=current)
    # then
    assert changes == {"options": SELFIE}


@pytest.mark.parametrize("options", [None, {"document": None}])
def test_check_update_null_document_or_options_clears_document_keeping_flow_checks(
    options: dict[str, Any] | None,
) -> None:
    # given
    current = {"document": {"require_id_number": True}, "email": {"require_verification": True}}
    # when
    changes = update_of(SessionUpdate(options=options), options=current)
    # then
    assert changes == {"options": {"email": {"require_verification": True}}}


def test_check_update_empty_options_keep_document() -> None:
    # when
    changes = update_of(SessionUpdate(options={}), options=SELFIE)
    # then
    assert changes == {"options": SELFIE}


def test_check_update_does_not_modify_current_options() -> None:
    # given
    current = {"document": {"require_id_number": True}}
    # when
    update_of(SessionUpdate(options=None), options=current)
    # then
    assert current == {"document": {"require_id_number": True}}


def test_check_update_replaces_or_clears_provided_details() -> None:
    # then
    assert update_of(SessionUpdate(provided_details={"email": "a@b.cd"})) == {
        "provided_details": {"email": "a@b.cd"}
    }
    assert update_of(SessionUpdate(provided_details=None)) == {"provided_details": None}


def test_session_update_defaults_to_keeping_every_field() -> None:
    # when
    update = SessionUpdate()
    # then
    assert (update.metadata, update.options, update.provided_details, update.type) == (
        KEEP,
        KEEP,
        KEEP,
        KEEP,
    )
    assert repr(KEEP) == "KEEP"


# -- credentials and flows -------------------------------------------------------------------------


def test_fresh_credentials_have_the_documented_shapes_and_lifetimes() -> None:
    # given
    session_id = ids.new_id(ids.SESSION)
    # when
    credentials = fresh_credentials(session_id=session_id, now=NOW)
    # then
    assert re.fullmatch(rf"{session_id}_secret_[0-9A-Za-z]{{24}}", credentials["client_secret"])
    assert re.fullmatch(r"[0-9A-Za-z]{32}", credentials["url_token"])
    assert credentials["client_secret_expires_at"] == NOW + timedelta(hours=24)
    assert credentials["url_expires_at"] == NOW + timedelta(hours=48)


def test_fresh_credentials_differ_each_time() -> None:
    # when
    first = fresh_credentials(session_id="vs_1", now=NOW)
    second = fresh_credentials(session_id="vs_1", now=NOW)
    # then
    assert first["client_secret"] != second["client_secret"]
    assert first["url_token"] != second["url_token"]


def test_hosted_url_is_the_verify_path_under_the_public_base_url() -> None:
    # then
    assert (
        hosted_url(public_base_url="https://id.example.com", url_token="abc")
        == "https://id.example.com/verify/abc"
    )


def test_flow_session_values_copy_the_flow_options() -> None:
    # given
    flow_options = {"document": {"require_id_number": True}}
    # when
    values = flow_session_values(flow_id="vf_1", flow_options=flow_options)
    flow_options["email"] = {"require_verification": True}
    # then
    assert values == {
        "type": "verification_flow",
        "verification_flow": "vf_1",
        "options": {"document": {"require_id_number": True}},
    }


def test_new_session_id_is_vs_and_24_base62_characters() -> None:
    # when
    session_id = ids.new_id(ids.SESSION)
    # then
    assert re.fullmatch(r"vs_[0-9A-Za-z]{24}", session_id)
    assert ids.prefix_of(session_id) == "vs"


@pytest.mark.parametrize(
    "value", ["vs_123", "vs_" + "a" * 25, "not-an-id", "", "vs_\x00" + "a" * 23]
)
def test_prefix_of_is_none_for_malformed_ids(value: str) -> None:
    # then
    assert ids.prefix_of(value) is None


def test_statuses_are_stripes_values() -> None:
    # then
    assert [status.value for status in Status] == [
        "requires_input",
        "processing",
        "verified",
        "canceled",
    ]
