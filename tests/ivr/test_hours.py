"""When the agent queue is open: business hours, closed on statutory holidays."""
from __future__ import annotations

import dataclasses
from datetime import datetime, time

from ivr import hours
from tickets.timeutil import to_utc


def at(hl, clock, local: str) -> str:
    clock.now = to_utc(datetime.strptime(local, "%Y-%m-%d %H:%M"), hl.tz)
    with hl.session() as session:
        return hours.agents_status(session)


def test_open_inside_business_hours(hl, clock):
    assert at(hl, clock, "2026-11-23 10:00") == hours.OPEN


def test_closed_from_the_end_of_business_hours(hl, clock):
    assert at(hl, clock, "2026-11-23 20:00") == hours.CLOSED
    assert at(hl, clock, "2026-11-24 07:59") == hours.CLOSED


def test_closed_all_day_on_a_statutory_holiday(hl, clock):
    assert at(hl, clock, "2026-10-01 10:00") == hours.HOLIDAY


def test_open_on_make_up_workdays_closed_on_a_compensation_weekday(hl, clock):
    # National Day 2026: Sun Sep 20 and Sat Oct 10 are worked (调休上班); Mon Oct 5 carries Sat Oct 3.
    assert at(hl, clock, "2026-09-20 10:00") == hours.OPEN
    assert at(hl, clock, "2026-10-10 10:00") == hours.OPEN
    assert at(hl, clock, "2026-10-05 10:00") == hours.HOLIDAY


def test_weekend_days_that_are_not_holidays_keep_business_hours(hl, clock):
    assert at(hl, clock, "2026-11-28 10:00") == hours.OPEN


def test_hours_running_past_midnight(hl, clock):
    hl.settings = dataclasses.replace(hl.settings, business_hours=(time(20, 0), time(2, 0)))
    assert at(hl, clock, "2026-11-23 23:00") == hours.OPEN
    assert at(hl, clock, "2026-11-24 01:30") == hours.OPEN
    assert at(hl, clock, "2026-11-24 10:00") == hours.CLOSED
