"""UTC storage and local display (the holiday calendar is tickets.holidays)."""
from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from .models import utcnow

__all__ = ["utcnow", "to_utc", "to_local"]


def to_utc(dt: datetime, tz: ZoneInfo) -> datetime:
    """Aware or local-naive datetime -> naive UTC."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=tz)
    return dt.astimezone(timezone.utc).replace(tzinfo=None)


def to_local(dt: datetime, tz: ZoneInfo) -> datetime:
    """Naive UTC -> aware local."""
    return dt.replace(tzinfo=timezone.utc).astimezone(tz)
