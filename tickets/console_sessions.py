"""Console sessions: one row per log-in (per browser), checked on every request.

The browser's cookie carries a random token; only its SHA-256 is stored. A session ends when
its user logs out, when an admin ends it, when the user's password, role or franchisee
changes or the account is deactivated, and SESSION_LIFETIME (one shift) after the log-in.
An ended session stays listed (when, why) until it is older than KEEP_ENDED.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from . import audit
from .actors import Actor
from .context import hotline_of
from .errors import NotFound
from .models import ConsoleSession, User

SESSION_LIFETIME = timedelta(hours=12)
# last_seen_at is written at most this often: a write per page view would queue every
# request behind SQLite's single write lock.
SEEN_EVERY = timedelta(minutes=1)
KEEP_ENDED = timedelta(days=7)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(session: Session, user: User, remote_addr: str = "", user_agent: str = "") -> str:
    """Open a session for `user`; returns the token for the cookie (not stored anywhere else)."""
    now = hotline_of(session).now()
    token = secrets.token_urlsafe(32)
    session.add(ConsoleSession(token_hash=_hash(token), user_id=user.id, remote_addr=remote_addr[:64],
                               user_agent=user_agent[:200], created_at=now, last_seen_at=now,
                               expires_at=now + SESSION_LIFETIME))
    # Housekeeping on log-in, not per request: a log-in is rare, and this keeps the table small.
    session.execute(delete(ConsoleSession).where(ConsoleSession.user_id == user.id,
                                                 ConsoleSession.expires_at < now - KEEP_ENDED))
    return token


def user_of(session: Session, token: str | None) -> tuple[User, ConsoleSession] | None:
    """The user and session behind a cookie's token; None when it is unknown, ended or expired."""
    if not token:
        return None
    cs = session.scalar(select(ConsoleSession).where(ConsoleSession.token_hash == _hash(token)))
    now = hotline_of(session).now()
    if cs is None or cs.ended_at is not None or cs.expires_at <= now:
        return None
    user = session.get(User, cs.user_id)
    if user is None or not user.active:
        return None
    if now - cs.last_seen_at >= SEEN_EVERY:
        cs.last_seen_at = now
    return user, cs


def end(session: Session, token: str | None, reason: str = "logout") -> ConsoleSession | None:
    """End the session of this token (log-out); None when there was none open."""
    found = user_of(session, token)
    if found is None:
        return None
    _, cs = found
    cs.ended_at, cs.ended_reason = hotline_of(session).now(), reason
    return cs


def logout(session: Session, actor: Actor, token: str | None) -> ConsoleSession | None:
    """The user logs out of this browser: its session ends, and the audit trail says so."""
    cs = end(session, token)
    if cs is not None:
        audit.record(session, actor, "logout", "user", cs.user_id, {"session_id": cs.id})
    return cs


def end_all(session: Session, user: User, reason: str) -> int:
    """End every open session of `user`; returns how many were open."""
    result = session.execute(
        update(ConsoleSession).where(ConsoleSession.user_id == user.id, ConsoleSession.ended_at.is_(None))
        .values(ended_at=hotline_of(session).now(), ended_reason=reason)
        .execution_options(synchronize_session="fetch"))
    return result.rowcount


def end_one(session: Session, actor: Actor, user: User, session_id: int) -> ConsoleSession:
    """An admin ends one session of `user` (a lost laptop, a shared screen)."""
    cs = session.scalar(select(ConsoleSession).where(ConsoleSession.id == session_id,
                                                     ConsoleSession.user_id == user.id))
    if cs is None:
        raise NotFound("{username} has no session {session_id}; reload the page and choose again", username=user.username, session_id=session_id)
    if cs.ended_at is None:
        cs.ended_at, cs.ended_reason = hotline_of(session).now(), "admin"
        audit.record(session, actor, "session.end", "user", user.id,
                     {"username": user.username, "session_id": cs.id, "remote_addr": cs.remote_addr})
    return cs


def of_user(session: Session, user: User) -> list[ConsoleSession]:
    """The user's sessions, newest first: open ones and those ended within KEEP_ENDED."""
    return list(session.scalars(select(ConsoleSession).where(ConsoleSession.user_id == user.id)
                                .order_by(ConsoleSession.created_at.desc(), ConsoleSession.id.desc())))


def is_open(cs: ConsoleSession, now) -> bool:
    return cs.ended_at is None and cs.expires_at > now
