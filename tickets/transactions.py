"""Work that must wait for the commit, and state that lives as long as one transaction.

`after_commit(session, callback)` is the one way side effects leave a transaction: bus events,
cache drops and SMS hand-offs run only once the outermost transaction has committed. A callback
registered inside a savepoint that rolls back is dropped with it; so is everything when the
whole transaction rolls back or the session closes with it still open.

`transaction_info(session)` is a dict for what one transaction remembers (the catalog changed
here, messages queued here); it is emptied when the outermost transaction ends, whichever way.
"""
from __future__ import annotations

import logging
from typing import Any, Callable

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

log = logging.getLogger(__name__)

_CALLBACKS = "tickets.after_commit"
_INFO = "tickets.transaction_info"


def after_commit(session: Session, callback: Callable[[], Any]) -> None:
    """Run `callback()` after the outermost commit; never if its transaction or savepoint rolls back."""
    transaction = session.get_nested_transaction() or session.get_transaction()
    session.info.setdefault(_CALLBACKS, []).append((transaction, callback))


def transaction_info(session: Session) -> dict[str, Any]:
    """A dict kept for the session's current (outermost) transaction and cleared when it ends."""
    return session.info.setdefault(_INFO, {})


def _within(transaction: SessionTransaction | None, ended: SessionTransaction) -> bool:
    """True when `transaction` is `ended` or a savepoint nested inside it."""
    while transaction is not None:
        if transaction is ended:
            return True
        transaction = transaction.parent
    return False


@event.listens_for(Session, "after_commit")
def _run_callbacks(session: Session) -> None:
    # SQLAlchemy fires after_commit for a released savepoint too: its work still belongs to the
    # enclosing transaction, which may yet roll back.
    if session.in_nested_transaction():
        return
    for _transaction, callback in session.info.pop(_CALLBACKS, ()):
        try:
            callback()
        except Exception:  # noqa: BLE001 - the commit stands; a lost side effect is logged
            log.exception("after-commit work %r failed", callback)


@event.listens_for(Session, "after_soft_rollback")
def _drop_rolled_back(session: Session, previous_transaction: SessionTransaction) -> None:
    pending = session.info.get(_CALLBACKS)
    if pending:
        session.info[_CALLBACKS] = [(t, c) for t, c in pending if not _within(t, previous_transaction)]


@event.listens_for(Session, "after_transaction_end")
def _forget_ended(session: Session, transaction: SessionTransaction) -> None:
    # Also covers a session closed with its transaction open, which ends it without a rollback
    # event: nothing of that transaction may run after a later commit of the same session.
    if transaction.parent is None:
        session.info.pop(_CALLBACKS, None)
        session.info.pop(_INFO, None)
