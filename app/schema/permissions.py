"""Field permissions."""

from __future__ import annotations

from typing import Any

from strawberry.permission import BasePermission
from strawberry.types import Info


class ContextPermission(BasePermission):
    """A permission that depends on the caller alone, never on the object or the arguments.

    Its rule is `allows(context)`; Strawberry asks it through `has_permission` for every object,
    and a compiled plan (`app.schema.compiler`) asks it once per operation, which gives the same
    answer because nothing else goes in. Subclasses define `allows` and never `has_permission`.
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "has_permission" in cls.__dict__:
            raise TypeError(f"{cls.__name__} must define allows(context), not has_permission")

    def allows(self, context: Any) -> bool:
        raise NotImplementedError

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return self.allows(info.context)


class NotWithClientSecret(ContextPermission):
    """Fields outside the limited view a session's client secret may read."""

    message = (
        "This field is not available with a client secret. A client secret may read id, object, "
        "created, livemode, status, type, options, lastError and url."
    )
    error_extensions = {"code": "FORBIDDEN"}  # noqa: RUF012 (Strawberry reads it per instance)

    def allows(self, context: Any) -> bool:
        principal = context.principal
        return principal is None or not principal.is_client_secret
