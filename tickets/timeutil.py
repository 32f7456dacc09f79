"""UTC storage and local display (the holiday calendar is tickets.holidays)."""
from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from .errors import ValidationError
from .models import utcnow

__all__ = ["utcnow", "to_utc", "to_local"]


def to_utc(dt: datetime, tz: ZoneInfo) -> datetime:
    """Aware or local-naive datetime -> naive UTC."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=tz)
    try:
        return dt.astimezone(timezone.utc).replace(tzinfo=None)
    except OverflowError:
        # 0001-01-01 00:00 east of UTC (or 9999-12-31 west of it) has no UTC date.
        raise ValidationError("{dt:%Y-%m-%d %H:%M} is out of range; write a date of this century, e.g. 2026-12-01 09:00", dt=dt) from None


def to_local(dt: datetime, tz: ZoneInfo) -> datetime:
    """Naive UTC -> aware local."""
    return dt.replace(tzinfo=timezone.utc).astimezone(tz)
