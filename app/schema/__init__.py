"""The Strawberry schema: types, inputs, queries, mutations and subscriptions over the store."""

from __future__ import annotations

import logging

import strawberry
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.name_converter import NameConverter
from strawberry.types import ExecutionContext

from app.pagination import DEFAULT_PAGE_SIZE
from app.schema.compiler import Compiler
from app.schema.errors import is_unexpected
from app.schema.events import Event
from app.schema.limits import QueryLimiter, QueryLimits, _LimitsExtension, limits_extension
from app.schema.mutation import Mutation
from app.schema.query import Query
from app.schema.reports import VerificationReport
from app.schema.scalars import SCALAR_MAP
from app.schema.subscription import Subscription
from app.schema.types import VerificationSession
from app.services import database_fault
from app.settings import Settings

logger = logging.getLogger("app.graphql")


class GatewaySchema(strawberry.Schema):
    """The Strawberry schema, with the query limiter its extension enforces and the compiler of
    its query plans (`app.web.graphql` runs both)."""

    limiter: QueryLimiter
    compiler: Compiler

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # Expected errors (bad input, auth) are answers, not faults: only log the unexpected,
        # with their traceback. SQL parameters are hidden by the engine, so no secret gets in.
        # A database fault is answered 503 by app.web.graphql and logged there in one line.
        for error in errors:
            if is_unexpected(error) and database_fault(error.original_error) is None:
                logger.error(
                    "unexpected error resolving %s",
                    ".".join(str(part) for part in error.path or ()),
                    exc_info=error.original_error,
                )


class _NameConverter(NameConverter):
    """Strawberry's, remembering what each Python name becomes: it converts the names of a
    field's arguments (and input fields) on every call of its resolver, always to the same."""

    def __init__(self) -> None:
        super().__init__()
        self._names: dict[str, str] = {}

    def apply_naming_config(self, name: str) -> str:
        found = self._names.get(name)
        if found is None:
            found = self._names[name] = super().apply_naming_config(name)
        return found


def build_schema(settings: Settings | None = None) -> GatewaySchema:
    """The schema with the query limits of `settings` (the defaults when None, which is all the
    SDL export needs: limits and suggestions do not change the SDL)."""
    settings = settings or Settings.from_environ({})
    limiter = QueryLimiter(
        QueryLimits(
            max_depth=settings.max_query_depth,
            max_aliases=settings.max_aliases,
            max_tokens=settings.max_tokens,
            max_directives=settings.max_directives_per_field,
            node_budget=settings.node_budget,
            max_errors=settings.max_errors,
            default_page_size=DEFAULT_PAGE_SIZE,
            hide_suggestions=not settings.development,
        )
    )
    schema = GatewaySchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=[VerificationSession, VerificationReport, Event],
        extensions=[limits_extension(limiter)],
        config=StrawberryConfig(
            scalar_map=SCALAR_MAP,
            disable_field_suggestions=not settings.development,
            name_converter=_NameConverter(),
        ),
    )
    # A compiled plan replaces Strawberry's execution, whose extension hooks around execution and
    # around each resolver it would then skip: only parsing and validation may be hooked.
    for hook in ("on_operation", "on_execute", "resolve", "get_results"):
        if getattr(_LimitsExtension, hook) is not getattr(SchemaExtension, hook):
            raise TypeError(f"the compiled path does not run extension hook {hook}")
    schema.limiter = limiter
    schema.compiler = Compiler(
        schema._schema,
        config=schema.config,
        # Strawberry's resolver wrapper routes exceptions to handlers only when some exist.
        exception_handlers=getattr(schema.schema_converter, "_exception_handler_specs", True),
    )
    return schema
