"""A franchisee's working hours, and the accept deadline counted in them (派工时限).

A deadline that runs at night expires while the franchisee sleeps, and the order walks through
every candidate before anyone has seen it. So the ACCEPT_DEADLINE_MINUTES are working minutes:
an order dispatched at 23:38 to a franchisee open 08:00-20:00 is due at 08:30 the next morning.
Each franchisee may keep hours of its own (`Franchisee.business_hours`, "HH:MM-HH:MM", local
time, every day of the week: home services work weekends and holidays); empty means the
BUSINESS_HOURS setting. Hours may run past midnight (20:00-02:00); equal ends mean all day.
"""
from __future__ import annotations

from datetime import datetime, time, timedelta

from .context import Hotline
from .errors import ValidationError
from .models import Franchisee
from .timeutil import to_local, to_utc


def parse_hours(text: str) -> tuple[time, time]:
    """"08:00-20:00" -> (08:00, 20:00); ValidationError naming the right format."""
    try:
        start, end = text.strip().split("-")
        return time.fromisoformat(start.strip()), time.fromisoformat(end.strip())
    except ValueError:
        raise ValidationError("working hours {text!r} are not HH:MM-HH:MM (local time), e.g. 08:00-20:00; leave them empty for the hotline's BUSINESS_HOURS", text=text) from None


def check_hours(text: str) -> str:
    """The hours as stored: "HH:MM-HH:MM", or "" for the hotline's default."""
    if not (text or "").strip():
        return ""
    start, end = parse_hours(text)
    return f"{start:%H:%M}-{end:%H:%M}"


def hours_of(hl: Hotline, franchisee: Franchisee) -> tuple[time, time]:
    """The franchisee's daily opening and closing time (local)."""
    return parse_hours(franchisee.business_hours) if franchisee.business_hours else hl.settings.business_hours


def _windows(day, opens: time, closes: time):
    """Opening periods, as local naive [start, end), from `day` on."""
    while True:
        start = datetime.combine(day, opens)
        end = datetime.combine(day + timedelta(days=1) if closes <= opens else day, closes)
        yield start, end
        day += timedelta(days=1)


def add_working_minutes(start: datetime, minutes: int, opens: time, closes: time) -> datetime:
    """Local naive `start` plus `minutes` counted only inside the daily hours."""
    left = timedelta(minutes=minutes)
    if opens == closes:
        return start + left
    for w_start, w_end in _windows(start.date() - timedelta(days=1), opens, closes):
        if w_end <= start:
            continue
        begin = max(start, w_start)
        if begin + left <= w_end:
            return begin + left
        left -= w_end - begin
    raise AssertionError("unreachable: the windows never end")


def accept_deadline(hl: Hotline, franchisee: Franchisee, dispatched_at: datetime) -> datetime:
    """When `franchisee` must have accepted an order dispatched at `dispatched_at` (naive UTC in, naive UTC out)."""
    opens, closes = hours_of(hl, franchisee)
    local = to_local(dispatched_at, hl.tz).replace(tzinfo=None)
    return to_utc(add_working_minutes(local, hl.settings.accept_deadline_minutes, opens, closes), hl.tz)
