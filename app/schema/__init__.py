"""The Strawberry schema: types, inputs, queries and mutations over the store."""

from __future__ import annotations

import logging

import strawberry
from graphql import GraphQLError
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from app.pagination import DEFAULT_PAGE_SIZE
from app.schema.errors import is_unexpected
from app.schema.events import Event
from app.schema.limits import QueryLimits, limits_extension
from app.schema.mutation import Mutation
from app.schema.query import Query
from app.schema.reports import VerificationReport
from app.schema.scalars import SCALAR_MAP
from app.schema.types import VerificationSession
from app.settings import Settings

logger = logging.getLogger("app.graphql")


class GatewaySchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # Expected errors (bad input, auth) are answers, not faults: only log the unexpected,
        # with their traceback. SQL parameters are hidden by the engine, so no secret gets in.
        for error in errors:
            if is_unexpected(error):
                logger.error(
                    "unexpected error resolving %s",
                    ".".join(str(part) for part in error.path or ()),
                    exc_info=error.original_error,
                )


def build_schema(settings: Settings | None = None) -> GatewaySchema:
    """The schema with the query limits of `settings` (the defaults when None, which is all the
    SDL export needs: limits and suggestions do not change the SDL)."""
    settings = settings or Settings.from_environ({})
    limits = QueryLimits(
        max_depth=settings.max_query_depth,
        max_aliases=settings.max_aliases,
        max_tokens=settings.max_tokens,
        max_directives=settings.max_directives_per_field,
        node_budget=settings.node_budget,
        max_errors=settings.max_errors,
        default_page_size=DEFAULT_PAGE_SIZE,
        hide_suggestions=not settings.development,
    )
    return GatewaySchema(
        query=Query,
        mutation=Mutation,
        types=[VerificationSession, VerificationReport, Event],
        extensions=[limits_extension(limits)],
        config=StrawberryConfig(
            scalar_map=SCALAR_MAP, disable_field_suggestions=not settings.development
        ),
    )
