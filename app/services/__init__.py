"""Use cases: every surface (GraphQL resolvers, the REST API, the hosted pages, the worker) calls
these and nothing below them. A use case owns its transaction, calls `store` for data
and `domain` for rules, and returns stored rows or records for the surface to map; a rule broken
is a `DomainError`, raised before anything is written or with the transaction rolled back.

    services.accounts   who is calling: API keys and client secrets
    services.sessions   create, update, cancel, redact, submit, simulate; reads with the
                        credentials refresh a secret key sees
    services.reports    verification report reads
    services.events     event reads
    services.links      the hosted page's link: find it, submit through it
    services.jobs       the background worker's due jobs
    services.retention  the background worker's purges of what retention no longer keeps
    services.persisted_queries  the shared store of automatic persisted queries
    services.backlog    due jobs and webhook attempts, for /metrics
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from app.db import OutageLog, Reader, database_fault
from app.store.keyset import Page


@dataclass(frozen=True)
class Database:
    """What use cases run against: `engine` for write transactions and unbounded reads
    (counts), `reader` for the short reads that serve requests (see `app.db.Reader`)."""

    engine: AsyncEngine
    reader: Reader


# What a list use case returns: a page of rows and what lies beyond it.
__all__ = ["Database", "OutageLog", "Page", "database_fault"]
