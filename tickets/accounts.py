"""Console accounts: log-in (throttled by tickets.throttle), log-out everywhere, and managing users.

Every checked log-in is kept in `login_attempts` (the throttle counts them) and in the audit
trail with its source address, refused ones too. A user's console sessions
(tickets.console_sessions) end when they log out everywhere, when their password, role or
franchisee changes and when they are deactivated.
"""
from __future__ import annotations

from datetime import datetime
from typing import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import audit, console_sessions, throttle
from .actors import Actor
from .context import hotline_of
from .errors import HotlineError, NotFound, ValidationError
from .models import ROLES, Franchisee, LoginAttempt, User, UserDistrict
from .passwords import hash_password, verify_password
from .phones import mask, normalize

MIN_PASSWORD_LENGTH = 10
# Compared against when the user name is unknown, so a wrong name costs the same time as a
# wrong password and the response time does not tell which names exist.
_DUMMY_HASH = hash_password("not a real password, only for timing")


class LoginRefused(HotlineError):
    """A log-in was refused. `reason` is `invalid`, `locked` or `inactive`; `until` is set when locked."""

    def __init__(self, template: str, /, *, reason: str, until: datetime | None = None, **params):
        super().__init__(template, until=until, **params)
        self.reason = reason
        self.until = until


def authenticate(session: Session, username: str, password: str, remote_addr: str = "") -> User:
    """The user for these credentials, or LoginRefused.

    Every checked attempt is added to the caller's session, refused ones too: catch
    LoginRefused inside the transaction and let it commit, or the failure is not counted.
    """
    hl = hotline_of(session)
    now = hl.now()
    username = (username or "").strip()[:64]
    remote_addr = (remote_addr or "")[:64]
    lock = throttle.lock_for(session, username, remote_addr, now)
    if lock is not None:
        # Not checked, not counted, not audited: a flood of these must not grow the delay or
        # push the real entries off the audit page.
        raise LoginRefused("too many failed log-ins ({by}); try again after {until:%Y-%m-%d %H:%M:%S} UTC "
                           "or ask an admin to reset the password", by=lock.by, reason="locked", until=lock.until)
    user = session.scalar(select(User).where(User.username == username))
    ok = verify_password(user.password_hash if user else _DUMMY_HASH, password or "") and user is not None
    if ok and user.is_demo and not hl.settings.demo:
        ok = False     # demo accounts (password `demo`) only work in demo mode
    session.add(LoginAttempt(username=username, remote_addr=remote_addr, success=ok, at=now))
    if not ok:
        visitor = Actor(role="visitor", label=username, remote_addr=remote_addr)
        audit.record(session, visitor, "login.failed", "user", user.id if user else "", {"username": username})
        raise LoginRefused("wrong user name or password", reason="invalid")
    actor = Actor.from_user(user, remote_addr)
    if not user.active:
        audit.record(session, actor, "login.inactive", "user", user.id, {"username": username})
        raise LoginRefused("the account {username} is deactivated; ask an admin", username=username, reason="inactive")
    audit.record(session, actor, "login", "user", user.id, {"username": username})
    return user


def logout_everywhere(session: Session, user: User, actor: Actor) -> None:
    """End every session of `user` (each browser, each device)."""
    ended = console_sessions.end_all(session, user, "everywhere")
    audit.record(session, actor, "user.logout_everywhere", "user", user.id,
                 {"username": user.username, "sessions_ended": ended})


# ---------------------------------------------------------------- managing users

def check_password(password: str) -> str:
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise ValidationError("a password needs at least {min_password_length} characters", min_password_length=MIN_PASSWORD_LENGTH)
    return password


def _check_role(session: Session, role: str, franchisee_id: int | None) -> int | None:
    if role not in ROLES:
        raise ValidationError("role {role!r} is not one of {roles}", role=role, roles=', '.join(ROLES))
    if role == "franchisee":
        if franchisee_id is None or session.get(Franchisee, franchisee_id) is None:
            raise ValidationError("a franchisee user needs the franchisee it works for; choose one")
        return franchisee_id
    return None


def _set_districts(user: User, district_ids: Iterable[int]) -> list[int]:
    ids = sorted(set(district_ids)) if user.role == "district_manager" else []
    user.districts = [UserDistrict(district_id=d) for d in ids]
    return ids


def _phone(raw: str) -> str:
    """A staff member's mobile as E.164 (checked like a customer's number), or "" for none."""
    raw = (raw or "").strip()
    return normalize(raw) if raw else ""


def _masked(phone: str) -> str:
    # The audit trail names a change of number without showing it (as pages show contact details).
    return mask(phone) if phone else ""


def create_user(session: Session, actor: Actor, *, username: str, role: str, password: str,
                display_name: str = "", franchisee_id: int | None = None,
                district_ids: Iterable[int] = (), phone: str = "") -> User:
    username = (username or "").strip()
    if not username or len(username) > 64 or any(c.isspace() for c in username):
        raise ValidationError("a user name is 1 to 64 characters without spaces, e.g. agent3")
    if session.scalar(select(User).where(User.username == username)) is not None:
        raise ValidationError("the user name {username} is taken; choose another", username=username)
    fr = _check_role(session, role, franchisee_id)
    phone = _phone(phone)
    user = User(username=username, display_name=(display_name or username).strip()[:64], role=role,
                password_hash=hash_password(check_password(password)), franchisee_id=fr, phone=phone,
                created_at=hotline_of(session).now())
    session.add(user)
    ids = _set_districts(user, district_ids)
    session.flush()
    audit.record(session, actor, "user.create", "user", user.id,
                 {"username": username, "role": role, "franchisee_id": fr, "district_ids": ids, "phone": _masked(phone)})
    return user


def update_user(session: Session, actor: Actor, user: User, *, role: str, display_name: str,
                franchisee_id: int | None = None, district_ids: Iterable[int] = (), phone: str | None = None) -> User:
    """Change a user's role, name, franchisee, districts and mobile (`phone`: None keeps it, ""
    removes it); a changed role ends their sessions."""
    fr = _check_role(session, role, franchisee_id)
    new_phone = user.phone if phone is None else _phone(phone)
    before = {"role": user.role, "franchisee_id": user.franchisee_id,
              "district_ids": sorted(d.district_id for d in user.districts), "phone": _masked(user.phone)}
    if actor.user_id == user.id and role != user.role:
        raise ValidationError("you cannot change your own role; ask another admin")
    user.role, user.franchisee_id, user.phone = role, fr, new_phone
    user.display_name = (display_name or user.username).strip()[:64]
    ids = _set_districts(user, district_ids)
    if before["role"] != role or before["franchisee_id"] != fr:
        # What the open sessions were allowed to do has changed: make them log in again.
        console_sessions.end_all(session, user, "role")
    audit.record(session, actor, "user.update", "user", user.id,
                 {"before": before, "after": {"role": role, "franchisee_id": fr, "district_ids": ids,
                                              "phone": _masked(new_phone)}})
    return user


def set_active(session: Session, actor: Actor, user: User, active: bool) -> User:
    if actor.user_id == user.id and not active:
        raise ValidationError("you cannot deactivate your own account; ask another admin")
    user.active = active
    if not active:
        console_sessions.end_all(session, user, "deactivated")
    audit.record(session, actor, "user.activate" if active else "user.deactivate", "user", user.id,
                 {"username": user.username})
    return user


def reset_password(session: Session, actor: Actor, user: User, password: str) -> User:
    """Set a new password; every session of the user ends. The password is never audited."""
    user.password_hash = hash_password(check_password(password))
    console_sessions.end_all(session, user, "password")
    audit.record(session, actor, "user.reset_password", "user", user.id, {"username": user.username})
    return user


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("no user {user_id}", user_id=user_id)
    return user


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.role, User.username)))
