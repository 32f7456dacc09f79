"""The catalog (services, districts and their aliases) cached in each process, dropped when it changes.

Every booking reads the catalog; an admin changes it a few times a year. A process keeps what it
read until a change is committed: the transaction that changes the catalog calls
`catalog_changed`, and once it commits, this process drops its copies at once and the bus
carries `catalog.changed` to every other process (over Redis, within milliseconds; the
in-process bus has no other process), which drop theirs on their next read. A copy older than
MAX_AGE_SECONDS is read again anyway, should an event be lost (a Redis restart).

A copy read while a change was being committed is not kept past it: each copy remembers the
generation it was read in, and every change moves the generation on. The transaction making a
change reads the catalog afresh until it ends.
"""
from __future__ import annotations

import threading
import time
from typing import Any, Callable, TypeVar

from sqlalchemy.orm import Session

from .bus import publish_after_commit
from .context import Hotline, hotline_of
from .transactions import after_commit, transaction_info

CHANGED = "catalog.changed"
MAX_AGE_SECONDS = 30.0
_COPIES = "tickets.cache"
_CHANGED_HERE = "tickets.cache.changed"      # transaction_info: this transaction changed the catalog
_CREATE = threading.Lock()

T = TypeVar("T")


class _Copies:
    """One Hotline's copies, and the subscription that says when to drop them."""

    def __init__(self, hl: Hotline) -> None:
        self._subscription = hl.bus.subscribe(CHANGED)
        self._lock = threading.Lock()
        self._generation = 0
        self.values: dict[str, tuple[float, int, Any]] = {}

    def generation(self) -> int:
        """The current generation, moved on by every change event that has arrived."""
        with self._lock:
            while self._subscription.get(timeout=0) is not None:
                self._generation += 1
            return self._generation

    def changed(self) -> None:
        with self._lock:
            self._generation += 1


def _copies(hl: Hotline) -> _Copies:
    copies = hl.extensions.get(_COPIES)
    if copies is None:
        with _CREATE:
            copies = hl.extensions.get(_COPIES)
            if copies is None:
                copies = hl.extensions[_COPIES] = _Copies(hl)
    return copies


def generation(hl: Hotline) -> int:
    """A number that moves on whenever a catalog change has been committed: for a cache of its
    own built from the catalog (the voice menus), read before the catalog it is built from."""
    return _copies(hl).generation()


def cached(session: Session, name: str, load: Callable[[Session], T]) -> T:
    """`load(session)`, read once and kept until the catalog changes (see the module's text).

    A transaction that has changed the catalog itself reads it afresh (and keeps nothing): it
    sees its own change, which no other may see before the commit.
    """
    if transaction_info(session).get(_CHANGED_HERE):
        return load(session)
    copies = _copies(hotline_of(session))
    generation = copies.generation()
    now = time.monotonic()
    entry = copies.values.get(name)
    if entry is not None and entry[1] == generation and now - entry[0] < MAX_AGE_SECONDS:
        return entry[2]
    value = load(session)
    copies.values[name] = (now, generation, value)
    return value


def catalog_changed(session: Session) -> None:
    """Say, in the transaction that changes services, districts or aliases, that it does so: once it
    commits, every process drops its cached catalog (this one at once, without waiting for its
    own event to come back from Redis)."""
    transaction_info(session)[_CHANGED_HERE] = True
    copies = _copies(hotline_of(session))
    after_commit(session, copies.changed)
    publish_after_commit(session, CHANGED, {})
