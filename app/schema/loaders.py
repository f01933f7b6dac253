"""Per-request DataLoaders: every session or report a response needs is fetched in one query
per kind, however many rows ask for it (a page of 100 sessions with their last reports is two
queries, not 101)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from strawberry.dataloader import DataLoader

from app.schema.context import Context
from app.services import reports, sessions


def _loader(
    context: Context,
    name: str,
    fetch: Callable[..., Awaitable[dict[str, Any]]],
    ids_argument: str,
) -> DataLoader[str, Any]:
    if name not in context.loaders:
        scope = context.principal.scope if context.principal else None

        async def load(keys: Sequence[str]) -> list[Any]:
            if scope is None:
                return [None for _ in keys]
            found = await fetch(context.database, scope=scope, **{ids_argument: list(keys)})
            return [found.get(key) for key in keys]

        context.loaders[name] = DataLoader(load_fn=load)
    return context.loaders[name]


def session_loader(context: Context) -> DataLoader[str, Any]:
    return _loader(context, "sessions", sessions.get_stored, "session_ids")


def report_loader(context: Context) -> DataLoader[str, Any]:
    return _loader(context, "reports", reports.get_many, "report_ids")
