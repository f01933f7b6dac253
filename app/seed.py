"""`python -m app seed`: fill one (account, mode) with realistic VerificationSessions, in bulk.

Each session is what the gateway itself would have stored after a life of its own, built with the
domain's rules (ids, credentials, event payloads, report checks, last errors) rather than by hand:

    requires_input   never attempted (one `created` event), or after a failed attempt with its
                     `last_error`, its report and `processing` / `requires_input` events; always
                     with a fresh client secret and hosted-page link, so a read never has to
                     reissue them
    processing       submitted, its outcome still pending (as a test-mode PROCESSING simulation
                     leaves it: no job)
    verified         an attempt that passed: a report whose every check is verified, and the
                     person in `verified_outputs`
    canceled         canceled while awaiting input, some after a failed attempt

Of every 100 sessions about 25 end in requires_input (10 of them after a failed attempt), 5 in
processing, 55 verified and 15 canceled; 75 are `document` sessions (under a few option sets),
25 `id_number`. Metadata holds 0 to 5 keys (an order id, a channel, ...), 85 in 100 sessions have
a `client_reference_id`, 30 a `related_customer`, 50 a `return_url`, 20 `provided_details`.
`created` values spread over the year before the seeding, strictly ascending in the order the
sessions are made and all in distinct microseconds, so keyset pages over (created, id) look like
production's. Events are written in the order their changes happened across all sessions, so
`sequence` and `created` ascend together. Only current hosted-page links are stored, not the
spent links of earlier attempts.

Rows go in with SQLAlchemy Core, `insert(table)` executed with a list of dicts, one write
transaction per `batch_size` sessions with their links, reports and due events; then `ANALYZE`,
so the planner knows the rows at once, as it would after Postgres's autovacuum. On Postgres the
next batch is made while the server inserts the last one. A million sessions are about 4.5
million rows (2.6 million events, 0.7 million reports; 4.7 GB in SQLite).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import heapq
import itertools
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.db import is_postgres, write_options, write_session
from app.domain import events as event_rules
from app.domain import ids
from app.domain import metadata as metadata_rules
from app.domain import sessions as session_rules
from app.domain.lifecycle import EventType, last_error
from app.domain.sessions import SessionType, Status, fresh_credentials
from app.domain.verification import check_verified_outputs, report_checks, required_checks
from app.models import Event, VerificationLink, VerificationReport, VerificationSession
from app.store import accounts
from app.store.reports import CHECKS

BATCH_SIZE = 5_000
SPAN = timedelta(days=365)
# The newest session is this old, so every change that follows it is still in the past.
NEWEST_AGE = timedelta(hours=1)

_DOCUMENT_OPTIONS = [
    session_rules.check_options(options)
    for options in (
        {},
        {},
        {"document": {"require_matching_selfie": True}},
        {"document": {"allowed_types": ["passport", "id_card"], "require_live_capture": True}},
        {"document": {"require_id_number": True, "require_matching_selfie": True}},
    )
]
_RETURN_URL = session_rules.check_return_url("https://shop.example/identity/done")
# Errors any attempt can end with, and those that need the check they name.
_ANY_ERRORS = ["abandoned", "consent_declined", "device_not_supported", "under_supported_age"]
_CHECK_ERRORS = {
    "document": ["document_expired", "document_unverified_other", "document_type_not_supported"],
    "selfie": ["selfie_face_mismatch", "selfie_unverified_other"],
    "id_number": ["id_number_mismatch", "id_number_unverified_other"],
}
_FIRST_NAMES = [
    "Ada",
    "Grace",
    "Alan",
    "Jenny",
    "Linus",
    "Maria",
    "Kenji",
    "Amara",
    "Omar",
    "Sofia",
]
_LAST_NAMES = ["Lovelace", "Hopper", "Turing", "Rosen", "Okafor", "Silva", "Tanaka", "Haddad"]
_ADDRESSES = [
    {"line1": "354 Oyster Point Blvd", "city": "South San Francisco", "state": "CA",
     "postal_code": "94080", "country": "US"},
    {"line1": "350 5th Ave", "city": "New York", "state": "NY", "postal_code": "10118",
     "country": "US"},
    {"line1": "Rua Augusta 1508", "city": "São Paulo", "state": "SP", "postal_code": "01304-001",
     "country": "BR"},
    {"line1": "1 Raffles Place", "city": "Singapore", "postal_code": "048616", "country": "SG"},
]  # fmt: skip
_ID_NUMBER_TYPES = {"US": "us_ssn", "BR": "br_cpf", "SG": "sg_nric"}
_PEOPLE = 500
_METADATA: dict[str, Callable[[random.Random], str]] = {
    "order_id": lambda rng: f"ord_{rng.randrange(10**8):08d}",
    "channel": lambda rng: rng.choice(("web", "ios", "android")),
    "plan": lambda rng: rng.choice(("free", "pro", "enterprise")),
    "campaign": lambda rng: rng.choice(("spring_sale", "referral", "organic")),
    "store": lambda rng: f"store_{rng.randrange(1, 60)}",
}
# For each size from 0 to 5, every choice of that many metadata keys.
_METADATA_KEYS = [
    list(itertools.combinations(_METADATA, size)) for size in range(len(_METADATA) + 1)
]
# What happened to a session after it was created, and how often (the status it ends in follows).
_STORIES: list[tuple[str, ...]] = [
    (),  # requires_input, never attempted
    ("submit", "fail"),  # requires_input again, with last_error
    ("submit",),  # processing
    ("submit", "verify"),  # verified
    ("cancel",),  # canceled
    ("submit", "fail", "cancel"),  # canceled after a failed attempt
]
_STORY_WEIGHTS = [15, 10, 5, 55, 10, 5]


@dataclass(frozen=True, kw_only=True)
class SeedResult:
    """What one seeding wrote."""

    account_id: str
    livemode: bool
    sessions: int
    reports: int
    events: int
    seconds: float

    def summary(self) -> str:
        mode = "live" if self.livemode else "test"
        return (
            f"seeded {self.sessions:,} sessions, {self.reports:,} reports and {self.events:,} "
            f"events into {self.account_id} ({mode} mode) in {self.seconds:.1f}s"
        )


@dataclass
class _Batch:
    sessions: list[dict[str, Any]] = field(default_factory=list)
    links: list[dict[str, Any]] = field(default_factory=list)
    reports: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)


async def seed(
    engine: AsyncEngine,
    *,
    count: int,
    account_id: str | None = None,
    livemode: bool = False,
    batch_size: int = BATCH_SIZE,
    rng: random.Random | None = None,
) -> SeedResult:
    """Write `count` sessions into the account (the default account when None, created if new).

    The database must already be migrated. `rng` picks the data (statuses, names, delays); ids and
    secrets always come from `app.domain.ids`, the CSPRNG.
    """
    started = time.perf_counter()
    async with write_session(engine) as db:
        account = (
            await accounts.default_account(db)
            if account_id is None
            else await accounts.ensure_account(db, account_id=account_id)
        )
    maker = _Maker(account_id=account.id, livemode=livemode, rng=rng or random.Random())
    # On Postgres the server does the inserting, so the next batch is made while it works on
    # this one. SQLite inserts in this process, where the two would only take turns.
    overlap = is_postgres(engine)
    reports = events = 0
    writing: asyncio.Task[None] | None = None
    collecting = gc.isenabled()
    async with engine.connect() as connection:
        connection = await connection.execution_options(**write_options())
        restore = await _tune_for_bulk(connection, postgres=overlap)
        try:
            # The rows are plain dicts, freed by reference counting once written; the cyclic
            # collector would only scan them again and again (a third of the run), so it waits.
            gc.disable()
            for start in range(0, count, batch_size):
                stop = min(start + batch_size, count)
                batch = await maker.batch(start, stop, count=count, cooperative=overlap)
                if writing is not None:
                    await writing
                writing = asyncio.create_task(_write(connection, batch))
                if not overlap:
                    await writing
                reports += len(batch.reports)
                events += len(batch.events)
            if writing is not None:
                await writing
            # The events of the newest sessions that happened after the last one was created.
            last = maker.rest()
            await _write(connection, last)
            events += len(last.events)
        finally:
            if writing is not None and not writing.done():
                writing.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await writing
            if collecting:
                gc.enable()
            for statement in restore:
                await connection.exec_driver_sql(statement)
            await connection.commit()
        await connection.execute(text("ANALYZE"))
        await connection.commit()
    return SeedResult(
        account_id=account.id,
        livemode=livemode,
        sessions=count,
        reports=reports,
        events=events,
        seconds=time.perf_counter() - started,
    )


async def _write(connection: AsyncConnection, batch: _Batch) -> None:
    """One write transaction; parents before children, for the foreign keys."""
    async with connection.begin():
        for model, rows in (
            (VerificationSession, batch.sessions),
            (VerificationLink, batch.links),
            (VerificationReport, batch.reports),
            (Event, batch.events),
        ):
            if rows:
                await connection.execute(insert(model), rows)


async def _tune_for_bulk(connection: AsyncConnection, *, postgres: bool) -> list[str]:
    """Per-connection settings for a bulk load; returns the statements that restore them.

    SQLite keeps 2 MB of pages per connection and checkpoints its WAL every 4 MB by default; with
    a million sessions' random-keyed index entries, a third of the load then went to re-reading
    and re-writing the same pages through system calls. (The other SQLite settings live in
    `app.db`; these belong there once it offers a bulk-load mode.)
    """
    if postgres:
        return []
    restore = []
    for name, value in (("cache_size", -262_144), ("wal_autocheckpoint", 16_384)):
        current = (await connection.exec_driver_sql(f"PRAGMA {name}")).scalar_one()
        await connection.exec_driver_sql(f"PRAGMA {name} = {value}")
        restore.append(f"PRAGMA {name} = {int(current)}")
    await connection.commit()
    return restore


class _Maker:
    """Makes the rows batch by batch: sessions (newest last), their links and reports, and the
    events that are due, oldest first."""

    def __init__(self, *, account_id: str, livemode: bool, rng: random.Random) -> None:
        self.account_id = account_id
        self.livemode = livemode
        self.rng = rng
        self.now = datetime.now(UTC)
        self.today = self.now.date()
        self.oldest = self.now - NEWEST_AGE - SPAN
        # Checked once each, then shared: a person is a few dicts the checks read, never change.
        self.people = [self._person() for _ in range(_PEOPLE)]
        # Events made but not yet written, as (created, order made, row): a heap, oldest first.
        self.pending: list[tuple[datetime, int, dict[str, Any]]] = []
        self.order = itertools.count()

    async def batch(self, start: int, stop: int, *, count: int, cooperative: bool) -> _Batch:
        """Sessions `start` to `stop` of `count`; `cooperative` lets the event loop run now and
        then (for a write still in flight)."""
        batch = _Batch()
        # Each session gets an equal slot of the span and a random moment within it, so `created`
        # ascends strictly, in distinct microseconds, as the sessions are made.
        slot = max(1, int(SPAN / timedelta(microseconds=1)) // max(count, 1))
        for index in range(start, stop):
            if cooperative and index % 100 == 0:
                await asyncio.sleep(0)
            created = self.oldest + timedelta(microseconds=index * slot + self.rng.randrange(slot))
            session, report, changes = self.session(created)
            batch.sessions.append(session)
            if session["url_token"] is not None:
                batch.links.append(_link(session))
            if report is not None:
                batch.reports.append(report)
            for change in changes:
                heapq.heappush(self.pending, (change["created"], next(self.order), change))
        # Every later session is newer than this batch's newest, and so is each of its events:
        # the events up to it are all known, and are written in the order they happened.
        newest = batch.sessions[-1]["created"] if batch.sessions else self.oldest
        while self.pending and self.pending[0][0] <= newest:
            batch.events.append(heapq.heappop(self.pending)[2])
        return batch

    def rest(self) -> _Batch:
        """The events still pending after the last batch, oldest first."""
        events = [heapq.heappop(self.pending)[2] for _ in range(len(self.pending))]
        return _Batch(events=events)

    def session(
        self, created: datetime
    ) -> tuple[dict[str, Any], dict[str, Any] | None, list[dict[str, Any]]]:
        """One session as it stands after its story: the row, its last report (if an attempt
        ended) and its events, oldest first."""
        rng = self.rng
        session_type = SessionType.DOCUMENT if rng.random() < 0.75 else SessionType.ID_NUMBER
        options = rng.choice(_DOCUMENT_OPTIONS) if session_type == SessionType.DOCUMENT else {}
        session_id = ids.new_id(ids.SESSION)
        row: dict[str, Any] = {
            "id": session_id,
            "account_id": self.account_id,
            "livemode": self.livemode,
            "created": created,
            "status": Status.REQUIRES_INPUT.value,
            "type": session_type.value,
            "verification_flow": None,
            "client_reference_id": f"user_{rng.randrange(10**6):06d}"
            if rng.random() < 0.85
            else None,
            "related_customer": session_rules.check_customer(f"cus_{ids.random_base62(14)}")
            if rng.random() < 0.3
            else None,
            "related_person": None,
            "return_url": _RETURN_URL if rng.random() < 0.5 else None,
            "metadata": self._metadata(),
            "options": options,
            "provided_details": self._provided_details(),
            "last_error": None,
            "last_verification_report": None,
            "verified_outputs": None,
            "redaction_status": None,
            "client_secret": None,
            "client_secret_expires_at": None,
            "url_token": None,
            "url_expires_at": None,
        }
        changes = [self._event(row, EventType.CREATED, created, before=None)]
        at = created
        report = None
        for step in rng.choices(_STORIES, weights=_STORY_WEIGHTS)[0]:
            if step == "submit":
                at += timedelta(seconds=rng.uniform(20, 900))
                changes.append(
                    self._change(row, EventType.PROCESSING, at, status=Status.PROCESSING.value)
                )
            elif step == "cancel":
                at += timedelta(seconds=rng.uniform(60, 900))
                changes.append(
                    self._change(
                        row, EventType.CANCELED, at, status=Status.CANCELED.value, last_error=None
                    )
                )
            else:
                at += timedelta(seconds=rng.uniform(2, 600))
                report, finished = self._attempt(row, at, verified=step == "verify")
                changes.append(finished)
        if row["status"] == Status.REQUIRES_INPUT:
            # Issued now rather than at `created`: a year-old secret would have expired, and the
            # gateway would reissue it (a write) on the first read.
            row.update(fresh_credentials(session_id=session_id, now=self.now))
        return row, report, changes

    def _attempt(
        self, row: dict[str, Any], at: datetime, *, verified: bool
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """An attempt's end, as `finish_processing` records it: the report, then the event."""
        person = self.rng.choice(self.people)
        checks = required_checks(row["type"], row["options"])
        code = None if verified else self.rng.choice(self._errors(checks))
        results = report_checks(
            session_type=row["type"],
            options=row["options"],
            person=person,
            last_error_code=code,
            today=self.today,
        )
        report = {
            "id": ids.new_id(ids.REPORT),
            "account_id": self.account_id,
            "livemode": self.livemode,
            "created": at,
            "session_id": row["id"],
            "type": row["type"],
            "verification_flow": row["verification_flow"],
            "client_reference_id": row["client_reference_id"],
            "options": row["options"],
            **{check: results.get(check) for check in CHECKS},
        }
        if verified:
            finished = self._change(
                row,
                EventType.VERIFIED,
                at,
                status=Status.VERIFIED.value,
                last_error=None,
                last_verification_report=report["id"],
                verified_outputs=person,
            )
        else:
            assert code is not None
            finished = self._change(
                row,
                EventType.REQUIRES_INPUT,
                at,
                status=Status.REQUIRES_INPUT.value,
                last_error=last_error(code),
                last_verification_report=report["id"],
            )
        return report, finished

    def _change(
        self, row: dict[str, Any], type: EventType, at: datetime, **values: Any
    ) -> dict[str, Any]:
        """Apply a status change to the row and make its event, as `_change_status` records it."""
        before = _snapshot(row)
        row.update(values)
        return self._event(row, type, at, before=before)

    def _event(
        self, row: dict[str, Any], type: EventType, at: datetime, *, before: dict[str, Any] | None
    ) -> dict[str, Any]:
        return {
            "id": ids.new_id(ids.EVENT),
            "account_id": self.account_id,
            "livemode": self.livemode,
            "created": at,
            "type": type.value,
            "session_id": row["id"],
            "data": event_rules.event_data(before, _snapshot(row)),
        }

    def _errors(self, checks: list[str]) -> list[str]:
        return _ANY_ERRORS + [code for check in checks for code in _CHECK_ERRORS.get(check, [])]

    def _metadata(self) -> dict[str, str]:
        rng = self.rng
        keys = rng.choice(_METADATA_KEYS[rng.randrange(len(_METADATA_KEYS))])
        return metadata_rules.merge({}, {key: _METADATA[key](rng) for key in keys})

    def _provided_details(self) -> dict[str, str] | None:
        roll = self.rng.random()
        if roll >= 0.2:
            return None
        details = {"email": f"user{self.rng.randrange(10**6)}@example.com"}
        if roll < 0.08:
            details["phone"] = f"+1415555{self.rng.randrange(10**4):04d}"
        return session_rules.check_provided_details(details)

    def _person(self) -> dict[str, Any]:
        """Personal data as a tester enters it, filled and checked as `verified_outputs` is."""
        rng = self.rng
        first, last = rng.choice(_FIRST_NAMES), rng.choice(_LAST_NAMES)
        address = rng.choice(_ADDRESSES)
        born = date(1940, 1, 1) + timedelta(days=rng.randrange(365 * 65))
        return check_verified_outputs(
            {
                "first_name": first,
                "last_name": last,
                "dob": {"day": born.day, "month": born.month, "year": born.year},
                "address": address,
                "id_number_type": _ID_NUMBER_TYPES[address["country"]],
                "id_number": f"{rng.randrange(10**9):09d}",
                "email": f"{first}.{last}@example.com".lower(),
                "sex": rng.choice(["female", "male", "unknown"]),
            }
        )


def _link(session: dict[str, Any]) -> dict[str, Any]:
    """The session's hosted-page link, as `create_session` stores it."""
    return {
        "token": session["url_token"],
        "session_id": session["id"],
        "expires_at": session["url_expires_at"],
        "spent_at": None,
    }


def _snapshot(row: dict[str, Any]) -> dict[str, Any]:
    """The session row as an event carries it (`store.events.snapshot_of`, over a dict)."""
    return event_rules.snapshot(
        id=row["id"],
        created=row["created"],
        livemode=row["livemode"],
        status=row["status"],
        type=row["type"],
        client_reference_id=row["client_reference_id"],
        last_error=row["last_error"],
        last_verification_report=row["last_verification_report"],
        metadata=row["metadata"],
        options=row["options"],
        provided_details=row["provided_details"],
        redaction_status=row["redaction_status"],
        related_customer=row["related_customer"],
        verification_flow=row["verification_flow"],
        related_person=row["related_person"],
    )
