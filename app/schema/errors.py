"""Errors as the schema shows them.

Expected failures of a mutation are data: the payload's `userErrors`, each with a stable
`UserErrorCode`, the input path and a message. Everything else is a top-level error whose
`extensions.code` tells clients what happened:

    UNAUTHENTICATED         no key, or a key that is not valid (HTTP 401)
    FORBIDDEN               the key may not do this (a restricted key calling a mutation)
    BAD_USER_INPUT          arguments that do not make sense together (pagination, id lists)
    NOT_FOUND               a subscription's object is unknown or not visible to the caller
    GRAPHQL_PARSE_FAILED    the document is not GraphQL
    GRAPHQL_VALIDATION_FAILED  the document does not fit the schema
    INTERNAL_SERVER_ERROR   a fault of ours; the detail goes to the log, never to the client

The query limits refuse documents with codes of their own (QUERY_TOO_DEEP, TOO_MANY_ALIASES, ...;
see `app.schema.limits`), and a response past MAX_ERRORS ends with TOO_MANY_ERRORS.
"""

from __future__ import annotations

from enum import Enum

import strawberry
from graphql import GraphQLError

from app.domain.errors import DomainError
from app.schema.enums import describe_values

INTERNAL_MESSAGE = (
    "Internal server error. The gateway logged the details under this request's Request-Id."
)


@strawberry.enum(description="Stable codes for expected failures of a mutation.")
class UserErrorCode(Enum):
    PARAMETER_MISSING = "parameter_missing"
    PARAMETER_INVALID = "parameter_invalid"
    RESOURCE_MISSING = "resource_missing"
    INVALID_STATE = "invalid_state"
    VERIFIER_UNAVAILABLE = "verifier_unavailable"


describe_values(
    UserErrorCode,
    {
        UserErrorCode.PARAMETER_MISSING: "A required value is absent; `field` names it.",
        UserErrorCode.PARAMETER_INVALID: "A value breaks a rule; `field` names it.",
        UserErrorCode.RESOURCE_MISSING: "An ID names nothing the caller can see.",
        UserErrorCode.INVALID_STATE: "The object's status forbids the operation.",
        UserErrorCode.VERIFIER_UNAVAILABLE: "Live mode has no verifier configured on this gateway.",
    },
)


@strawberry.type(description="A problem with a mutation's input; the mutation changed nothing.")
class UserError:
    field: list[str] | None = strawberry.field(
        description=(
            'Path to the offending input field, e.g. `["metadata", "order[1]"]`; null when '
            "the error concerns the input as a whole."
        )
    )
    message: str = strawberry.field(description="What went wrong, for a person to read.")
    code: UserErrorCode = strawberry.field(description="A stable code to branch on.")

    @classmethod
    def from_domain(cls, error: DomainError) -> UserError:
        return cls(
            field=graphql_path(error.field) if error.field is not None else None,
            message=error.message,
            code=UserErrorCode(error.code.value),
        )


def graphql_path(field: list[str]) -> list[str]:
    """The domain's snake_case path as input field names; metadata keys stay as given."""
    path: list[str] = []
    for index, segment in enumerate(field):
        is_metadata_key = index > 0 and field[index - 1] == "metadata"
        path.append(segment if is_metadata_key else _camel(segment))
    return path


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _error(message: str, code: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": code})


def unauthenticated() -> GraphQLError:
    return _error(
        "Authentication required: send `Authorization: Bearer <key>` with a valid API key.",
        "UNAUTHENTICATED",
    )


def forbidden(message: str) -> GraphQLError:
    return _error(message, "FORBIDDEN")


def bad_user_input(message: str) -> GraphQLError:
    return _error(message, "BAD_USER_INPUT")


def not_found(message: str) -> GraphQLError:
    return _error(message, "NOT_FOUND")


def is_unexpected(error: GraphQLError) -> bool:
    """True for an exception raised while resolving a field that no code path meant to raise: it
    is logged and masked. Errors without a path come from parsing, validation or variable
    coercion, whose messages are about the request itself and are safe to show."""
    original = error.original_error
    return (
        error.path is not None and original is not None and not isinstance(original, GraphQLError)
    )
