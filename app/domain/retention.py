"""How long the gateway keeps what it no longer needs, and what "too old" means for each kind.

    idempotency records  IDEMPOTENCY_RETENTION_HOURS (24, Stripe's window): a key is remembered,
                         its response replayed, for that long after its claim; then purged
    events               EVENT_RETENTION_DAYS (30, Stripe's window) after `created`, once no
                         webhook attempt of theirs is due or in flight
    hosted links         HOSTED_LINK_RETENTION_DAYS (7) after they were spent or expired,
                         whichever came first; until then the page answers 410, then 404

`0` keeps that kind for good. Plain values and functions: the worker applies them through
`app.services.retention`, the subscriptions check a resume cursor against them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

# Stripe keeps an idempotency key for 24 hours: the lifetime when none is configured.
DEFAULT_KEY_LIFETIME = timedelta(hours=24)


@dataclass(frozen=True, kw_only=True)
class Retention:
    """The configured windows; 0 means "never purge"."""

    idempotency_hours: int = 24
    event_days: int = 30
    hosted_link_days: int = 7

    @property
    def key_lifetime(self) -> timedelta:
        """How long an idempotency key is honoured. With retention off records are kept, but a
        key still expires after Stripe's 24 hours (its record is replaced when the key comes
        again)."""
        if self.idempotency_hours == 0:
            return DEFAULT_KEY_LIFETIME
        return timedelta(hours=self.idempotency_hours)

    def event_cutoff(self, now: datetime) -> datetime | None:
        """Events created before this may go; None when events are kept for good."""
        return now - timedelta(days=self.event_days) if self.event_days else None

    def hosted_link_cutoff(self, now: datetime) -> datetime | None:
        """Links spent or expired before this may go; None when links are kept for good."""
        return now - timedelta(days=self.hosted_link_days) if self.hosted_link_days else None

    @property
    def purges_idempotency_keys(self) -> bool:
        return self.idempotency_hours != 0


def resumable(*, cursor_event_created: datetime | None, cutoff: datetime | None) -> bool:
    """Whether a subscription may resume after the event its cursor names.

    Events after the cursor's are newer, so none of them was purged while the cursor's own event
    is still inside the window. Once it is outside (purged, or kept only for a pending webhook)
    events after it may be gone, and resuming would skip them silently.
    """
    if cutoff is None:
        return True
    return cursor_event_created is not None and cursor_event_created >= cutoff
