"""`/v1/identity/verification_sessions`: Stripe's VerificationSession endpoints over the same use
cases as GraphQL (`app.services.sessions`)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.routing import Route

from app.domain.sessions import KEEP, SessionCreate, SessionUpdate
from app.pagination import encode_cursor
from app.rest import lists, params
from app.rest.errors import StripeError, no_such
from app.rest.http import Call, Rest
from app.rest.objects import SESSION_EXPANDABLE, report_object, session_object
from app.services import reports, sessions
from app.services.sessions import SessionFilter

PATH = "/v1/identity/verification_sessions"
HELPERS = "/v1/test_helpers/identity/verification_sessions"
_CREATE = (
    "type",
    "verification_flow",
    "client_reference_id",
    "metadata",
    "options",
    "provided_details",
    "related_customer",
    "related_person",
    "return_url",
    "expand",
)
_UPDATE = ("metadata", "options", "provided_details", "type", "expand")
_LIST = (*lists.LIST_PARAMS, "created", "status", "client_reference_id", "related_customer")
_DOCUMENT = (
    "allowed_types",
    "require_id_number",
    "require_live_capture",
    "require_matching_selfie",
)


def routes(rest: Rest) -> list[Route]:
    async def views(call: Call, rows: list[Any], expand: set[str]) -> list[dict[str, Any]]:
        objects = [
            session_object(
                row,
                public_base_url=rest.settings.public_base_url,
                may_see_secrets=call.may_see_secrets,
                expand=expand,
            )
            for row in rows
        ]
        if "last_verification_report" in expand:
            # Every report of the page in one read.
            wanted = [row.last_verification_report for row in rows if row.last_verification_report]
            found = await reports.get_many(rest.database, scope=call.reader, report_ids=wanted)
            for view_of in objects:
                report = found.get(view_of["last_verification_report"] or "")
                if report is not None:
                    view_of["last_verification_report"] = report_object(report, expand=set())
        return objects

    async def view(call: Call, row: Any, expand: set[str]) -> dict[str, Any]:
        return (await views(call, [row], expand))[0]

    async def create(request: Request, call: Call) -> dict[str, Any]:
        given = call.params
        params.check_known(given, _CREATE)
        expand = _expand(given)
        row = await sessions.create(
            rest.database,
            scope=call.writer,
            params=SessionCreate(
                type=params.string(given, "type"),
                verification_flow=params.string(given, "verification_flow"),
                client_reference_id=params.string(given, "client_reference_id"),
                metadata=params.mapping(given, "metadata"),
                options=_options(given),
                provided_details=_provided_details(given),
                related_customer=params.string(given, "related_customer"),
                related_person=_related_person(given),
                return_url=params.string(given, "return_url"),
            ),
        )
        return await view(call, row, expand)

    async def retrieve_or_update(request: Request, call: Call) -> dict[str, Any]:
        session_id: str = request.path_params["id"]
        given = call.params
        expand = _expand(given)
        if request.method == "GET":
            params.check_known(given, ("expand",))
            row = await sessions.get(
                rest.database,
                scope=call.reader,
                session_id=session_id,
                may_see_secrets=call.may_see_secrets,
            )
            if row is None:
                raise no_such("verification session", session_id)
            return await view(call, row, expand)
        params.check_known(given, _UPDATE)
        metadata = params.mapping(given, "metadata")
        row = await sessions.update(
            rest.database,
            scope=call.writer,
            session_id=session_id,
            update=SessionUpdate(
                # `metadata=` (empty) clears every key, as on Stripe.
                metadata=KEEP if metadata is None else (None if metadata == {} else metadata),
                options=KEEP if "options" not in given else _options(given),
                provided_details=(
                    KEEP if "provided_details" not in given else _provided_details(given)
                ),
                type=KEEP if "type" not in given else params.string(given, "type"),
            ),
        )
        return await view(call, row, expand)

    async def list_sessions(request: Request, call: Call) -> dict[str, Any]:
        given = call.params
        params.check_known(given, _LIST)
        expand = lists.list_expand(given, SESSION_EXPANDABLE)
        wanted = lists.window(given)
        scope = call.reader

        async def cursor_of(session_id: str) -> str | None:
            anchor = await sessions.get(
                rest.database, scope=scope, session_id=session_id, may_see_secrets=False
            )
            return None if anchor is None else encode_cursor(anchor.created, anchor.id)

        found = await sessions.list_page(
            rest.database,
            scope=scope,
            filter=SessionFilter(
                status=params.string(given, "status"),
                client_reference_id=params.string(given, "client_reference_id"),
                related_customer=params.string(given, "related_customer"),
                **params.created_range(given),
            ),
            page=await wanted.page(cursor_of),
            attributes=None,
            far_side=False,
            may_see_secrets=call.may_see_secrets,
        )
        return lists.list_object(
            PATH, await views(call, found.rows, expand), wanted.has_more(found)
        )

    async def cancel(request: Request, call: Call) -> dict[str, Any]:
        params.check_known(call.params, ("expand",))
        row = await sessions.cancel(
            rest.database, scope=call.writer, session_id=request.path_params["id"]
        )
        return await view(call, row, _expand(call.params))

    async def redact(request: Request, call: Call) -> dict[str, Any]:
        params.check_known(call.params, ("expand",))
        row = await sessions.redact(
            rest.database,
            scope=call.writer,
            session_id=request.path_params["id"],
            delay_seconds=rest.settings.redaction_delay_seconds,
        )
        return await view(call, row, _expand(call.params))

    def test_helper(outcome: str, last_error_code: str | None = None) -> Any:
        async def helper(request: Request, call: Call) -> dict[str, Any]:
            params.check_known(call.params, ("expand",))
            scope = call.writer
            if scope.livemode:
                raise StripeError(
                    403,
                    "invalid_request_error",
                    "Test helpers only work with test-mode keys (sk_test_…).",
                )
            row = await sessions.simulate(
                rest.database,
                scope=scope,
                session_id=request.path_params["id"],
                choice=sessions.Choice(outcome=outcome, last_error_code=last_error_code),
            )
            return await view(call, row, _expand(call.params))

        return helper

    return [
        Route(PATH, rest.route(create), methods=["POST"]),
        Route(PATH, rest.route(list_sessions), methods=["GET"]),
        Route(PATH + "/{id}", rest.route(retrieve_or_update), methods=["GET", "POST"]),
        Route(PATH + "/{id}/cancel", rest.route(cancel), methods=["POST"]),
        Route(PATH + "/{id}/redact", rest.route(redact), methods=["POST"]),
        # The REST twins of simulateVerificationSession, as the Stripe CLI sends them. Sending a
        # session back to requires_input records `abandoned` as its last error.
        Route(HELPERS + "/{id}/verify", rest.route(test_helper("verified")), methods=["POST"]),
        Route(
            HELPERS + "/{id}/require_input",
            rest.route(test_helper("requires_input", "abandoned")),
            methods=["POST"],
        ),
        Route(HELPERS + "/{id}/process", rest.route(test_helper("processing")), methods=["POST"]),
    ]


def _expand(given: dict[str, Any]) -> set[str]:
    return lists.object_expand(given, SESSION_EXPANDABLE)


def _options(given: dict[str, Any]) -> dict[str, Any] | None:
    options = params.mapping(given, "options")
    if options is None:
        return None
    params.check_known(options, ("document",), prefix="options")
    document = params.mapping(options, "document")
    if document is None:
        return {}
    params.check_known(document, _DOCUMENT, prefix="options[document]")
    value: dict[str, Any] = {}
    if "allowed_types" in document:
        types = document["allowed_types"]
        if not isinstance(types, list) or not all(isinstance(item, str) for item in types):
            raise params.invalid(
                "options[document][allowed_types]",
                "Invalid array: pass options[document][allowed_types][0]=passport and so on.",
            )
        value["allowed_types"] = types
    for name in _DOCUMENT[1:]:
        flag = params.boolean(document, name, prefix="options[document]")
        if flag is not None:
            value[name] = flag
    return {"document": value}


def _related_person(given: dict[str, Any]) -> dict[str, Any] | None:
    person = params.mapping(given, "related_person")
    if person is None:
        return None
    params.check_known(person, ("account", "person"), prefix="related_person")
    return {
        name: params.string(person, name, prefix="related_person")
        for name in ("account", "person")
        if name in person
    }


def _provided_details(given: dict[str, Any]) -> dict[str, Any] | None:
    details = params.mapping(given, "provided_details")
    if details is None:
        return None
    params.check_known(details, ("email", "phone"), prefix="provided_details")
    return {
        name: params.string(details, name, prefix="provided_details")
        for name in ("email", "phone")
        if name in details
    }
