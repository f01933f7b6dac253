"""Root query fields. Resolvers parse arguments, call the store and map rows to types."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from app.domain import ids
from app.domain.lifecycle import MAX_EVENT_TYPES
from app.pagination import (
    MAX_PAGE_SIZE,
    PageRequest,
    PaginationError,
    decode_sequence_cursor,
    encode_cursor,
    encode_sequence_cursor,
    page_request,
)
from app.schema.connection import Connection, build_connection, selected
from app.schema.context import Context
from app.schema.errors import bad_user_input
from app.schema.events import Event
from app.schema.inputs import (
    EventFilter,
    VerificationReportFilter,
    VerificationSessionFilter,
    created_bounds,
)
from app.schema.reports import VerificationReport
from app.schema.types import Node, VerificationSession, selected_attributes
from app.services import events as event_service
from app.services import reports as report_service
from app.services import sessions as session_service
from app.services.events import EventFilter as StoredEventFilter
from app.services.reports import ReportFilter
from app.services.sessions import SessionFilter

MAX_NODE_IDS = 100

FIRST = strawberry.argument(
    description=f"Page size going forward, 0 to {MAX_PAGE_SIZE}; default 10. Not with `last`."
)
AFTER = strawberry.argument(
    description="Return items after this cursor (an `endCursor` or edge cursor)."
)
LAST = strawberry.argument(
    description=f"Page size going backward, 0 to {MAX_PAGE_SIZE}. Not with `first`."
)
BEFORE = strawberry.argument(
    description="Return items before this cursor (a `startCursor` or edge cursor)."
)


def _page(
    first: int | None, after: str | None, last: int | None, before: str | None, **kwargs: Any
) -> PageRequest:
    try:
        return page_request(first=first, after=after, last=last, before=before, **kwargs)
    except PaginationError as error:
        raise bad_user_input(str(error)) from None


def check_event_types(types: list[str] | None) -> None:
    """An events filter's `types`: null for every type, else 1 to MAX_EVENT_TYPES of them (the
    `events` query and subscription share the rule)."""
    if types is None:
        return
    # An empty list would match no event at all; null (or no `types`) means every type.
    if not types:
        raise bad_user_input(
            "`filter.types` must hold at least 1 type; omit it or pass null for every type."
        )
    if len(types) > MAX_EVENT_TYPES:
        raise bad_user_input(
            f"`filter.types` may hold at most {MAX_EVENT_TYPES} types, got {len(types)}."
        )


def _session(context: Context) -> Callable[[Any], VerificationSession]:
    base_url = context.settings.public_base_url
    return lambda row: VerificationSession.from_row(row, public_base_url=base_url)


async def resolve_nodes(context: Context, object_ids: list[str]) -> list[Node | None]:
    """Objects for ids, by prefix, in the caller's scope; None for unknown or malformed ids."""
    scope = context.reader()
    by_prefix: dict[str | None, list[str]] = {}
    for object_id in object_ids:
        by_prefix.setdefault(ids.prefix_of(object_id), []).append(object_id)
    found: dict[str, Node] = {}
    database = context.database
    sessions = await session_service.get_many(
        database,
        scope=scope,
        session_ids=by_prefix.get(ids.SESSION, []),
        may_see_secrets=context.may_see_secrets,
    )
    reports = await report_service.get_many(
        database, scope=scope, report_ids=by_prefix.get(ids.REPORT, [])
    )
    events = await event_service.get_many(
        database, scope=scope, event_ids=by_prefix.get(ids.EVENT, [])
    )
    to_session = _session(context)
    found.update({key: to_session(row) for key, row in sessions.items()})
    found.update({key: VerificationReport.from_row(row) for key, row in reports.items()})
    found.update({key: Event.from_row(row) for key, row in events.items()})
    return [found.get(object_id) for object_id in object_ids]


def _session_filter(value: VerificationSessionFilter | None) -> SessionFilter:
    if value is None:
        return SessionFilter()
    return SessionFilter(
        status=value.status.value if value.status is not None else None,
        client_reference_id=value.client_reference_id,
        related_customer=value.related_customer,
        **created_bounds(value.created),
    )


@strawberry.type(
    description="The entry points for reading: sessions, their reports and events, by ID or in pages."
)
class Query:
    @strawberry.field(
        description="Fetch any object by its ID; null when unknown, malformed or not visible to the caller."
    )
    async def node(
        self,
        info: Info[Context, None],
        id: Annotated[
            strawberry.ID,
            strawberry.argument(description="An object ID such as `vs_…`, `vr_…` or `evt_…`."),
        ],
    ) -> Node | None:
        return (await resolve_nodes(info.context, [id]))[0]

    @strawberry.field(
        description=f"Fetch objects by ID, in the order given; null for each unknown, malformed or invisible ID. At most {MAX_NODE_IDS} IDs."
    )
    async def nodes(
        self,
        info: Info[Context, None],
        ids: Annotated[
            list[strawberry.ID],
            strawberry.argument(description=f"Up to {MAX_NODE_IDS} object IDs."),
        ],
    ) -> list[Node | None]:
        if len(ids) > MAX_NODE_IDS:
            raise bad_user_input(f"`ids` may hold at most {MAX_NODE_IDS} IDs, got {len(ids)}.")
        return await resolve_nodes(info.context, list(ids))

    @strawberry.field(
        description=(
            "A session by ID; null when not found or not visible to the caller. With a client "
            "secret, only that secret's own session, with a limited set of fields."
        )
    )
    async def verification_session(
        self,
        info: Info[Context, None],
        id: Annotated[strawberry.ID, strawberry.argument(description="The session's ID (`vs_…`).")],
    ) -> VerificationSession | None:
        context = info.context
        row = await session_service.get(
            context.database,
            scope=context.session_reader(id),
            session_id=id,
            may_see_secrets=context.may_see_secrets,
        )
        return None if row is None else _session(context)(row)

    @strawberry.field(
        description=(
            "Sessions newest first (ties broken by ID), as a Relay connection. Page forward with "
            "`first`/`after` or backward with `last`/`before`; without either, the first 10."
        )
    )
    async def verification_sessions(
        self,
        info: Info[Context, None],
        first: Annotated[int | None, FIRST] = None,
        after: Annotated[str | None, AFTER] = None,
        last: Annotated[int | None, LAST] = None,
        before: Annotated[str | None, BEFORE] = None,
        filter: Annotated[
            VerificationSessionFilter | None,
            strawberry.argument(description="Conditions every returned session meets."),
        ] = None,
    ) -> Connection[VerificationSession]:
        context = info.context
        scope = context.reader()
        page = _page(first, after, last, before)
        conditions = _session_filter(filter)
        wanted = selected(info)
        # Only the columns the selected fields read (see FIELD_ATTRIBUTES).
        attributes = selected_attributes(wanted.node_fields)
        return build_connection(
            await session_service.list_page(
                context.database,
                scope=scope,
                filter=conditions,
                page=page,
                attributes=attributes,
                far_side=wanted.far_side(page),
                may_see_secrets=context.may_see_secrets,
            ),
            count=lambda: session_service.count(context.database, scope=scope, filter=conditions),
            node=_session(context),
            cursor=lambda row: encode_cursor(row.created, row.id),
        )

    @strawberry.field(
        description="A verification report by ID; null when not found or not visible."
    )
    async def verification_report(
        self,
        info: Info[Context, None],
        id: Annotated[strawberry.ID, strawberry.argument(description="The report's ID (`vr_…`).")],
    ) -> VerificationReport | None:
        scope = info.context.reader()
        found = await report_service.get_many(info.context.database, scope=scope, report_ids=[id])
        return VerificationReport.from_row(found[id]) if id in found else None

    @strawberry.field(
        description="Verification reports newest first (ties broken by ID), as a Relay connection; default 10, at most 100 a page."
    )
    async def verification_reports(
        self,
        info: Info[Context, None],
        first: Annotated[int | None, FIRST] = None,
        after: Annotated[str | None, AFTER] = None,
        last: Annotated[int | None, LAST] = None,
        before: Annotated[str | None, BEFORE] = None,
        filter: Annotated[
            VerificationReportFilter | None,
            strawberry.argument(description="Conditions every returned report meets."),
        ] = None,
    ) -> Connection[VerificationReport]:
        context = info.context
        scope = context.reader()
        page = _page(first, after, last, before)
        conditions = ReportFilter(
            session_id=filter.verification_session if filter else None,
            type=filter.type.value if filter and filter.type else None,
            **created_bounds(filter.created if filter else None),
        )
        return build_connection(
            await report_service.list_page(
                context.database,
                scope=scope,
                filter=conditions,
                page=page,
                far_side=selected(info).far_side(page),
            ),
            count=lambda: report_service.count(context.database, scope=scope, filter=conditions),
            node=VerificationReport.from_row,
            cursor=lambda row: encode_cursor(row.created, row.id),
        )

    @strawberry.field(description="An event by ID; null when not found or not visible.")
    async def event(
        self,
        info: Info[Context, None],
        id: Annotated[strawberry.ID, strawberry.argument(description="The event's ID (`evt_…`).")],
    ) -> Event | None:
        scope = info.context.reader()
        found = await event_service.get_many(info.context.database, scope=scope, event_ids=[id])
        return Event.from_row(found[id]) if id in found else None

    @strawberry.field(
        description=(
            "Events newest first, in the exact order of the changes (a sequence, not a timestamp), "
            "as a Relay connection; default 10, at most 100 a page."
        )
    )
    async def events(
        self,
        info: Info[Context, None],
        first: Annotated[int | None, FIRST] = None,
        after: Annotated[str | None, AFTER] = None,
        last: Annotated[int | None, LAST] = None,
        before: Annotated[str | None, BEFORE] = None,
        filter: Annotated[
            EventFilter | None,
            strawberry.argument(description="Conditions every returned event meets."),
        ] = None,
    ) -> Connection[Event]:
        context = info.context
        scope = context.reader()
        page = _page(first, after, last, before, decode=decode_sequence_cursor)
        check_event_types(filter.types if filter else None)
        conditions = StoredEventFilter(
            types=filter.types if filter else None,
            session_id=filter.verification_session if filter else None,
            **created_bounds(filter.created if filter else None),
        )
        return build_connection(
            await event_service.list_page(
                context.database,
                scope=scope,
                filter=conditions,
                page=page,
                far_side=selected(info).far_side(page),
            ),
            count=lambda: event_service.count(context.database, scope=scope, filter=conditions),
            node=Event.from_row,
            cursor=lambda row: encode_sequence_cursor(row.sequence or 0),
        )
