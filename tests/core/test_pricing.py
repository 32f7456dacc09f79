"""Prices in fen: guide price × quantity, statutory holidays, the 72-hour penalty."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from tests.core.helpers import AGENT, order_in
from tickets import orders
from tickets.errors import ValidationError
from tickets.models import Service
from tickets.pricing import check_fen, late_change_penalty, quote, yuan
from tickets.holidays import calendar
from tickets.timeutil import to_utc
from tickets.workflow import transition


def svc(session, code):
    return session.scalar(select(Service).where(Service.code == code))


def local(hl, text):
    return to_utc(datetime.fromisoformat(text), hl.tz)


def test_guide_price_times_quantity(session, hl):
    lines = quote(svc(session, "BJ"), 3, local(hl, "2026-12-01 09:00"), hl.tz, calendar(session))
    assert [(l.kind, l.amount_fen) for l in lines] == [("base", 12000)]


def test_hourly_work_on_national_day_is_charged_double(session, hl):
    lines = quote(svc(session, "BJ"), 3, local(hl, "2026-10-01 09:00"), hl.tz, calendar(session))
    assert [(l.kind, l.amount_fen) for l in lines] == [("base", 12000), ("holiday", 12000)]
    assert "国庆节" in lines[1].description


def test_holiday_is_read_in_local_time(session, hl):
    # 2026-10-01 00:30 in Urumqi-on-Beijing-time is still 2026-09-30 in UTC.
    start = local(hl, "2026-10-01 00:30")
    assert start.date() == date(2026, 9, 30)
    assert [l.kind for l in quote(svc(session, "BJ"), 1, start, hl.tz, calendar(session))] == ["base", "holiday"]


def test_per_visit_services_have_no_holiday_rate(session, hl):
    lines = quote(svc(session, "YYJ"), 1, local(hl, "2026-10-01 09:00"), hl.tz, calendar(session))
    assert [l.kind for l in lines] == ["base"]


def test_spring_festival_comes_from_the_real_calendar_not_a_list(session):
    assert calendar(session).holiday_name(date(2026, 2, 17)) == "春节"     # 春节 2026 (正月初一)
    assert calendar(session).holiday_name(date(2026, 1, 1)) == "元旦"
    assert calendar(session).holiday_name(date(2026, 11, 28)) is None       # an ordinary Saturday


@pytest.mark.parametrize("hours_before, penalty", [(72, None), (71, 2400), (1, 2400)])
def test_late_change_penalty_is_20_percent_under_72_hours(hours_before, penalty):
    start = datetime(2026, 12, 1, 1, 0)
    line = late_change_penalty(12000, start, start - timedelta(hours=hours_before))
    assert (line.amount_fen if line else None) == penalty


def test_penalty_rounds_to_the_nearest_fen():
    start = datetime(2026, 12, 1)
    assert late_change_penalty(12345, start, start).amount_fen == 2469


@pytest.mark.parametrize("bad", [12.5, "100", True, None, -1])
def test_amounts_must_be_whole_non_negative_fen(bad):
    with pytest.raises(ValidationError):
        check_fen(bad)


def test_yuan_formatting():
    assert yuan(12000) == "120.00"
    assert yuan(5) == "0.05"
    assert yuan(-250) == "-2.50"


def test_late_cancellation_charges_the_penalty_and_explains_it(session, hl):
    order = orders.book(session, phone="13800138000", service="BJ", start=hl.now() + timedelta(hours=30), actor=AGENT)
    transition(session, order, "cancel", AGENT, reason="customer travelling")
    assert order.status == "cancelled"
    assert [l.kind for l in order.price_lines] == ["base", "penalty"]
    assert orders.amount_due(order) == 2400
    assert order.events[-1].data["penalty_fen"] == 2400


def test_early_reschedule_is_free(session, hl):
    order = order_in(session, hl, "dispatched")         # 5 days ahead
    transition(session, order, "reschedule", AGENT, when=order.scheduled_start + timedelta(days=1))
    assert [l.kind for l in order.price_lines] == ["base"]


def test_late_reschedule_costs_20_percent(session, hl):
    order = orders.book(session, phone="13800138000", service="BJ", start=hl.now() + timedelta(hours=48), actor=AGENT)
    transition(session, order, "reschedule", AGENT, when=order.scheduled_start + timedelta(days=3))
    assert order.price_total_fen == 12000 + 2400
    assert order.price_total_fen == sum(l.amount_fen for l in order.price_lines)


def test_booking_on_a_holiday_prices_the_order_with_its_lines(session, hl):
    order = orders.book(session, phone="13800138000", service="XSG", start=local(hl, "2027-01-01 10:00"), actor=AGENT)
    assert order.price_total_fen == sum(l.amount_fen for l in order.price_lines)
