"""Root subscription fields, served over the WebSocket (`app.web.subscriptions`).

A resolver checks its arguments and the caller's access before it returns its stream, so a bad
argument or a refusal is the operation's error (the protocol's `error` message) rather than a
result; the stream itself comes from the process's live feed (`app.services.live`).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Callable
from typing import Annotated, Any, TypeVar

import strawberry
from strawberry.types import Info

from app.domain.lifecycle import MAX_EVENT_TYPES
from app.pagination import PaginationError, decode_sequence_cursor, encode_sequence_cursor
from app.schema.connection import Edge
from app.schema.context import Context
from app.schema.errors import bad_user_input, not_found
from app.schema.events import Event
from app.schema.query import check_event_types
from app.schema.types import VerificationSession
from app.services import sessions as session_service
from app.services.events import EventFilter as StoredEventFilter
from app.services.live import Listener, resume_problem

T = TypeVar("T")
Item = TypeVar("Item")


@strawberry.input(description="Conditions every event of an `events` subscription meets.")
class EventSubscriptionFilter:
    types: list[str] | None = strawberry.field(
        default=None,
        description=f"Only events of these types, e.g. `identity.verification_session.verified`; 1 to {MAX_EVENT_TYPES} types (null or omitted: every type).",
    )
    verification_session: strawberry.ID | None = strawberry.field(
        default=None, description="Only events of this session (`vs_…`)."
    )


@strawberry.type(
    description=(
        "Live updates over a WebSocket (`graphql-transport-ws` on `/graphql`, the key or client "
        "secret in `connection_init`'s `Authorization`). At most SUBSCRIPTIONS_PER_CONNECTION "
        "operations per connection (100 by default)."
    )
)
class Subscription:
    @strawberry.subscription(
        description=(
            "Every event of the caller's account and mode, oldest first, each with the cursor "
            "the `events` query gives it: first those after `since`, then each new one as it is "
            "committed, none missed or repeated in between, on whichever gateway process. A "
            "client that stops reading is disconnected past SUBSCRIPTION_QUEUE_SIZE (1000) "
            "waiting events and resumes with its last cursor. API keys only."
        )
    )
    async def events(
        self,
        info: Info[Context, None],
        since: Annotated[
            str | None,
            strawberry.argument(
                description=(
                    "A cursor from the `events` query or an earlier message of this "
                    "subscription: start after that event. Omitted: start with the next event. "
                    "A cursor whose event is past EVENT_RETENTION_DAYS (30) is BAD_USER_INPUT."
                )
            ),
        ] = None,
        filter: Annotated[
            EventSubscriptionFilter | None,
            strawberry.argument(description="Conditions every event sent meets."),
        ] = None,
    ) -> AsyncGenerator[Edge[Event], None]:
        context = info.context
        scope = context.reader()
        try:
            after = decode_sequence_cursor(since, argument="since") if since is not None else None
        except PaginationError as error:
            raise bad_user_input(str(error)) from None
        if after is not None and (
            problem := await resume_problem(
                context.database, scope=scope, after=after, retention=context.settings.retention
            )
        ):
            raise bad_user_input(problem)
        check_event_types(filter.types if filter else None)
        conditions = StoredEventFilter(
            types=filter.types if filter else None,
            session_id=filter.verification_session if filter else None,
        )
        live = _live(context)
        rows = live.feed.events(
            scope=scope, filter=conditions, since=after, disconnect=live.disconnect
        )
        return _mapped(
            context,
            rows,
            lambda row: Edge(cursor=encode_sequence_cursor(row.sequence), node=Event.from_row(row)),
        )

    @strawberry.subscription(
        description=(
            "The session as it is now, then again after every change to it (status, redaction, "
            "last error, metadata, options, …), until the client completes; changes are seen "
            "within SUBSCRIPTION_POLL_SECONDS (1 s). Unknown or invisible IDs are NOT_FOUND. A "
            "client secret may watch its own session, with the limited view it reads."
        )
    )
    async def verification_session(
        self,
        info: Info[Context, None],
        id: Annotated[strawberry.ID, strawberry.argument(description="The session's ID (`vs_…`).")],
    ) -> AsyncGenerator[VerificationSession, None]:
        context = info.context
        scope = context.session_reader(id)
        found = await session_service.get_stored(context.database, scope=scope, session_ids=[id])
        if id not in found:
            raise not_found(f"No verification session {id[:64]!r} is visible to this key.")
        live = _live(context)
        rows = live.feed.session(
            scope=scope,
            session_id=id,
            may_see_secrets=context.may_see_secrets,
            disconnect=live.disconnect,
        )
        base_url = context.settings.public_base_url
        return _mapped(
            context, rows, lambda row: VerificationSession.from_row(row, public_base_url=base_url)
        )


def _live(context: Context) -> Listener:
    if context.live is None:  # only the WebSocket endpoint runs subscriptions
        raise RuntimeError("subscriptions need the live feed in the context")
    return context.live


async def _mapped(
    context: Context, rows: AsyncIterator[Any], to_item: Callable[[Any], Item]
) -> AsyncGenerator[Item, None]:
    """Each row as a GraphQL object. The batch loaders are emptied before each: one context
    serves the whole stream, and a loader would otherwise keep showing a session as it was."""
    try:
        async for row in rows:
            context.loaders.clear()
            yield to_item(row)
    finally:
        await rows.aclose()  # type: ignore[attr-defined]
