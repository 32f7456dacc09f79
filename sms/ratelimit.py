"""Per-number flood control: past LIMIT messages in WINDOW, one notice, then silence.

Every inbound message is stored, so the count comes from the database and holds across
processes. The notice itself is the marker: while one was sent to the number within the
window, further messages get no answer at all.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from tickets.models import SmsMessage

LIMIT = 6                       # messages a number may send in WINDOW and still be answered
WINDOW = timedelta(seconds=60)
FLOOD_KIND = "flood"

# Both counts in one statement: this runs for every inbound message.
_COUNTS = (select(func.count().filter(SmsMessage.direction == "in"),
                  func.count().filter(SmsMessage.direction == "out", SmsMessage.kind == FLOOD_KIND))
           .where(SmsMessage.phone == bindparam("phone"), SmsMessage.created_at > bindparam("since")))


def verdict(session: Session, phone: str, now: datetime) -> str:
    """For a message just arrived from `phone` and not stored yet: 'ok' to answer normally,
    'notify' to send the one flood notice, 'silent' to answer nothing."""
    stored, notified = session.execute(_COUNTS, {"phone": phone, "since": now - WINDOW}).one()
    if stored + 1 <= LIMIT:
        return "ok"
    return "silent" if notified else "notify"
