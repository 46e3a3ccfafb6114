"""Domain errors shared by every app; the API and the views translate them in one place.

Services raise these (or subclasses of them); `config.api.exception_handler` maps each to its HTTP
status (DESIGN §9): 400 bad input, 413 too large, 403 permission or four-eyes refusal, 404 unknown or invisible
object, 409 state or stale version, 422 unmet gate criteria.
"""

from __future__ import annotations


class DomainError(Exception):
    status_code = 400
    code = "invalid"

    def __init__(self, message: str, *, code: str | None = None, details: object = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details = details


class InvalidInput(DomainError):
    status_code = 400
    code = "invalid"


class TooLarge(InvalidInput):
    """Input larger than its limit (an upload, a file): 413 with the limit in the message."""

    status_code = 413
    code = "request_too_large"


class PermissionRefused(DomainError):
    status_code = 403
    code = "permission_denied"


class SeparationOfDutiesViolation(PermissionRefused):
    code = "separation_of_duties"


class NotFound(DomainError):
    status_code = 404
    code = "not_found"


class Conflict(DomainError):
    status_code = 409
    code = "conflict"


class StaleVersion(Conflict):
    code = "stale_version"


class CriteriaUnmet(DomainError):
    """A gate (or another checked step) whose criteria are not met; `unmet` lists them."""

    status_code = 422
    code = "criteria_unmet"

    def __init__(self, message: str, *, unmet: list[dict[str, str]]) -> None:
        super().__init__(message, details=unmet)
        self.unmet = unmet
