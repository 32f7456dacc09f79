"""Opt-out (TD/退订/STOP) and opt-in (START/订阅): kept per number and honoured by every send."""
from __future__ import annotations

from sqlalchemy import event as sa_event
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from tickets.context import hotline_of
from tickets.models import SmsOptOut
from tickets.prepared import Prepared


# Run on the driver's cursor: every inbound message and every notice asks.
_OPTED_OUT = Prepared(select(SmsOptOut.__table__.c.opted_out)
                      .where(SmsOptOut.__table__.c.phone == bindparam("phone")))
_SEEN = "sms.optout.seen"      # phone -> opted out, as read or written in this session's transaction


def is_opted_out(session: Session, phone: str) -> bool:
    """True when `phone` (E.164) has opted out and not opted in again.

    Read once per transaction and number (a booking sends two notices to the same number).
    """
    seen = session.info.setdefault(_SEEN, {})
    if phone not in seen:
        seen[phone] = bool(_OPTED_OUT.scalar(session, {"phone": phone}))
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
    session.info.setdefault(_SEEN, {})[phone] = opted_out


@sa_event.listens_for(Session, "after_transaction_end")
def _forget(session: Session, transaction) -> None:
    # Another transaction may change the choice: what this one read is not kept past its end.
    if transaction.parent is None:
        session.info.pop(_SEEN, None)
