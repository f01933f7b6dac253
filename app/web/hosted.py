"""The hosted verification page a session's `url` points to.

    GET  /verify/<token>         the session's type, checks and status; in test mode the tester's
                                 choices: verify with editable test data, fail with any last-error
                                 code, abandon, decline consent
    POST /verify/<token>         one choice (a plain form post): the session moves to processing,
                                 its link and client secret are spent; 303 to the status page
    GET  /verify/<token>/status  progress while processing (refreshing every second), then the
                                 result; never any personal data

What a request can get instead:

    404  the token was never issued, or its link was purged HOSTED_LINK_RETENTION_DAYS after
         it was spent or expired (page, submit and status alike)
    410  the link expired or was spent, or its session no longer awaits input (a second submit)
    400  the choice or the test data breaks a rule: the form again, naming the field; nothing written
    413  / 415  the body is too large / not a form
    503  live mode without a configured verifier: nothing can be submitted
    429  the client address is over RATE_LIMIT_ANONYMOUS_PER_SECOND (every request here counts,
         the token being no API key): a page saying so, `Retry-After: 1`; nothing read or written

Server-rendered HTML: no scripts, no outside assets, every value escaped; the test-mode form is
`hosted_form`. A submission follows the rules of `submitVerificationSession`: test mode carries out
the tester's choice, live mode needs a verifier.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from html import escape
from typing import TYPE_CHECKING
from urllib.parse import quote, urlsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from app.domain.errors import InvalidParameter, InvalidState
from app.domain.sessions import Status
from app.services import Database, database_fault, links, sessions
from app.settings import Settings
from app.verifiers import load_verifier
from app.web import hosted_form
from app.web.errors import database_status
from app.web.ratelimit import RateLimiter

if TYPE_CHECKING:
    from app.models import VerificationSession

logger = logging.getLogger("app.hosted")

_STYLE = """
body{font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem;color:#1a1f36}
h1{font-size:1.4rem} h2{font-size:1.1rem;margin-top:2rem} dt{font-weight:600;margin-top:.6rem}
.muted{color:#697386} .problem{color:#9c1c1c;font-weight:600} .notice{background:#f6f8fa;padding:.8rem}
label{display:block;font-weight:600;margin-top:.6rem} input,select{font:inherit;width:100%;padding:.3rem}
button{font:inherit;margin-top:.8rem;margin-right:.5rem;padding:.4rem 1rem}
"""

_HEADERS = {
    "Cache-Control": "no-store",
    # The url is a bearer token: it must not leak to the return_url's site through Referer.
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
}


# --- rendering --------------------------------------------------------------------------------


def _page(title: str, body: str, *, status: int = 200, refresh: bool = False) -> HTMLResponse:
    head_refresh = '<meta http-equiv="refresh" content="1">' if refresh else ""
    html = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">{head_refresh}'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body>{body}</body></html>"
    )
    return HTMLResponse(html, status_code=status, headers=_HEADERS)


def _not_found() -> HTMLResponse:
    return _page(
        "Verification link not found",
        "<h1>This verification link does not exist</h1>"
        "<p>Check that you opened the whole link, or ask for a new one.</p>",
        status=404,
    )


def _gone() -> HTMLResponse:
    return _page(
        "Verification link expired",
        "<h1>This verification link has expired or was already used</h1>"
        "<p>Links work once and for 48 hours. Ask for a new one.</p>",
        status=410,
    )


def _too_many() -> HTMLResponse:
    response = _page(
        "Too many requests",
        "<h1>Too many requests</h1><p>This page was asked for too often from your network.</p>"
        '<p class="muted">Wait a moment, then reload it.</p>',
        status=429,
    )
    response.headers["Retry-After"] = "1"
    return response


def _unavailable() -> HTMLResponse:
    return _page(
        "Verification not available",
        "<h1>Verification is not available</h1>"
        "<p>Live-mode verification needs a configured verifier, and none is configured. "
        "Nothing was submitted.</p>",
        status=503,
    )


def _database_fault(code: str) -> HTMLResponse:
    status, headers = database_status(code)
    response = _page(
        "Verification briefly unavailable",
        "<h1>Verification is briefly unavailable</h1>"
        "<p>Nothing was submitted. Wait a moment, then reload this page.</p>",
        status=status,
    )
    if "Retry-After" in headers:
        response.headers["Retry-After"] = headers["Retry-After"]
    return response


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


def _summary(session: VerificationSession, *, kind: str | None) -> str:
    mode = "Live" if session.livemode else "Test mode"
    rows = (
        f'<p class="muted">{escape(mode)} · session {escape(session.id)}</p><dl>'
        f"<dt>Verification type</dt><dd>{escape(session.type.replace('_', ' '))}</dd>"
        f"<dt>Status</dt><dd>{escape(session.status.replace('_', ' '))}</dd>"
    )
    if kind is not None:
        items = "".join(f"<li>{escape(check)}</li>" for check in _checks(session, kind=kind))
        rows += f"<dt>What we will check</dt><dd><ul>{items}</ul></dd>"
    return rows + "</dl>"


def _live_notice(*, verifier_available: bool) -> str:
    if not verifier_available:
        return (
            '<p class="notice" role="status">Verification is not available: live mode needs a '
            "configured verifier, and none is configured. Nothing can be submitted here.</p>"
        )
    # A live verification captures documents and selfies through the provider's own interface
    # (camera, upload, liveness), which this server-rendered page cannot stand in for; the
    # integrating app opens the verifier's frontend, which submits with the client secret.
    return (
        '<p class="notice" role="status">Live capture is provided by the configured verifier\'s '
        "frontend; this page does not take submissions in live mode.</p>"
    )


def _form_page(
    session: VerificationSession,
    *,
    kind: str,
    verifier_available: bool,
    values: Mapping[str, str] | None = None,
    problem: InvalidParameter | None = None,
) -> HTMLResponse:
    body = "<h1>Verify your identity</h1>" + _summary(session, kind=kind)
    if session.livemode:
        body += _live_notice(verifier_available=verifier_available)
    else:
        body += hosted_form.render(values=values, problem=problem)
    return _page("Verify your identity", body, status=400 if problem else 200)


def _return_link(session: VerificationSession) -> str:
    url = session.return_url
    if not url or urlsplit(url).scheme not in ("http", "https"):
        return ""
    return f'<p><a href="{escape(url)}" rel="noreferrer">Return to the app</a></p>'


def _status_page(session: VerificationSession, *, token: str, usable: bool) -> HTMLResponse:
    """Where the user's attempt stands: the session's status and, after a failure, the reason;
    never any personal data. `usable` says the link can still be submitted."""
    refresh = False
    status = session.status
    if status == Status.PROCESSING:
        refresh = True
        title, message = (
            "Checking your details",
            '<p role="status">This takes a few seconds; the page updates by itself.</p>',
        )
    elif status == Status.VERIFIED:
        title, message = "Your identity is verified", "<p>You can return to the app.</p>"
    elif status == Status.CANCELED:
        title, message = (
            "This verification was canceled",
            "<p>Nothing more is needed here. Return to the app.</p>",
        )
    elif usable:
        title, message = (
            "Not submitted yet",
            f'<p><a href="/verify/{quote(token)}">Continue the verification</a></p>',
        )
    elif session.last_error is not None:
        reason = session.last_error.get("reason") or "Verification failed."
        title, message = (
            "Your identity could not be verified",
            f"<p>{escape(str(reason))}</p><p>Return to the app to try again: it has a new "
            "link for you.</p>",
        )
    else:
        title, message = (
            "This verification link has expired",
            "<p>Return to the app for a new link.</p>",
        )
    body = f"<h1>{escape(title)}</h1>{_summary(session, kind=None)}{message}{_return_link(session)}"
    return _page(title, body, refresh=refresh)


# --- the endpoints ----------------------------------------------------------------------------


class HostedPages:
    """The three endpoints, sharing the database and settings."""

    def __init__(
        self, *, database: Database, settings: Settings, rate_limiter: RateLimiter
    ) -> None:
        self.database = database
        self.settings = settings
        self.rate_limiter = rate_limiter
        # create_app has already loaded it once, so a bad VERIFIER failed at start, not here.
        self.verifier_available = load_verifier(settings.verifier) is not None

    async def _find(self, token: str) -> links.Found | None:
        return await links.find(self.database, token=token)

    async def show(self, request: Request) -> Response:
        found = await self._find(request.path_params["token"])
        if found is None:
            return _not_found()
        if not found.usable:
            return _gone()
        return _form_page(
            found.session, kind=found.kind, verifier_available=self.verifier_available
        )

    async def submit(self, request: Request) -> Response:
        token: str = request.path_params["token"]
        found = await self._find(token)
        if found is None:
            return _not_found()
        if not found.usable:
            return _gone()
        session = found.session
        if session.livemode:
            if not self.verifier_available:
                return _unavailable()
            return _page(
                "Verify your identity",
                "<h1>This page takes no submissions in live mode</h1>"
                + _live_notice(verifier_available=True),
                status=400,
            )
        try:
            form = await hosted_form.read_form(request)
        except hosted_form.UnreadableForm as error:
            return _page(
                "Form not accepted",
                f"<h1>The form was not accepted</h1><p>{escape(error.message)}</p>",
                status=error.status,
            )
        try:
            await sessions.submit(
                self.database,
                scope=found.scope,
                session_id=session.id,
                choice=hosted_form.tester_choice(form),
                verifier_available=self.verifier_available,
                delay_seconds=self.settings.processing_delay_seconds,
                link_token=token,
            )
        except InvalidParameter as problem:
            values = form if form.get("outcome") == Status.VERIFIED else None
            return _form_page(
                session,
                kind=found.kind,
                verifier_available=self.verifier_available,
                values=values,
                problem=problem,
            )
        except (sessions.LinkSpent, InvalidState):
            return _gone()
        return RedirectResponse(f"/verify/{quote(token)}/status", status_code=303, headers=_HEADERS)

    async def status(self, request: Request) -> Response:
        found = await self._find(request.path_params["token"])
        if found is None:
            return _not_found()
        return _status_page(found.session, token=found.link.token, usable=found.usable)

    def limited(
        self, endpoint: Callable[[Request], Awaitable[Response]]
    ) -> Callable[[Request], Awaitable[Response]]:
        """`endpoint` behind the anonymous rate limit (a request over it reads nothing), and a
        database fault answered as a page saying so (503, or 507 for a full disk), never a
        500: nothing was submitted."""

        async def guarded(request: Request) -> Response:
            if (
                await self.rate_limiter.over_anonymous_limit(request.scope, surface="hosted")
                is not None
            ):
                return _too_many()
            try:
                return await endpoint(request)
            except Exception as error:
                if (code := database_fault(error)) is None:
                    raise
                logger.warning("hosted page refused: %s", code)
                return _database_fault(code)

        return guarded


def hosted_routes(
    *, database: Database, settings: Settings, rate_limiter: RateLimiter
) -> list[Route]:
    pages = HostedPages(database=database, settings=settings, rate_limiter=rate_limiter)
    return [
        Route("/verify/{token}", pages.limited(pages.show), methods=["GET"]),
        Route("/verify/{token}", pages.limited(pages.submit), methods=["POST"]),
        Route("/verify/{token}/status", pages.limited(pages.status), methods=["GET"]),
    ]
