"""Webhook rules: which endpoints an event goes to, how a delivery is signed, when a failed one
is tried again. Pure functions over plain values.

Signatures follow Stripe's scheme, which `stripe.Webhook.construct_event` checks:
`Stripe-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, keyed with the whole
`whsec_…` string; while a secret is rolled the header carries one `v1` per valid secret.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import idna

from app.domain import ids
from app.domain.errors import InvalidParameter
from app.domain.lifecycle import EventType
from app.domain.sessions import KEEP, check_string

SECRET_PREFIX = "whsec_"
# Stripe's limits: 16 endpoints per account (here per account and mode), URLs of 2,048
# characters, descriptions of 5,000.
MAX_ENDPOINTS = 16
MAX_URL_LENGTH = 2048
MAX_DESCRIPTION_LENGTH = 5000
ALL_EVENTS = "*"
EVENT_TYPES = frozenset(kind.value for kind in EventType)
# How long a rolled secret keeps signing by default, and at most (Stripe's dashboard: 24 h).
ROLL_GRACE_SECONDS = 24 * 3600
# What is kept of an endpoint's answer, for an operator reading why a delivery failed.
RESPONSE_EXCERPT_CHARACTERS = 1000


def new_secret() -> str:
    return SECRET_PREFIX + ids.random_base62(32)


def check_url(value: str, *, livemode: bool) -> str:
    """An absolute URL to POST events to: `https://` in live mode, `http://` too in test mode."""
    if len(value) > MAX_URL_LENGTH:
        raise InvalidParameter(
            f"url must be at most {MAX_URL_LENGTH} characters, got {len(value)}.", field=["url"]
        )
    check_string(value, field=["url"])
    schemes = ("https",) if livemode else ("http", "https")
    problem = InvalidParameter(
        "url must be an absolute https URL, such as https://example.com/webhooks; live-mode "
        "endpoints take https only."
        if livemode
        else "url must be an absolute http or https URL, such as https://example.com/webhooks.",
        field=["url"],
    )
    try:
        # urlsplit raises on a malformed host, such as an unclosed IPv6 literal.
        parts = urlsplit(value)
    except ValueError:
        raise problem from None
    if parts.scheme not in schemes or not parts.hostname:
        raise problem
    if not _requestable_host(parts.hostname):
        raise InvalidParameter(
            f"url has a host that no request can reach: {parts.hostname[:100]!r}. Give an IP "
            "address or a host name of labels of 1 to 63 characters (international names as "
            "valid IDNA).",
            field=["url"],
        )
    return value


def _requestable_host(host: str) -> bool:
    """Whether a delivery could be sent to `host` (urlsplit's `hostname`: lower case, an IPv6
    literal without its brackets and already checked): an IP address, or a name of labels of 1
    to 63 characters whose international ones (and `xn--` ones) are valid IDNA. Underscores stay
    allowed in ASCII labels (container and service names in test mode)."""
    if ":" in host:
        return True
    if host.replace(".", "").isdigit():
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            return False
        return True
    labels = host.removesuffix(".").split(".")
    if len(host) > 253:
        return False
    for label in labels:
        if not 1 <= len(label) <= 63:
            return False
        if not label.isascii() or label.startswith("xn--"):
            try:
                idna.encode(label)
            except (idna.IDNAError, UnicodeError):
                return False
    return True


def check_enabled_events(values: Sequence[str]) -> list[str]:
    """`["*"]` for every event, or event types this gateway records, each once."""
    if not values:
        raise InvalidParameter(
            "enabled_events must name at least one event type, or `*` for all of them.",
            field=["enabled_events"],
        )
    for index, value in enumerate(values):
        if value != ALL_EVENTS and value not in EVENT_TYPES:
            raise InvalidParameter(
                f"Invalid event type {value[:100]!r} in enabled_events; give `*` or one of: "
                + ", ".join(sorted(EVENT_TYPES))
                + ".",
                field=["enabled_events", str(index)],
            )
    if ALL_EVENTS in values and len(values) > 1:
        raise InvalidParameter(
            "enabled_events takes `*` alone: it already means every event type.",
            field=["enabled_events"],
        )
    return list(dict.fromkeys(values))


def check_description(value: str | None) -> str | None:
    if value is not None and len(value) > MAX_DESCRIPTION_LENGTH:
        raise InvalidParameter(
            f"description must be at most {MAX_DESCRIPTION_LENGTH} characters, got {len(value)}.",
            field=["description"],
        )
    return check_string(value, field=["description"]) or None


def check_grace_seconds(value: int | None) -> int:
    """How long a rolled-out secret stays valid: 0 (at once) to 24 h; 24 h when not given."""
    if value is None:
        return ROLL_GRACE_SECONDS
    if not 0 <= value <= ROLL_GRACE_SECONDS:
        raise InvalidParameter(
            f"expire_previous_secret_in must be 0 to {ROLL_GRACE_SECONDS} seconds, got {value}.",
            field=["expire_previous_secret_in"],
        )
    return value


def check_endpoint_count(existing: int) -> None:
    if existing >= MAX_ENDPOINTS:
        raise InvalidParameter(
            f"You have reached the maximum of {MAX_ENDPOINTS} webhook endpoints for this account "
            "and mode; delete one first.",
            field=["url"],
        )


def wants(enabled_events: Sequence[str], event_type: str) -> bool:
    """Whether an endpoint with these `enabled_events` receives an event of `event_type`."""
    return ALL_EVENTS in enabled_events or event_type in enabled_events


def signature_header(payload: bytes, *, secrets: Sequence[str], timestamp: int) -> str:
    """`t=…,v1=…[,v1=…]`: one signature per secret, over `"<timestamp>.<payload>"`."""
    signed = str(timestamp).encode() + b"." + payload
    signatures = (
        hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest() for secret in secrets
    )
    return ",".join([f"t={timestamp}", *(f"v1={signature}" for signature in signatures)])


def retry_delay(attempts: int, schedule: Sequence[float]) -> float | None:
    """Seconds from a failed attempt (the `attempts`-th, counting from 1) to the next one; None
    once the schedule is spent and the delivery has failed for good."""
    return schedule[attempts - 1] if attempts <= len(schedule) else None


def succeeded(status: int) -> bool:
    """Any 2xx answer is a delivery (Stripe's rule); redirects are not followed."""
    return 200 <= status < 300


@dataclass(kw_only=True)
class EndpointCreate:
    """A new endpoint, as Stripe's create parameters give it."""

    url: str
    enabled_events: Sequence[str]
    description: str | None = None
    metadata: Mapping[str, object] | None = None
    api_version: str | None = None


@dataclass(kw_only=True)
class EndpointUpdate:
    """An update; a field left at KEEP is not changed."""

    url: str = KEEP
    enabled_events: Sequence[str] = KEEP
    description: str | None = KEEP
    metadata: Mapping[str, object] | None = KEEP
    disabled: bool = KEEP
    # A new secret; the one it replaces keeps signing for `expire_previous_secret_in` seconds.
    roll_secret: bool = False
    expire_previous_secret_in: int | None = None
