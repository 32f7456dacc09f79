"""Dispatch: which district an address is in, and which franchisee gets an order.

The choice, in order: active franchisees that serve the order's district and service, that
have not refused or let this order time out, and that are under their daily capacity on the
service day; ranked by district priority, then rating, then current load. No candidate: the
order stays confirmed in the unassigned queue, with the reason (an `unassigned` event: the
customer is told by SMS, once, and the dispatch board shows it in a queue of its own), and is
never dropped.

Dispatching locks the rows of the franchisees serving the order (SELECT ... FOR UPDATE on
PostgreSQL, in id order so that two dispatches never deadlock; SQLite's transactions are serial
already) before it counts their day, so two dispatches at once cannot both take the last place
of a franchisee's day: the second waits, counts afresh and goes to the next candidate.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from .actors import SYSTEM, Actor
from .cache import cached
from .context import hotline_of
from .errors import ConcurrentChange, ValidationError
from .models import District, DistrictAlias, Franchisee, FranchiseeDistrict, FranchiseeService, WorkOrder
from .timeutil import to_local, to_utc
from .workflow import transition

log = logging.getLogger(__name__)

# States in which an order occupies its franchisee's capacity for the service day.
CAPACITY_STATES = ("dispatched", "accepted", "in_service", "completed", "closed", "rework")
LOAD_STATES = ("dispatched", "accepted", "in_service", "rework")
NOT_A_CANDIDATE = "it is not among the candidates (district, service, capacity, or it refused before)"


@dataclass
class DistrictMatch:
    district: District | None
    candidates: list[District] = field(default_factory=list)

    @property
    def ambiguous(self) -> bool:
        return self.district is None and len(self.candidates) > 1


def _district_index(session: Session) -> list[tuple[str, int]]:
    """(name or alias, district id) pairs (kept until the catalog changes: tickets.cache)."""
    return cached(session, "districts", _read_district_index)


def _read_district_index(session: Session) -> list[tuple[str, int]]:
    pairs: list[tuple[str, int]] = []
    for d_id, name_zh, name_en in session.execute(select(District.id, District.name_zh, District.name_en)):
        pairs += [(name_zh, d_id), (name_en.lower(), d_id)]
    pairs += [(a, d_id) for a, d_id in session.execute(select(DistrictAlias.alias, DistrictAlias.district_id))]
    return [(name, d_id) for name, d_id in pairs if name]


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
    for name, d_id in _district_index(session):
        if name in text or name in lowered:
            best_len[d_id] = max(best_len.get(d_id, 0), len(name))
    if not best_len:
        return DistrictMatch(None)
    ranked = sorted(best_len.items(), key=lambda kv: -kv[1])
    top = [d_id for d_id, n in ranked if n == ranked[0][1]]
    if len(top) == 1:
        return DistrictMatch(session.get(District, top[0]), [session.get(District, d_id) for d_id, _ in ranked])
    return DistrictMatch(None, [session.get(District, d_id) for d_id in top])


@dataclass
class Candidate:
    franchisee: Franchisee
    priority: int
    load: int                 # open orders
    booked_that_day: int
    reasons: list[str]

    def as_dict(self) -> dict:
        return {"franchisee_id": self.franchisee.id, "franchisee": self.franchisee.name,
                "priority": self.priority, "rating": self.franchisee.rating_x100 / 100,
                "load": self.load, "booked_that_day": self.booked_that_day, "reasons": self.reasons}


def excluded_franchisees(session: Session, order: WorkOrder) -> set[int]:
    """Franchisees that refused this order, let it time out, or had it recalled: never offered it again."""
    return {e.data.get("franchisee_id") for e in order.events
            if e.action in ("reject", "expire", "recall") and e.data.get("franchisee_id")}


def _service_day(session: Session, order: WorkOrder) -> tuple[datetime, datetime]:
    """The local day of the order's service, as a UTC range [start, end)."""
    tz = hotline_of(session).tz
    local_day = to_local(order.scheduled_start, tz).date()
    start = to_utc(datetime.combine(local_day, datetime.min.time()), tz)
    return start, start + timedelta(days=1)


# The statements of a dispatch, built once (they run for every booking). Each counts the orders
# of the franchisee of the enclosing row, other than the order being dispatched (:order_id).
_BOOKED_THAT_DAY = (select(func.count()).select_from(WorkOrder)
                    .where(WorkOrder.franchisee_id == Franchisee.id, WorkOrder.id != bindparam("order_id"),
                           WorkOrder.scheduled_start >= bindparam("day_start"),
                           WorkOrder.scheduled_start < bindparam("day_end"),
                           WorkOrder.status.in_(CAPACITY_STATES))
                    .scalar_subquery())
_OPEN_ORDERS = (select(func.count()).select_from(WorkOrder)
                .where(WorkOrder.franchisee_id == Franchisee.id, WorkOrder.id != bindparam("order_id"),
                       WorkOrder.status.in_(LOAD_STATES))
                .scalar_subquery())
# Each franchisee serving the district and the service, with its priority there, its orders on
# the service day and its open orders (its load).
_SERVING = (select(Franchisee, FranchiseeDistrict.priority, _BOOKED_THAT_DAY, _OPEN_ORDERS)
            .join(FranchiseeDistrict, FranchiseeDistrict.franchisee_id == Franchisee.id)
            .join(FranchiseeService, FranchiseeService.franchisee_id == Franchisee.id)
            .where(FranchiseeDistrict.district_id == bindparam("district_id"),
                   FranchiseeService.service_id == bindparam("service_id")))
# The franchisees of the district, locked in id order (see the module's text).
_LOCK_SERVING = (select(Franchisee.id)
                 .join(FranchiseeDistrict, FranchiseeDistrict.franchisee_id == Franchisee.id)
                 .where(FranchiseeDistrict.district_id == bindparam("district_id"))
                 .order_by(Franchisee.id).with_for_update(of=Franchisee))


def candidates(session: Session, order: WorkOrder) -> tuple[list[Candidate], str]:
    """Ranked candidates for `order`, and when there are none, the reason why."""
    if order.district_id is None:
        return [], "no district: the address matched none, an agent must choose one"
    day_start, day_end = _service_day(session, order)
    local_day = to_local(order.scheduled_start, hotline_of(session).tz).date()
    rows = session.execute(_SERVING, {"district_id": order.district_id, "service_id": order.service_id,
                                      "order_id": order.id, "day_start": day_start, "day_end": day_end}).all()
    if not rows:
        return [], "no franchisee serves this service in this district"
    excluded = excluded_franchisees(session, order)

    out: list[Candidate] = []
    skipped: list[str] = []
    for fr, prio, n, load in rows:
        if fr.status != "active":
            skipped.append(f"{fr.name}: suspended")
        elif fr.id in excluded:
            skipped.append(f"{fr.name}: already refused or missed this order")
        elif n >= fr.daily_capacity:
            skipped.append(f"{fr.name}: full on {local_day} ({n}/{fr.daily_capacity})")
        else:
            out.append(Candidate(fr, prio, load, n, [f"district priority {prio}", f"rating {fr.rating_x100 / 100:.2f}",
                                                     f"open orders {load}",
                                                     f"{n}/{fr.daily_capacity} booked on {local_day}"]))
    if not out:
        return [], "; ".join(skipped)
    out.sort(key=lambda c: (c.priority, -c.franchisee.rating_x100, c.load, c.franchisee.id))
    return out, ""


def _lock_serving(session: Session, order: WorkOrder) -> None:
    """Lock the franchisees that could take `order` until the transaction ends (see the module's text)."""
    session.execute(_LOCK_SERVING, {"district_id": order.district_id})


def dispatch(session: Session, order: WorkOrder, actor: Actor = SYSTEM,
             franchisee: Franchisee | None = None) -> Franchisee | None:
    """Dispatch `order` to `franchisee` (manual) or to the best candidate; None leaves it unassigned."""
    session.flush()             # the order has its id: the counts leave it out
    _lock_serving(session, order)
    ranked, why = candidates(session, order)
    if franchisee is not None:
        chosen = next((c for c in ranked if c.franchisee.id == franchisee.id), None)
        if chosen is None:
            if ranked:
                raise ValidationError("{franchisee} cannot take order {number}: {why}; candidates: {candidates}",
                                      franchisee=franchisee.name, number=order.number, why=why or NOT_A_CANDIDATE,
                                      candidates=", ".join(c.franchisee.name for c in ranked))
            raise ValidationError("{franchisee} cannot take order {number}: {why}", franchisee=franchisee.name,
                                  number=order.number, why=why or NOT_A_CANDIDATE)
    elif ranked:
        chosen = ranked[0]
    else:
        # An event (and the customer's notice) the first time, and when the reason changes;
        # the same finding again on the next batch is not news.
        if order.unassigned_reason != why[:255]:
            transition(session, order, "unassigned", SYSTEM, reason=why)
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
    """The SLA watchdog: orders not accepted by their deadline go to the next candidate.

    Each order in a savepoint of its own: one the franchisee accepts at this very moment is
    left to them (ConcurrentChange), and the others are still expired.
    """
    now = hotline_of(session).now()
    overdue = session.scalars(select(WorkOrder).where(
        WorkOrder.status == "dispatched", WorkOrder.accept_deadline < now)
        .order_by(WorkOrder.accept_deadline)).all()
    expired = []
    for order in overdue:
        try:
            with session.begin_nested():
                release_and_redispatch(session, order, "expire", SYSTEM)
            expired.append(order.number)
        except ConcurrentChange:
            log.info("order %s changed while it was being expired; left as it is now", order.number)
    return expired


def unassigned_queue(session: Session) -> list[WorkOrder]:
    """Confirmed orders waiting for a franchisee, urgent first, then oldest."""
    return list(session.scalars(select(WorkOrder).where(WorkOrder.status.in_(("new", "confirmed")))
                                .order_by(WorkOrder.urgent.desc(), WorkOrder.created_at)))
