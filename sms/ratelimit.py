"""Per-number flood control: past LIMIT messages in WINDOW, one notice, then silence.

Every inbound message is stored, so the count comes from the database and holds across
processes. The notice itself is the marker: while one was sent to the number within the
window, further messages get no answer at all.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tickets.models import SmsMessage

LIMIT = 6                       # messages a number may send in WINDOW and still be answered
WINDOW = timedelta(seconds=60)
FLOOD_KIND = "flood"


def verdict(session: Session, phone: str, now: datetime) -> str:
    """For a message just arrived from `phone` and not stored yet: 'ok' to answer normally,
    'notify' to send the one flood notice, 'silent' to answer nothing."""
    since = now - WINDOW
    stored = session.scalar(select(func.count()).select_from(SmsMessage).where(
        SmsMessage.phone == phone, SmsMessage.direction == "in", SmsMessage.created_at > since))
    if stored + 1 <= LIMIT:
        return "ok"
    notified = session.scalar(select(func.count()).select_from(SmsMessage).where(
        SmsMessage.phone == phone, SmsMessage.direction == "out", SmsMessage.kind == FLOOD_KIND,
        SmsMessage.created_at > since))
    return "silent" if notified else "notify"
