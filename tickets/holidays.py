"""The Chinese statutory-holiday calendar: the chinese-calendar package, and the days an admin enters.

Which days carry the agreement's holiday rate (and close the agents): the **statutory holiday
days**, 13 a year since 2025 (元旦 1, 春节 4, 清明 1, 劳动节 2, 端午 1, 中秋 1, 国庆节 3). In the
package's data they are the weekdays of a holiday block that are not days off in lieu: a
statutory day that falls on a weekend is carried by its compensation weekday (补休), as the State
Council's notice does. The other days of a block (its weekends, the days off in lieu of a make-up
workday) are ordinary rest days, and a make-up workday (调休上班) is an ordinary workday.

The package knows the years up to its release; for a later year (the notice comes out each
November) an admin enters the days (`CalendarOverride`, console admin > calendar). An entered
day replaces the package's answer for that day; a year with any entered day counts as covered.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache

import chinese_calendar
from sqlalchemy import select
from sqlalchemy.orm import Session

from . import audit
from .actors import Actor
from .cache import cached, catalog_changed
from .context import hotline_of
from .errors import ValidationError
from .models import CalendarOverride
from .timeutil import to_local

HOLIDAY, DAY_OFF, WORKDAY = "holiday", "day_off", "workday"
KINDS = (HOLIDAY, DAY_OFF, WORKDAY)
# The package's English names -> the names people use (and that overrides are entered with).
NAMES = {h.value: h.chinese for h in chinese_calendar.Holiday}
HOLIDAY_NAMES = ("元旦", "春节", "清明", "劳动节", "端午", "中秋", "国庆节")
WARN_DAYS = 60          # warn when a day this close is known to neither the package nor the overrides


@dataclass(frozen=True)
class Day:
    kind: str | None     # HOLIDAY, DAY_OFF, WORKDAY, or None for an ordinary day
    name: str = ""       # the holiday the day belongs to (a make-up workday's too)


ORDINARY = Day(None)


@lru_cache(maxsize=4096)
def package_day(day: date) -> Day | None:
    """The package's answer for `day`, or None when its data does not reach that year."""
    try:
        off, name = chinese_calendar.get_holiday_detail(day)
    except NotImplementedError:
        return None
    if name is None:
        return ORDINARY
    name = NAMES.get(name, name)
    if not off:
        return Day(WORKDAY, name)
    if chinese_calendar.is_in_lieu(day) or day.weekday() >= 5:
        return Day(DAY_OFF, name)
    return Day(HOLIDAY, name)


@dataclass(frozen=True)
class Calendar:
    """The package plus the overrides read from the database (a snapshot; see `calendar`)."""
    overrides: dict[date, Day]
    _years: frozenset[int] = field(init=False, repr=False, compare=False)   # years the overrides cover

    def __post_init__(self) -> None:
        object.__setattr__(self, "_years", frozenset(d.year for d in self.overrides))

    def day(self, day: date) -> Day | None:
        """What `day` is, or None when neither the package nor the overrides cover its year."""
        if day in self.overrides:
            return self.overrides[day]
        known = package_day(day)
        if known is not None:
            return known
        return ORDINARY if day.year in self._years else None

    def holiday_name(self, day: date) -> str | None:
        """The statutory holiday on `day` (surcharged, agents closed), or None."""
        d = self.day(day)
        return d.name if d is not None and d.kind == HOLIDAY else None

    def first_uncovered(self, start: date, days: int = WARN_DAYS) -> date | None:
        """The first day from `start` through `days` days later that nothing covers, or None."""
        for i in range(days + 1):
            if self.day(start + timedelta(days=i)) is None:
                return start + timedelta(days=i)
        return None

    def block_start(self, name: str, start: date, end: date) -> date | None:
        """The first day of the next `name` holiday block in start..end (`start` itself when the
        block is under way), or None."""
        day = start
        while day <= end:
            d = self.day(day)
            if d is not None and d.name == name and d.kind in (HOLIDAY, DAY_OFF):
                return day
            day += timedelta(days=1)
        return None


def _load(session: Session) -> Calendar:
    rows = session.execute(select(CalendarOverride.day, CalendarOverride.kind, CalendarOverride.name))
    return Calendar({day: Day(kind, name) for day, kind, name in rows})


def calendar(session: Session) -> Calendar:
    """The calendar with the overrides as committed (kept like the catalog: tickets.cache)."""
    return cached(session, "calendar", _load)


def is_statutory_holiday(session: Session, day: date) -> bool:
    return calendar(session).holiday_name(day) is not None


def coverage_warning(session: Session) -> str | None:
    """A sentence for operators when a day of the next WARN_DAYS days is covered by nothing."""
    hl = hotline_of(session)
    return uncovered_warning(calendar(session), to_local(hl.now(), hl.tz).date())


def uncovered_warning(cal: Calendar, today: date) -> str | None:
    gap = cal.first_uncovered(today)
    if gap is None:
        return None
    return (f"The holiday calendar does not cover {gap:%Y-%m-%d} (chinese-calendar "
            f"{chinese_calendar.__version__} knows up to {max(chinese_calendar.holidays).year}): holiday "
            f"pricing and holiday closing stop there. Enter the State Council's {gap.year} holidays and "
            f"make-up workdays in the console (admin > calendar), or upgrade chinese-calendar.")


def overrides(session: Session) -> list[CalendarOverride]:
    return list(session.scalars(select(CalendarOverride).order_by(CalendarOverride.day)))


def set_override(session: Session, actor: Actor, day: date, kind: str, name: str = "") -> CalendarOverride:
    """Enter (or change) what `day` is, in the caller's transaction; audited."""
    if kind not in KINDS:
        raise ValidationError("kind must be one of {kinds}; got {kind!r}", kinds=', '.join(KINDS), kind=kind)
    name = (name or "").strip()
    if name not in HOLIDAY_NAMES:
        raise ValidationError("holiday name must be one of {holiday_names} (the holiday the day belongs to, a make-up workday's too); got {name!r}", holiday_names=', '.join(HOLIDAY_NAMES), name=name)
    row = session.get(CalendarOverride, day)
    old = {"kind": row.kind, "name": row.name} if row else None
    if row is None:
        row = CalendarOverride(day=day)
        session.add(row)
    row.kind, row.name, row.updated_at = kind, name, hotline_of(session).now()
    catalog_changed(session)     # prices depend on it: every process re-reads the calendar
    audit.record(session, actor, "calendar.set", "calendar_override", day.isoformat(),
                 {"kind": kind, "name": name, "old": old})
    return row


def remove_override(session: Session, actor: Actor, day: date) -> None:
    row = session.get(CalendarOverride, day)
    if row is None:
        raise ValidationError("no calendar entry for {day:%Y-%m-%d}", day=day)
    session.delete(row)
    catalog_changed(session)
    audit.record(session, actor, "calendar.remove", "calendar_override", day.isoformat(),
                 {"kind": row.kind, "name": row.name})
