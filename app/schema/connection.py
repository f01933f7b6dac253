"""Relay cursor connections, one generic shape for every list (sessions, reports, events)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import strawberry
from graphql import FieldNode, FragmentSpreadNode, InlineFragmentNode, SelectionSetNode
from strawberry.types import Info

from app.pagination import PageRequest
from app.services import Page

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


@dataclass(frozen=True)
class Selected:
    """What a connection's selection asks for, through fragments and whatever their
    @skip/@include (a superset is enough to know what to fetch)."""

    # The names of the fields asked of its nodes (under `edges { node }` and `nodes`).
    node_fields: frozenset[str]
    # The names of the fields asked of `pageInfo`.
    page_info_fields: frozenset[str]

    def far_side(self, page: PageRequest) -> bool:
        """Whether the page must know what lies beyond its cursor: `hasPreviousPage` going
        forward, `hasNextPage` going backward (see `store.keyset`)."""
        return ("hasPreviousPage" if page.forward else "hasNextPage") in self.page_info_fields


_SELECTED: dict[int, tuple[Any, Selected]] = {}
_SELECTED_KEPT = 512


def selected(info: Info[Any, Any]) -> Selected:
    """What the connection field being resolved selects. Remembered per selection: documents
    are parsed once (app.schema.limits), so the same operation brings the same nodes."""
    # graphql-core's own resolve info: its field nodes are the document's, which Strawberry's
    # public `selected_fields` would convert anew on every call.
    raw = info._raw_info
    fragments = raw.fragments
    first = raw.field_nodes[0]
    found = _SELECTED.get(id(first))
    if found is not None and found[0] is first:
        return found[1]
    nodes: set[str] = set()
    page_info: set[str] = set()
    for node in raw.field_nodes:
        for part in _fields(node.selection_set, fragments):
            name = part.name.value
            if name == "nodes":
                nodes.update(_names(part.selection_set, fragments))
            elif name == "pageInfo":
                page_info.update(_names(part.selection_set, fragments))
            elif name == "edges":
                for edge_field in _fields(part.selection_set, fragments):
                    if edge_field.name.value == "node":
                        nodes.update(_names(edge_field.selection_set, fragments))
    if len(_SELECTED) >= _SELECTED_KEPT:
        _SELECTED.clear()
    result = Selected(node_fields=frozenset(nodes), page_info_fields=frozenset(page_info))
    _SELECTED[id(first)] = (first, result)
    return result


def _names(selection_set: SelectionSetNode | None, fragments: dict[str, Any]) -> Iterator[str]:
    return (field.name.value for field in _fields(selection_set, fragments))


def _fields(
    selection_set: SelectionSetNode | None, fragments: dict[str, Any]
) -> Iterator[FieldNode]:
    """The fields of a selection set, fragments spread and inline fragments flattened."""
    stack = list(selection_set.selections) if selection_set else []
    seen: set[str] = set()
    while stack:
        selection = stack.pop(0)
        if isinstance(selection, FieldNode):
            yield selection
        elif isinstance(selection, InlineFragmentNode):
            stack[:0] = selection.selection_set.selections
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            if name not in seen and name in fragments:
                seen.add(name)
                stack[:0] = fragments[name].selection_set.selections


def _edge(cursor: str, node: Any) -> Edge[Any]:
    # What `Edge(cursor=…, node=…)` builds, without the dataclass constructor's keyword
    # arguments, for every row of every page (tests/unit/test_schema_types.py compares them).
    edge: Edge[Any] = _new(Edge)
    edge.cursor = cursor
    edge.node = node
    return edge


_new = object.__new__


def build_connection(
    page: Page[Row],
    *,
    node: Callable[[Row], Node],
    cursor: Callable[[Row], str],
    count: Callable[[], Awaitable[int]],
) -> Connection[Node]:
    edges = [_edge(cursor(row), node(row)) for row in page.rows]
    return Connection(
        edges=edges,
        nodes=[edge.node for edge in edges],
        # A None (not asked: the far side was not probed) is never read: see `Selected`.
        page_info=PageInfo(
            has_next_page=page.has_next_page,  # type: ignore[arg-type]
            has_previous_page=page.has_previous_page,  # type: ignore[arg-type]
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
        count=count,
    )
