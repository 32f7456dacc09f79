"""Work-order, satisfaction and complaint statistics: every definition once, with its formula.

docs/metrics.md ("Work orders and satisfaction") states each formula; this module is the code
of it. All figures of a range are about the orders **booked** in it (work_orders.created_at,
local days of TIMEZONE): an order booked on the 30th and completed on the 2nd counts in the
30th's bucket. Surveys count by the day they were asked (the completion), complaints by the day
they were opened, refusals by the day of the refusal.

The figures read the raw order tables (one grouped statement over work_order_events per query,
aggregated here): at a city's scale that is fast enough, as bench/reports_orders.py measures and
docs/metrics.md records. Lead-time percentiles need every order's durations, which is the other
reason the aggregation is done here rather than in SQL (SQLite has no percentile function).
"""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import median
from typing import Any, Callable, Iterable

from sqlalchemy import case, false, func, select
from sqlalchemy.orm import Session

from .context import hotline_of
from .models import Complaint, District, Franchisee, PriceLine, Service, Survey, WorkOrder, WorkOrderEvent, Worker
from .reports import Query
from .workflow import OPEN_STATES

# An order whose service started within this long after the booked time started on time.
SERVICE_GRACE = timedelta(minutes=15)
DONE_STATES = ("completed", "closed")
REFUSALS = ("reject", "expire")
# Lead-time legs: (name, from fact, to fact).
LEGS = (("book_dispatch", "created_at", "dispatched_at"), ("dispatch_accept", "dispatched_at", "accepted_at"),
        ("accept_start", "accepted_at", "started_at"), ("start_complete", "started_at", "completed_at"),
        ("book_complete", "created_at", "completed_at"))
# Complaint age bands (days since opened, or until resolved): label, upper bound in days.
AGE_BANDS = (("<1d", 1), ("1-3d", 3), ("3-7d", 7), (">7d", None))


@dataclass(frozen=True)
class OrderFact:
    """One booked order with the moments of its lifecycle (first dispatch, first accept, first
    start, last completion) and its counts of dispatches and refusals."""
    id: int
    created_at: datetime
    channel: str
    service: str
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
    """WHERE clauses of a query's scope and filters on work orders (Service joined)."""
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
    stmt = (select(WorkOrder.id, WorkOrder.created_at, WorkOrder.channel, Service.code, WorkOrder.district_id,
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


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile: the smallest value with at least p% of the values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def order_figures(facts: list[OrderFact]) -> dict[str, Any]:
    """The work-order figures of a set of orders (docs/metrics.md gives each formula)."""
    done = [f for f in facts if f.status in DONE_STATES]
    accept_known = [f for f in facts if f.accepted_at is not None or f.expiries]
    started = [f for f in facts if f.started_at is not None]
    out: dict[str, Any] = {
        "booked": len(facts),
        "dispatched": sum(1 for f in facts if f.dispatches),
        "completed": len(done),
        "cancelled": sum(1 for f in facts if f.status == "cancelled"),
        "open": sum(1 for f in facts if f.status in OPEN_STATES),
        "refusals": sum(f.refusals for f in facts),
        "redispatches": sum(max(f.dispatches - 1, 0) for f in facts),
        "accept_on_time": ratio(sum(1 for f in accept_known if f.accepted_at is not None and not f.expiries),
                                len(accept_known)),
        "service_on_time": ratio(sum(1 for f in started if f.started_at <= f.scheduled_start + SERVICE_GRACE),
                                 len(started)),
        "penalty_fen": sum(f.penalty_fen for f in facts),
        "revenue_fen": sum(f.final_price_fen or 0 for f in done),
    }
    for leg, a, b in LEGS:
        spans = [(getattr(f, b) - getattr(f, a)).total_seconds() for f in facts
                 if getattr(f, a) is not None and getattr(f, b) is not None and getattr(f, b) >= getattr(f, a)]
        out[f"{leg}_median"] = median(spans) if spans else None
        out[f"{leg}_p90"] = percentile(spans, 90)
    return out


def _names(session: Session, group: str) -> Callable[[Any], str]:
    """How a group key is shown: a district's, franchisee's, worker's name; codes as they are."""
    model = {"district": District, "franchisee": Franchisee, "worker": Worker}.get(group)
    if model is None:
        return lambda key: "—" if key is None else str(key)
    col = model.name_zh if model is District else model.name
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


ORDER_KEYS: dict[str, Callable[[OrderFact], Any]] = {
    "channel": lambda f: f.channel, "service": lambda f: f.service, "district": lambda f: f.district_id,
    "franchisee": lambda f: f.franchisee_id, "status": lambda f: f.status,
}


def order_rows(session: Session, q: Query) -> list[dict[str, Any]]:
    """The work-orders report: figures per period or per channel, service, district, franchisee, status."""
    return grouped(session, q, order_facts(session, q), ORDER_KEYS.get(q.group, lambda f: None), order_figures,
                   lambda f: f.created_at)


# ---------------------------------------------------------------- franchisees

def releases_by_franchisee(session: Session, q: Query) -> dict[int, dict[str, int]]:
    """Refusals per franchisee that refused: {franchisee id: {"reject": n, "expire": n}}, by the
    day of the refusal. The order has left the franchisee by then; the event keeps who it was."""
    e = WorkOrderEvent
    lo, hi = q.utc_range()
    who = e.data["franchisee_id"].as_integer()
    stmt = (select(who, e.action, func.count()).join(WorkOrder, WorkOrder.id == e.order_id)
            .join(Service, Service.id == WorkOrder.service_id)
            .where(e.action.in_(REFUSALS), e.created_at >= lo, e.created_at < hi, who.is_not(None))
            .group_by(who, e.action))
    # The scope applies to the refusing franchisee, not to the order's holder now.
    if q.scope.nothing:
        stmt = stmt.where(false())
    if q.scope.district_ids is not None:
        stmt = stmt.where(WorkOrder.district_id.in_(sorted(q.scope.district_ids)))
    if q.scope.franchisee_id is not None:
        stmt = stmt.where(who == q.scope.franchisee_id)
    if "franchisee" in q.filters:
        stmt = stmt.where(who == q.filters["franchisee"])
    if "service" in q.filters:
        stmt = stmt.where(Service.code == q.filters["service"])
    if "district" in q.filters:
        stmt = stmt.where(WorkOrder.district_id == q.filters["district"])
    out: dict[int, dict[str, int]] = defaultdict(lambda: {action: 0 for action in REFUSALS})
    for fid, action, n in session.execute(stmt):
        out[fid][action] = n
    return dict(out)


def franchisee_figures(facts: list[OrderFact], releases: dict[str, int] | None) -> dict[str, Any]:
    """order_figures of the orders a franchisee holds, with its refusals counted against it:
    refusals = its rejections + its expiries; accepted on time = orders it accepted without an
    expiry / (those + its expiries)."""
    out = order_figures(facts)
    releases = releases or {action: 0 for action in REFUSALS}
    accepted = sum(1 for f in facts if f.accepted_at is not None and not f.expiries)
    out["refusals"] = sum(releases.values())
    out["accept_on_time"] = ratio(accepted, accepted + releases["expire"])
    return out


def franchisee_rows(session: Session, q: Query) -> list[dict[str, Any]]:
    """The franchisees report: one row per franchisee with its orders, quality and money."""
    facts: dict[int, list[OrderFact]] = defaultdict(list)
    for f in order_facts(session, q):
        if f.franchisee_id is not None:
            facts[f.franchisee_id].append(f)
    released = releases_by_franchisee(session, q)
    surveys: dict[int, list[SurveyFact]] = defaultdict(list)
    for s in survey_facts(session, q):
        if s.franchisee_id is not None:
            surveys[s.franchisee_id].append(s)
    complaints: dict[int, int] = defaultdict(int)
    for c in complaint_facts(session, q):
        if c.franchisee_id is not None:
            complaints[c.franchisee_id] += 1
    name = _names(session, "franchisee")
    rows = []
    for fid in sorted(set(facts) | set(released) | set(surveys) | set(complaints), key=name):
        row = {"franchisee": name(fid), **franchisee_figures(facts.get(fid, []), released.get(fid)),
               **survey_figures(surveys.get(fid, []))}
        row["complaints"] = complaints.get(fid, 0)
        rows.append(row)
    return rows


# ---------------------------------------------------------------- satisfaction

@dataclass(frozen=True)
class SurveyFact:
    asked_at: datetime
    status: str
    score: int | None
    service: str
    district_id: int | None
    franchisee_id: int | None
    worker_id: int | None


def survey_facts(session: Session, q: Query) -> Iterable[SurveyFact]:
    """Every survey asked in the range (an order's completion asks it) within scope and filters."""
    lo, hi = q.utc_range()
    where = [c for c in _order_filters(q)[2:]] + [Survey.asked_at >= lo, Survey.asked_at < hi]
    stmt = (select(Survey.asked_at, Survey.status, Survey.score, Service.code, WorkOrder.district_id,
                   WorkOrder.franchisee_id, WorkOrder.worker_id)
            .join(WorkOrder, WorkOrder.id == Survey.order_id).join(Service, Service.id == WorkOrder.service_id)
            .where(*where))
    for row in session.execute(stmt):
        yield SurveyFact(*row)


def survey_figures(facts: list[SurveyFact]) -> dict[str, Any]:
    """Surveys asked, answered, response rate, average score (×100, rounded) and the count of each score."""
    scores = [f.score for f in facts if f.status == "answered" and f.score is not None]
    out: dict[str, Any] = {"surveys": len(facts), "answered": len(scores), "response_rate": ratio(len(scores), len(facts)),
                           "average_x100": (sum(scores) * 100 + len(scores) // 2) // len(scores) if scores else None}
    for n in range(1, 6):
        out[f"score_{n}"] = scores.count(n)
    return out


SURVEY_KEYS: dict[str, Callable[[SurveyFact], Any]] = {
    "service": lambda f: f.service, "district": lambda f: f.district_id, "franchisee": lambda f: f.franchisee_id,
    "worker": lambda f: f.worker_id,
}


def satisfaction_rows(session: Session, q: Query) -> list[dict[str, Any]]:
    """The satisfaction report: per period, franchisee, worker, service or district."""
    return grouped(session, q, survey_facts(session, q), SURVEY_KEYS.get(q.group, lambda f: None), survey_figures,
                   lambda f: f.asked_at)


# ---------------------------------------------------------------- complaints

@dataclass(frozen=True)
class ComplaintFact:
    created_at: datetime
    source: str
    status: str
    due_at: datetime
    resolved_at: datetime | None
    franchisee_id: int | None
    now: datetime

    @property
    def age_days(self) -> float:
        """Days from opening to resolution, or to now while open."""
        return ((self.resolved_at or self.now) - self.created_at).total_seconds() / 86400

    @property
    def overdue(self) -> bool:
        """Open past its due time, or resolved after it."""
        return (self.resolved_at or self.now) > self.due_at


def complaint_facts(session: Session, q: Query) -> Iterable[ComplaintFact]:
    """Every complaint opened in the range. A complaint about no order has no district or
    franchisee: only unscoped readers (supervisor, admin) count it, and no district or
    franchisee filter matches it."""
    lo, hi = q.utc_range()
    now = hotline_of(session).now()
    stmt = (select(Complaint.created_at, Complaint.source, Complaint.status, Complaint.due_at, Complaint.resolved_at,
                   WorkOrder.franchisee_id)
            .outerjoin(WorkOrder, WorkOrder.id == Complaint.order_id)
            .outerjoin(Service, Service.id == WorkOrder.service_id)
            .where(Complaint.created_at >= lo, Complaint.created_at < hi))
    scoped = q.scope.nothing or q.scope.district_ids is not None or q.scope.franchisee_id is not None
    order_filtered = scoped or any(k in q.filters for k in ("service", "district", "franchisee", "channel", "status"))
    if order_filtered:
        stmt = stmt.where(*_order_filters(q)[2:])
    for row in session.execute(stmt):
        yield ComplaintFact(*row, now=now)


def age_band(days: float) -> str:
    for label, upper in AGE_BANDS:
        if upper is None or days < upper:
            return label
    return AGE_BANDS[-1][0]


def complaint_figures(facts: list[ComplaintFact]) -> dict[str, Any]:
    """Opened, resolved, still open, overdue (open past due or resolved late), handling time."""
    handled = [(f.resolved_at - f.created_at).total_seconds() for f in facts if f.resolved_at is not None]
    return {"opened": len(facts), "resolved": len(handled), "still_open": sum(1 for f in facts if f.status == "open"),
            "overdue_open": sum(1 for f in facts if f.status == "open" and f.overdue),
            "resolved_late": sum(1 for f in facts if f.resolved_at is not None and f.overdue),
            "handling_median": median(handled) if handled else None, "handling_p90": percentile(handled, 90)}


COMPLAINT_KEYS: dict[str, Callable[[ComplaintFact], Any]] = {
    "category": lambda f: f.source, "franchisee": lambda f: f.franchisee_id, "age": lambda f: age_band(f.age_days),
}


def complaint_rows(session: Session, q: Query) -> list[dict[str, Any]]:
    """The complaints report: per period (opened), category (where it came from), franchisee or age."""
    rows = grouped(session, q, complaint_facts(session, q), COMPLAINT_KEYS.get(q.group, lambda f: None),
                   complaint_figures, lambda f: f.created_at)
    if q.group == "age":
        order = [label for label, _ in AGE_BANDS]
        rows.sort(key=lambda r: order.index(r["period"]))
    return rows
