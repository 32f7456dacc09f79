"""The dispatch board: orders waiting for a franchisee or for its acceptance, and what a
dispatcher does with them besides `dispatch.dispatch` and `dispatch.batch_dispatch`:
reassigning an order, and choosing the district of an order whose address matched none.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from . import audit
from .actors import SYSTEM, Actor
from .context import hotline_of
from .dispatch import Candidate, candidates, dispatch, release_and_redispatch
from .errors import PermissionDenied, ValidationError
from .models import District, Franchisee, WorkOrder
from .search import may_see, scope
from .workflow import transition

# new: an agent or dispatcher must choose the district; confirmed: waiting for a franchisee;
# dispatched: waiting for the franchisee to accept before its deadline.
WAITING_STATES = ("new", "confirmed", "dispatched")


@dataclass
class BoardRow:
    order: WorkOrder
    candidates: list[Candidate] = field(default_factory=list)
    why_none: str = ""
    minutes_left: Optional[int] = None      # before the accept deadline (dispatched orders)

    @property
    def suggested(self) -> Optional[Candidate]:
        return self.candidates[0] if self.candidates else None


@dataclass
class BoardGroup:
    district: Optional[District]            # None: orders whose district is not known yet
    rows: list[BoardRow]
    # "district": the district's waiting orders; "unassigned": confirmed orders no franchisee can
    # take now (无人接单), each with the reason: a dispatcher must act, the engine cannot.
    queue: str = "district"

    @property
    def urgent(self) -> int:
        return sum(1 for r in self.rows if r.order.urgent)


@dataclass
class BoardSummary:
    waiting_dispatch: int       # confirmed
    waiting_acceptance: int     # dispatched
    no_district: int            # new: an agent or dispatcher must choose the district
    unassignable: int           # confirmed and no franchisee can take it now
    overdue: int                # dispatched and past the accept deadline


def summary(groups: list[BoardGroup]) -> BoardSummary:
    rows = [r for g in groups for r in g.rows]
    return BoardSummary(
        waiting_dispatch=sum(1 for r in rows if r.order.status == "confirmed"),
        waiting_acceptance=sum(1 for r in rows if r.order.status == "dispatched"),
        no_district=sum(1 for r in rows if r.order.status == "new"),
        unassignable=sum(1 for r in rows if r.order.status == "confirmed" and not r.candidates),
        overdue=sum(1 for r in rows if r.minutes_left is not None and r.minutes_left < 0))


def waiting_orders(session: Session, actor: Actor) -> list[WorkOrder]:
    """Orders on the board that `actor` may see: urgent first, then the nearest deadline, then the earliest start."""
    q = select(WorkOrder).where(WorkOrder.status.in_(WAITING_STATES)).options(
        selectinload(WorkOrder.customer), selectinload(WorkOrder.service), selectinload(WorkOrder.district),
        selectinload(WorkOrder.franchisee))
    cond = scope(actor)
    if cond is not None:
        q = q.where(cond)
    orders = session.scalars(q).all()
    far = hotline_of(session).now().replace(year=9999)
    return sorted(orders, key=lambda o: (not o.urgent, o.accept_deadline or far, o.scheduled_start, o.id))


def board(session: Session, actor: Actor) -> list[BoardGroup]:
    """The board: the unassigned queue (no candidate) first, then the others by district (orders
    without one first), each order with the engine's candidates."""
    now = hotline_of(session).now()
    groups: dict[Optional[int], BoardGroup] = {}
    unassigned = BoardGroup(None, [], queue="unassigned")
    for order in waiting_orders(session, actor):
        row = BoardRow(order)
        if order.status == "confirmed":
            row.candidates, row.why_none = candidates(session, order)
        elif order.status == "dispatched":
            # Who could take it over if it is reassigned (the current holder excluded).
            ranked, row.why_none = candidates(session, order)
            row.candidates = [c for c in ranked if c.franchisee.id != order.franchisee_id]
            if order.accept_deadline is not None:
                row.minutes_left = int((order.accept_deadline - now).total_seconds() // 60)
        elif order.status == "new":
            row.why_none = order.flag_reason
        if order.status == "confirmed" and not row.candidates:
            unassigned.rows.append(row)
        else:
            groups.setdefault(order.district_id, BoardGroup(order.district, [])).rows.append(row)
    by_district = sorted(groups.values(), key=lambda g: (g.district is not None, g.district.code if g.district else ""))
    return ([unassigned] if unassigned.rows else []) + by_district


def district_choices(session: Session, actor: Actor) -> list[District]:
    """The districts `actor` may place orders in (a district manager: their own)."""
    q = select(District).order_by(District.code)
    if actor.role == "district_manager":
        q = q.where(District.id.in_(sorted(actor.district_ids)))
    return list(session.scalars(q))


def reassign(session: Session, order: WorkOrder, actor: Actor, reason: str,
             franchisee: Franchisee | None = None) -> Franchisee | None:
    """Take the order back from its franchisee (recall) and give it to `franchisee`, or to the engine's next choice."""
    if franchisee is None:
        return release_and_redispatch(session, order, "recall", actor, reason=reason)
    transition(session, order, "recall", actor, reason=reason)
    return dispatch(session, order, actor, franchisee)


def set_district(session: Session, order: WorkOrder, district: District, actor: Actor,
                 auto_dispatch: bool = True) -> Franchisee | None:
    """Choose the district of a `new` order (its address matched none or several), confirm it and dispatch it."""
    if order.status != "new":
        raise ValidationError("order {number} is {status}; its district is chosen only while it is new", number=order.number, status=order.status)
    if not may_see(actor, order) or (actor.role == "district_manager" and district.id not in actor.district_ids):
        raise PermissionDenied("role {role} may not place orders in district {name_zh}", role=actor.role, name_zh=district.name_zh)
    old = order.district_id
    order.district_id = district.id
    order.needs_agent = False
    if order.address_id is not None and order.customer is not None:
        for addr in order.customer.addresses:
            if addr.id == order.address_id and addr.district_id is None:
                addr.district_id = district.id     # the next booking from this address needs no one
    audit.record(session, actor, "order.set_district", "work_order", order.number,
                 {"from": old, "to": district.id, "district": district.name_zh})
    transition(session, order, "note", actor, text=f"片区 / district: {district.name_zh}")
    transition(session, order, "confirm", actor)
    return dispatch(session, order, SYSTEM) if auto_dispatch else None
