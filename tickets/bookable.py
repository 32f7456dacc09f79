"""How far ahead a service may be booked: one rule for every channel (BOOKING_HORIZON_DAYS)."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy.orm import Session

from .context import Hotline, hotline_of
from .errors import ValidationError
from .holidays import calendar
from .timeutil import to_local

# The start times a resident picks from (voice menu, online booking), local time.
SLOTS = {"morning": time(9, 0), "afternoon": time(14, 0), "evening": time(18, 0)}


def last_bookable_day(hl: Hotline) -> date:
    """The last local day a booking may start on: today + BOOKING_HORIZON_DAYS."""
    return to_local(hl.now(), hl.tz).date() + timedelta(days=hl.settings.booking_horizon_days)


def within_window(hl: Hotline, start_utc: datetime) -> bool:
    """Whether a start is no later than the last bookable day (the past is orders.book's check)."""
    return to_local(start_utc, hl.tz).date() <= last_bookable_day(hl)


def check_bookable(hl: Hotline, start_utc: datetime) -> None:
    """Refuse a start after the last bookable day, saying which days may be booked."""
    if not within_window(hl, start_utc):
        local = to_local(start_utc, hl.tz)
        raise ValidationError("bookings are taken up to {days} days ahead, until {last:%Y-%m-%d}; choose an earlier "
                              "date (got {day:%Y-%m-%d})", days=hl.settings.booking_horizon_days,
                              last=last_bookable_day(hl), day=local)


def holiday_first_day(session: Session, name: str) -> date | None:
    """The first day of the next `name` holiday (春节, 国庆节 ...: tickets.holidays.HOLIDAY_NAMES)
    within the bookable window, today when it is under way; None when none falls in it."""
    hl = hotline_of(session)
    return calendar(session).block_start(name, to_local(hl.now(), hl.tz).date(), last_bookable_day(hl))
