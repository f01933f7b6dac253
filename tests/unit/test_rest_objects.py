"""Stripe's report object (app.rest.objects.report_object) over a stored row, without a database:
what Stripe hides until expanded, and reports stored before an attribute existed."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from app.rest.objects import REPORT_EXPANDABLE, report_object

DOCUMENT: dict[str, Any] = {
    "status": "verified",
    "error": None,
    "first_name": "Jenny",
    "dob": {"day": 1, "month": 1, "year": 1901},
    "number": "D1234567",
    "expiration_date": {"day": 1, "month": 1, "year": 2031},
    "files": None,
    "sex": "female",
    "unparsed_place_of_birth": "Hamburg",
    "unparsed_sex": "F",
}
SENSITIVE = ("dob", "expiration_date", "number", "sex", "unparsed_place_of_birth", "unparsed_sex")


def row(**overrides: Any) -> SimpleNamespace:
    values: dict[str, Any] = {
        "id": "vr_" + "a" * 24,
        "client_reference_id": None,
        "created": datetime(2026, 1, 31, tzinfo=UTC),
        "livemode": False,
        "options": {},
        "type": "document",
        "verification_flow": None,
        "session_id": "vs_" + "a" * 24,
        "document": DOCUMENT,
        "email": None,
        "id_number": None,
        "phone": None,
        "selfie": None,
    }
    return SimpleNamespace(**{**values, **overrides})


def test_a_reports_sex_and_printed_values_are_expandable_as_on_stripe() -> None:
    # then
    assert {f"document.{part}" for part in SENSITIVE} <= REPORT_EXPANDABLE


def test_a_reports_sensitive_document_parts_are_null_unless_expanded() -> None:
    # when
    plain = report_object(row(), expand=set())["document"]
    expanded = report_object(row(), expand={f"document.{part}" for part in SENSITIVE})["document"]
    # then
    assert {part: plain[part] for part in SENSITIVE} == dict.fromkeys(SENSITIVE)
    assert expanded == DOCUMENT


def test_a_report_stored_before_the_new_document_attributes_reads_them_as_null() -> None:
    # given
    old = {
        key: value
        for key, value in DOCUMENT.items()
        if key not in ("files", "sex", "unparsed_place_of_birth", "unparsed_sex")
    }
    # when
    found = report_object(row(document=old), expand={"document.sex"})["document"]
    # then
    assert (found["files"], found["sex"], found["unparsed_place_of_birth"]) == (None, None, None)


def test_a_report_names_its_sessions_verification_flow() -> None:
    # when
    found = report_object(row(verification_flow="vf_" + "b" * 24), expand=set())
    # then
    assert found["verification_flow"] == "vf_" + "b" * 24
