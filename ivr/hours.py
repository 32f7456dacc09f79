"""Whether agents answer now: the configured business hours, closed on statutory holidays."""
from __future__ import annotations

from sqlalchemy.orm import Session

from tickets.context import Hotline, hotline_of
from tickets.holidays import is_statutory_holiday
from tickets.timeutil import to_local

OPEN, CLOSED, HOLIDAY = "open", "closed", "holiday"


def agents_status(session: Session) -> str:
    """`open`, `closed` (outside BUSINESS_HOURS) or `holiday` (a statutory holiday, closed all day)."""
    hl = hotline_of(session)
    local = to_local(hl.now(), hl.tz)
    if is_statutory_holiday(session, local.date()):
        return HOLIDAY
    return by_clock(hl)


def by_clock(hl: Hotline) -> str:
    """`open` or `closed` by BUSINESS_HOURS alone: what can be said with the database out of reach
    (the holiday calendar is in it), as the dialplan's failure path decides by its clock."""
    start, end = hl.settings.business_hours
    now = to_local(hl.now(), hl.tz).time()
    # Hours may run past midnight (20:00-02:00): then "open" is after the start or before the end.
    inside = start <= now < end if start <= end else (now >= start or now < end)
    return OPEN if inside else CLOSED
