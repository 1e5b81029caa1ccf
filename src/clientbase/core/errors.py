"""Domain errors with stable codes. Services raise them; the API turns each
into an RFC 9457 problem, the admin and the CLI into a message."""

from dataclasses import dataclass, field


@dataclass
class FieldError:
    field: str
    message: str
    code: str = "invalid"


@dataclass
class DomainError(Exception):
    detail: str
    code: str = "error"
    errors: list[FieldError] = field(default_factory=list)
    status = 400
    title = "Bad request"

    def __str__(self) -> str:
        return self.detail


class Invalid(DomainError):
    """The input breaks a rule; `errors` names the fields."""

    status = 422
    title = "Validation failed"

    @classmethod
    def on(cls, field_name: str, message: str, code: str = "invalid") -> "Invalid":
        return cls(detail=message, code=code, errors=[FieldError(field_name, message, code)])


class Conflict(DomainError):
    """The request clashes with the current state (duplicate, cycle, non-empty)."""

    status = 409
    title = "Conflict"

    @classmethod
    def on(cls, field_name: str, message: str, code: str = "conflict") -> "Conflict":
        return cls(detail=message, code=code, errors=[FieldError(field_name, message, code)])


class NotFound(DomainError):
    status = 404
    title = "Not found"


class Forbidden(DomainError):
    status = 403
    title = "Forbidden"


class PreconditionFailed(DomainError):
    status = 412
    title = "Precondition failed"


@dataclass
class TooManyRequests(DomainError):
    """Too many attempts from one client; `retry_after` seconds until the next may pass."""

    retry_after: int = 60
    status = 429
    title = "Too many requests"
