"""The demo city's 90 days of history: every report has something to show on first run."""
from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from tickets import reports
from tickets.demo_history import load_demo_history
from tickets.models import WorkOrder

TODAY = date(2026, 11, 23)      # the test clock's local day


def _rows(hl, name, **args):
    with hl.session() as s, s.begin():
        report = reports.get(name)
        q = reports.parse_query(s, report, args, today=TODAY, tz=hl.tz, scope=reports.Scope())
        return reports.run(s, report, q)


def test_history_books_orders_on_each_of_the_90_days_and_loads_once(hl):
    with hl.session() as s, s.begin():
        first = load_demo_history(s)["history_orders"]
    with hl.session() as s, s.begin():
        assert load_demo_history(s) == {"history_orders": 0}
        assert s.scalar(select(func.count()).select_from(WorkOrder)) >= first > 2500
    by_day = _rows(hl, "orders", **{"from": "2026-08-25", "to": "2026-11-22"})
    assert len(by_day) == 90 and all(r["booked"] > 0 for r in by_day)


def test_history_has_surveys_complaints_refusals_and_weekday_profile(hl):
    with hl.session() as s, s.begin():
        load_demo_history(s)
    span = {"from": "2026-08-25", "to": "2026-11-22"}
    (orders,) = _rows(hl, "orders", by="month", **{"from": "2026-09-01", "to": "2026-09-30"})
    assert orders["refusals"] > 0 and orders["cancelled"] > 0 and orders["revenue_fen"] > 0
    (sat,) = _rows(hl, "satisfaction", by="month", **{"from": "2026-09-01", "to": "2026-09-30"})
    assert 0.6 < sat["response_rate"] < 0.95
    assert sum(r["opened"] for r in _rows(hl, "complaints", group="category", **span)) > 0
    profile = {r["period"]: r["booked"] for r in _rows(hl, "orders", by="dow", **span)}
    assert profile["1 Mon"] > profile["7 Sun"]


def test_a_booking_after_the_history_gets_a_fresh_order_id(hl):
    # On PostgreSQL the history's given ids must move the id sequence past them.
    from tickets import orders
    from tickets.timeutil import to_utc
    from datetime import datetime
    with hl.session() as s, s.begin():
        load_demo_history(s)
        newest = s.scalar(select(func.max(WorkOrder.id)))
    with hl.session() as s, s.begin():
        order = orders.book(s, phone="13500135000", service="BJ",
                            start=to_utc(datetime(2026, 11, 25, 10, 0), hl.tz), channel="agent")
        s.flush()
        assert order.id > newest
