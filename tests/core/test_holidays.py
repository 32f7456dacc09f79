"""The statutory-holiday calendar: which days carry the holiday rate and close the agents."""
from __future__ import annotations

from datetime import date, timedelta

import chinese_calendar

from tickets import holidays
from tickets.actors import Actor
from tickets.holidays import calendar

ADMIN = Actor(role="admin", label="admin")

# The State Council's notice for 2026 (国办发明电〔2025〕7号) as chinese-calendar 1.11.0 encodes it:
# the 13 statutory days of the 2025 regulation; a statutory day on a weekend is carried by its
# compensation weekday (清明 Sun Apr 5 -> Mon Apr 6, 劳动节 Sat May 2 -> Mon May 4,
# 国庆节 Sat Oct 3 -> Mon Oct 5).
STATUTORY_2026 = {
    date(2026, 1, 1): "元旦",
    date(2026, 2, 16): "春节", date(2026, 2, 17): "春节", date(2026, 2, 18): "春节", date(2026, 2, 19): "春节",
    date(2026, 4, 6): "清明",
    date(2026, 5, 1): "劳动节", date(2026, 5, 4): "劳动节",
    date(2026, 6, 19): "端午",
    date(2026, 9, 25): "中秋",
    date(2026, 10, 1): "国庆节", date(2026, 10, 2): "国庆节", date(2026, 10, 5): "国庆节",
}
MAKE_UP_WORKDAYS_2026 = (date(2026, 1, 4), date(2026, 2, 14), date(2026, 2, 28), date(2026, 5, 9),
                         date(2026, 9, 20), date(2026, 10, 10))


def days_of(year):
    day = date(year, 1, 1)
    while day.year == year:
        yield day
        day += timedelta(days=1)


def test_surcharge_falls_exactly_on_the_statutory_days_of_2026(session):
    cal = calendar(session)
    surcharged = {day: cal.holiday_name(day) for day in days_of(2026) if cal.holiday_name(day)}
    assert surcharged == STATUTORY_2026
    # The package's own flags agree: each is a day off that is neither a weekend nor in lieu.
    for day in surcharged:
        assert chinese_calendar.is_holiday(day) and not chinese_calendar.is_in_lieu(day) and day.weekday() < 5


def test_no_workday_of_the_package_is_a_holiday_and_make_up_workdays_are_ordinary(session):
    cal = calendar(session)
    assert all(cal.holiday_name(day) is None for day in days_of(2026) if chinese_calendar.is_workday(day))
    assert all(chinese_calendar.is_workday(day) for day in MAKE_UP_WORKDAYS_2026)    # the oracle's own data
    assert [cal.holiday_name(day) for day in MAKE_UP_WORKDAYS_2026] == [None] * 6


def test_weekends_and_days_in_lieu_inside_a_holiday_block_are_not_surcharged(session):
    cal = calendar(session)
    # National Day block Oct 1-7: Sat 3, Sun 4 are weekend, Tue 6 and Wed 7 are in lieu.
    assert [cal.holiday_name(date(2026, 10, d)) for d in range(1, 8)] == \
        ["国庆节", "国庆节", None, None, "国庆节", None, None]



def test_days_entered_for_a_year_the_package_lacks_are_priced_from_the_entry(session, hl):
    cal = calendar(session)
    assert cal.first_uncovered(date(2026, 11, 23)) == date(2027, 1, 1)
    assert cal.holiday_name(date(2027, 2, 8)) is None                  # unknown: no surcharge, no guess
    holidays.set_override(session, ADMIN, date(2027, 2, 8), "holiday", "春节")
    holidays.set_override(session, ADMIN, date(2027, 2, 20), "workday", "春节")
    cal = calendar(session)
    assert cal.holiday_name(date(2027, 2, 8)) == "春节"
    assert cal.holiday_name(date(2027, 2, 20)) is None
    assert cal.first_uncovered(date(2026, 11, 23)) is None             # 2027 is now the admin's


def test_an_entry_overrides_the_package_for_its_day(session):
    holidays.set_override(session, ADMIN, date(2026, 10, 10), "holiday", "国庆节")   # a correction
    assert calendar(session).holiday_name(date(2026, 10, 10)) == "国庆节"
