"""Throttling of failed console log-ins: growing delays, per user name AND source address.

Failures (rows of `login_attempts`) are counted in three scopes, each with its own allowance;
past it, every further failure costs a delay that doubles up to MAX_DELAY. A log-in attempt
made while its delay runs is refused unchecked and not counted, so a delay ends on time.

- one user name from one address: the real user mistyping, or a guesser at that address;
- one user name from anywhere: a name guessed from many addresses;
- one address for any name: many names tried from one place.

The last two are not applied to an address the user logged in from successfully within
KNOWN_SOURCE: failures elsewhere (an attacker) never lock the real user out of where they
usually work, and an office behind one NAT address is not locked by a guesser in it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from .models import LoginAttempt

FIRST_DELAY = timedelta(seconds=30)
MAX_DELAY = timedelta(minutes=15)
WINDOW = timedelta(hours=1)          # failures older than this are forgotten
KNOWN_SOURCE = timedelta(days=30)    # a successful log-in makes its address known for this long


@dataclass(frozen=True)
class Scope:
    name: str              # what the refusal names: "user+address", "user", "address"
    allowance: int         # failures before the first delay
    by_user: bool
    by_address: bool
    known_sources_exempt: bool


SCOPES = (
    Scope("user+address", 5, True, True, False),
    Scope("user", 10, True, False, True),
    Scope("address", 30, False, True, True),
)


@dataclass(frozen=True)
class Lock:
    until: datetime
    by: str          # the Scope's name


def delay_after(failures: int, allowance: int) -> timedelta:
    """How long a scope waits after its `failures`-th failure: none within the allowance, then doubling."""
    if failures < allowance:
        return timedelta(0)
    return min(FIRST_DELAY * 2 ** min(failures - allowance, 16), MAX_DELAY)


def is_known_source(session: Session, username: str, remote_addr: str, now: datetime) -> bool:
    """Whether `username` logged in successfully from `remote_addr` within KNOWN_SOURCE."""
    return bool(remote_addr) and session.scalar(select(exists().where(
        LoginAttempt.username == username, LoginAttempt.remote_addr == remote_addr,
        LoginAttempt.success.is_(True), LoginAttempt.at >= now - KNOWN_SOURCE)))


def _failures(session: Session, scope: Scope, username: str, remote_addr: str, now: datetime) -> list[datetime]:
    """The scope's failures that still count, newest first (enough of them to reach MAX_DELAY)."""
    who = []
    if scope.by_user:
        who.append(LoginAttempt.username == username)
    if scope.by_address:
        who.append(LoginAttempt.remote_addr == remote_addr)
    since = now - WINDOW
    if scope.by_user:
        # The real user's success starts the count again (an attacker cannot produce one).
        last_ok = session.scalar(select(func.max(LoginAttempt.at)).where(LoginAttempt.success.is_(True), *who))
        if last_ok is not None and last_ok > since:
            since = last_ok
    return list(session.scalars(
        select(LoginAttempt.at).where(LoginAttempt.success.is_(False), LoginAttempt.at > since, *who)
        .order_by(LoginAttempt.at.desc()).limit(scope.allowance + 16)))


def lock_for(session: Session, username: str, remote_addr: str, now: datetime) -> Lock | None:
    """The delay in force now for a log-in as `username` from `remote_addr`, if any (the longest)."""
    known = None
    locks = []
    for scope in SCOPES:
        if scope.by_address and not remote_addr:
            continue
        if scope.known_sources_exempt:
            if known is None:
                known = is_known_source(session, username, remote_addr, now)
            if known:
                continue
        failures = _failures(session, scope, username, remote_addr, now)
        if failures:
            until = failures[0] + delay_after(len(failures), scope.allowance)
            if until > now:
                locks.append(Lock(until, scope.name))
    return max(locks, key=lambda lock: lock.until, default=None)
