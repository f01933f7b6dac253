"""Root mutation fields. Each returns a payload: the session, or the userErrors that stopped it
(in which case nothing was written)."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Annotated, Any, TypeVar

import strawberry
from strawberry.types import Info

from app.domain.errors import DomainError
from app.domain.sessions import SessionCreate, SessionUpdate
from app.schema.context import Context
from app.schema.errors import UserError
from app.schema.inputs import (
    CancelVerificationSessionInput,
    CreateVerificationSessionInput,
    RedactVerificationSessionInput,
    SimulateVerificationSessionInput,
    SubmitVerificationSessionInput,
    UpdateVerificationSessionInput,
    keep_unset,
    options_value,
    provided_details_value,
    related_person_value,
    verified_outputs_value,
)
from app.schema.types import VerificationSession
from app.services import sessions


@strawberry.type(description="The result of a mutation on one session.")
class VerificationSessionPayload:
    verification_session: VerificationSession | None = strawberry.field(
        description="The session after the change; null when userErrors is not empty."
    )
    user_errors: list[UserError] = strawberry.field(
        description="Why nothing was changed; empty on success."
    )


@strawberry.type(description="The result of createVerificationSession.")
class CreateVerificationSessionPayload(VerificationSessionPayload):
    pass


@strawberry.type(description="The result of updateVerificationSession.")
class UpdateVerificationSessionPayload(VerificationSessionPayload):
    pass


@strawberry.type(description="The result of cancelVerificationSession.")
class CancelVerificationSessionPayload(VerificationSessionPayload):
    pass


@strawberry.type(description="The result of redactVerificationSession.")
class RedactVerificationSessionPayload(VerificationSessionPayload):
    pass


@strawberry.type(description="The result of submitVerificationSession.")
class SubmitVerificationSessionPayload(VerificationSessionPayload):
    pass


@strawberry.type(description="The result of simulateVerificationSession.")
class SimulateVerificationSessionPayload(VerificationSessionPayload):
    pass


P = TypeVar("P", bound=VerificationSessionPayload)


async def _run(payload: type[P], context: Context, operation: Awaitable[Any]) -> P:
    """Await one use case; a domain error (nothing was written) becomes a userError."""
    try:
        row = await operation
    except DomainError as error:
        return payload(verification_session=None, user_errors=[UserError.from_domain(error)])
    session = VerificationSession.from_row(row, public_base_url=context.settings.public_base_url)
    return payload(verification_session=session, user_errors=[])


def _choice(
    input: SubmitVerificationSessionInput | SimulateVerificationSessionInput,
) -> sessions.Choice:
    """The tester's choice of a submit or a simulation, in the use case's shape."""
    return sessions.Choice(
        outcome=input.outcome.value,
        last_error_code=input.last_error_code.value if input.last_error_code else None,
        person=verified_outputs_value(input.verified_outputs),
    )


def _argument(description: str) -> object:
    return strawberry.argument(description=description)


@strawberry.type(
    description="The entry points for changing sessions: each returns the session or the `userErrors` that stopped it."
)
class Mutation:
    @strawberry.mutation(
        description="Create a session in REQUIRES_INPUT with a fresh client secret (24 h) and url (48 h); records `created`. Secret keys only."
    )
    async def create_verification_session(
        self,
        info: Info[Context, None],
        input: Annotated[
            CreateVerificationSessionInput, _argument("The new session's parameters.")
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
            related_person=related_person_value(input.related_person),
            return_url=input.return_url,
        )
        return await _run(
            CreateVerificationSessionPayload,
            info.context,
            sessions.create(info.context.database, scope=scope, params=params),
        )

    @strawberry.mutation(
        description="Change a session's type, options, provided details or metadata while it is in REQUIRES_INPUT. Records no event. Secret keys only."
    )
    async def update_verification_session(
        self,
        info: Info[Context, None],
        input: Annotated[
            UpdateVerificationSessionInput, _argument("The session and the fields to change.")
        ],
    ) -> UpdateVerificationSessionPayload:
        scope = info.context.writer()
        update = SessionUpdate(
            metadata=keep_unset(input.metadata),
            options=options_value(input.options),
            provided_details=provided_details_value(input.provided_details),
            type=keep_unset(input.type),
        )
        return await _run(
            UpdateVerificationSessionPayload,
            info.context,
            sessions.update(info.context.database, scope=scope, session_id=input.id, update=update),
        )

    @strawberry.mutation(
        description="Cancel a session in REQUIRES_INPUT: its client secret, url and last error are cleared, `canceled` is recorded. Canceling a canceled session changes nothing. Secret keys only."
    )
    async def cancel_verification_session(
        self,
        info: Info[Context, None],
        input: Annotated[CancelVerificationSessionInput, _argument("The session to cancel.")],
    ) -> CancelVerificationSessionPayload:
        scope = info.context.writer()
        return await _run(
            CancelVerificationSessionPayload,
            info.context,
            sessions.cancel(info.context.database, scope=scope, session_id=input.id),
        )

    @strawberry.mutation(
        description=(
            "Redact a session in REQUIRES_INPUT (which also cancels it), VERIFIED or CANCELED; "
            "refused while PROCESSING. `redaction.status` is PROCESSING at once and REDACTED once "
            "the personal data of the session, its reports and its events is erased, when "
            "`redacted` is recorded. A second redact changes nothing. Secret keys only."
        )
    )
    async def redact_verification_session(
        self,
        info: Info[Context, None],
        input: Annotated[RedactVerificationSessionInput, _argument("The session to redact.")],
    ) -> RedactVerificationSessionPayload:
        scope = info.context.writer()
        delay = info.context.settings.redaction_delay_seconds
        return await _run(
            RedactVerificationSessionPayload,
            info.context,
            sessions.redact(
                info.context.database, scope=scope, session_id=input.id, delay_seconds=delay
            ),
        )

    @strawberry.mutation(
        description=(
            "Submit a session in REQUIRES_INPUT, as the hosted page does: it moves to PROCESSING "
            "(its client secret and url are spent) and, after the processing delay, to VERIFIED "
            "or back to REQUIRES_INPUT with a last error, writing a report. Allowed with a secret "
            "key or the session's own client secret. Live mode needs a configured verifier "
            "(userError VERIFIER_UNAVAILABLE otherwise)."
        )
    )
    async def submit_verification_session(
        self,
        info: Info[Context, None],
        input: Annotated[
            SubmitVerificationSessionInput, _argument("The session and the tester's choices.")
        ],
    ) -> SubmitVerificationSessionPayload:
        context = info.context
        scope = context.submitter(input.id)
        return await _run(
            SubmitVerificationSessionPayload,
            context,
            sessions.submit(
                context.database,
                scope=scope,
                session_id=input.id,
                choice=_choice(input),
                verifier_available=context.live_verifier_available,
                delay_seconds=context.settings.processing_delay_seconds,
            ),
        )

    @strawberry.mutation(
        description=(
            "Stripe's test helpers as one mutation, for integration tests that should not click "
            "through a page. From REQUIRES_INPUT the session passes through PROCESSING (both "
            "events recorded); VERIFIED or REQUIRES_INPUT finish at once with a report, PROCESSING "
            "stays until a later simulation finishes it. Test-mode secret keys only."
        )
    )
    async def simulate_verification_session(
        self,
        info: Info[Context, None],
        input: Annotated[
            SimulateVerificationSessionInput, _argument("The session and where to move it.")
        ],
    ) -> SimulateVerificationSessionPayload:
        scope = info.context.test_mode_writer()
        return await _run(
            SimulateVerificationSessionPayload,
            info.context,
            sessions.simulate(
                info.context.database, scope=scope, session_id=input.id, choice=_choice(input)
            ),
        )
