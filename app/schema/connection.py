"""Relay cursor connections, one generic shape for every list (sessions, reports, events)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

import strawberry

from app.store.keyset import Page

Node = TypeVar("Node")
Row = TypeVar("Row")


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


@strawberry.type(description="An item of a page and its cursor.")
class Edge(Generic[Node]):
    cursor: str = strawberry.field(description="Opaque cursor of this item, for `after`/`before`.")
    node: Node = strawberry.field(description="The item.")


@strawberry.type(description="A page of a list, newest first, as a Relay cursor connection.")
class Connection(Generic[Node]):
    edges: list[Edge[Node]] = strawberry.field(description="The page's items with their cursors.")
    nodes: list[Node] = strawberry.field(description="The page's items, without cursors.")
    page_info: PageInfo = strawberry.field(description="Cursors and whether more pages exist.")
    count: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(
        description="How many items match the filter in all pages. Counted only when selected."
    )
    async def total_count(self) -> int:
        return await self.count()


def build_connection(
    page: Page[Row],
    *,
    node: Callable[[Row], Node],
    cursor: Callable[[Row], str],
    count: Callable[[], Awaitable[int]],
) -> Connection[Node]:
    edges = [Edge(cursor=cursor(row), node=node(row)) for row in page.rows]
    return Connection(
        edges=edges,
        nodes=[edge.node for edge in edges],
        page_info=PageInfo(
            has_next_page=page.has_next_page,
            has_previous_page=page.has_previous_page,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
        count=count,
    )
