"""Work-order, satisfaction and complaint statistics: every definition once, with its formula.

docs/metrics.md ("Work orders and satisfaction") states each formula; this module is the code
of it. All figures of a range are about the orders **booked** in it (work_orders.created_at,
local days of TIMEZONE): an order booked on the 30th and completed on the 2nd counts in the
30th's bucket. Surveys count by the day they were asked (the completion), complaints by the day
they were opened, refusals by the day of the refusal.

Two halves:
- the **facts** of the raw tables (`order_facts`, `survey_facts`, `refusal_facts`) and what one
  order or survey adds to the figures (`order_measures`, `survey_measures`): the roll-up job
  (tickets/order_rollups.py) stores their sums per local day and dimension;
- the **reports** (`order_rows`, `franchisee_rows`, `satisfaction_rows`), which add those stored
  sums up in SQL and derive the ratios (`derive_orders`, `derive_surveys`). The lead-time
  percentiles read one slim row per order (`order_leads`), so they stay exact. The complaint
  report reads the complaints themselves: a city has a few hundred a year, and their age and
  lateness change with the clock, not with a write.
"""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from statistics import median
from typing import Any, Callable, Iterable

from sqlalchemy import case, false, func, select
from sqlalchemy.orm import Session

from .complaints import CATEGORIES, UNRESOLVED, response_and_close
from .context import hotline_of
from .models import (Complaint, District, Franchisee, OrderLead, OrderStat, PriceLine, RefusalStat, Service,
                     Survey, SurveyStat, WorkOrder, WorkOrderEvent, Worker)
from .reports import Query, bucket_label
from .workflow import OPEN_STATES

# An order whose service started within this long after the booked time started on time.
SERVICE_GRACE = timedelta(minutes=15)
DONE_STATES = ("completed", "closed")
REFUSALS = ("reject", "expire")
# Lead-time legs: (name, from fact, to fact).
LEGS = (("book_dispatch", "created_at", "dispatched_at"), ("dispatch_accept", "dispatched_at", "accepted_at"),
        ("accept_start", "accepted_at", "started_at"), ("start_complete", "started_at", "completed_at"),
        ("book_complete", "created_at", "completed_at"))
LEG_NAMES = tuple(leg for leg, _, _ in LEGS)
# What one order adds to a roll-up row (the columns of order_stats; tickets.models.OrderFigures).
ORDER_MEASURES = ("booked", "dispatched", "completed", "cancelled", "open", "refusals", "redispatches",
                  "accept_known", "accepted_in_time", "started", "started_in_time", "penalty_fen", "revenue_fen")
SURVEY_MEASURES = ("surveys", "answered", "score_sum") + tuple(f"score_{n}" for n in range(1, 6))
# Complaint age bands (days since opened, or until resolved): label, upper bound in days.
AGE_BANDS = (("<1d", 1), ("1-3d", 3), ("3-7d", 7), (">7d", None))


# ---------------------------------------------------------------- the facts of the raw tables

@dataclass(frozen=True)
class OrderFact:
    """One booked order with the moments of its lifecycle (first dispatch, first accept, first
    start, last completion) and its counts of dispatches and refusals."""
    id: int
    created_at: datetime
    channel: str
    service_id: int
    district_id: int | None
    franchisee_id: int | None
    status: str
    scheduled_start: datetime
    final_price_fen: int | None
    penalty_fen: int
    dispatched_at: datetime | None
    accepted_at: datetime | None
    started_at: datetime | None
    completed_at: datetime | None
    dispatches: int
    refusals: int
    expiries: int


def _order_filters(q: Query) -> list:
    """WHERE clauses of a query's range, scope and filters on work orders (Service joined)."""
    lo, hi = q.utc_range()
    clauses = [WorkOrder.created_at >= lo, WorkOrder.created_at < hi, q.scope.orders()]
    f = q.filters
    if "service" in f:
        clauses.append(Service.code == f["service"])
    if "district" in f:
        clauses.append(WorkOrder.district_id == f["district"])
    if "franchisee" in f:
        clauses.append(WorkOrder.franchisee_id == f["franchisee"])
    if "channel" in f:
        clauses.append(WorkOrder.channel == f["channel"])
    if "status" in f:
        clauses.append(WorkOrder.status == f["status"])
    return clauses


def order_facts(session: Session, q: Query) -> Iterable[OrderFact]:
    """The facts of every order booked in the query's range, scope and filters."""
    e = WorkOrderEvent
    where = _order_filters(q)
    moments = (select(e.order_id.label("order_id"),
                      func.min(case((e.action == "dispatch", e.created_at))).label("dispatched_at"),
                      func.min(case((e.action == "accept", e.created_at))).label("accepted_at"),
                      func.min(case((e.action == "start", e.created_at))).label("started_at"),
                      func.max(case((e.action == "complete", e.created_at))).label("completed_at"),
                      func.sum(case((e.action == "dispatch", 1), else_=0)).label("dispatches"),
                      func.sum(case((e.action.in_(REFUSALS), 1), else_=0)).label("refusals"),
                      func.sum(case((e.action == "expire", 1), else_=0)).label("expiries"))
               .join(WorkOrder, WorkOrder.id == e.order_id).join(Service, Service.id == WorkOrder.service_id)
               .where(*where).group_by(e.order_id).subquery())
    penalties = (select(PriceLine.order_id.label("order_id"), func.sum(PriceLine.amount_fen).label("fen"))
                 .join(WorkOrder, WorkOrder.id == PriceLine.order_id).join(Service, Service.id == WorkOrder.service_id)
                 .where(PriceLine.kind == "penalty", *where).group_by(PriceLine.order_id).subquery())
    stmt = (select(WorkOrder.id, WorkOrder.created_at, WorkOrder.channel, WorkOrder.service_id, WorkOrder.district_id,
                   WorkOrder.franchisee_id, WorkOrder.status, WorkOrder.scheduled_start, WorkOrder.final_price_fen,
                   func.coalesce(penalties.c.fen, 0), moments.c.dispatched_at, moments.c.accepted_at,
                   moments.c.started_at, moments.c.completed_at, func.coalesce(moments.c.dispatches, 0),
                   func.coalesce(moments.c.refusals, 0), func.coalesce(moments.c.expiries, 0))
            .join(Service, Service.id == WorkOrder.service_id)
            .outerjoin(moments, moments.c.order_id == WorkOrder.id)
            .outerjoin(penalties, penalties.c.order_id == WorkOrder.id)
            .where(*where))
    for row in session.execute(stmt):
        yield OrderFact(*row)


def order_measures(f: OrderFact) -> dict[str, int]:
    """What one order adds to the summed figures (docs/metrics.md gives each formula)."""
    done = f.status in DONE_STATES
    accepted = f.accepted_at is not None
    return {"booked": 1, "dispatched": int(f.dispatches > 0), "completed": int(done),
            "cancelled": int(f.status == "cancelled"), "open": int(f.status in OPEN_STATES),
            "refusals": f.refusals, "redispatches": max(f.dispatches - 1, 0),
            "accept_known": int(accepted or f.expiries > 0), "accepted_in_time": int(accepted and not f.expiries),
            "started": int(f.started_at is not None),
            "started_in_time": int(f.started_at is not None and f.started_at <= f.scheduled_start + SERVICE_GRACE),
            "penalty_fen": f.penalty_fen, "revenue_fen": (f.final_price_fen or 0) if done else 0}


def lead_spans(f: OrderFact) -> dict[str, float | None]:
    """Seconds of each lead-time leg of one order; None where a moment is missing or out of order."""
    out: dict[str, float | None] = {}
    for leg, a, b in LEGS:
        x, y = getattr(f, a), getattr(f, b)
        out[leg] = (y - x).total_seconds() if x is not None and y is not None and y >= x else None
    return out


@dataclass(frozen=True)
class RefusalFact:
    at: datetime
    action: str                 # reject, expire
    franchisee_id: int          # the franchisee that refused or let the order expire
    service_id: int
    district_id: int | None


def refusal_facts(session: Session, lo: datetime, hi: datetime) -> Iterable[RefusalFact]:
    """Every rejection and expiry in [lo, hi) (UTC), with the franchisee its event names."""
    e = WorkOrderEvent
    who = e.data["franchisee_id"].as_integer()
    stmt = (select(e.created_at, e.action, who, WorkOrder.service_id, WorkOrder.district_id)
            .join(WorkOrder, WorkOrder.id == e.order_id)
            .where(e.action.in_(REFUSALS), e.created_at >= lo, e.created_at < hi, who.is_not(None)))
    for row in session.execute(stmt):
        yield RefusalFact(*row)


@dataclass(frozen=True)
class SurveyFact:
    asked_at: datetime
    status: str
    score: int | None
    service_id: int
    district_id: int | None
    franchisee_id: int | None
    worker_id: int | None


def survey_facts(session: Session, lo: datetime, hi: datetime) -> Iterable[SurveyFact]:
    """Every survey asked in [lo, hi) (UTC; an order's completion asks it), with its order's keys."""
    stmt = (select(Survey.asked_at, Survey.status, Survey.score, WorkOrder.service_id, WorkOrder.district_id,
                   WorkOrder.franchisee_id, WorkOrder.worker_id)
            .join(WorkOrder, WorkOrder.id == Survey.order_id)
            .where(Survey.asked_at >= lo, Survey.asked_at < hi))
    for row in session.execute(stmt):
        yield SurveyFact(*row)


def survey_measures(f: SurveyFact) -> dict[str, int]:
    """What one survey adds: asked, answered, its score and the count of that score."""
    answered = f.status == "answered" and f.score is not None
    out = {"surveys": 1, "answered": int(answered), "score_sum": f.score if answered else 0}
    for n in range(1, 6):
        out[f"score_{n}"] = int(answered and f.score == n)
    return out


def summed(measures: Iterable[dict[str, int]], names: tuple[str, ...]) -> dict[str, int]:
    """Measures added up: what a roll-up row holds for the items it covers."""
    total = dict.fromkeys(names, 0)
    for m in measures:
        for k in names:
            total[k] += m[k]
    return total


# ---------------------------------------------------------------- the figures of summed measures

def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile: the smallest value with at least p% of the values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def derive_orders(t: dict[str, int], leads: dict[str, list[float]] | None = None) -> dict[str, Any]:
    """The work-order figures of summed order measures `t`, and of the lead times when given."""
    out: dict[str, Any] = {k: t[k] for k in ("booked", "dispatched", "completed", "cancelled", "open", "refusals",
                                             "redispatches", "penalty_fen", "revenue_fen")}
    out["accept_on_time"] = ratio(t["accepted_in_time"], t["accept_known"])
    out["service_on_time"] = ratio(t["started_in_time"], t["started"])
    return out if leads is None else {**out, **lead_figures(leads)}


def lead_figures(leads: dict[str, list[float]]) -> dict[str, float | None]:
    """Median and nearest-rank p90 of each lead-time leg's spans (seconds)."""
    out: dict[str, float | None] = {}
    for leg in LEG_NAMES:
        spans = leads.get(leg, [])
        out[f"{leg}_median"] = median(spans) if spans else None
        out[f"{leg}_p90"] = percentile(spans, 90)
    return out


def order_figures(facts: list[OrderFact]) -> dict[str, Any]:
    """The work-order figures of a set of orders, straight from their facts."""
    leads: dict[str, list[float]] = defaultdict(list)
    for f in facts:
        for leg, span in lead_spans(f).items():
            if span is not None:
                leads[leg].append(span)
    return derive_orders(summed(map(order_measures, facts), ORDER_MEASURES), leads)


def franchisee_figures(t: dict[str, int], rejects: int, expiries: int) -> dict[str, Any]:
    """derive_orders of the orders a franchisee holds, with its refusals counted against it:
    refusals = its rejections + its expiries; accepted on time = orders it accepted without an
    expiry / (those + its expiries)."""
    out = derive_orders(t)
    out["refusals"] = rejects + expiries
    out["accept_on_time"] = ratio(t["accepted_in_time"], t["accepted_in_time"] + expiries)
    return out


def derive_surveys(t: dict[str, int]) -> dict[str, Any]:
    """Surveys asked, answered, response rate, average score (×100, rounded half up) and the count of each score."""
    n = t["answered"]
    out: dict[str, Any] = {"surveys": t["surveys"], "answered": n, "response_rate": ratio(n, t["surveys"]),
                           "average_x100": (t["score_sum"] * 100 + n // 2) // n if n else None}
    for k in range(1, 6):
        out[f"score_{k}"] = t[f"score_{k}"]
    return out


# ---------------------------------------------------------------- grouping

def _names(session: Session, group: str) -> Callable[[Any], str]:
    """How a group key is shown: a district's, franchisee's, worker's name, a service's code; others as they are."""
    model = {"district": District, "franchisee": Franchisee, "worker": Worker, "service": Service}.get(group)
    if model is None:
        return lambda key: "—" if key is None else str(key)
    col = {District: District.name_zh, Service: Service.code, Franchisee: Franchisee.name, Worker: Worker.name}[model]
    names = dict(session.execute(select(model.id, col)).all())
    return lambda key: "—" if key is None else names.get(key, str(key))


def grouped(session: Session, q: Query, items: Iterable[Any], key_of: Callable[[Any], Any],
            figures: Callable[[list], dict[str, Any]], moment: Callable[[Any], datetime]) -> list[dict[str, Any]]:
    """Rows of figures per period bucket (every bucket of the range, empty ones too) or per
    value of the query's group, sorted by name."""
    groups: dict[Any, list] = defaultdict(list)
    for item in items:
        groups[q.bucket_of(moment(item)) if q.group == "period" else key_of(item)].append(item)
    if q.group == "period":
        return [{"period": b, **figures(groups.get(b, []))} for b in q.buckets()]
    name = _names(session, q.group)
    rows = [{"period": name(k), **figures(v)} for k, v in groups.items()]
    return sorted(rows, key=lambda r: r["period"])


# ---------------------------------------------------------------- reading the roll-ups

# The roll-up column of each filter and group.
ROLLUP_COLUMNS = {"channel": "channel", "service": "service_id", "district": "district_id",
                  "franchisee": "franchisee_id", "status": "status", "worker": "worker_id"}


def rollup_filters(session: Session, table, q: Query) -> list:
    """WHERE clauses of a query's range, scope and filters on a roll-up table (its 0 = none)."""
    clauses = [table.day >= q.start, table.day <= q.end]
    if q.scope.nothing:
        clauses.append(false())
    if q.scope.district_ids is not None:
        clauses.append(table.district_id.in_(sorted(q.scope.district_ids)))
    if q.scope.franchisee_id is not None:
        clauses.append(table.franchisee_id == q.scope.franchisee_id)
    for name, value in q.filters.items():
        if name == "service":
            value = session.scalar(select(Service.id).where(Service.code == value))
        clauses.append(getattr(table, ROLLUP_COLUMNS[name]) == value)
    return clauses


def _sums(session: Session, table, measures: tuple[str, ...], q: Query,
          keys: tuple[str, ...]) -> Iterable[tuple[tuple, dict[str, int]]]:
    """The roll-up's measures added up by the database per value of `keys`, within the query."""
    cols = [getattr(table, k) for k in keys]
    stmt = (select(*cols, *(func.sum(getattr(table, m)) for m in measures))
            .where(*rollup_filters(session, table, q)).group_by(*cols))
    for row in session.execute(stmt):
        yield tuple(row[:len(keys)]), {m: int(v or 0) for m, v in zip(measures, row[len(keys):])}


def _keys_and_label(q: Query) -> tuple[tuple[str, ...], Callable[[tuple], Any]]:
    """The roll-up columns a query groups by, and how a row's key becomes its bucket or group value."""
    if q.group != "period":
        return (ROLLUP_COLUMNS[q.group],), lambda key: key[0] or None        # 0: no district, franchisee, worker
    if q.interval == "hod":
        return ("hour",), lambda key: f"{key[0]:02d}:00"
    return ("day",), lambda key: bucket_label(datetime.combine(key[0], time(0)), q.interval)


def _rolled_up(session: Session, q: Query, table, measures: tuple[str, ...],
               figures: Callable[[Any, dict[str, int]], dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows per period bucket (every bucket of the range, empty ones too) or per value of the
    query's group (sorted by name): `figures(label, summed measures)` of each."""
    keys, label = _keys_and_label(q)
    totals: dict[Any, dict[str, int]] = {}
    for key, values in _sums(session, table, measures, q, keys):
        acc = totals.setdefault(label(key), dict.fromkeys(measures, 0))
        for m in measures:
            acc[m] += values[m]
    if q.group == "period":
        return [{"period": b, **figures(b, totals.get(b, dict.fromkeys(measures, 0)))} for b in q.buckets()]
    name = _names(session, q.group)
    return sorted(({"period": name(k), **figures(k, t)} for k, t in totals.items()), key=lambda r: r["period"])


def _leads(session: Session, q: Query, keys: tuple[str, ...],
           label: Callable[[tuple], Any]) -> dict[Any, dict[str, list[float]]]:
    """The lead times of the query's orders per bucket or group value (the percentiles' input)."""
    stmt = (select(*(getattr(OrderLead, k) for k in keys), *(getattr(OrderLead, leg) for leg in LEG_NAMES))
            .where(*rollup_filters(session, OrderLead, q)))
    out: dict[Any, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for row in session.execute(stmt):
        spans = out[label(tuple(row[:len(keys)]))]
        for leg, value in zip(LEG_NAMES, row[len(keys):]):
            if value is not None:
                spans[leg].append(value)
    return out


ORDER_KEYS: dict[str, Callable[[OrderFact], Any]] = {
    "channel": lambda f: f.channel, "service": lambda f: f.service_id, "district": lambda f: f.district_id,
    "franchisee": lambda f: f.franchisee_id, "status": lambda f: f.status,
}


def order_rows(session: Session, q: Query) -> list[dict[str, Any]]:
    """The work-orders report: figures per period or per channel, service, district, franchisee, status."""
    leads = _leads(session, q, *_keys_and_label(q))
    return _rolled_up(session, q, OrderStat, ORDER_MEASURES, lambda key, t: derive_orders(t, leads.get(key, {})))


def franchisee_rows(session: Session, q: Query) -> list[dict[str, Any]]:
    """The franchisees report: one row per franchisee with its orders, quality and money."""
    by = ("franchisee_id",)
    orders = {k[0]: t for k, t in _sums(session, OrderStat, ORDER_MEASURES, q, by) if k[0]}
    refusals = {k[0]: t for k, t in _sums(session, RefusalStat, ("rejects", "expiries"), q, by) if k[0]}
    surveys = {k[0]: t for k, t in _sums(session, SurveyStat, SURVEY_MEASURES, q, by) if k[0]}
    complaints: dict[int, int] = defaultdict(int)
    for c in complaint_facts(session, q):
        if c.franchisee_id is not None:
            complaints[c.franchisee_id] += 1
    name = _names(session, "franchisee")
    rows = []
    for fid in sorted(set(orders) | set(refusals) | set(surveys) | set(complaints), key=name):
        refused = refusals.get(fid, {"rejects": 0, "expiries": 0})
        rows.append({"franchisee": name(fid),
                     **franchisee_figures(orders.get(fid, dict.fromkeys(ORDER_MEASURES, 0)), refused["rejects"],
                                          refused["expiries"]),
                     **derive_surveys(surveys.get(fid, dict.fromkeys(SURVEY_MEASURES, 0))),
                     "complaints": complaints.get(fid, 0), "franchisee_id": fid})
    return rows


def franchisee_card(session: Session, q: Query, franchisee_id: int) -> dict[str, Any]:
    """One franchisee's row of the franchisees report with its lead times (the portal's figures)."""
    row = next((r for r in franchisee_rows(session, q) if r["franchisee_id"] == franchisee_id), None)
    if row is None:
        row = franchisee_figures(dict.fromkeys(ORDER_MEASURES, 0), 0, 0)
    return {**row, **lead_figures(_leads(session, q, (), lambda key: None).get(None, {}))}


def satisfaction_rows(session: Session, q: Query) -> list[dict[str, Any]]:
    """The satisfaction report: per period, franchisee, worker, service or district."""
    return _rolled_up(session, q, SurveyStat, SURVEY_MEASURES, lambda key, t: derive_surveys(t))


# ---------------------------------------------------------------- complaints

@dataclass(frozen=True)
class ComplaintFact:
    created_at: datetime
    category: str
    status: str
    due_at: datetime
    first_response_at: datetime | None
    resolved_at: datetime | None
    franchisee_id: int | None
    now: datetime

    @property
    def closed_at(self) -> datetime | None:
        """When it was resolved, if it is resolved now (a reopened complaint is open again)."""
        return self.resolved_at if self.status == "resolved" else None

    @property
    def age_days(self) -> float:
        """Days from opening to resolution, or to now while unresolved."""
        return ((self.closed_at or self.now) - self.created_at).total_seconds() / 86400

    @property
    def overdue(self) -> bool:
        """Unresolved past its due time, or resolved after it."""
        return (self.closed_at or self.now) > self.due_at


def complaint_facts(session: Session, q: Query) -> Iterable[ComplaintFact]:
    """Every complaint opened in the range, with the franchisee it concerns. A complaint about no
    order has no district or franchisee: only unscoped readers (supervisor, admin) count it, and
    no district or franchisee filter matches it."""
    lo, hi = q.utc_range()
    now = hotline_of(session).now()
    stmt = (select(Complaint.created_at, Complaint.category, Complaint.status, Complaint.due_at,
                   Complaint.first_response_at, Complaint.resolved_at, Complaint.franchisee_id)
            .outerjoin(WorkOrder, WorkOrder.id == Complaint.order_id)
            .outerjoin(Service, Service.id == WorkOrder.service_id)
            .where(Complaint.created_at >= lo, Complaint.created_at < hi))
    if q.scope.nothing:
        stmt = stmt.where(false())
    if q.scope.district_ids is not None:
        stmt = stmt.where(WorkOrder.district_id.in_(sorted(q.scope.district_ids)))
    if q.scope.franchisee_id is not None:
        stmt = stmt.where(Complaint.franchisee_id == q.scope.franchisee_id)
    f = q.filters
    if "service" in f:
        stmt = stmt.where(Service.code == f["service"])
    if "district" in f:
        stmt = stmt.where(WorkOrder.district_id == f["district"])
    if "franchisee" in f:
        stmt = stmt.where(Complaint.franchisee_id == f["franchisee"])
    for row in session.execute(stmt):
        yield ComplaintFact(*row, now=now)


def age_band(days: float) -> str:
    for label, upper in AGE_BANDS:
        if upper is None or days < upper:
            return label
    return AGE_BANDS[-1][0]


def complaint_figures(facts: list[ComplaintFact], due_seconds: float) -> dict[str, Any]:
    """Opened, answered (in time), resolved, unresolved, overdue, time to first response and to close."""
    first, close = [], []
    for f in facts:
        responded, closed = response_and_close(f.created_at, f.first_response_at, f.closed_at)
        if responded is not None:
            first.append(responded)
        if closed is not None:
            close.append(closed)
    return {"opened": len(facts), "responded": len(first),
            "responded_in_time": sum(1 for s in first if s <= due_seconds),
            "resolved": len(close), "still_open": sum(1 for f in facts if f.status in UNRESOLVED),
            "overdue_open": sum(1 for f in facts if f.status in UNRESOLVED and f.overdue),
            "resolved_late": sum(1 for f in facts if f.closed_at is not None and f.overdue),
            "first_response_median": median(first) if first else None, "first_response_p90": percentile(first, 90),
            "close_median": median(close) if close else None, "close_p90": percentile(close, 90)}


COMPLAINT_KEYS: dict[str, Callable[[ComplaintFact], Any]] = {
    "franchisee": lambda f: f.franchisee_id, "age": lambda f: age_band(f.age_days),
}


def complaint_rows(session: Session, q: Query) -> list[dict[str, Any]]:
    """The complaints report: per period (opened), category (every one, in the catalogue's
    order), franchisee concerned, or age band."""
    due = hotline_of(session).settings.complaint_due_hours * 3600

    def figures(facts: list[ComplaintFact]) -> dict[str, Any]:
        return complaint_figures(facts, due)

    facts = list(complaint_facts(session, q))
    if q.group == "category":
        by: dict[str, list[ComplaintFact]] = defaultdict(list)
        for f in facts:
            by[f.category].append(f)
        rows = [{"period": c.name_zh, **figures(by.pop(c.code, []))} for c in CATEGORIES]
        return rows + [{"period": code, **figures(fs)} for code, fs in sorted(by.items())]   # a retired code
    rows = grouped(session, q, facts, COMPLAINT_KEYS.get(q.group, lambda f: None), figures, lambda f: f.created_at)
    if q.group == "age":
        order = [label for label, _ in AGE_BANDS]
        rows.sort(key=lambda r: order.index(r["period"]))
    return rows
