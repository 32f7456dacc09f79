"""Work-order numbers: 10 digits, YYDDD + a 5-digit sequence of that local day.

Digits only, so a caller can key one in; sorted by creation date; unique across processes
because the day's counter row is incremented inside the creating transaction (a row lock on
PostgreSQL, the write lock on SQLite).
"""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, insert, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .errors import ValidationError
from .models import OrderCounter
from .timeutil import to_local

PER_DAY = 99_999


def day_key(now_utc: datetime, tz: ZoneInfo) -> str:
    local = to_local(now_utc, tz)
    return f"{local.year % 100:02d}{local.timetuple().tm_yday:03d}"


# On the table, not the mapped class: a plain Core statement skips the ORM's bulk-update handling.
_COUNTERS = OrderCounter.__table__
# One statement that increments and reads: on PostgreSQL the UPDATE holds the row until the
# commit, so a concurrent booking waits and reads the next value.
_INCREMENT = (update(_COUNTERS).where(_COUNTERS.c.day == bindparam("day_"))
              .values(last=_COUNTERS.c.last + 1).returning(_COUNTERS.c.last))


def next_number(session: Session, now_utc: datetime, tz: ZoneInfo) -> str:
    day = day_key(now_utc, tz)
    seq = session.scalar(_INCREMENT, {"day_": day})
    if seq is None:
        # First order of the day: insert; a concurrent first insert loses on the primary key,
        # so fall back to the increment inside a savepoint.
        try:
            with session.begin_nested():
                session.execute(insert(_COUNTERS).values(day=day, last=1))
            seq = 1
        except IntegrityError:
            seq = session.scalar(_INCREMENT, {"day_": day})
    if seq > PER_DAY:
        raise ValidationError("more than {per_day} work orders on day {day}; numbers would not fit in 10 digits", per_day=PER_DAY, day=day)
    return f"{day}{seq:05d}"


def looks_like_number(text: str) -> bool:
    return text.isdigit() and len(text) == 10


def parse_number(text: str) -> str:
    digits = "".join(ch for ch in (text or "") if ch.isdigit())
    if not looks_like_number(digits):
        raise ValidationError("{text!r} is not a work-order number; they are 10 digits, like 2632700001", text=text)
    return digits
