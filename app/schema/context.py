"""The per-request context every resolver receives, and the access checks built on it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from strawberry.dataloader import DataLoader

from app.domain.access import Principal, Scope
from app.schema.errors import forbidden, unauthenticated
from app.services import Database
from app.services.live import Listener
from app.settings import Settings

CLIENT_SECRET_FORBIDDEN = (
    "A client secret grants access to its own session only: `verificationSession(id:)` with the "
    "limited fields and `submitVerificationSession`. Use an API key for anything else."
)


@dataclass(frozen=True)
class Context:
    # What the use cases (app.services) run against.
    database: Database
    settings: Settings
    principal: Principal | None
    live_verifier_available: bool = False
    # Per-request batch loaders (e.g. reports by id), so a page of sessions loads its last
    # reports in one query rather than one per row.
    loaders: dict[str, DataLoader[Any, Any]] = field(default_factory=dict)
    # Subscriptions only (over the WebSocket): the process's live feed and the connection's
    # way out for a client that stops reading.
    live: Listener | None = None

    @property
    def may_see_secrets(self) -> bool:
        return self.principal is not None and not self.principal.restricted

    def _authenticated(self) -> Principal:
        if self.principal is None:
            raise unauthenticated()
        return self.principal

    def reader(self) -> Scope:
        """The scope of the calling API key; any key may read. Client secrets may not list."""
        principal = self._authenticated()
        if principal.is_client_secret:
            raise forbidden(CLIENT_SECRET_FORBIDDEN)
        return principal.scope

    def session_reader(self, session_id: str) -> Scope:
        """Reading one session: any API key, or that session's own client secret."""
        principal = self._authenticated()
        if principal.is_client_secret and principal.session_id != session_id:
            raise forbidden(CLIENT_SECRET_FORBIDDEN)
        return principal.scope

    def writer(self) -> Scope:
        """The scope of the calling key, which must be a secret key."""
        principal = self._authenticated()
        if principal.is_client_secret:
            raise forbidden(CLIENT_SECRET_FORBIDDEN)
        if principal.restricted:
            raise forbidden("Restricted keys may only read; use a secret key (sk_…) for mutations.")
        return principal.scope

    def submitter(self, session_id: str) -> Scope:
        """Submitting a session: a secret key, or that session's own client secret."""
        principal = self._authenticated()
        if principal.is_client_secret:
            return self.session_reader(session_id)
        return self.writer()

    def test_mode_writer(self) -> Scope:
        """Test helpers: test-mode secret keys only."""
        scope = self.writer()
        if scope.livemode:
            raise forbidden("Test helpers only work with test-mode keys (sk_test_…).")
        return scope
