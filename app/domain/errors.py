"""Expected failures of the domain, each with a stable code.

    DomainError                    a request that cannot be carried out as asked
      InvalidParameter             PARAMETER_INVALID: a value breaks a rule; `field` names the input path
      MissingParameter             PARAMETER_MISSING: a required value is absent
      ResourceMissing              RESOURCE_MISSING: an id names nothing the caller can see
      InvalidState                 INVALID_STATE: the object's status forbids the operation
      VerifierUnavailable          VERIFIER_UNAVAILABLE: live mode has no verifier configured

Every surface (GraphQL userErrors today, a REST API later) maps these one to one; nothing else is an
expected failure.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum


class ErrorCode(StrEnum):
    PARAMETER_MISSING = "parameter_missing"
    PARAMETER_INVALID = "parameter_invalid"
    RESOURCE_MISSING = "resource_missing"
    INVALID_STATE = "invalid_state"
    VERIFIER_UNAVAILABLE = "verifier_unavailable"


class DomainError(Exception):
    code: ErrorCode

    def __init__(self, message: str, *, field: Sequence[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = list(field) if field is not None else None


class InvalidParameter(DomainError):
    code = ErrorCode.PARAMETER_INVALID


class MissingParameter(DomainError):
    code = ErrorCode.PARAMETER_MISSING


class ResourceMissing(DomainError):
    code = ErrorCode.RESOURCE_MISSING


class InvalidState(DomainError):
    code = ErrorCode.INVALID_STATE


class VerifierUnavailable(DomainError):
    code = ErrorCode.VERIFIER_UNAVAILABLE
