"""Who decides a submitted session's outcome.

Test mode always uses the built-in simulator: the tester chose the outcome on the hosted page (or
in `submitVerificationSession`), and it is carried out after `PROCESSING_DELAY_SECONDS`. Live mode
uses the provider named by the `VERIFIER` setting, as `package.module:attribute`, where the
attribute is a `Verifier` or a zero-argument callable returning one. With no `VERIFIER`, live
submissions are refused with `VERIFIER_UNAVAILABLE`; nothing is ever verified by default.

A provider implements one method:

    class MyProvider:
        async def decide(self, submission: Submission) -> Decision:
            result = await my_api.check(submission.data, options=submission.options)
            if result.ok:
                return Decision(outcome="verified", last_error_code=None, person=result.person)
            return Decision(outcome="requires_input", last_error_code=result.code, person={})

`person` uses the keys of Stripe's `verified_outputs` (first_name, last_name, dob, address,
id_number_type, id_number, email, phone, sex, ...).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True, kw_only=True)
class Submission:
    session_id: str
    livemode: bool
    type: str
    options: Mapping[str, Any]
    provided_details: Mapping[str, Any] | None
    data: Mapping[str, Any]


@dataclass(frozen=True, kw_only=True)
class Decision:
    outcome: str
    last_error_code: str | None
    person: dict[str, Any]


class Verifier(Protocol):
    async def decide(self, submission: Submission) -> Decision: ...


class TestModeSimulator:
    """Carries out the outcome the tester chose, with the personal data they entered."""

    async def decide(self, submission: Submission) -> Decision:
        return Decision(
            outcome=submission.data["outcome"],
            last_error_code=submission.data.get("last_error_code"),
            person=dict(submission.data["person"]),
        )


class VerifierError(ValueError):
    """The VERIFIER setting does not name a usable verifier."""


def load_verifier(path: str | None) -> Verifier | None:
    """The live-mode verifier named by `package.module:attribute`, or None when unset."""
    if not path:
        return None
    module_name, _, attribute = path.partition(":")
    if not attribute:
        raise VerifierError(f"VERIFIER must look like package.module:attribute, got {path!r}")
    try:
        target = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as error:
        raise VerifierError(f"VERIFIER {path!r} cannot be imported: {error}") from None
    verifier = target() if isinstance(target, type) or not hasattr(target, "decide") else target
    if not hasattr(verifier, "decide"):
        raise VerifierError(f"VERIFIER {path!r} has no `decide` method")
    return verifier  # type: ignore[no-any-return]
