"""Database tables. Values are stored in Stripe's shape (snake_case JSON, lowercase enum strings).

No GraphQL here: every surface reads the same rows.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    String,
    false,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel


class UTCDateTime(TypeDecorator[datetime]):
    """A UTC timestamp with microseconds, the same on SQLite and Postgres.

    Postgres keeps `timestamptz`; SQLite keeps a naive ISO string in UTC, which sorts correctly
    because every value has the same fixed width. Reads always come back timezone-aware.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; pass a UTC datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


JSONDocument = JSON().with_variant(JSONB(), "postgresql")


def utcnow() -> datetime:
    return datetime.now(UTC)


def _timestamp(*, nullable: bool = False) -> Any:
    return Field(sa_column=Column(UTCDateTime(), nullable=nullable))


def _json(*, nullable: bool = True) -> Any:
    return Field(sa_column=Column(JSONDocument, nullable=nullable))


def _id_column() -> Any:
    # Byte-order collation on Postgres, as SQLite's default: ties list in the same order on both.
    return Field(
        sa_column=Column(
            String(64).with_variant(String(64, collation="C"), "postgresql"), primary_key=True
        )
    )


class Account(SQLModel, table=True):
    __tablename__ = "accounts"

    id: str = Field(primary_key=True, max_length=64)
    is_default: bool = Field(default=False)
    created: datetime = _timestamp()


class ApiKey(SQLModel, table=True):
    """An API key, stored only as its SHA-256 digest."""

    __tablename__ = "api_keys"

    key_hash: str = Field(primary_key=True, max_length=64)
    account_id: str = Field(foreign_key="accounts.id", index=True, max_length=64)
    livemode: bool
    restricted: bool
    created: datetime = _timestamp()


class VerificationFlow(SQLModel, table=True):
    """A stored template of a session's type and options (`vf_…`)."""

    __tablename__ = "verification_flows"

    id: str = Field(primary_key=True, max_length=64)
    account_id: str = Field(foreign_key="accounts.id", max_length=64)
    livemode: bool
    type: str = Field(max_length=32)
    options: dict[str, Any] = _json(nullable=False)
    created: datetime = _timestamp()


class VerificationSession(SQLModel, table=True):
    __tablename__ = "verification_sessions"
    # Every list query is scoped to (account, mode) and ordered by (created, id); each index ends
    # in those two columns so a page is a seek on the index, never a sort or an OFFSET.
    __table_args__ = (
        Index("ix_sessions_scope_created", "account_id", "livemode", "created", "id"),
        Index("ix_sessions_scope_status", "account_id", "livemode", "status", "created", "id"),
        Index(
            "ix_sessions_scope_client_reference",
            "account_id",
            "livemode",
            "client_reference_id",
            "created",
            "id",
        ),
        Index(
            "ix_sessions_scope_customer",
            "account_id",
            "livemode",
            "related_customer",
            "created",
            "id",
        ),
    )

    # Byte-order collation on Postgres, as SQLite's default: ties list in the same order on both.
    id: str = Field(
        sa_column=Column(
            String(64).with_variant(String(64, collation="C"), "postgresql"), primary_key=True
        )
    )
    account_id: str = Field(foreign_key="accounts.id", max_length=64)
    livemode: bool
    created: datetime = _timestamp()
    status: str = Field(max_length=32)
    type: str = Field(max_length=32)
    verification_flow: str | None = Field(default=None, max_length=64)
    client_reference_id: str | None = Field(default=None, sa_column=Column(String(), nullable=True))
    related_customer: str | None = Field(default=None, sa_column=Column(String(), nullable=True))
    # Stripe's `{"account": "acct_…", "person": "person_…"}`, or null.
    related_person: dict[str, str] | None = _json()
    return_url: str | None = Field(default=None, sa_column=Column(String(), nullable=True))
    metadata_: dict[str, str] = Field(
        default_factory=dict, sa_column=Column("metadata", JSONDocument, nullable=False)
    )
    options: dict[str, Any] = _json(nullable=False)
    provided_details: dict[str, str] | None = _json()
    last_error: dict[str, Any] | None = _json()
    last_verification_report: str | None = Field(default=None, max_length=64)
    verified_outputs: dict[str, Any] | None = _json()
    redaction_status: str | None = Field(default=None, max_length=32)
    # The client secret is returned to secret keys as Stripe returns it, so it is stored; it is
    # never logged. The url token is looked up when the hosted page is opened.
    client_secret: str | None = Field(default=None, max_length=128)
    client_secret_expires_at: datetime | None = _timestamp(nullable=True)
    url_token: str | None = Field(default=None, max_length=64, unique=True)
    url_expires_at: datetime | None = _timestamp(nullable=True)


class VerificationLink(SQLModel, table=True):
    """A hosted-page token. A spent or expired one is kept for HOSTED_LINK_RETENTION_DAYS, so it
    is told apart from one that never existed (410 rather than 404); then it is purged."""

    __tablename__ = "verification_links"
    # Retention purges links spent or expired long ago (`app.store.links`).
    __table_args__ = (
        Index("ix_verification_links_expires_at", "expires_at"),
        Index("ix_verification_links_spent_at", "spent_at"),
    )

    token: str = Field(primary_key=True, max_length=64)
    session_id: str = Field(foreign_key="verification_sessions.id", index=True, max_length=64)
    expires_at: datetime = _timestamp()
    spent_at: datetime | None = _timestamp(nullable=True)


class VerificationReport(SQLModel, table=True):
    """The result of one verification attempt (`vr_…`); checks are stored in Stripe's shape."""

    __tablename__ = "verification_reports"
    __table_args__ = (
        Index("ix_reports_scope_created", "account_id", "livemode", "created", "id"),
        Index("ix_reports_scope_session", "account_id", "livemode", "session_id", "created", "id"),
        Index("ix_reports_scope_type", "account_id", "livemode", "type", "created", "id"),
    )

    id: str = _id_column()
    account_id: str = Field(foreign_key="accounts.id", max_length=64)
    livemode: bool
    created: datetime = _timestamp()
    session_id: str = Field(foreign_key="verification_sessions.id", max_length=64)
    type: str = Field(max_length=32)
    # The session's verification flow (`vf_…`), copied as its type and options are.
    verification_flow: str | None = Field(default=None, max_length=64)
    client_reference_id: str | None = Field(default=None, sa_column=Column(String(), nullable=True))
    options: dict[str, Any] = _json(nullable=False)
    document: dict[str, Any] | None = _json()
    id_number: dict[str, Any] | None = _json()
    selfie: dict[str, Any] | None = _json()
    email: dict[str, Any] | None = _json()
    phone: dict[str, Any] | None = _json()


class Event(SQLModel, table=True):
    """One change to a session, as a webhook would carry it. `sequence` orders events exactly,
    even two written in one transaction within the same microsecond."""

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_scope_sequence", "account_id", "livemode", "sequence"),
        Index("ix_events_scope_session", "account_id", "livemode", "session_id", "sequence"),
        Index("ix_events_scope_type", "account_id", "livemode", "type", "sequence"),
        # Retention purges the oldest events first (`app.store.events.purge_events`).
        Index("ix_events_created", "created"),
    )

    sequence: int | None = Field(
        default=None,
        sa_column=Column(
            BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
        ),
    )
    id: str = Field(max_length=64, unique=True)
    account_id: str = Field(foreign_key="accounts.id", max_length=64)
    livemode: bool
    created: datetime = _timestamp()
    type: str = Field(max_length=64)
    session_id: str = Field(foreign_key="verification_sessions.id", max_length=64)
    data: dict[str, Any] = _json(nullable=False)
    # The API request that caused the change (its Request-Id and Idempotency-Key); null for
    # changes the gateway made on its own. See app.origin.
    request_id: str | None = Field(default=None, max_length=64)
    idempotency_key: str | None = Field(default=None, max_length=255)


class Job(SQLModel, table=True):
    """Durable background work (processing a submission, redacting a session). A worker claims a
    due job, does it and deletes it in one transaction, so a crash leaves it to be run again and
    a finished job can never run twice."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_due", "run_at", "id"),)

    id: int | None = Field(
        default=None,
        sa_column=Column(
            BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
        ),
    )
    kind: str = Field(max_length=32)
    session_id: str = Field(foreign_key="verification_sessions.id", max_length=64)
    run_at: datetime = _timestamp()
    payload: dict[str, Any] = _json(nullable=False)


class IdempotencyKey(SQLModel, table=True):
    """A mutation request sent with an `Idempotency-Key`, scoped to an (account, mode) pair.

    Inserted, and committed, before the mutation runs: the primary key makes a concurrent second
    claim of the same key fail. `status_code` stays null while the first request runs; then the
    response is stored whole, for retries to get back byte for byte until `expires_at` (24 h).
    `wrote` is set by every write transaction of the request, in that transaction: a claim whose
    request committed work is never released or taken over, even when its response was lost.
    """

    __tablename__ = "idempotency_keys"
    __table_args__ = (Index("ix_idempotency_keys_expires_at", "expires_at"),)

    account_id: str = Field(foreign_key="accounts.id", primary_key=True, max_length=64)
    livemode: bool = Field(primary_key=True)
    key: str = Field(primary_key=True, max_length=255)
    # SHA-256 of the request (document, variables, operation name, kind of caller).
    fingerprint: str = Field(max_length=64)
    created: datetime = _timestamp()
    expires_at: datetime = _timestamp()
    status_code: int | None = None
    content_type: str | None = Field(default=None, max_length=255)
    body: bytes | None = Field(default=None, sa_column=Column(LargeBinary(), nullable=True))
    wrote: bool = Field(default=False, sa_column_kwargs={"server_default": false()})


class WebhookEndpoint(SQLModel, table=True):
    """Where an account's events are delivered (`we_…`). The signing secret is kept as issued,
    since each delivery is signed with it; it is returned once, on create (or on a roll), and
    never logged. While a secret is rolled the previous one stays valid, and signs too, until
    `previous_secret_expires_at`."""

    __tablename__ = "webhook_endpoints"
    __table_args__ = (
        Index("ix_webhook_endpoints_scope_created", "account_id", "livemode", "created", "id"),
    )

    id: str = _id_column()
    account_id: str = Field(foreign_key="accounts.id", max_length=64)
    livemode: bool
    created: datetime = _timestamp()
    url: str = Field(sa_column=Column(String(), nullable=False))
    description: str | None = Field(default=None, sa_column=Column(String(), nullable=True))
    metadata_: dict[str, str] = Field(
        default_factory=dict, sa_column=Column("metadata", JSONDocument, nullable=False)
    )
    enabled_events: list[str] = _json(nullable=False)
    api_version: str | None = Field(default=None, max_length=64)
    disabled: bool = Field(default=False)
    secret: str = Field(max_length=128)
    previous_secret: str | None = Field(default=None, max_length=128)
    previous_secret_expires_at: datetime | None = _timestamp(nullable=True)


class WebhookDelivery(SQLModel, table=True):
    """One event to one endpoint, written in the transaction that writes the event. A worker
    claims a due delivery by moving `next_attempt_at` past its attempt's timeout (a lease), sends
    it outside any transaction, then records the answer: `succeeded_at` on a 2xx, else the next
    attempt's time from the retry schedule, or null `next_attempt_at` once the schedule is spent.
    A process that dies mid-attempt leaves the lease to expire, and another process retries."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_due", "next_attempt_at", "id"),
        Index("ix_webhook_deliveries_event", "event_id", "endpoint_id", unique=True),
        Index("ix_webhook_deliveries_endpoint", "endpoint_id"),
    )

    id: int | None = Field(
        default=None,
        sa_column=Column(
            BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
        ),
    )
    event_id: str = Field(foreign_key="events.id", max_length=64)
    endpoint_id: str = Field(foreign_key="webhook_endpoints.id", max_length=64)
    created: datetime = _timestamp()
    next_attempt_at: datetime | None = _timestamp(nullable=True)
    attempts: int = Field(default=0)
    succeeded_at: datetime | None = _timestamp(nullable=True)
    last_attempt_at: datetime | None = _timestamp(nullable=True)
    # The last answer: its HTTP status (null when none came: a timeout, a refused connection),
    # what went wrong in a few words, and the start of the response body only.
    last_status: int | None = None
    last_error: str | None = Field(default=None, max_length=255)
    last_response: str | None = Field(default=None, sa_column=Column(String(), nullable=True))


class PersistedQuery(SQLModel, table=True):
    """A document registered through Apollo's automatic persisted queries, by the SHA-256 of its
    text; shared by every gateway process. The table is bounded: a registration that takes it past
    APQ_STORE_SIZE rows deletes the least recently used. `last_used` is coarse on purpose: a process
    moves it forward at most once every few minutes per document (see `app.web.persisted_queries`),
    so reads stay reads and eviction still sees which documents are in use."""

    __tablename__ = "persisted_queries"
    __table_args__ = (Index("ix_persisted_queries_last_used", "last_used", "sha256"),)

    # Lowercase hex, as Apollo's link and Appendix A of GraphQL-over-HTTP write it.
    sha256: str = Field(
        sa_column=Column(
            String(64).with_variant(String(64, collation="C"), "postgresql"), primary_key=True
        )
    )
    query: str = Field(sa_column=Column(String(), nullable=False))
    created: datetime = _timestamp()
    last_used: datetime = _timestamp()
