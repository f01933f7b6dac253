"""Event payloads: the session as a webhook would carry it.

`data.object` is the session in Stripe's shape (snake_case keys, lowercase enum strings, `created`
in unix seconds) without the client secret, the url or the verified outputs: an event must never
hand out a credential or the person's verified data. `data.previous_attributes` holds the old
values of the attributes the change touched.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from app.domain.verification import redact_person

SNAPSHOT_FIELDS = (
    "id",
    "object",
    "client_reference_id",
    "created",
    "last_error",
    "last_verification_report",
    "livemode",
    "metadata",
    "options",
    "provided_details",
    "redaction",
    "related_customer",
    "related_person",
    "status",
    "type",
    "verification_flow",
)


def snapshot(
    *,
    id: str,
    created: datetime,
    livemode: bool,
    status: str,
    type: str,
    client_reference_id: str | None,
    last_error: Mapping[str, Any] | None,
    last_verification_report: str | None,
    metadata: Mapping[str, str],
    options: Mapping[str, Any],
    provided_details: Mapping[str, Any] | None,
    redaction_status: str | None,
    related_customer: str | None,
    related_person: Mapping[str, str] | None,
    verification_flow: str | None,
) -> dict[str, Any]:
    """The session as an event's `data.object` carries it."""
    return {
        "id": id,
        "object": "identity.verification_session",
        "client_reference_id": client_reference_id,
        "created": int(created.timestamp()),
        "last_error": dict(last_error) if last_error is not None else None,
        "last_verification_report": last_verification_report,
        "livemode": livemode,
        "metadata": dict(metadata),
        "options": dict(options),
        "provided_details": dict(provided_details) if provided_details is not None else None,
        "redaction": {"status": redaction_status} if redaction_status is not None else None,
        "related_customer": related_customer,
        "related_person": dict(related_person) if related_person is not None else None,
        "status": status,
        "type": type,
        "verification_flow": verification_flow,
    }


def event_data(before: Mapping[str, Any] | None, after: Mapping[str, Any]) -> dict[str, Any]:
    previous = (
        {key: before[key] for key in SNAPSHOT_FIELDS if before.get(key) != after.get(key)}
        if before is not None
        else {}
    )
    return {"object": dict(after), "previous_attributes": previous}


def redact_event_data(data: Mapping[str, Any]) -> dict[str, Any]:
    """An event payload with the session's personal data erased, as the session itself is."""
    return {key: redact_snapshot(value) for key, value in data.items()}


def redact_snapshot(value: Mapping[str, Any]) -> dict[str, Any]:
    result = dict(value)
    if "metadata" in result:
        result["metadata"] = {}
    if result.get("provided_details") is not None:
        result["provided_details"] = redact_person(result["provided_details"])
    return result
