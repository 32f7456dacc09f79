"""Opt-out (TD/退订/STOP) and opt-in (START/订阅): kept per number and honoured by every send."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from tickets.context import hotline_of
from tickets.models import SmsOptOut


def is_opted_out(session: Session, phone: str) -> bool:
    """True when `phone` (E.164) has opted out and not opted in again."""
    return bool(session.scalar(select(SmsOptOut.opted_out).where(SmsOptOut.phone == phone)))


def set_opted_out(session: Session, phone: str, opted_out: bool) -> None:
    """Record the number's choice (one row per number, updated in place)."""
    now = hotline_of(session).now()
    row = session.get(SmsOptOut, phone)
    if row is None:
        session.add(SmsOptOut(phone=phone, opted_out=opted_out, updated_at=now))
    else:
        row.opted_out, row.updated_at = opted_out, now
    session.flush()
