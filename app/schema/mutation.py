"""Root mutation fields. Each returns a payload: the session, or the userErrors that stopped it."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from app.db import write_session
from app.domain.errors import DomainError
from app.domain.sessions import SessionCreate, SessionUpdate
from app.models import VerificationSession as SessionRow
from app.schema.context import Context
from app.schema.errors import UserError
from app.schema.inputs import (
    CreateVerificationSessionInput,
    UpdateVerificationSessionInput,
    keep_unset,
    options_value,
    provided_details_value,
)
from app.schema.types import VerificationSession
from app.store import sessions as store


@strawberry.type(description="The result of createVerificationSession.")
class CreateVerificationSessionPayload:
    verification_session: VerificationSession | None = strawberry.field(
        description="The new session; null when userErrors is not empty."
    )
    user_errors: list[UserError] = strawberry.field(
        description="Why the session was not created; empty on success."
    )


@strawberry.type(description="The result of updateVerificationSession.")
class UpdateVerificationSessionPayload:
    verification_session: VerificationSession | None = strawberry.field(
        description="The updated session; null when userErrors is not empty."
    )
    user_errors: list[UserError] = strawberry.field(
        description="Why nothing was changed; empty on success."
    )


def _session(context: Context, row: SessionRow) -> VerificationSession:
    return VerificationSession.from_row(row, public_base_url=context.settings.public_base_url)


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Create a session in REQUIRES_INPUT with a fresh client secret (24 h) and url (48 h). Secret keys only."
    )
    async def create_verification_session(
        self,
        info: Info[Context, None],
        input: Annotated[
            CreateVerificationSessionInput,
            strawberry.argument(description="The new session's parameters."),
        ],
    ) -> CreateVerificationSessionPayload:
        scope = info.context.writer()
        params = SessionCreate(
            type=keep_unset(input.type),
            verification_flow=input.verification_flow,
            client_reference_id=input.client_reference_id,
            metadata=input.metadata,
            options=options_value(input.options),
            provided_details=provided_details_value(input.provided_details),
            related_customer=input.related_customer,
            return_url=input.return_url,
        )
        try:
            async with write_session(info.context.engine) as db:
                row = await store.create_session(db, scope=scope, params=params)
        except DomainError as error:
            return CreateVerificationSessionPayload(
                verification_session=None, user_errors=[UserError.from_domain(error)]
            )
        return CreateVerificationSessionPayload(
            verification_session=_session(info.context, row), user_errors=[]
        )

    @strawberry.mutation(
        description="Change a session's type, options, provided details or metadata while it is in REQUIRES_INPUT. Secret keys only."
    )
    async def update_verification_session(
        self,
        info: Info[Context, None],
        input: Annotated[
            UpdateVerificationSessionInput,
            strawberry.argument(description="The session and the fields to change."),
        ],
    ) -> UpdateVerificationSessionPayload:
        scope = info.context.writer()
        update = SessionUpdate(
            metadata=keep_unset(input.metadata),
            options=options_value(input.options),
            provided_details=provided_details_value(input.provided_details),
            type=keep_unset(input.type),
        )
        try:
            async with write_session(info.context.engine) as db:
                row = await store.update_session(
                    db, scope=scope, session_id=input.id, update=update
                )
        except DomainError as error:
            return UpdateVerificationSessionPayload(
                verification_session=None, user_errors=[UserError.from_domain(error)]
            )
        return UpdateVerificationSessionPayload(
            verification_session=_session(info.context, row), user_errors=[]
        )
