"""The per-request context every resolver receives, and the access checks built on it."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from app.domain.access import Principal, Scope
from app.schema.errors import forbidden, unauthenticated
from app.settings import Settings


@dataclass(frozen=True)
class Context:
    engine: AsyncEngine
    settings: Settings
    principal: Principal | None

    @property
    def may_see_secrets(self) -> bool:
        return self.principal is not None and not self.principal.restricted

    def reader(self) -> Scope:
        """The scope of the calling key; any key may read."""
        if self.principal is None:
            raise unauthenticated()
        return self.principal.scope

    def writer(self) -> Scope:
        """The scope of the calling key, which must be a secret key."""
        scope = self.reader()
        if self.principal is not None and self.principal.restricted:
            raise forbidden("Restricted keys may only read; use a secret key (sk_…) for mutations.")
        return scope
