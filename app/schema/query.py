"""Root query fields. Resolvers parse arguments, call the store and map rows to types."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from app.db import read_session
from app.domain import ids
from app.pagination import MAX_PAGE_SIZE, PaginationError, encode_cursor, page_request
from app.schema.connection import PageInfo, VerificationSessionConnection, VerificationSessionEdge
from app.schema.context import Context
from app.schema.errors import bad_user_input
from app.schema.inputs import VerificationSessionFilter
from app.schema.types import Node, VerificationSession
from app.store import sessions as store
from app.store.sessions import SessionFilter

MAX_NODE_IDS = 100


async def resolve_nodes(context: Context, object_ids: list[str]) -> list[Node | None]:
    """Objects for ids, by prefix, in the caller's scope; None for unknown or malformed ids."""
    scope = context.reader()
    session_ids = [object_id for object_id in object_ids if ids.prefix_of(object_id) == ids.SESSION]
    async with read_session(context.engine) as db:
        found = await store.get_sessions(db, scope=scope, session_ids=session_ids)
    base_url = context.settings.public_base_url
    return [
        VerificationSession.from_row(found[object_id], public_base_url=base_url)
        if object_id in found
        else None
        for object_id in object_ids
    ]


def _session_filter(value: VerificationSessionFilter | None) -> SessionFilter:
    if value is None:
        return SessionFilter()
    created = value.created
    return SessionFilter(
        status=value.status.value if value.status is not None else None,
        client_reference_id=value.client_reference_id,
        related_customer=value.related_customer,
        created_gt=created.gt if created else None,
        created_gte=created.gte if created else None,
        created_lt=created.lt if created else None,
        created_lte=created.lte if created else None,
    )


@strawberry.type
class Query:
    @strawberry.field(
        description="Fetch any object by its ID; null when unknown, malformed or not visible to the caller."
    )
    async def node(
        self,
        info: Info[Context, None],
        id: Annotated[
            strawberry.ID, strawberry.argument(description="An object ID such as `vs_…`.")
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
        description="A session by ID; null when not found or not visible to the caller."
    )
    async def verification_session(
        self,
        info: Info[Context, None],
        id: Annotated[strawberry.ID, strawberry.argument(description="The session's ID (`vs_…`).")],
    ) -> VerificationSession | None:
        scope = info.context.reader()
        async with read_session(info.context.engine) as db:
            row = await store.get_session(db, scope=scope, session_id=id)
        if row is None:
            return None
        return VerificationSession.from_row(
            row, public_base_url=info.context.settings.public_base_url
        )

    @strawberry.field(
        description=(
            "Sessions newest first (ties broken by ID), as a Relay connection. Page forward with "
            "`first`/`after` or backward with `last`/`before`; without either, the first 10."
        )
    )
    async def verification_sessions(
        self,
        info: Info[Context, None],
        first: Annotated[
            int | None,
            strawberry.argument(
                description=f"Page size going forward, 0 to {MAX_PAGE_SIZE}; default 10. Not with `last`."
            ),
        ] = None,
        after: Annotated[
            str | None,
            strawberry.argument(
                description="Return items after this cursor (an `endCursor` or edge cursor)."
            ),
        ] = None,
        last: Annotated[
            int | None,
            strawberry.argument(
                description=f"Page size going backward, 0 to {MAX_PAGE_SIZE}. Not with `first`."
            ),
        ] = None,
        before: Annotated[
            str | None,
            strawberry.argument(
                description="Return items before this cursor (a `startCursor` or edge cursor)."
            ),
        ] = None,
        filter: Annotated[
            VerificationSessionFilter | None,
            strawberry.argument(description="Conditions every returned session meets."),
        ] = None,
    ) -> VerificationSessionConnection:
        context = info.context
        scope = context.reader()
        try:
            page = page_request(first=first, after=after, last=last, before=before)
        except PaginationError as error:
            raise bad_user_input(str(error)) from None
        conditions = _session_filter(filter)
        async with read_session(context.engine) as db:
            result = await store.list_sessions(db, scope=scope, filter=conditions, page=page)

        async def count() -> int:
            async with read_session(context.engine) as db:
                return await store.count_sessions(db, scope=scope, filter=conditions)

        base_url = context.settings.public_base_url
        edges = [
            VerificationSessionEdge(
                cursor=encode_cursor(row.created, row.id),
                node=VerificationSession.from_row(row, public_base_url=base_url),
            )
            for row in result.rows
        ]
        return VerificationSessionConnection(
            edges=edges,
            nodes=[edge.node for edge in edges],
            page_info=PageInfo(
                has_next_page=result.has_next_page,
                has_previous_page=result.has_previous_page,
                start_cursor=edges[0].cursor if edges else None,
                end_cursor=edges[-1].cursor if edges else None,
            ),
            count=count,
        )
