"""Prices in integer fen: guide price × quantity, the statutory-holiday rate, the late-change penalty.

Every amount on an order is one of these lines; the order's total is their sum.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from .errors import ValidationError
from .holidays import Calendar
from .timeutil import to_local

LATE_CHANGE_NOTICE = timedelta(hours=72)   # the agreement's 3 days' notice
LATE_CHANGE_PENALTY_PERCENT = 20

UNIT_NAMES = {"hour": ("小时", "hour"), "visit": ("次", "visit"), "month": ("月", "month"),
              "sqm": ("平方米", "m²")}


@dataclass(frozen=True)
class Line:
    kind: str            # base, holiday, penalty, adjustment
    description: str
    quantity: int
    unit_price_fen: int
    amount_fen: int


def check_fen(value, name: str = "amount") -> int:
    """An amount of money must be a non-negative whole number of fen (no floats, no bools)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError("{name} must be a whole number of fen (分), e.g. 12000 for ¥120.00; got {value!r}", name=name, value=value)
    if value < 0:
        raise ValidationError("{name} must not be negative; got {value}", name=name, value=value)
    return value


def check_quantity(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1 or value > 1000:
        raise ValidationError("quantity must be a whole number from 1 to 1000; got {value!r}", value=value)
    return value


def quote(service, quantity: int, start_utc: datetime, tz: ZoneInfo, calendar: Calendar) -> list[Line]:
    """Price lines for `quantity` units of `service` starting at `start_utc`
    (`calendar`: tickets.holidays.calendar(session), which says the statutory holidays)."""
    check_quantity(quantity)
    base = service.guide_price_fen * quantity
    lines = [Line("base", f"{service.name_zh} {quantity}{UNIT_NAMES.get(service.unit, (service.unit,))[0]}",
                  quantity, service.guide_price_fen, base)]
    holiday = calendar.holiday_name(to_local(start_utc, tz).date())
    if holiday and service.holiday_pay:
        # The agreement: holiday work is paid an extra hour's rate on top of each hour, i.e. double.
        lines.append(Line("holiday", f"法定节假日加价 ({holiday})", quantity, service.guide_price_fen, base))
    return lines


def late_change_penalty(price_fen: int, start_utc: datetime, now_utc: datetime) -> Line | None:
    """20% of the order price when a change or cancellation comes under 72 hours before the start."""
    if start_utc - now_utc >= LATE_CHANGE_NOTICE:
        return None
    amount = (price_fen * LATE_CHANGE_PENALTY_PERCENT + 50) // 100   # rounded to the nearest fen
    return Line("penalty", f"72小时内变更/取消违约金 {LATE_CHANGE_PENALTY_PERCENT}%", 1, amount, amount)


def yuan(fen: int) -> str:
    """¥ text for people: 12000 -> '120.00'."""
    sign = "-" if fen < 0 else ""
    fen = abs(fen)
    return f"{sign}{fen // 100}.{fen % 100:02d}"
