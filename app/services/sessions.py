"""VerificationSession use cases: each write is one transaction, and what a secret key reads has
usable credentials (Stripe's retrieve issues new ones when they expired).

Writes return the session's stored row as it is after the change; reads return records (see
`app.db.Reader`), with the attributes of `app.models.VerificationSession`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from app.db import write_session
from app.domain.access import Scope
from app.domain.errors import InvalidParameter, VerifierUnavailable
from app.domain.sessions import SessionCreate, SessionUpdate, Status
from app.domain.verification import check_collected_person
from app.models import VerificationSession, utcnow
from app.pagination import PageRequest
from app.services import Database
from app.store import lifecycle
from app.store import sessions as store
from app.store.keyset import Page
from app.store.sessions import SessionFilter
from app.verifiers import Decision

# What the session's outcome may be in `simulate`, beyond those of a finished attempt.
PROCESSING = Status.PROCESSING.value


@dataclass(frozen=True)
class Choice:
    """A tester's choice for an attempt (test mode), as a submit or a simulation gives it:
    the outcome, the last error code a failure ends with, and the personal data a verified
    attempt found. In live mode the verifier decides, and only the defaults are accepted."""

    outcome: str = Status.VERIFIED.value
    last_error_code: str | None = None
    person: dict[str, Any] | None = None


async def create(database: Database, *, scope: Scope, params: SessionCreate) -> VerificationSession:
    """A new session in requires_input, with its `created` event.

    Raises:
        DomainError: a parameter breaks a rule, or the verification flow does not exist.
    """
    async with write_session(database.engine) as db:
        return await store.create_session(db, scope=scope, params=params)


async def update(
    database: Database, *, scope: Scope, session_id: str, update: SessionUpdate
) -> VerificationSession:
    """Raises: DomainError (no such session, a status that forbids updates, a bad value)."""
    async with write_session(database.engine) as db:
        return await store.update_session(db, scope=scope, session_id=session_id, update=update)


async def cancel(database: Database, *, scope: Scope, session_id: str) -> VerificationSession:
    """Raises: DomainError (no such session, or one that can no longer be canceled)."""
    async with write_session(database.engine) as db:
        session = await lifecycle.locked_session(db, scope=scope, session_id=session_id)
        await lifecycle.cancel(db, session=session)
        return session


async def redact(
    database: Database, *, scope: Scope, session_id: str, delay_seconds: float
) -> VerificationSession:
    """Raises: DomainError (no such session, or one processing)."""
    async with write_session(database.engine) as db:
        session = await lifecycle.locked_session(db, scope=scope, session_id=session_id)
        await lifecycle.start_redaction(db, session=session, delay_seconds=delay_seconds)
        return session


def submission(*, livemode: bool, verifier_available: bool, choice: Choice) -> dict[str, Any]:
    """What a submit hands the verifier: in test mode the tester's choice, checked; in live mode
    the collected data alone, for the configured verifier to decide on.

    Raises:
        VerifierUnavailable: live mode without a verifier.
        InvalidParameter: a test-mode choice in live mode, or a choice that breaks a rule.
    """
    if not livemode:
        return lifecycle.tester_choice(choice.outcome, choice.last_error_code, choice.person)
    if not verifier_available:
        raise VerifierUnavailable(
            "Live-mode verification is not available: no verifier is configured "
            "(set VERIFIER). Nothing was submitted."
        )
    if choice.outcome != Status.VERIFIED or choice.last_error_code is not None:
        raise InvalidParameter(
            "outcome and lastErrorCode are test-mode choices; in live mode the verifier decides.",
            field=["outcome"] if choice.outcome != Status.VERIFIED else ["last_error_code"],
        )
    return {"person": check_collected_person(choice.person)}


class LinkSpent(Exception):
    """The hosted-page link a submit came through is no longer the session's usable one."""


async def submit(
    database: Database,
    *,
    scope: Scope,
    session_id: str,
    choice: Choice,
    verifier_available: bool,
    delay_seconds: float,
    link_token: str | None = None,
) -> VerificationSession:
    """requires_input -> processing, the verifier deciding after the delay. Through the hosted
    page (`link_token`), the link is checked again under the session's lock, where a concurrent
    submit through it would show.

    Raises:
        DomainError: no such session, one not awaiting input, or the `submission` rules.
        LinkSpent: the link was spent or replaced meanwhile.
    """
    async with write_session(database.engine) as db:
        session = await lifecycle.locked_session(db, scope=scope, session_id=session_id)
        if link_token is not None:
            link = await store.get_link_row(db, token=link_token)
            if link is None or not link_usable(link, session):
                raise LinkSpent
        submitted = submission(
            livemode=scope.livemode, verifier_available=verifier_available, choice=choice
        )
        await lifecycle.start_processing(
            db, session=session, submitted=submitted, delay_seconds=delay_seconds
        )
        return session


async def simulate(
    database: Database, *, scope: Scope, session_id: str, choice: Choice
) -> VerificationSession:
    """Stripe's test helpers: through processing to the chosen outcome (`PROCESSING` stays
    there). Test mode only: the caller's scope is a test-mode writer's.

    Raises:
        DomainError: no such session, a state that cannot move so, or a choice breaking a rule.
    """
    checked = lifecycle.tester_choice(choice.outcome, choice.last_error_code, choice.person)
    async with write_session(database.engine) as db:
        session = await lifecycle.locked_session(db, scope=scope, session_id=session_id)
        attempt = None if choice.outcome == PROCESSING else Decision(**checked)
        await lifecycle.simulate(db, session=session, attempt=attempt)
        return session


def link_usable(link: Any, session: Any) -> bool:
    """A hosted-page link works while it is the session's current one, unspent and unexpired,
    and the session awaits input."""
    return bool(
        link.spent_at is None
        and link.expires_at > utcnow()
        and link.token == session.url_token
        and session.status == Status.REQUIRES_INPUT
        and session.redaction_status is None
    )


# Reads.


async def fresh(database: Database, rows: list[Any], *, may_see_secrets: bool) -> list[Any]:
    """Sessions as the caller should see them: for a key that sees secrets, those in
    requires_input with a usable client secret and url, new ones issued where they expired."""
    now = utcnow()
    if not may_see_secrets or not any(
        lifecycle.needs_fresh_credentials(row, now=now) for row in rows
    ):
        return rows
    async with write_session(database.engine) as db:
        refreshed = await lifecycle.refresh_stale_credentials(
            db, session_ids=[row.id for row in rows]
        )
    return [refreshed.get(row.id, row) for row in rows]


async def get(
    database: Database, *, scope: Scope, session_id: str, may_see_secrets: bool
) -> Any | None:
    """The session with this id in this scope, or None."""
    row = await store.get_session(database.reader, scope=scope, session_id=session_id)
    if row is None:
        return None
    return (await fresh(database, [row], may_see_secrets=may_see_secrets))[0]


async def get_stored(
    database: Database, *, scope: Scope, session_ids: Sequence[str]
) -> dict[str, Any]:
    """The visible sessions among `session_ids`, by id, as stored: without the credentials
    refresh (a report's or an event's session, which GraphQL reads through a batch loader)."""
    return await store.get_sessions(database.reader, scope=scope, session_ids=session_ids)


async def get_many(
    database: Database, *, scope: Scope, session_ids: Sequence[str], may_see_secrets: bool
) -> dict[str, Any]:
    """The visible sessions among `session_ids`, by id."""
    found = await store.get_sessions(database.reader, scope=scope, session_ids=session_ids)
    rows = await fresh(database, list(found.values()), may_see_secrets=may_see_secrets)
    return {row.id: row for row in rows}


async def list_page(
    database: Database,
    *,
    scope: Scope,
    filter: SessionFilter,
    page: PageRequest,
    attributes: frozenset[str] | None,
    far_side: bool,
    may_see_secrets: bool,
) -> Page[Any]:
    """One page of sessions, newest first (see `store.sessions.list_sessions`)."""
    found = await store.list_sessions(
        database.reader,
        scope=scope,
        filter=filter,
        page=page,
        attributes=attributes,
        far_side=far_side,
    )
    return replace(found, rows=await fresh(database, found.rows, may_see_secrets=may_see_secrets))


async def count(database: Database, *, scope: Scope, filter: SessionFilter) -> int:
    """How many sessions match, in all pages; off the event loop (not bounded by a page)."""
    async with database.engine.connect() as connection:
        return await store.count_sessions(connection, scope=scope, filter=filter)


__all__ = [
    "PROCESSING",
    "Choice",
    "LinkSpent",
    "SessionFilter",
    "cancel",
    "count",
    "create",
    "fresh",
    "get",
    "get_many",
    "get_stored",
    "link_usable",
    "list_page",
    "redact",
    "simulate",
    "submission",
    "submit",
    "update",
]
