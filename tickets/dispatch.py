"""Dispatch: which district an address is in, and which franchisee gets an order.

The choice, in order: active franchisees that serve the order's district and service, that
have not refused or let this order time out, and that are under their daily capacity on the
service day; ranked by district priority, then rating, then current load. No candidate: the
order stays confirmed in the unassigned queue, with the reason, and is never dropped.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from .actors import SYSTEM, Actor
from .cache import cached
from .context import hotline_of
from .db import attach_row, entity_columns, update_now
from .errors import ValidationError
from .models import District, DistrictAlias, Franchisee, FranchiseeDistrict, FranchiseeService, WorkOrder
from .prepared import Prepared, constants
from .timeutil import to_local, to_utc
from .workflow import transition

# States in which an order occupies its franchisee's capacity for the service day.
CAPACITY_STATES = ("dispatched", "accepted", "in_service", "completed", "closed", "rework")
LOAD_STATES = ("dispatched", "accepted", "in_service", "rework")


@dataclass
class DistrictMatch:
    district: District | None
    candidates: list[District] = field(default_factory=list)

    @property
    def ambiguous(self) -> bool:
        return self.district is None and len(self.candidates) > 1


def _district_index(session: Session) -> tuple[list[tuple[str, int]], dict[int, tuple]]:
    """(name or alias, district id) pairs and each district's row (kept until the catalog
    changes: tickets.cache)."""
    return cached(session, "districts", _read_district_index)


def _read_district_index(session: Session) -> tuple[list[tuple[str, int]], dict[int, tuple]]:
    rows: dict[int, tuple] = {}
    pairs: list[tuple[str, int]] = []
    for row in session.execute(select(*entity_columns(District))):
        d = attach_row(session, District, row)
        rows[d.id] = tuple(row)
        pairs += [(d.name_zh, d.id), (d.name_en.lower(), d.id)]
    pairs += [(a, d_id) for a, d_id in session.execute(select(DistrictAlias.alias, DistrictAlias.district_id))]
    return [(name, d_id) for name, d_id in pairs if name], rows


def resolve_district(session: Session, address: str) -> DistrictMatch:
    """Find the district named in a free-text address by its names and aliases.

    The longest matching name wins ("天山区" over "天山"); two different districts matched by
    equally long names is ambiguous and goes to an agent.
    """
    text = (address or "").replace(" ", "")
    if not text:
        return DistrictMatch(None)
    lowered = text.lower()
    best_len: dict[int, int] = {}
    pairs, rows = _district_index(session)
    for name, d_id in pairs:
        if name in text or name in lowered:
            best_len[d_id] = max(best_len.get(d_id, 0), len(name))
    if not best_len:
        return DistrictMatch(None)
    ranked = sorted(best_len.items(), key=lambda kv: -kv[1])
    top = [d_id for d_id, n in ranked if n == ranked[0][1]]
    # The session's objects of the matched districts, from the cached rows (no query).
    districts = {d_id: attach_row(session, District, rows[d_id]) for d_id in best_len}
    if len(top) == 1:
        return DistrictMatch(districts[top[0]], [districts[d_id] for d_id, _ in ranked])
    return DistrictMatch(None, [districts[d_id] for d_id in top])


@dataclass
class Candidate:
    franchisee: Franchisee
    priority: int
    load: int | None          # None: not counted (it decided nothing)
    booked_that_day: int
    reasons: list[str]

    def as_dict(self) -> dict:
        return {"franchisee_id": self.franchisee.id, "franchisee": self.franchisee.name,
                "priority": self.priority, "rating": self.franchisee.rating_x100 / 100,
                "load": self.load, "booked_that_day": self.booked_that_day, "reasons": self.reasons}


def excluded_franchisees(session: Session, order: WorkOrder) -> set[int]:
    """Franchisees that refused this order, let it time out, or had it recalled: never offered it again."""
    # order.events is the whole history (in memory for an order booked in this transaction).
    if order.id is None:
        return set()             # being booked: no history yet
    return {e.data.get("franchisee_id") for e in order.events
            if e.action in ("reject", "expire", "recall") and e.data.get("franchisee_id")}


_SERVES = (FranchiseeDistrict.district_id == bindparam("district_id"),
           FranchiseeService.service_id == bindparam("service_id"))
_ORDERS = WorkOrder.__table__     # plain Core columns: these counts need nothing of the ORM
# Each franchisee serving the district and the service, with its priority there and the orders
# taking a place on the service day (a correlated count over ix_work_orders_franchisee_day,
# covering: at most a day's capacity of index entries each), in one statement.
_SERVING = Prepared(
    select(*entity_columns(Franchisee), FranchiseeDistrict.priority,
           select(func.count()).where(
               _ORDERS.c.franchisee_id == Franchisee.id, _ORDERS.c.id != bindparam("order_id"),
               _ORDERS.c.scheduled_start >= bindparam("day_start"), _ORDERS.c.scheduled_start < bindparam("day_end"),
               _ORDERS.c.status.in_(constants(*CAPACITY_STATES))).scalar_subquery())
    .join(FranchiseeDistrict, FranchiseeDistrict.franchisee_id == Franchisee.id)
    .join(FranchiseeService, FranchiseeService.franchisee_id == Franchisee.id)
    .where(*_SERVES))
# One franchisee's open orders (ix_work_orders_franchisee_status): grows with its backlog, so it
# is counted only where it decides something.
_LOAD = Prepared(select(func.count()).where(
    _ORDERS.c.franchisee_id == bindparam("franchisee_id"), _ORDERS.c.id != bindparam("order_id"),
    _ORDERS.c.status.in_(constants(*LOAD_STATES))))


def candidates(session: Session, order: WorkOrder, *, all_loads: bool = True) -> tuple[list[Candidate], str]:
    """Ranked candidates for `order`, and when there are none, the reason why.

    The load (open orders) only breaks ties of priority and rating. `all_loads=False` counts it
    only for the candidates tied for first place, where it decides; the others get None.
    """
    if order.district_id is None:
        return [], "no district: the address matched none, an agent must choose one"
    hl = hotline_of(session)
    # An order being booked (not yet written, see workflow.FirstMoves) is in none of the counts;
    # 0 is no order's id.
    order_id = order.id or 0
    local_day = to_local(order.scheduled_start, hl.tz).date()
    day_start = to_utc(datetime.combine(local_day, datetime.min.time()), hl.tz)
    rows = [(attach_row(session, Franchisee, r), r[-2], r[-1]) for r in _SERVING.rows(session, {
        "district_id": order.district_id, "service_id": order.service_id, "order_id": order_id,
        "day_start": day_start, "day_end": day_start + timedelta(days=1)})]
    if not rows:
        return [], "no franchisee serves this service in this district"
    excluded = excluded_franchisees(session, order)

    out: list[Candidate] = []
    skipped: list[str] = []
    for fr, prio, n in rows:
        if fr.status != "active":
            skipped.append(f"{fr.name}: suspended")
            continue
        if fr.id in excluded:
            skipped.append(f"{fr.name}: already refused or missed this order")
            continue
        if n >= fr.daily_capacity:
            skipped.append(f"{fr.name}: full on {local_day} ({n}/{fr.daily_capacity})")
            continue
        out.append(Candidate(fr, prio, None, n, [f"district priority {prio}", f"rating {fr.rating_x100 / 100:.2f}",
                                                 f"{n}/{fr.daily_capacity} booked on {local_day}"]))
    if not out:
        return [], "; ".join(skipped)
    out.sort(key=lambda c: (c.priority, -c.franchisee.rating_x100))
    first = (out[0].priority, out[0].franchisee.rating_x100)
    tied = [c for c in out if (c.priority, c.franchisee.rating_x100) == first]
    for c in out if all_loads else tied if len(tied) > 1 else ():
        c.load = _LOAD.scalar(session, {"franchisee_id": c.franchisee.id, "order_id": order_id})
        c.reasons.insert(2, f"open orders {c.load}")
    out.sort(key=lambda c: (c.priority, -c.franchisee.rating_x100, c.load or 0, c.franchisee.id))
    return out, ""


def dispatch(session: Session, order: WorkOrder, actor: Actor = SYSTEM,
             franchisee: Franchisee | None = None) -> Franchisee | None:
    """Dispatch `order` to `franchisee` (manual) or to the best candidate; None leaves it unassigned."""
    # A manual choice is checked against every candidate; an automatic one needs loads only to break ties.
    ranked, why = candidates(session, order, all_loads=franchisee is not None)
    if franchisee is not None:
        chosen = next((c for c in ranked if c.franchisee.id == franchisee.id), None)
        if chosen is None:
            raise ValidationError(
                f"{franchisee.name} cannot take order {order.number}: "
                + (why or "it is not among the candidates (district, service, capacity, or it refused before)")
                + (f"; candidates: {', '.join(c.franchisee.name for c in ranked)}" if ranked else ""))
    elif ranked:
        chosen = ranked[0]
    else:
        order.unassigned_reason = why[:255]
        if order.id is not None:      # an order being booked is written whole afterwards (FirstMoves)
            update_now(session, order)    # now, not by the commit's flush (the unit of work costs far more)
        return None
    transition(session, order, "dispatch", actor, franchisee=chosen.franchisee, reasons=chosen.reasons)
    return chosen.franchisee


def release_and_redispatch(session: Session, order: WorkOrder, action: str, actor: Actor,
                           **params) -> Franchisee | None:
    """Reject / expire / recall the order, then offer it to the next candidate."""
    transition(session, order, action, actor, **params)
    return dispatch(session, order, SYSTEM)


def batch_dispatch(session: Session, orders: list[WorkOrder], actor: Actor = SYSTEM) -> dict[str, str | None]:
    """Dispatch many confirmed orders, urgent and earliest first; returns number -> franchisee or None."""
    result: dict[str, str | None] = {}
    for order in sorted(orders, key=lambda o: (not o.urgent, o.scheduled_start, o.id)):
        if order.status != "confirmed":
            result[order.number] = None
            continue
        fr = dispatch(session, order, actor)
        result[order.number] = fr.name if fr else None
    return result


def expire_overdue(session: Session) -> list[str]:
    """The SLA watchdog: orders not accepted by their deadline go to the next candidate."""
    hl = hotline_of(session)
    now = hl.now()
    overdue = session.scalars(select(WorkOrder).where(
        WorkOrder.status == "dispatched", WorkOrder.accept_deadline < now)
        .order_by(WorkOrder.accept_deadline)).all()
    for order in overdue:
        release_and_redispatch(session, order, "expire", SYSTEM)
    return [o.number for o in overdue]


def unassigned_queue(session: Session) -> list[WorkOrder]:
    """Confirmed orders waiting for a franchisee, urgent first, then oldest."""
    return list(session.scalars(select(WorkOrder).where(WorkOrder.status.in_(("new", "confirmed")))
                                .order_by(WorkOrder.urgent.desc(), WorkOrder.created_at)))
