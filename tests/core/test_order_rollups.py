"""The work-order roll-ups give the order, franchisee and satisfaction reports exactly the figures
computed straight from the raw order tables: every figure of every row, for every interval,
group, scope and filter, on a month of the demo city's history plus the hand-worked world of
tests/core/report_fixture.py (SQLite and PostgreSQL)."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections import defaultdict
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from tests.core import report_fixture as world
from tests.core.helpers import AGENT
from tickets import order_metrics as om
from tickets import order_rollups, orders, reports
from tickets.demo_history import load_demo_history
from tickets.models import District, Franchisee, OrderStat, OrderStatDirty, Service, WorkOrder
from tickets.reports import Query, Scope
from tickets.workflow import transition

START, END = date(2026, 10, 20), date(2026, 12, 14)


@pytest.fixture
def city(hl, clock):
    """30 days of demo history (written in bulk, rolled up by its loader), then the hand-worked
    world (written through the workflow, rolled up by the job)."""
    with hl.session() as s, s.begin():
        assert load_demo_history(s, days=30)["history_orders"] > 500
    world.build(hl, clock)
    return hl


def _query(hl, *, interval="day", group="period", scope=Scope(), **filters) -> Query:
    return Query(start=START, end=END, interval=interval, tz=hl.tz, scope=scope, filters=filters, group=group)


# ---------------------------------------------------------------- the raw computation

def _service_ids(s) -> dict[str, int]:
    return dict(s.execute(select(Service.code, Service.id)).all())


def _keeps(s, q: Query, service_id, district_id, franchisee_id) -> bool:
    """Whether a fact with these keys is within the query's scope and filters (the raw side's own test)."""
    sc, f = q.scope, q.filters
    return not (sc.nothing
                or (sc.district_ids is not None and district_id not in sc.district_ids)
                or (sc.franchisee_id is not None and franchisee_id != sc.franchisee_id)
                or ("service" in f and service_id != _service_ids(s)[f["service"]])
                or ("district" in f and district_id != f["district"])
                or ("franchisee" in f and franchisee_id != f["franchisee"]))


def raw_orders(s, q: Query) -> list[dict]:
    return om.grouped(s, q, om.order_facts(s, q), om.ORDER_KEYS.get(q.group, lambda f: None), om.order_figures,
                      lambda f: f.created_at)


def _raw_surveys(s, q: Query) -> list[om.SurveyFact]:
    return [f for f in om.survey_facts(s, *q.utc_range())
            if _keeps(s, q, f.service_id, f.district_id, f.franchisee_id)]


def raw_satisfaction(s, q: Query) -> list[dict]:
    keys = {"service": lambda f: f.service_id, "district": lambda f: f.district_id,
            "franchisee": lambda f: f.franchisee_id, "worker": lambda f: f.worker_id}
    return om.grouped(s, q, _raw_surveys(s, q), keys.get(q.group, lambda f: None),
                      lambda fs: om.derive_surveys(om.summed(map(om.survey_measures, fs), om.SURVEY_MEASURES)),
                      lambda f: f.asked_at)


def raw_franchisees(s, q: Query) -> list[dict]:
    facts: dict[int, list] = defaultdict(list)
    for f in om.order_facts(s, q):
        if f.franchisee_id is not None:
            facts[f.franchisee_id].append(f)
    refused: dict[int, dict[str, int]] = defaultdict(lambda: {"reject": 0, "expire": 0})
    for r in om.refusal_facts(s, *q.utc_range()):
        if _keeps(s, q, r.service_id, r.district_id, r.franchisee_id):
            refused[r.franchisee_id][r.action] += 1
    surveys: dict[int, list] = defaultdict(list)
    for f in _raw_surveys(s, q):
        if f.franchisee_id is not None:
            surveys[f.franchisee_id].append(f)
    complaints: dict[int, int] = defaultdict(int)
    for c in om.complaint_facts(s, q):
        if c.franchisee_id is not None:
            complaints[c.franchisee_id] += 1
    names = dict(s.execute(select(Franchisee.id, Franchisee.name)).all())
    rows = []
    for fid in sorted(set(facts) | set(refused) | set(surveys) | set(complaints), key=names.get):
        t = om.summed(map(om.order_measures, facts[fid]), om.ORDER_MEASURES)
        rows.append({"franchisee": names[fid],
                     **om.franchisee_figures(t, refused[fid]["reject"], refused[fid]["expire"]),
                     **om.derive_surveys(om.summed(map(om.survey_measures, surveys[fid]), om.SURVEY_MEASURES)),
                     "complaints": complaints[fid], "franchisee_id": fid})
    return rows


# ---------------------------------------------------------------- the comparisons

def _compare(hl, q: Query, rolled, raw) -> None:
    with hl.session() as s:
        got, want = rolled(s, q), raw(s, q)
    assert got == want, f"{q.interval} {q.group} {q.scope} {dict(q.filters)}"


@pytest.mark.parametrize("interval", ["day", "week", "month", "dow", "hod"])
def test_orders_by_each_interval_equal_the_raw_computation(city, interval):
    _compare(city, _query(city, interval=interval), om.order_rows, raw_orders)


@pytest.mark.parametrize("group", ["channel", "service", "district", "franchisee", "status"])
def test_orders_by_each_dimension_equal_the_raw_computation(city, group):
    _compare(city, _query(city, group=group), om.order_rows, raw_orders)


def test_orders_figures_are_not_trivially_equal(city):
    """The fixture exercises every figure: no column is empty or zero across the range."""
    with city.session() as s:
        rows = raw_orders(s, _query(city))
    for key in ("booked", "dispatched", "completed", "cancelled", "open", "refusals", "redispatches",
                "penalty_fen", "revenue_fen", "accept_on_time", "service_on_time", "dispatch_accept_p90",
                "start_complete_median", "book_complete_p90"):
        assert any(r[key] for r in rows), key


def test_satisfaction_by_interval_and_dimension_equals_the_raw_computation(city):
    for interval in ("day", "week", "month", "dow"):
        _compare(city, _query(city, interval=interval), om.satisfaction_rows, raw_satisfaction)
    for group in ("franchisee", "worker", "service", "district"):
        _compare(city, _query(city, group=group), om.satisfaction_rows, raw_satisfaction)


def test_franchisees_equal_the_raw_computation(city):
    _compare(city, _query(city), om.franchisee_rows, raw_franchisees)


def test_scopes_and_filters_give_the_raw_figures(city):
    with city.session() as s:
        districts = list(s.scalars(select(District.id).order_by(District.id)))
        (fid,) = s.scalars(select(Franchisee.id).where(Franchisee.name == "天山家政服务有限公司"))
    cases = [dict(scope=Scope(district_ids=frozenset(districts[:2]))), dict(scope=Scope(franchisee_id=fid)),
             dict(scope=Scope(nothing=True)), dict(service="BJ"), dict(district=districts[0]),
             dict(franchisee=fid), dict(channel="sms"), dict(status="closed"),
             dict(group="franchisee", service="BJ", district=districts[0])]
    for case in cases:
        _compare(city, _query(city, **case), om.order_rows, raw_orders)
        if not {"channel", "status"} & set(case):
            _compare(city, _query(city, **case), om.satisfaction_rows, raw_satisfaction)
            _compare(city, _query(city, **case), om.franchisee_rows, raw_franchisees)


def test_the_job_follows_a_change_of_an_order_booked_days_ago(city, clock):
    """Cancelling an order booked on 12-10 (world D, expired) changes that day's figures once the job has run."""
    q = _query(city, interval="month")
    clock.now = world.T0 + timedelta(days=4)
    with city.session() as s, s.begin():
        transition(s, orders.get(s, city_world_d(s)), "cancel", AGENT, reason="found someone else")
    with city.session() as s:
        assert om.order_rows(s, q) != raw_orders(s, q)          # not yet rolled up
    assert order_rollups.roll_up(city) >= 1
    _compare(city, q, om.order_rows, raw_orders)


def city_world_d(s) -> str:
    return s.scalar(select(WorkOrder.number).where(WorkOrder.channel == "twilio", WorkOrder.phone == "+8613811110004"))


def test_rebuilding_a_range_changes_nothing(city):
    before = _rows_everywhere(city)
    with city.session() as s, s.begin():
        assert order_rollups.rebuild(s, START, END) == (END - START).days + 1
    assert _rows_everywhere(city) == before


def test_concurrent_roll_ups_and_rebuilds_leave_the_raw_figures(city, backend):
    """Four runs at once over marked days (PostgreSQL: real concurrency; the marks are taken with
    SKIP LOCKED and rows upserted, so none fails and none double-counts)."""
    if backend != "postgres":
        pytest.skip("SQLite takes one writer at a time: nothing to race")
    with city.session() as s, s.begin():
        s.execute(OrderStat.__table__.update().values(booked=999))     # stale rows the runs must replace
        order_rollups.mark_range(s, START, END)
    errors: list[BaseException] = []

    def run(rebuild: bool) -> None:
        try:
            if rebuild:
                with city.session() as s, s.begin():
                    order_rollups.rebuild(s, START + timedelta(days=20), END)
            else:
                order_rollups.roll_up(city)
        except BaseException as exc:          # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n % 2 == 1,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    with city.session() as s:
        assert s.scalar(select(func.count()).select_from(OrderStatDirty)) == 0
    for q in (_query(city), _query(city, group="franchisee")):
        _compare(city, q, om.order_rows, raw_orders)
    _compare(city, _query(city), om.franchisee_rows, raw_franchisees)


def _rows_everywhere(hl) -> list:
    with hl.session() as s:
        return [om.order_rows(s, _query(hl)), om.franchisee_rows(s, _query(hl)),
                om.satisfaction_rows(s, _query(hl, group="worker"))]


def test_stats_rebuild_command_recomputes_the_order_days(city):
    with city.session() as s, s.begin():
        s.execute(OrderStat.__table__.delete())
    env = {**os.environ, "DATABASE_URL": city.engine.url.render_as_string(hide_password=False),
           "LOG_LEVEL": "WARNING"}
    done = subprocess.run([sys.executable, "-m", "tickets.cli", "stats", "rebuild", "--from", "2026-12-10",
                           "--to", "2026-12-13"], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "4 days of work orders recomputed" in done.stdout
    q = Query(start=date(2026, 12, 10), end=date(2026, 12, 13), interval="day", tz=city.tz)
    _compare(city, q, om.order_rows, raw_orders)


def test_reports_registered_for_orders_read_the_roll_ups(city):
    """The report framework's orders report is order_rows (what the pages, exports and CLI show)."""
    assert reports.get("orders").rows is om.order_rows
    assert reports.get("franchisees").rows is om.franchisee_rows
    assert reports.get("satisfaction").rows is om.satisfaction_rows
