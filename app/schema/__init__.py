"""The Strawberry schema: types, inputs, queries and mutations over the store."""

from __future__ import annotations

import logging

import strawberry
from graphql import GraphQLError
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from app.schema.errors import is_unexpected
from app.schema.events import Event
from app.schema.mutation import Mutation
from app.schema.query import Query
from app.schema.reports import VerificationReport
from app.schema.scalars import SCALAR_MAP
from app.schema.types import VerificationSession

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


def build_schema() -> GatewaySchema:
    return GatewaySchema(
        query=Query,
        mutation=Mutation,
        types=[VerificationSession, VerificationReport, Event],
        config=StrawberryConfig(scalar_map=SCALAR_MAP),
    )
