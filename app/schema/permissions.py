"""Field permissions."""

from __future__ import annotations

from typing import Any

from strawberry.permission import BasePermission
from strawberry.types import Info


class NotWithClientSecret(BasePermission):
    """Fields outside the limited view a session's client secret may read."""

    message = (
        "This field is not available with a client secret. A client secret may read id, object, "
        "created, livemode, status, type, options, lastError and url."
    )
    error_extensions = {"code": "FORBIDDEN"}  # noqa: RUF012 (Strawberry reads it per instance)

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        principal = info.context.principal
        return principal is None or not principal.is_client_secret
