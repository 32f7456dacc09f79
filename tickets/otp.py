"""One-time codes sent by SMS: the self-service lookup and online booking prove a phone with them.

A code is 6 random digits, valid for TTL, good for MAX_TRIES guesses and one use. Only an HMAC of
it (keyed by SECRET_KEY, bound to its purpose and subject) is stored, so a leaked table gives no
working codes. Requests are limited (LIMITS) per subject (the order number or the phone being
verified), per source address and per phone, in the database (so across every process), one
request at a time. Asking again replaces the previous code.

No enumeration: a subject nobody owns (an unknown order number) still gets a row, with no phone
and no SMS, and is limited and checked exactly like a known one, so every answer reads the same.
For the same reason the per-phone limit is silent: past it the answer is still "sent", but
nothing is sent (otherwise a caller could learn which order numbers share a phone).

`verify` returns a `Check` instead of raising: a wrong guess must be counted, so the caller's
transaction commits it (as tickets.accounts does with a refused log-in).
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from .context import hotline_of
from .errors import ValidationError
from .models import OneTimeCode
from .timeutil import to_local

DIGITS = 6
TTL = timedelta(minutes=5)
MAX_TRIES = 5
RESEND_AFTER = timedelta(seconds=60)     # one subject gets at most one new code a minute
WINDOW = timedelta(hours=1)
PURPOSES = ("lookup", "booking")


@dataclass(frozen=True)
class Limit:
    scope: str          # subject, address, phone
    per_window: int     # codes per WINDOW
    silent: bool        # past it: answer as if sent, send nothing (see the module docstring)


LIMITS = (Limit("subject", 5, False), Limit("address", 20, False), Limit("phone", 5, True))


class TooManyCodes(ValidationError):
    """A code was asked for too often; the message says when to try again."""


@dataclass(frozen=True)
class Issued:
    id: int              # the code's row (a send's dedupe key)
    code: str | None     # None: nothing to send (unknown subject, or the phone's silent limit)
    phone: str           # where to send it ("" for an unknown subject)
    expires_at: datetime


@dataclass(frozen=True)
class Check:
    ok: bool
    reason: str = ""     # wrong, expired, spent, none, format (see MESSAGES)
    tries_left: int = 0

    def message(self) -> str:
        return MESSAGES[self.reason].format(tries=self.tries_left, minutes=int(TTL.total_seconds() // 60),
                                            max=MAX_TRIES, digits=DIGITS)


MESSAGES = {
    "format": "the code is {digits} digits, as in the SMS, e.g. 123456",
    "none": "no code was asked for here, or it was replaced by a newer one; ask for a code first",
    "wrong": "the code is wrong; {tries} tries left",
    "expired": "the code has expired (codes last {minutes} minutes); ask for a new one",
    "spent": "this code no longer works ({max} wrong tries, or already used); ask for a new one",
}


def _digest(session: Session, purpose: str, subject: str, code: str) -> str:
    key = (hotline_of(session).settings.secret_key or "hotline").encode()
    return hmac.new(key, f"{purpose}:{subject}:{code}".encode(), hashlib.sha256).hexdigest()


def _count(session: Session, limit: Limit, purpose: str, subject: str, phone: str, remote_addr: str,
           since: datetime) -> int:
    where = {"subject": (OneTimeCode.purpose == purpose, OneTimeCode.subject == subject),
             "address": (OneTimeCode.remote_addr == remote_addr,),
             "phone": (OneTimeCode.phone == phone,)}[limit.scope]
    return session.scalar(select(func.count()).select_from(OneTimeCode).where(OneTimeCode.created_at > since, *where))


# The advisory lock every `issue` takes on PostgreSQL (pg_advisory_xact_lock's two-key space,
# apart from the one-key locks on phone numbers that bookings take).
_ISSUE_LOCK = (0x4F54, 0x5031)


def _one_issue_at_a_time(session: Session) -> None:
    """The limits count rows, so two requests counting at once would each miss the other's: on
    PostgreSQL (READ COMMITTED) every `issue` waits for the one before it to commit, then counts
    afresh. SQLite's transactions are serial already (BEGIN IMMEDIATE, tickets.sqlite). Codes are
    asked for a few times a minute, so one lock for all of them costs nothing."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(*_ISSUE_LOCK)))


def issue(session: Session, purpose: str, subject: str, phone: str, remote_addr: str = "") -> Issued:
    """A new code for `subject`, to be sent to `phone` ("" when the subject is unknown: nothing is
    sent, the answer reads the same). TooManyCodes past a visible limit."""
    if purpose not in PURPOSES:
        raise ValueError(f"purpose {purpose!r} is not one of {PURPOSES}")
    hl = hotline_of(session)
    _one_issue_at_a_time(session)
    now = hl.now()
    last = session.scalar(select(func.max(OneTimeCode.created_at)).where(
        OneTimeCode.purpose == purpose, OneTimeCode.subject == subject))
    if last is not None and now - last < RESEND_AFTER:
        raise TooManyCodes("a code was sent less than a minute ago; wait until {until:%H:%M:%S} before asking again",
                           until=to_local(last + RESEND_AFTER, hl.tz))
    silent = False
    for limit in LIMITS:
        if (limit.scope == "address" and not remote_addr) or (limit.scope == "phone" and not phone):
            continue
        if _count(session, limit, purpose, subject, phone, remote_addr, now - WINDOW) >= limit.per_window:
            if limit.silent:
                silent = True
                continue
            if limit.scope == "subject":
                raise TooManyCodes("too many codes asked for from this number in the last hour; try again later")
            raise TooManyCodes("too many codes asked for from this address in the last hour; try again later")
    # A new code replaces the older ones of the subject.
    session.execute(update(OneTimeCode).where(OneTimeCode.purpose == purpose, OneTimeCode.subject == subject,
                                              OneTimeCode.used_at.is_(None)).values(used_at=now))
    code = f"{secrets.randbelow(10 ** DIGITS):0{DIGITS}d}"
    row = OneTimeCode(purpose=purpose, subject=subject, phone=phone, code_hash=_digest(session, purpose, subject, code),
                      remote_addr=remote_addr[:64], attempts=0, created_at=now, expires_at=now + TTL)
    session.add(row)
    session.flush()
    return Issued(id=row.id, code=None if silent or not phone else code, phone=phone, expires_at=row.expires_at)


def verify(session: Session, purpose: str, subject: str, code: str) -> Check:
    """Check `code` against the subject's current code, counting the try; a right one is used up.
    The row is locked, so concurrent guesses are counted one after the other (MAX_TRIES holds)."""
    code = (code or "").strip()
    if len(code) != DIGITS or not code.isascii() or not code.isdigit():
        return Check(False, "format")
    now = hotline_of(session).now()
    row = session.scalar(select(OneTimeCode).where(OneTimeCode.purpose == purpose, OneTimeCode.subject == subject)
                         .order_by(OneTimeCode.id.desc()).limit(1).with_for_update())
    if row is None:
        return Check(False, "none")
    if row.used_at is not None or row.attempts >= MAX_TRIES:
        return Check(False, "spent")
    if row.expires_at <= now:
        return Check(False, "expired")
    row.attempts += 1
    if not hmac.compare_digest(row.code_hash, _digest(session, purpose, subject, code)) or not row.phone:
        left = MAX_TRIES - row.attempts
        return Check(False, "wrong" if left else "spent", left)
    row.used_at = now
    return Check(True)
