"""Errors raised by the core; each message says what was wrong and what would be right."""


class HotlineError(Exception):
    """Base of every error a user can cause; `str()` is the message to show them."""


class ValidationError(HotlineError):
    """Input is malformed: a phone number, an amount, a service code, a date."""


class DuplicateBooking(ValidationError):
    """The same phone already has an open order for this service at this time; `number` is that order."""

    def __init__(self, message: str, *, number: str):
        super().__init__(message)
        self.number = number


class NotFound(HotlineError):
    """The thing named does not exist (or the caller may not see it)."""


class TransitionError(HotlineError):
    """A work-order move is not allowed now; names the current state and the allowed moves."""

    def __init__(self, message: str, *, status: str = "", allowed: tuple[str, ...] = ()):
        super().__init__(message)
        self.status = status
        self.allowed = allowed


class PermissionDenied(HotlineError):
    """The actor's role may not do this."""


class ConcurrentChange(HotlineError):
    """Someone else changed the same thing since it was read; reload and try again."""
