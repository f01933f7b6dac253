"""Lifecycle operations on a session: credentials, submission, processing, cancel, redaction,
simulation. Each runs inside the caller's write transaction, holds the session's row lock, and
records its event in that same transaction, so a change is never kept without its event.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.domain import lifecycle as rules
from app.domain.access import Scope
from app.domain.errors import InvalidParameter, ResourceMissing
from app.domain.events import redact_snapshot
from app.domain.lifecycle import STATUS_EVENTS, EventType
from app.domain.sessions import RedactionStatus, SessionType, Status, fresh_credentials
from app.domain.verification import (
    check_collected_person,
    check_verified_outputs,
    redact_person,
    report_checks,
)
from app.models import VerificationFlow, VerificationLink, VerificationSession, utcnow
from app.store import events, jobs, reports
from app.store.jobs import JobKind
from app.store.sessions import lock_session
from app.verifiers import Decision


async def locked_session(db: AsyncSession, *, scope: Scope, session_id: str) -> VerificationSession:
    row = await lock_session(db, scope=scope, session_id=session_id)
    if row is None:
        raise ResourceMissing(f"No such VerificationSession: '{session_id}'", field=["id"])
    return row


async def issue_credentials(db: AsyncSession, *, session: VerificationSession) -> None:
    """A fresh client secret (24 h) and hosted-page link (48 h)."""
    values = fresh_credentials(session_id=session.id, now=utcnow())
    for name, value in values.items():
        setattr(session, name, value)
    db.add(session)
    db.add(
        VerificationLink(
            token=values["url_token"], session_id=session.id, expires_at=values["url_expires_at"]
        )
    )
    await db.flush()


async def spend_credentials(db: AsyncSession, *, session: VerificationSession) -> None:
    """The client secret and link can no longer be used (submitted, canceled or finished)."""
    if session.url_token is not None:
        await db.exec(
            update(VerificationLink)
            .where(
                col(VerificationLink.token) == session.url_token,
                col(VerificationLink.spent_at).is_(None),
            )
            .values(spent_at=utcnow())
        )
    session.client_secret = None
    session.client_secret_expires_at = None
    session.url_token = None
    session.url_expires_at = None
    db.add(session)


def needs_fresh_credentials(session: VerificationSession, *, now: datetime | None = None) -> bool:
    """In requires_input a session always offers a usable secret and link (Stripe's retrieve).
    `now` defaults to the current time (a page of sessions passes one time for all)."""
    if session.status != Status.REQUIRES_INPUT or session.redaction_status is not None:
        return False
    now = now or utcnow()
    return any(
        expires is None or expires <= now
        for expires in (session.client_secret_expires_at, session.url_expires_at)
    )


async def refresh_credentials(db: AsyncSession, *, session: VerificationSession) -> None:
    await spend_credentials(db, session=session)
    await issue_credentials(db, session=session)


async def _change_status(
    db: AsyncSession, *, session: VerificationSession, status: Status, before: dict[str, Any]
) -> None:
    session.status = status.value
    db.add(session)
    await db.flush()
    await events.record_event(db, session=session, type=STATUS_EVENTS[status], before=before)


async def start_processing(
    db: AsyncSession,
    *,
    session: VerificationSession,
    submitted: dict[str, Any] | None,
    delay_seconds: float | None,
) -> None:
    """requires_input -> processing; the secret and link are spent. With `submitted` data a
    durable job has the verifier decide after the delay; without, the caller finishes the attempt
    (or leaves it processing)."""
    rules.check_submit(session.status, session.redaction_status)
    before = events.snapshot_of(session)
    await spend_credentials(db, session=session)
    await _change_status(db, session=session, status=Status.PROCESSING, before=before)
    if submitted is not None:
        await jobs.enqueue(
            db,
            kind=JobKind.PROCESS,
            session_id=session.id,
            delay_seconds=delay_seconds or 0,
            payload={"submitted": submitted},
        )


async def finish_processing(
    db: AsyncSession, *, session: VerificationSession, attempt: Decision
) -> None:
    """processing -> verified, or back to requires_input with last_error and fresh credentials.
    Writes the attempt's report. A session no longer processing is left alone."""
    if session.status != Status.PROCESSING:
        return
    # A live verifier's answer is checked like any input: a malformed one fails the job (logged
    # and retried), never lands in the session.
    if attempt.outcome not in (Status.VERIFIED, Status.REQUIRES_INPUT):
        raise InvalidParameter(
            f"A verifier decided an unknown outcome {attempt.outcome!r}.", field=["outcome"]
        )
    rules.check_outcome(attempt.outcome, attempt.last_error_code)
    attempt = replace(attempt, person=check_collected_person(attempt.person))
    checks = report_checks(
        session_type=await checked_type(db, session=session),
        options=session.options,
        person=attempt.person,
        last_error_code=attempt.last_error_code,
        today=date.today(),
    )
    report = await reports.create_report(db, session=session, checks=checks)
    before = events.snapshot_of(session)
    session.last_verification_report = report.id
    await jobs.cancel_pending(db, session_id=session.id, kind=JobKind.PROCESS)
    if attempt.outcome == Status.VERIFIED:
        session.last_error = None
        session.verified_outputs = attempt.person
        await _change_status(db, session=session, status=Status.VERIFIED, before=before)
        return
    assert attempt.last_error_code is not None
    session.last_error = rules.last_error(attempt.last_error_code)
    await issue_credentials(db, session=session)
    await _change_status(db, session=session, status=Status.REQUIRES_INPUT, before=before)


async def checked_type(db: AsyncSession, *, session: VerificationSession) -> str:
    """The type whose checks an attempt runs: a session made from a verification flow runs the
    checks of its flow's type (document or id_number), not of `verification_flow`."""
    if session.type == SessionType.VERIFICATION_FLOW and session.verification_flow is not None:
        flow = await db.get(VerificationFlow, session.verification_flow)
        if flow is not None:
            return flow.type
    return session.type


async def cancel(db: AsyncSession, *, session: VerificationSession) -> None:
    """requires_input -> canceled; canceling a canceled session changes nothing."""
    if not rules.check_cancel(session.status):
        return
    before = events.snapshot_of(session)
    await spend_credentials(db, session=session)
    session.last_error = None
    await _change_status(db, session=session, status=Status.CANCELED, before=before)


async def start_redaction(
    db: AsyncSession, *, session: VerificationSession, delay_seconds: float
) -> None:
    """Mark the session's redaction as processing (canceling it if it awaited input) and leave
    the erasing to a durable job. A second request changes nothing."""
    if not rules.check_redact(session.status, session.redaction_status):
        return
    if session.status == Status.REQUIRES_INPUT:
        await cancel(db, session=session)
    session.redaction_status = RedactionStatus.PROCESSING.value
    db.add(session)
    await jobs.enqueue(
        db, kind=JobKind.REDACT, session_id=session.id, delay_seconds=delay_seconds, payload={}
    )
    await db.flush()


async def finish_redaction(db: AsyncSession, *, session: VerificationSession) -> None:
    """Erase the personal data of the session, its reports and its events, then record
    `.redacted` (whose payload is the already redacted session)."""
    if session.redaction_status != RedactionStatus.PROCESSING:
        return
    # The old values in previous_attributes must not bring back what is being erased.
    before = redact_snapshot(events.snapshot_of(session))
    session.provided_details = redact_person(session.provided_details)
    session.verified_outputs = redact_person(session.verified_outputs)
    session.metadata_ = {}
    session.redaction_status = RedactionStatus.REDACTED.value
    db.add(session)
    await reports.redact_reports(db, session_id=session.id)
    await events.redact_events(db, session_id=session.id)
    await db.flush()
    await events.record_event(db, session=session, type=EventType.REDACTED, before=before)


def tester_choice(
    outcome: str, last_error_code: str | None, person: dict[str, Any] | None
) -> dict[str, Any]:
    """A tester's choice, checked: the outcome, its error code and their personal data, in the
    shape the test-mode simulator reads.

    Raises:
        InvalidParameter: an outcome without its code (or the reverse), or malformed data.
    """
    rules.check_outcome(outcome, last_error_code)
    return {
        "outcome": outcome,
        "last_error_code": last_error_code,
        "person": check_verified_outputs(person),
    }


async def simulate(
    db: AsyncSession, *, session: VerificationSession, attempt: Decision | None
) -> None:
    """Stripe's test helpers as one operation. From requires_input the session passes through
    processing (both events recorded); a verified or requires_input outcome finishes at once,
    a processing outcome stays until a later simulation finishes it."""
    rules.check_simulate(session.status, session.redaction_status)
    if session.status == Status.REQUIRES_INPUT:
        await start_processing(db, session=session, submitted=None, delay_seconds=None)
    if attempt is not None:
        await finish_processing(db, session=session, attempt=attempt)


async def refresh_stale_credentials(
    db: AsyncSession, *, session_ids: list[str]
) -> dict[str, VerificationSession]:
    """Reissue expired credentials of sessions in requires_input; the refreshed rows by id."""
    refreshed: dict[str, VerificationSession] = {}
    for session_id in session_ids:
        session = (
            await db.exec(
                select(VerificationSession)
                .where(col(VerificationSession.id) == session_id)
                .with_for_update()
            )
        ).first()
        if session is not None and needs_fresh_credentials(session):
            await refresh_credentials(db, session=session)
            refreshed[session_id] = session
    return refreshed
