"""UTC storage, local display, and the Chinese statutory-holiday calendar."""
from __future__ import annotations

from datetime import date, datetime, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

import chinese_calendar

from .errors import ValidationError
from .models import utcnow

__all__ = ["utcnow", "to_utc", "to_local", "is_statutory_holiday", "holiday_name"]


def to_utc(dt: datetime, tz: ZoneInfo) -> datetime:
    """Aware or local-naive datetime -> naive UTC."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=tz)
    try:
        return dt.astimezone(timezone.utc).replace(tzinfo=None)
    except OverflowError:
        # 0001-01-01 00:00 east of UTC (or 9999-12-31 west of it) has no UTC date.
        raise ValidationError(f"{dt:%Y-%m-%d %H:%M} is out of range; write a date of this century, "
                              "e.g. 2026-12-01 09:00") from None


def to_local(dt: datetime, tz: ZoneInfo) -> datetime:
    """Naive UTC -> aware local."""
    # Built field by field rather than by `replace` (see models.utcnow): several times a booking.
    return datetime(dt.year, dt.month, dt.day, dt.hour, dt.minute, dt.second, dt.microsecond,
                    timezone.utc).astimezone(tz)


@lru_cache(maxsize=4096)
def holiday_name(day: date) -> str | None:
    """Name of the statutory holiday on `day`, or None.

    Uses chinese_calendar (the State Council's yearly notices, fixed for an installed version,
    so each day's answer is kept). Weekends and the rest days
    made up by working on a weekend (调休) are not statutory holidays.
    """
    try:
        _, name = chinese_calendar.get_holiday_detail(day)
        if name is None or chinese_calendar.is_in_lieu(day):
            return None
        return str(name)
    except NotImplementedError:
        # Years the calendar does not cover yet: no holiday surcharge rather than a guess.
        return None


def is_statutory_holiday(day: date) -> bool:
    return holiday_name(day) is not None
