"""`/v1/webhook_endpoints`: where an account's events are delivered (`app.services.webhooks`).

Beyond Stripe's parameters, an update may roll the signing secret, as Stripe's dashboard does:
`roll_secret=true` issues a new one (answered once, as on create) and keeps the old one valid,
signing beside the new, for `expire_previous_secret_in` seconds (0 to 86400; 86400 by default).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.routing import Route

from app.domain.sessions import KEEP
from app.rest import lists, params
from app.rest.errors import no_such
from app.rest.http import Call, Rest
from app.rest.objects import webhook_endpoint_object
from app.services import webhooks
from app.services.webhooks import EndpointCreate, EndpointUpdate

PATH = "/v1/webhook_endpoints"
_CREATE = ("url", "enabled_events", "description", "metadata", "api_version", "expand")
_UPDATE = (
    "url",
    "enabled_events",
    "description",
    "metadata",
    "disabled",
    "roll_secret",
    "expire_previous_secret_in",
    "expand",
)


def routes(rest: Rest) -> list[Route]:
    async def create(request: Request, call: Call) -> dict[str, Any]:
        given = call.params
        params.check_known(given, _CREATE)
        lists.object_expand(given, frozenset())
        url = params.string(given, "url")
        if url is None:
            raise params.invalid("url", "Missing required param: url.", "parameter_missing")
        if "enabled_events" not in given:
            raise params.invalid(
                "enabled_events", "Missing required param: enabled_events.", "parameter_missing"
            )
        row = await webhooks.create(
            rest.database,
            scope=call.writer,
            params=EndpointCreate(
                url=url,
                enabled_events=_events(given),
                description=params.string(given, "description"),
                metadata=params.mapping(given, "metadata"),
                api_version=params.string(given, "api_version"),
            ),
        )
        return webhook_endpoint_object(row, with_secret=True)

    async def retrieve(request: Request, call: Call) -> dict[str, Any]:
        params.check_known(call.params, ("expand",))
        lists.object_expand(call.params, frozenset())
        row = await webhooks.get(
            rest.database, scope=call.reader, endpoint_id=request.path_params["id"]
        )
        return webhook_endpoint_object(row, with_secret=False)

    async def update(request: Request, call: Call) -> dict[str, Any]:
        given = call.params
        params.check_known(given, _UPDATE)
        lists.object_expand(given, frozenset())
        metadata = params.mapping(given, "metadata")
        disabled = params.boolean(given, "disabled")
        rolled = bool(params.boolean(given, "roll_secret"))
        grace = params.integer(given, "expire_previous_secret_in", low=0, high=86400)
        if grace is not None and not rolled:
            raise params.invalid(
                "expire_previous_secret_in",
                "expire_previous_secret_in is only taken with roll_secret=true.",
            )
        row = await webhooks.update(
            rest.database,
            scope=call.writer,
            endpoint_id=request.path_params["id"],
            update=EndpointUpdate(
                url=KEEP if "url" not in given else params.string(given, "url") or "",
                enabled_events=KEEP if "enabled_events" not in given else _events(given),
                description=(
                    KEEP if "description" not in given else params.string(given, "description")
                ),
                # `metadata=` (empty) clears every key, as on Stripe.
                metadata=KEEP if metadata is None else (None if metadata == {} else metadata),
                disabled=KEEP if disabled is None else disabled,
                roll_secret=rolled,
                expire_previous_secret_in=grace,
            ),
        )
        return webhook_endpoint_object(row, with_secret=rolled)

    async def delete(request: Request, call: Call) -> dict[str, Any]:
        params.check_known(call.params, ())
        endpoint_id: str = request.path_params["id"]
        await webhooks.delete(rest.database, scope=call.writer, endpoint_id=endpoint_id)
        return {"id": endpoint_id, "object": "webhook_endpoint", "deleted": True}

    async def list_endpoints(request: Request, call: Call) -> dict[str, Any]:
        given = call.params
        params.check_known(given, lists.LIST_PARAMS)
        lists.list_expand(given, frozenset())
        wanted = lists.window(given)
        # At most 16 exist (app.domain.webhooks.MAX_ENDPOINTS) in a scope: the page is cut from all of them.
        rows = await webhooks.list_all(rest.database, scope=call.reader)
        ids = [row.id for row in rows]
        anchor = wanted.starting_after or wanted.ending_before
        if anchor is not None and anchor not in ids:
            name = "starting_after" if wanted.forward else "ending_before"
            raise no_such("webhook endpoint", anchor, param=name, status=400)
        if wanted.forward:
            start = 0 if anchor is None else ids.index(anchor) + 1
            end = min(start + wanted.limit, len(rows))
            has_more = end < len(rows)
        else:
            end = ids.index(anchor) if anchor is not None else len(rows)
            start = max(0, end - wanted.limit)
            has_more = start > 0
        page = rows[start:end]
        data = [webhook_endpoint_object(row, with_secret=False) for row in page]
        return lists.list_object(PATH, data, has_more)

    return [
        Route(PATH, rest.route(create), methods=["POST"]),
        Route(PATH, rest.route(list_endpoints), methods=["GET"]),
        Route(PATH + "/{id}", rest.route(retrieve), methods=["GET"]),
        Route(PATH + "/{id}", rest.route(update), methods=["POST"]),
        Route(PATH + "/{id}", rest.route(delete), methods=["DELETE"]),
    ]


def _events(given: dict[str, Any]) -> list[str]:
    events = given.get("enabled_events")
    if not isinstance(events, list) or not all(isinstance(item, str) for item in events):
        raise params.invalid(
            "enabled_events",
            "Invalid array: pass enabled_events[]=* or enabled_events[0]=<event type>, and so on.",
        )
    return events
