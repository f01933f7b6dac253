"""Stored rows and records as Stripe's JSON objects: `created` in unix seconds, `null` for the
attributes Stripe always sends, expandable attributes only when expanded."""

from __future__ import annotations

from typing import Any

from app.domain.sessions import hosted_url

SESSION_EXPANDABLE = frozenset(
    {
        "last_verification_report",
        "verified_outputs",
        "verified_outputs.dob",
        "verified_outputs.id_number",
        "provided_details",
    }
)


def unix(value: Any) -> int:
    return int(value.timestamp())


def session_object(
    row: Any, *, public_base_url: str, may_see_secrets: bool, expand: frozenset[str] | set[str]
) -> dict[str, Any]:
    """A VerificationSession as Stripe answers it. Expandable: `provided_details`,
    `verified_outputs` (its `dob` and `id_number` only as `verified_outputs.dob` and
    `verified_outputs.id_number`, as Stripe has it); `last_verification_report` is the report's
    id here, which the caller replaces with the report when it is expanded."""
    outputs = None
    if "verified_outputs" in expand and row.verified_outputs is not None:
        outputs = dict(row.verified_outputs)
        for part in ("dob", "id_number"):
            if f"verified_outputs.{part}" not in expand:
                outputs[part] = None
    return {
        "id": row.id,
        "object": "identity.verification_session",
        "client_reference_id": row.client_reference_id,
        "client_secret": row.client_secret if may_see_secrets else None,
        "created": unix(row.created),
        "last_error": row.last_error,
        "last_verification_report": row.last_verification_report,
        "livemode": row.livemode,
        "metadata": row.metadata_,
        "options": row.options,
        "provided_details": row.provided_details if "provided_details" in expand else None,
        "redaction": {"status": row.redaction_status} if row.redaction_status else None,
        "related_customer": row.related_customer,
        "related_person": row.related_person,
        "status": row.status,
        "type": row.type,
        "url": (
            hosted_url(public_base_url=public_base_url, url_token=row.url_token)
            if may_see_secrets and row.url_token
            else None
        ),
        "verification_flow": row.verification_flow,
        "verified_outputs": outputs,
    }


# What Stripe hides in a report until it is expanded (`sex`, `unparsed_place_of_birth` and
# `unparsed_sex` since API version 2025-05-28).
_REPORT_HIDDEN = {
    "document": (
        "dob",
        "expiration_date",
        "number",
        "sex",
        "unparsed_place_of_birth",
        "unparsed_sex",
    ),
    "id_number": ("dob", "id_number"),
}
# Attributes of a check that reports written before them do not store; they read as null.
_REPORT_ADDED = {"document": ("files",)}
REPORT_EXPANDABLE = frozenset(
    f"{check}.{part}" for check, parts in _REPORT_HIDDEN.items() for part in parts
)


def report_object(row: Any, *, expand: frozenset[str] | set[str]) -> dict[str, Any]:
    """A VerificationReport as Stripe answers it: each check as stored, its sensitive parts
    (`document.dob`, `document.expiration_date`, `document.number`, `document.sex`,
    `document.unparsed_place_of_birth`, `document.unparsed_sex`, `id_number.dob`,
    `id_number.id_number`) null unless expanded."""
    checks: dict[str, Any] = {}
    for check in ("document", "email", "id_number", "phone", "selfie"):
        value = getattr(row, check)
        if value is not None and check in _REPORT_HIDDEN:
            value = dict(value)
            for part in _REPORT_ADDED.get(check, ()):
                value.setdefault(part, None)
            for part in _REPORT_HIDDEN[check]:
                shown = f"{check}.{part}" in expand
                value[part] = value.get(part) if shown else None
        checks[check] = value
    return {
        "id": row.id,
        "object": "identity.verification_report",
        "client_reference_id": row.client_reference_id,
        "created": unix(row.created),
        "livemode": row.livemode,
        "options": row.options,
        "type": row.type,
        "verification_flow": row.verification_flow,
        "verification_session": row.session_id,
        **checks,
    }


def event_object(
    row: Any, *, pending_webhooks: int, api_version: str | None = None
) -> dict[str, Any]:
    """An Event as Stripe answers it, and as a webhook delivers it: `pending_webhooks` is how
    many endpoints have not yet answered its delivery with a 2xx; `api_version` is the
    endpoint's, for a delivery (None otherwise: this gateway has one version of each object)."""
    return {
        "id": row.id,
        "object": "event",
        "api_version": api_version,
        "created": unix(row.created),
        "data": row.data,
        "livemode": row.livemode,
        "pending_webhooks": pending_webhooks,
        "request": {"id": row.request_id, "idempotency_key": row.idempotency_key},
        "type": row.type,
    }


def webhook_endpoint_object(row: Any, *, with_secret: bool) -> dict[str, Any]:
    """A WebhookEndpoint as Stripe answers it; `secret` only when it was just issued (on
    create, or on a roll)."""
    found: dict[str, Any] = {
        "id": row.id,
        "object": "webhook_endpoint",
        "api_version": row.api_version,
        "application": None,
        "created": unix(row.created),
        "description": row.description,
        "enabled_events": row.enabled_events,
        "livemode": row.livemode,
        "metadata": row.metadata_,
        "status": "disabled" if row.disabled else "enabled",
        "url": row.url,
    }
    if with_secret:
        found["secret"] = row.secret
    return found
