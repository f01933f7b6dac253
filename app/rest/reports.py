"""`/v1/identity/verification_reports`: Stripe's VerificationReport endpoints (read only: reports
are written by the lifecycle, one per attempt)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.routing import Route

from app.pagination import encode_cursor
from app.rest import lists, params
from app.rest.errors import no_such
from app.rest.http import Call, Rest
from app.rest.objects import REPORT_EXPANDABLE, report_object
from app.services import reports
from app.services.reports import ReportFilter

PATH = "/v1/identity/verification_reports"
_LIST = (*lists.LIST_PARAMS, "created", "type", "verification_session", "client_reference_id")


def routes(rest: Rest) -> list[Route]:
    async def retrieve(request: Request, call: Call) -> dict[str, Any]:
        params.check_known(call.params, ("expand",))
        expand = lists.object_expand(call.params, REPORT_EXPANDABLE)
        report_id: str = request.path_params["id"]
        found = await reports.get_many(rest.database, scope=call.reader, report_ids=[report_id])
        if report_id not in found:
            raise no_such("verification report", report_id)
        return report_object(found[report_id], expand=expand)

    async def list_reports(request: Request, call: Call) -> dict[str, Any]:
        given = call.params
        params.check_known(given, _LIST)
        expand = lists.list_expand(given, REPORT_EXPANDABLE)
        wanted = lists.window(given)
        scope = call.reader

        async def cursor_of(report_id: str) -> str | None:
            found = await reports.get_many(rest.database, scope=scope, report_ids=[report_id])
            anchor = found.get(report_id)
            return None if anchor is None else encode_cursor(anchor.created, anchor.id)

        found = await reports.list_page(
            rest.database,
            scope=scope,
            filter=ReportFilter(
                session_id=params.string(given, "verification_session"),
                type=params.string(given, "type"),
                client_reference_id=params.string(given, "client_reference_id"),
                **params.created_range(given),
            ),
            page=await wanted.page(cursor_of),
            far_side=False,
        )
        return lists.list_object(
            PATH, [report_object(row, expand=expand) for row in found.rows], wanted.has_more(found)
        )

    return [
        Route(PATH, rest.route(list_reports), methods=["GET"]),
        Route(PATH + "/{id}", rest.route(retrieve), methods=["GET"]),
    ]
