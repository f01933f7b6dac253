"""`GET /verify/<token>`: the hosted verification page a session's `url` points to.

Server-rendered HTML with no scripts and no outside assets. Unknown tokens get a 404 page, expired
or spent ones a 410 page.
"""

from __future__ import annotations

from html import escape

from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from app.db import read_session
from app.domain.access import Scope
from app.domain.sessions import Status
from app.models import VerificationSession, utcnow
from app.settings import Settings
from app.store.flows import get_flow
from app.store.sessions import get_link

_STYLE = """
body{font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem;color:#1a1f36}
h1{font-size:1.4rem} dt{font-weight:600;margin-top:.6rem} .muted{color:#697386}
"""


def _page(title: str, body: str, *, status: int = 200) -> HTMLResponse:
    html = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body>{body}</body></html>"
    )
    return HTMLResponse(
        html,
        status_code=status,
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


def _checks(session: VerificationSession, *, kind: str) -> list[str]:
    """What the page asks for. `kind` is the session's type, or its flow's type for a session
    made from a flow (whose own type, `verification_flow`, says nothing about the checks)."""
    options = session.options or {}
    checks: list[str] = []
    document = options.get("document")
    if kind == "document" or document is not None:
        allowed = (document or {}).get("allowed_types") or [
            "driving_license",
            "id_card",
            "passport",
        ]
        checks.append("Identity document: " + ", ".join(item.replace("_", " ") for item in allowed))
        if (document or {}).get("require_id_number"):
            checks.append("ID number matching the document")
        if (document or {}).get("require_live_capture"):
            checks.append("Live photo of the document")
        if (document or {}).get("require_matching_selfie"):
            checks.append("Selfie matching the document photo")
    if kind == "id_number":
        checks.append("ID number")
    for contact in ("email", "phone"):
        if (options.get(contact) or {}).get("require_verification"):
            checks.append(f"Verified {contact}")
    return checks


def hosted_page_endpoint(engine: AsyncEngine):  # type: ignore[no-untyped-def]
    async def verify_page(request: Request) -> HTMLResponse:
        token = request.path_params["token"]
        async with read_session(engine) as db:
            found = await get_link(db, token=token)
            session = found[1] if found else None
            flow = (
                await get_flow(
                    db,
                    scope=Scope(account_id=session.account_id, livemode=session.livemode),
                    flow_id=session.verification_flow,
                )
                if session is not None and session.verification_flow
                else None
            )
        if session is None:
            return _page(
                "Verification link not found",
                "<h1>This verification link does not exist</h1>"
                "<p>Check that you opened the whole link, or ask for a new one.</p>",
                status=404,
            )
        link = found[0] if found else None
        assert link is not None
        expired = link.expires_at <= utcnow() or link.spent_at is not None
        if expired or session.status != Status.REQUIRES_INPUT:
            return _page(
                "Verification link expired",
                "<h1>This verification link has expired or was already used</h1>"
                "<p>Links work once and for 48 hours. Ask for a new one.</p>",
                status=410,
            )
        items = "".join(
            f"<li>{escape(check)}</li>"
            for check in _checks(session, kind=flow.type if flow else session.type)
        )
        mode = "Test mode" if not session.livemode else "Live"
        body = (
            "<h1>Verify your identity</h1>"
            f'<p class="muted">{escape(mode)} · session {escape(session.id)}</p>'
            "<dl>"
            f"<dt>Verification type</dt><dd>{escape(session.type.replace('_', ' '))}</dd>"
            f"<dt>Status</dt><dd>{escape(session.status.replace('_', ' '))}</dd>"
            f"<dt>What we will check</dt><dd><ul>{items}</ul></dd>"
            "</dl>"
        )
        return _page("Verify your identity", body)

    return verify_page


def hosted_routes(*, engine: AsyncEngine, settings: Settings) -> list[Route]:
    return [Route("/verify/{token}", hosted_page_endpoint(engine), methods=["GET"])]
