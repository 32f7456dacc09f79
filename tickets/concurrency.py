"""Two people changing one thing at once: how the second one is told.

Work orders, complaints and surveys carry a version column (SQLAlchemy's version_id_col): an
UPDATE that finds the row at another version than the one it read matches nothing, and
SQLAlchemy raises StaleDataError. This turns that into `ConcurrentChange`, a message a person
can act on. docs/core-api.md says which changes are versioned and which take a row lock.
"""
from __future__ import annotations

from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from .errors import ConcurrentChange


CONFLICT = "{what} was changed by someone else a moment ago; reload it and try again"


def conflict_message(what: str) -> str:
    return CONFLICT.format(what=what)


def flush_or_conflict(session: Session, what: str) -> None:
    """Flush the session's changes now; ConcurrentChange naming `what` if another transaction
    changed a versioned row first."""
    try:
        session.flush()
    except StaleDataError as exc:
        raise ConcurrentChange(CONFLICT, what=what) from exc
