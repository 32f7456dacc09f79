"""Finding work orders, and which orders a console user may see at all.

Staff see every order, with two exceptions written here once: a franchisee sees only the
orders dispatched to it, a district manager only those of their districts. An order someone
may not see is reported exactly like one that does not exist.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import false, or_, select
from sqlalchemy.orm import Session, selectinload

from .actors import Actor
from .context import hotline_of
from .customers import find_by_phone
from .errors import NotFound, ValidationError
from .models import Call, Complaint, Customer, District, Service, Survey, WorkOrder
from .numbers import parse_number
from .phones import normalize
from .timeutil import to_utc
from .workflow import OPEN_STATES, STATES

STAFF_ROLES = frozenset({"agent", "dispatcher", "callback", "supervisor", "admin"})
LIMIT = 200


@dataclass
class OrderFilter:
    """What a search asks for; empty fields do not filter. Dates are local calendar days."""
    number: str = ""
    phone: str = ""
    name: str = ""
    status: str = ""                # a state, or "open" for every open state
    district_id: int | None = None
    service: str = ""               # service code
    date_from: date | None = None   # scheduled on or after this day
    date_to: date | None = None     # scheduled on or before this day
    franchisee_id: int | None = None


def scope(actor: Actor):
    """The SQL condition limiting orders to those `actor` may see."""
    if actor.role in STAFF_ROLES:
        return None
    if actor.role == "district_manager":
        return WorkOrder.district_id.in_(sorted(actor.district_ids)) if actor.district_ids else false()
    if actor.role == "franchisee" and actor.franchisee_id is not None:
        return WorkOrder.franchisee_id == actor.franchisee_id
    return false()


def may_see(actor: Actor, order: WorkOrder) -> bool:
    if actor.role in STAFF_ROLES:
        return True
    if actor.role == "district_manager":
        return order.district_id in actor.district_ids
    if actor.role == "franchisee":
        return actor.franchisee_id is not None and order.franchisee_id == actor.franchisee_id
    return False


def visible_order(session: Session, number: str, actor: Actor) -> WorkOrder:
    """The order `number` if `actor` may see it; NotFound (the same message) otherwise."""
    try:
        num = parse_number(number)
    except ValidationError:
        raise NotFound("no work order {number!r}; order numbers are 10 digits, like 2632700001", number=number) from None
    order = session.scalar(select(WorkOrder).where(WorkOrder.number == num).options(
        selectinload(WorkOrder.events), selectinload(WorkOrder.price_lines)))
    if order is None or not may_see(actor, order):
        raise NotFound("no work order {num}", num=num)
    return order


@dataclass
class OrderFile:
    """Everything the order's page shows besides the order: its survey, complaints and call."""
    order: WorkOrder
    survey: Survey | None
    complaints: list[Complaint]
    call: Call | None


def order_file(session: Session, number: str, actor: Actor) -> OrderFile:
    """The order `number` (if `actor` may see it) with its survey, complaints and the call it came from."""
    order = visible_order(session, number, actor)
    return OrderFile(
        order=order,
        survey=session.scalar(select(Survey).where(Survey.order_id == order.id)),
        complaints=list(session.scalars(select(Complaint).where(Complaint.order_id == order.id)
                                        .order_by(Complaint.created_at))),
        call=session.get(Call, order.call_id) if order.call_id else None)


def _day_start(day: date, tz) -> datetime:
    return to_utc(datetime.combine(day, datetime.min.time()), tz)


def find_orders(session: Session, f: OrderFilter, actor: Actor, limit: int = LIMIT) -> list[WorkOrder]:
    """Orders matching `f` that `actor` may see, newest first (at most `limit`)."""
    tz = hotline_of(session).tz
    q = select(WorkOrder).options(selectinload(WorkOrder.customer), selectinload(WorkOrder.service),
                                  selectinload(WorkOrder.district), selectinload(WorkOrder.franchisee))
    cond = scope(actor)
    if cond is not None:
        q = q.where(cond)
    digits = "".join(ch for ch in f.number if ch.isdigit())
    if f.number.strip():
        if len(digits) < 4:
            raise ValidationError("give the order number, or at least 4 of its digits, e.g. 2632700001 or 00001")
        q = q.where(WorkOrder.number.contains(digits))
    if f.phone.strip():
        q = q.where(_phone_condition(session, f.phone))
    if f.name.strip():
        q = q.join(Customer, Customer.id == WorkOrder.customer_id).where(Customer.name.contains(f.name.strip()))
    if f.status:
        if f.status == "open":
            q = q.where(WorkOrder.status.in_(OPEN_STATES))
        elif f.status in STATES:
            q = q.where(WorkOrder.status == f.status)
        else:
            raise ValidationError("status {status!r} is not one of: open, {states}", status=f.status, states=', '.join(STATES))
    if f.district_id is not None:
        if session.get(District, f.district_id) is None:
            raise ValidationError("no district {district_id}; choose one from the list", district_id=f.district_id)
        q = q.where(WorkOrder.district_id == f.district_id)
    if f.service.strip():
        svc = session.scalar(select(Service).where(Service.code == f.service.strip().upper()))
        if svc is None:
            raise ValidationError("unknown service code {service!r}; choose one from the list", service=f.service)
        q = q.where(WorkOrder.service_id == svc.id)
    if f.franchisee_id is not None:
        q = q.where(WorkOrder.franchisee_id == f.franchisee_id)
    if f.date_from and f.date_to and f.date_to < f.date_from:
        raise ValidationError("the end date {date_to} is before the start date {date_from}; swap them", date_to=f.date_to, date_from=f.date_from)
    if f.date_from:
        q = q.where(WorkOrder.scheduled_start >= _day_start(f.date_from, tz))
    if f.date_to:
        q = q.where(WorkOrder.scheduled_start < _day_start(f.date_to + timedelta(days=1), tz))
    return list(session.scalars(q.order_by(WorkOrder.created_at.desc(), WorkOrder.id.desc()).limit(limit)))


def _phone_condition(session: Session, raw: str):
    """A whole number matches every order of the customer who owns it; a fragment matches by digits."""
    try:
        e164 = normalize(raw)
    except ValidationError:
        digits = "".join(ch for ch in raw if ch.isdigit())
        if len(digits) < 4:
            raise ValidationError("give the whole phone number, or at least 4 of its digits, e.g. 13800138000 "
                                  "or 8000") from None
        return WorkOrder.phone.contains(digits)
    cust = find_by_phone(session, e164)
    if cust is None:
        return WorkOrder.phone == e164
    return or_(WorkOrder.phone == e164, WorkOrder.customer_id == cust.id)
