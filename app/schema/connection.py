"""Relay cursor connections."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import strawberry

from app.schema.types import VerificationSession


@strawberry.type(description="Where a page sits in the whole list (Relay PageInfo).")
class PageInfo:
    has_next_page: bool = strawberry.field(
        description="True when more items follow this page (older items, in the default order)."
    )
    has_previous_page: bool = strawberry.field(
        description="True when items precede this page (newer items, in the default order)."
    )
    start_cursor: str | None = strawberry.field(
        description="Cursor of the first item of the page; pass as `before` to page back. Null for an empty page."
    )
    end_cursor: str | None = strawberry.field(
        description="Cursor of the last item of the page; pass as `after` to page on. Null for an empty page."
    )


@strawberry.type(description="A session and its cursor.")
class VerificationSessionEdge:
    cursor: str = strawberry.field(description="Opaque cursor of this item, for `after`/`before`.")
    node: VerificationSession = strawberry.field(description="The session.")


@strawberry.type(description="A page of sessions, newest first, ties broken by id.")
class VerificationSessionConnection:
    edges: list[VerificationSessionEdge] = strawberry.field(
        description="The page's sessions with cursors."
    )
    nodes: list[VerificationSession] = strawberry.field(
        description="The page's sessions, without cursors."
    )
    page_info: PageInfo = strawberry.field(description="Cursors and whether more pages exist.")
    count: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(
        description="How many sessions match the filter in all pages. Counted only when selected."
    )
    async def total_count(self) -> int:
        return await self.count()
