"""`/v1/events`: the events GraphQL's `events` query reads, in Stripe's shape."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.routing import Route

from app.domain.lifecycle import MAX_EVENT_TYPES, EventType
from app.pagination import decode_sequence_cursor, encode_sequence_cursor
from app.rest import lists, params
from app.rest.errors import no_such
from app.rest.http import Call, Rest
from app.rest.objects import event_object
from app.services import events, webhooks
from app.services.events import EventFilter

PATH = "/v1/events"
_LIST = (*lists.LIST_PARAMS, "created", "delivery_success", "type", "types")


def routes(rest: Rest) -> list[Route]:
    async def retrieve(request: Request, call: Call) -> dict[str, Any]:
        params.check_known(call.params, ("expand",))
        lists.object_expand(call.params, frozenset())
        event_id: str = request.path_params["id"]
        found = await events.get_many(rest.database, scope=call.reader, event_ids=[event_id])
        if event_id not in found:
            raise no_such("event", event_id)
        pending = await webhooks.pending_counts(rest.database, event_ids=[event_id])
        return event_object(found[event_id], pending_webhooks=pending.get(event_id, 0))

    async def list_events(request: Request, call: Call) -> dict[str, Any]:
        given = call.params
        params.check_known(given, _LIST)
        lists.list_expand(given, frozenset())
        wanted = lists.window(given)
        scope = call.reader

        async def cursor_of(event_id: str) -> str | None:
            found = await events.get_many(rest.database, scope=scope, event_ids=[event_id])
            anchor = found.get(event_id)
            return None if anchor is None else encode_sequence_cursor(anchor.sequence or 0)

        found = await events.list_page(
            rest.database,
            scope=scope,
            filter=EventFilter(
                types=_types(given),
                delivery_success=params.boolean(given, "delivery_success"),
                **params.created_range(given),
            ),
            page=await wanted.page(cursor_of, decode=decode_sequence_cursor),
            far_side=False,
        )
        pending = await webhooks.pending_counts(
            rest.database, event_ids=[row.id for row in found.rows]
        )
        data = [event_object(row, pending_webhooks=pending.get(row.id, 0)) for row in found.rows]
        return lists.list_object(PATH, data, wanted.has_more(found))

    return [
        Route(PATH, rest.route(list_events), methods=["GET"]),
        Route(PATH + "/{id}", rest.route(retrieve), methods=["GET"]),
    ]


def _types(given: dict[str, Any]) -> list[str] | None:
    """`type` (one name, or a prefix ending in `*`) or `types` (1 to 20 names), not both; None
    for every type."""
    one = params.string(given, "type")
    many = given.get("types")
    if one is not None and many is not None:
        raise params.invalid("types", "You may only specify one of these parameters: type, types.")
    if many is not None:
        if not isinstance(many, list) or not all(isinstance(item, str) for item in many):
            raise params.invalid("types", "Invalid array: pass types[]=… once per type.")
        if not 1 <= len(many) <= MAX_EVENT_TYPES:
            raise params.invalid(
                "types", f"`types` must hold 1 to {MAX_EVENT_TYPES} types, got {len(many)}."
            )
        return list(many)
    if one is None:
        return None
    if one.endswith("*"):
        # Every type this gateway records under the prefix; a prefix matching none matches
        # no event, as on Stripe.
        prefix = one[:-1]
        return [kind.value for kind in EventType if kind.value.startswith(prefix)] or [one]
    return [one]
