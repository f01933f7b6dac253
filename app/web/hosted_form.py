"""The hosted page's test-mode form: its fields, how a post is read into a tester's choice, and
its HTML.

Four plain forms post back to the page's own url: verify (with editable test data prefilled from
Stripe's test person), fail (with any last-error code), and abandon / decline consent (two buttons
carrying those codes). A rejected post renders the forms again with the tester's values and a
message naming the field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from html import escape
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request

from app.domain.errors import InvalidParameter
from app.domain.lifecycle import FAILURE_REASONS
from app.domain.sessions import IdNumberType, LastErrorCode, Status
from app.domain.verification import TEST_PERSON
from app.services.sessions import Choice

# Far above the largest real form (13 fields of at most 5000 characters, percent-encoded).
MAX_BODY_BYTES = 256 * 1024
FORM_TYPE = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class _Input:
    """One test-data field of the verify form; `path` is its place in `verified_outputs`."""

    name: str
    label: str
    path: tuple[str, ...]
    type: str = "text"
    required: bool = True


_PERSON_INPUTS = (
    _Input("first_name", "First name", ("first_name",)),
    _Input("last_name", "Last name", ("last_name",)),
    _Input("dob", "Date of birth", ("dob",), type="date"),
    _Input("address_line1", "Address line 1", ("address", "line1")),
    _Input("address_line2", "Address line 2", ("address", "line2"), required=False),
    _Input("address_city", "City", ("address", "city")),
    _Input("address_state", "State or region", ("address", "state"), required=False),
    _Input("address_postal_code", "Postal code", ("address", "postal_code"), required=False),
    _Input("address_country", "Country (two-letter code)", ("address", "country")),
    _Input("id_number_type", "ID number type", ("id_number_type",), type="select"),
    _Input("id_number", "ID number", ("id_number",)),
    _Input("email", "Email", ("email",), type="email"),
    _Input("phone", "Phone", ("phone",), type="tel"),
)
_ID_NUMBER_TYPES = {
    IdNumberType.BR_CPF: "Brazilian CPF",
    IdNumberType.SG_NRIC: "Singapore NRIC",
    IdNumberType.US_SSN: "US Social Security number",
}
# Where a rejected field is on the page: its label, and the id of its control ("" for none).
_FIELDS: dict[tuple[str, ...], tuple[str, str]] = {
    ("verified_outputs", *item.path): (item.label, item.name) for item in _PERSON_INPUTS
} | {("outcome",): ("Choice", ""), ("last_error_code",): ("Last error code", "last_error_code")}
_DATE = re.compile(r"^([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})\Z")
_INVALID = ' aria-invalid="true" aria-describedby="problem"'


class UnreadableForm(Exception):
    """The body is not a form this page can read; `status` is the HTTP status to answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


async def read_form(request: Request) -> dict[str, str]:
    """The posted fields, the first value of each.

    Raises:
        UnreadableForm: not form-encoded (415), too large (413) or malformed (400).
    """
    content_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if content_type != FORM_TYPE:
        raise UnreadableForm(415, f"Send the page's form, encoded as {FORM_TYPE}.")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise UnreadableForm(413, "The form is too large.")
    try:
        fields = parse_qs(
            body.decode("utf-8"),
            keep_blank_values=True,
            encoding="utf-8",
            errors="strict",
            max_num_fields=100,
        )
    except ValueError:  # UnicodeDecodeError included
        raise UnreadableForm(400, "The form could not be read.") from None
    return {name: values[0] for name, values in fields.items()}


def tester_choice(form: Mapping[str, str]) -> Choice:
    """The tester's choice as the form gives it (the submit checks it against the domain's
    rules).

    Raises:
        InvalidParameter: an unknown choice or code, or test data that breaks a rule.
    """
    outcome = form.get("outcome", "")
    # Processing is a simulation outcome, not something a user can end an attempt with.
    if outcome not in (Status.VERIFIED, Status.REQUIRES_INPUT):
        raise InvalidParameter(
            "choose Verify, Fail, Abandon or Decline consent.", field=["outcome"]
        )
    code = form.get("last_error_code") or None
    if code is not None and code not in LastErrorCode.__members__.values():
        raise InvalidParameter(
            "choose one of the listed last error codes.", field=["last_error_code"]
        )
    person = _person(form) if outcome == Status.VERIFIED else None
    return Choice(outcome=outcome, last_error_code=code, person=person)


def _person(form: Mapping[str, str]) -> dict[str, Any]:
    """The verify form's test data in the shape of `verified_outputs`; the domain checks it."""
    person: dict[str, Any] = {}
    address: dict[str, str | None] = {}
    for item in _PERSON_INPUTS:
        value = form.get(item.name, "").strip()
        if not value and item.required:
            raise InvalidParameter(
                "this field is required.", field=["verified_outputs", *item.path]
            )
        if item.name == "dob":
            match = _DATE.match(value)
            # A date of another shape reaches the domain as no date, so its message applies.
            person["dob"] = (
                dict(zip(("year", "month", "day"), match.groups(), strict=True)) if match else {}
            )
        elif item.path[0] == "address":
            address[item.path[1]] = value or None
        else:
            person[item.path[0]] = value
    person["address"] = address
    return person


def render(*, values: Mapping[str, str] | None, problem: InvalidParameter | None) -> str:
    """The forms, prefilled with `values` (the test person when None), and the problem of a
    rejected post, naming its field, with that field's control marked invalid."""
    html = ""
    invalid = ""
    if problem is not None:
        label, invalid = _FIELDS.get(tuple(problem.field or ()), ("Form", ""))
        html += (
            '<p class="problem" role="alert" id="problem">'
            f"{escape(label)}: {escape(problem.message)}</p>"
        )
    values = values if values is not None else _test_person()
    inputs = "".join(
        f'<label for="{item.name}">{escape(item.label)}</label>'
        + _control(item, values.get(item.name, ""), invalid=item.name == invalid)
        for item in _PERSON_INPUTS
    )
    codes = "".join(
        f'<option value="{escape(code.value)}">{escape(code.value)}: '
        f"{escape(FAILURE_REASONS[code])}</option>"
        for code in LastErrorCode
    )
    code_invalid = _INVALID if invalid == "last_error_code" else ""
    return html + (
        '<p class="notice">Test mode: nothing is really checked. Choose the outcome, and use test '
        "data only, never real personal data.</p>"
        '<h2 id="verify-heading">Verify</h2>'
        '<form method="post" autocomplete="off" aria-labelledby="verify-heading">'
        '<input type="hidden" name="outcome" value="verified">'
        f'{inputs}<button type="submit">Verify</button></form>'
        '<h2 id="fail-heading">Fail</h2>'
        '<form method="post" aria-labelledby="fail-heading">'
        '<input type="hidden" name="outcome" value="requires_input">'
        '<label for="last_error_code">Last error code</label>'
        f'<select id="last_error_code" name="last_error_code"{code_invalid}>{codes}</select>'
        '<button type="submit">Fail</button></form>'
        '<h2 id="leave-heading">Leave without verifying</h2>'
        '<form method="post" aria-labelledby="leave-heading">'
        '<input type="hidden" name="outcome" value="requires_input">'
        f'<button type="submit" name="last_error_code" value="{LastErrorCode.ABANDONED.value}">'
        "Abandon</button>"
        '<button type="submit" name="last_error_code" '
        f'value="{LastErrorCode.CONSENT_DECLINED.value}">Decline consent</button></form>'
    )


def _test_person() -> dict[str, str]:
    """The verify form's prefilled values: Stripe's test person."""
    dob = TEST_PERSON["dob"]
    values = {"dob": f"{dob['year']:04d}-{dob['month']:02d}-{dob['day']:02d}"}
    for item in _PERSON_INPUTS:
        if item.name != "dob":
            value: Any = TEST_PERSON
            for key in item.path:
                value = value[key]
            values[item.name] = "" if value is None else str(value)
    return values


def _control(item: _Input, value: str, *, invalid: bool) -> str:
    attributes = f'id="{item.name}" name="{item.name}"' + (" required" if item.required else "")
    if invalid:
        attributes += _INVALID
    if item.type == "select":
        options = "".join(
            f'<option value="{escape(kind.value)}"{" selected" if kind == value else ""}>'
            f"{escape(label)} ({escape(kind.value)})</option>"
            for kind, label in _ID_NUMBER_TYPES.items()
        )
        return f"<select {attributes}>{options}</select>"
    return f'<input {attributes} type="{item.type}" value="{escape(value)}">'
