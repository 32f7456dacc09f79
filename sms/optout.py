"""Opt-out (TD/退订/STOP) and opt-in (START/订阅): kept per number and honoured by every send."""
from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from tickets.context import hotline_of
from tickets.models import SmsOptOut
from tickets.transactions import transaction_info

_OPTED_OUT = select(SmsOptOut.opted_out).where(SmsOptOut.phone == bindparam("phone"))
_SEEN = "sms.optout.seen"      # phone -> opted out, as read or written in this transaction


def is_opted_out(session: Session, phone: str) -> bool:
    """True when `phone` (E.164) has opted out and not opted in again.

    Read once per transaction and number (a booking sends two notices to the same number).
    """
    seen = transaction_info(session).setdefault(_SEEN, {})
    if phone not in seen:
        seen[phone] = bool(session.scalar(_OPTED_OUT, {"phone": phone}))
    return seen[phone]


def set_opted_out(session: Session, phone: str, opted_out: bool) -> None:
    """Record the number's choice (one row per number, updated in place)."""
    now = hotline_of(session).now()
    row = session.get(SmsOptOut, phone)
    if row is None:
        session.add(SmsOptOut(phone=phone, opted_out=opted_out, updated_at=now))
    else:
        row.opted_out, row.updated_at = opted_out, now
    session.flush()
    transaction_info(session).setdefault(_SEEN, {})[phone] = opted_out
