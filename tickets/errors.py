"""Errors raised by the core; each message says what was wrong and what would be right.

A message is a template and its values (`ValidationError("no district {district_id}",
district_id=7)`): `str()` is the English sentence the logs, the CLI and staff SMS tools show, and
the console finds the same template in its Chinese catalog (agent_console/refusals.py) and fills
in the same values. tests/console/test_words.py holds every template raised here to a translation.
"""
from typing import Any


class HotlineError(Exception):
    """Base of every error a user can cause; `str()` is the message to show them."""

    def __init__(self, template: str = "", /, **params: Any):
        super().__init__(template.format(**params) if params else template)
        self.template = template
        self.params = params


class ValidationError(HotlineError):
    """Input is malformed: a phone number, an amount, a service code, a date."""


class DuplicateBooking(ValidationError):
    """The same phone already has an open order for this service at this time; `number` is that order."""

    def __init__(self, template: str, /, *, number: str, **params: Any):
        super().__init__(template, number=number, **params)
        self.number = number


class NotFound(HotlineError):
    """The thing named does not exist (or the caller may not see it)."""


class TransitionError(HotlineError):
    """A work-order move is not allowed now; names the current state and the allowed moves."""

    def __init__(self, template: str, /, *, status: str = "", allowed: tuple[str, ...] = (), **params: Any):
        super().__init__(template, status=status, **params)
        self.status = status
        self.allowed = allowed


class PermissionDenied(HotlineError):
    """The actor's role may not do this."""


class ConcurrentChange(HotlineError):
    """Someone else changed the same thing since it was read; reload and try again."""
