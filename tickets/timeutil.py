"""UTC storage and local display (the holiday calendar is tickets.holidays)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from .errors import ValidationError
from .models import utcnow

if TYPE_CHECKING:
    from .config import Settings

__all__ = ["utcnow", "to_utc", "to_local", "in_quiet_hours", "quiet_hours_end"]


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


def in_quiet_hours(settings: Settings, now: datetime) -> bool:
    """Whether `now` (naive UTC) falls in QUIET_HOURS, local time; the window may span midnight.
    No outbound call, survey, reminder, urging or escalation SMS goes out then."""
    if settings.quiet_hours is None:
        return False
    start, end = settings.quiet_hours
    local = to_local(now, settings.timezone).time()
    if start == end:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end


def quiet_hours_end(settings: Settings, now: datetime) -> datetime | None:
    """When the QUIET_HOURS `now` (naive UTC) falls in end, as naive UTC; None outside them.
    What may not go out at night waits until then."""
    if not in_quiet_hours(settings, now):
        return None
    local = to_local(now, settings.timezone)
    end = datetime.combine(local.date(), settings.quiet_hours[1], tzinfo=settings.timezone)
    if end <= local:
        end += timedelta(days=1)            # in the evening part of a window spanning midnight
    return to_utc(end, settings.timezone)
