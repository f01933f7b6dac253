"""Stripe's error envelope: `{"error": {"type", "code", "param", "message"}}` with its statuses,
from which Stripe's SDKs pick their exception classes (400 and 404 InvalidRequestError, 401
AuthenticationError, 403 PermissionError, 429 RateLimitError)."""

from __future__ import annotations

from collections.abc import Sequence

import orjson
from starlette.responses import Response

from app.domain.errors import DomainError, ErrorCode

_DOMAIN_STATUS = {ErrorCode.RESOURCE_MISSING: 404}


class StripeError(Exception):
    def __init__(
        self,
        status: int,
        type: str,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.type = type
        self.message = message
        self.param = param
        self.code = code

    @classmethod
    def from_domain(cls, error: DomainError) -> StripeError:
        """A domain error as Stripe says it: the same message and code, the field as a
        bracketed parameter name."""
        return cls(
            _DOMAIN_STATUS.get(error.code, 400),
            "invalid_request_error",
            error.message,
            param=param_name(error.field) if error.field else None,
            code=error.code.value,
        )

    def response(self, headers: dict[str, str] | None = None) -> Response:
        body: dict[str, object] = {"type": self.type, "message": self.message}
        if self.code is not None:
            body["code"] = self.code
        if self.param is not None:
            body["param"] = self.param
        return Response(
            orjson.dumps({"error": body}),
            status_code=self.status,
            media_type="application/json",
            headers=headers,
        )


def no_such(noun: str, object_id: str, *, param: str = "id", status: int = 404) -> StripeError:
    """Stripe's answer for an id that names nothing the caller can see."""
    return StripeError(
        status,
        "invalid_request_error",
        f"No such {noun}: '{object_id[:100]}'",
        param=param,
        code="resource_missing",
    )


def param_name(path: Sequence[str]) -> str:
    """["options", "document", "allowed_types"] -> "options[document][allowed_types]"."""
    first, *rest = path
    return first + "".join(f"[{part}]" for part in rest)
