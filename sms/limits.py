"""Per-number sending limits of a provider (ALIYUN_SMS_LIMITS, TENCENT_SMS_LIMITS), counted from
the messages it accepted (`sent_at`), so they hold across processes and restarts.

The providers enforce their own limits too (Aliyun isv.BUSINESS_LIMIT_CONTROL, Tencent
LimitExceeded.*); counting here first keeps a message from being refused at all, and lets it go to
the other provider or wait for the hour instead.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from tickets.models import SmsMessage


def free_at(session: Session, phone: str, provider: str, limits: tuple, now: datetime) -> datetime | None:
    """None when `provider` may send to `phone` now; else when its first limit frees a slot.
    `limits`: (count, seconds) pairs."""
    if not limits:
        return None
    longest = max(seconds for _, seconds in limits)
    recent = session.scalars(select(SmsMessage.sent_at).where(
        SmsMessage.phone == phone, SmsMessage.provider == provider,
        SmsMessage.sent_at > now - timedelta(seconds=longest)).order_by(SmsMessage.sent_at.desc())).all()
    blocked_until = None
    for count, seconds in limits:
        window = [t for t in recent if t > now - timedelta(seconds=seconds)]
        if len(window) >= count:
            # The count-th most recent send leaves the window first.
            frees = window[count - 1] + timedelta(seconds=seconds)
            blocked_until = max(blocked_until or frees, frees)
    return blocked_until
