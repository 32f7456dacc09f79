"""Booking a work order from any channel, and reading one back."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload, selectinload

from . import customers as customers_mod
from .actors import SYSTEM, Actor
from .bookable import check_bookable
from .cache import cached
from .context import hotline_of
from .dispatch import dispatch, resolve_district
from .errors import DuplicateBooking, NotFound, ValidationError
from .holidays import calendar
from .models import Call, CustomerPhone, PriceLine, Service, WorkOrder
from .numbers import next_number, parse_number
from .phones import ANONYMOUS, mask, normalize
from .pricing import check_quantity, quote
from .timeutil import to_local, to_utc
from .workflow import EVENT_TIMES, OPEN_STATES, record_creation, transition

CHANNELS = ("ivr", "agent", "sms", "online", "twilio")


def _active_services(session: Session) -> dict[str, int]:
    """Code -> id of every active service (kept until the catalog changes: tickets.cache)."""
    return cached(session, "services", lambda s: dict(s.execute(select(Service.code, Service.id).where(Service.active)).all()))


def service_by_code(session: Session, code: str) -> Service:
    """The active service with this SMS code (any case)."""
    service_id = _active_services(session).get((code or "").strip().upper())
    if service_id is None:
        raise ValidationError("unknown service code {code!r}; codes are: {codes}", code=code,
                              codes=", ".join(sorted(_active_services(session))))
    return session.get(Service, service_id)


# Day words `parse_when` takes before HH:MM, given today's local date (so a typed example works any day).
DAY_WORDS = {"today": 0, "tomorrow": 1, "今天": 0, "明天": 1, "后天": 2}


def parse_when(text: str, tz, today: date | None = None) -> datetime:
    """'YYYY-MM-DD HH:MM' in local time -> naive UTC; with `today`, also 'tomorrow 09:00' (DAY_WORDS)."""
    try:
        word, _, clock = text.strip().partition(" ")
        if today is not None and word.lower() in DAY_WORDS:
            day = today + timedelta(days=DAY_WORDS[word.lower()])
            local = datetime.combine(day, datetime.strptime(clock.strip(), "%H:%M").time())
        else:
            local = datetime.strptime(text.strip(), "%Y-%m-%d %H:%M")
    except (ValueError, AttributeError):
        if today is None:
            raise ValidationError("{text!r} is not a time; write YYYY-MM-DD HH:MM, e.g. 2026-12-01 09:00", text=text) from None
        raise ValidationError('{text!r} is not a time; write YYYY-MM-DD HH:MM, e.g. 2026-12-01 09:00, or "tomorrow 09:00"',
                              text=text) from None
    return to_utc(local, tz)


def book(session: Session, *, phone: str, service: Service | str, start: datetime, actor: Actor = SYSTEM,
         channel: str = "agent", address: str | None = None, district_id: int | None = None,
         quantity: int | None = None, urgent: bool | None = None, name: str = "", notes: str = "",
         voice_note: str = "", call: Call | None = None, auto_dispatch: bool = True,
         default_address: bool = True, allow_duplicate: bool = False) -> WorkOrder:
    """Create, price, confirm and dispatch an order in the caller's transaction.

    `start` is naive UTC. With no address the customer's default address is used. An address
    that matches no district, or several, leaves the order `new` and flagged for an agent.
    `default_address=False` means the caller gave a new address only as a voice note (IVR): the
    default is not used and the order waits, flagged, for an agent to transcribe the note.
    An open order of the same phone, service and start raises DuplicateBooking (naming it) unless
    `allow_duplicate`: the customer confirmed they want a second one.
    """
    if channel not in CHANNELS:
        raise ValidationError("channel {channel!r} is not one of {channels}", channel=channel, channels=', '.join(CHANNELS))
    hl = hotline_of(session)
    now = hl.now()
    svc = service if isinstance(service, Service) else service_by_code(session, service)
    qty = check_quantity(quantity if quantity is not None else svc.default_quantity)
    if start <= now:
        raise ValidationError("the service time must be in the future; got {value:%Y-%m-%d %H:%M} local time", value=to_local(start, hl.tz))
    check_bookable(hl, start)
    lines = quote(svc, qty, start, hl.tz, calendar(session))
    e164 = normalize(phone)
    if not allow_duplicate:
        _one_booking_of_phone_at_a_time(session, e164)
        same = duplicate_of(session, e164, svc, start)
        if same is not None:
            raise DuplicateBooking("{phone} already has order {number} for {service} at {start:%Y-%m-%d %H:%M}; nothing was "
                                   "booked. Book a second one only if the customer confirms they want two",
                                   phone=mask(e164), number=same, service=svc.name_zh, start=to_local(start, hl.tz))
    cust = customers_mod.get_or_create(session, e164, name)

    flags: list[str] = []
    addr_obj = None
    if address:
        text = address.strip()[:255]
        if district_id is None:
            match = resolve_district(session, text)
            if match.district:
                district_id = match.district.id
            elif match.ambiguous:
                flags.append("address matches several districts: " + ", ".join(d.name_zh for d in match.candidates))
            else:
                flags.append("address matches no district")
        addr_obj = customers_mod.add_address(session, cust, text, district_id)
    else:
        addr_obj = cust.default_address if default_address else None
        if addr_obj is None:
            text = ""
            flags.append("no address given" + (" (voice note recorded)" if voice_note else ""))
        else:
            text = addr_obj.text
            district_id = district_id or addr_obj.district_id
            if district_id is None:
                flags.append("default address has no district")

    order = WorkOrder(
        number=next_number(session, now, hl.tz), status="new", channel=channel, customer=cust, phone=e164,
        service=svc, quantity=qty, scheduled_start=start, address_text=text, address_id=addr_obj.id if addr_obj else None,
        district_id=district_id, urgent=svc.emergency if urgent is None else urgent, needs_agent=bool(flags),
        flag_reason="; ".join(flags)[:255], notes=notes, voice_note=voice_note, call_id=call.id if call else None,
        price_total_fen=sum(line.amount_fen for line in lines), created_at=now, updated_at=now,
        price_lines=[PriceLine(kind=line.kind, description=line.description, quantity=line.quantity,
                               unit_price_fen=line.unit_price_fen, amount_fen=line.amount_fen) for line in lines])
    session.add(order)
    record_creation(session, order, actor, {"channel": channel, "flags": flags, "price_total_fen": order.price_total_fen})
    if order.district_id is not None:
        transition(session, order, "confirm", actor)
    if order.status == "confirmed" and auto_dispatch:
        dispatch(session, order, SYSTEM)
    if call is not None:
        call.order_id = order.id
    return order


def _one_booking_of_phone_at_a_time(session: Session, phone: str) -> None:
    """Two identical bookings at once (an SMS Y and a call, a double-clicked form) must not both
    find no duplicate: on PostgreSQL a booking of this number waits for any other one's transaction
    to end (an advisory lock on the number, released with the transaction), then reads afresh
    (READ COMMITTED). SQLite's transactions are serial already (tickets.sqlite)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(func.hashtext(phone))))


def duplicate_of(session: Session, phone: str, service: Service, start: datetime) -> str | None:
    """The number of an open order of this phone (E.164) for the same service at the same start:
    booking it again is usually a repeated request (a caller who was not sure it went through, an
    SMS sent twice). Only the number is read: every booking asks."""
    return session.scalar(select(WorkOrder.number).where(
        WorkOrder.phone == phone, WorkOrder.service_id == service.id, WorkOrder.scheduled_start == start,
        WorkOrder.status.in_(OPEN_STATES)).order_by(WorkOrder.id).limit(1))


def get(session: Session, number: str) -> WorkOrder:
    num = parse_number(number)
    order = session.scalar(select(WorkOrder).where(WorkOrder.number == num)
                           .options(selectinload(WorkOrder.events), selectinload(WorkOrder.price_lines)))
    if order is None:
        raise NotFound("no work order {num}", num=num)
    return order


def open_orders_for_phone(session: Session, phone: str) -> list[WorkOrder]:
    """Open orders of the customer who owns `phone` (any of their numbers), earliest first, with
    their services (what a caller hears read out)."""
    if not phone or phone == ANONYMOUS:
        return []
    e164 = phone if phone.startswith("+") else normalize(phone)
    return list(session.scalars(
        select(WorkOrder).join(CustomerPhone, CustomerPhone.customer_id == WorkOrder.customer_id)
        .where(CustomerPhone.e164 == e164, WorkOrder.status.in_(OPEN_STATES))
        .options(joinedload(WorkOrder.service)).order_by(WorkOrder.scheduled_start, WorkOrder.id)))


def phone_may_see(session: Session, order: WorkOrder, phone: str) -> bool:
    """A caller may hear an order only when calling from the order's number or another of its customer's."""
    cust = customers_mod.find_by_phone(session, phone)
    return order.phone == phone or (cust is not None and cust.id == order.customer_id)


def amount_due(order: WorkOrder) -> int:
    """What the customer owes: the penalty alone for a cancelled order, else the total."""
    if order.status == "cancelled":
        return sum(l.amount_fen for l in order.price_lines if l.kind == "penalty")
    return order.price_total_fen


def event_data(event, tz) -> dict[str, Any]:
    """An event's data with its times in local time, like every other time `to_dict` gives."""
    return {k: to_local(datetime.fromisoformat(v), tz).isoformat() if k in EVENT_TIMES and v else v
            for k, v in (event.data or {}).items()}


def to_dict(order: WorkOrder, tz, *, history: bool = False, masked: bool = False) -> dict[str, Any]:
    """JSON-ready view of an order; `masked` hides the phone and address for people who may not see them."""
    out: dict[str, Any] = {
        "number": order.number, "status": order.status, "channel": order.channel,
        "service": {"code": order.service.code, "name_zh": order.service.name_zh, "name_en": order.service.name_en},
        "quantity": order.quantity,
        "scheduled_start": to_local(order.scheduled_start, tz).isoformat(),
        "customer": order.customer.name,
        "phone": mask(order.phone) if masked else order.phone,
        "address": ("***" if order.address_text else "") if masked else order.address_text,
        "district": order.district.name_zh if order.district else None,
        "franchisee": order.franchisee.name if order.franchisee else None,
        "worker": order.worker.name if order.worker else None,
        "urgent": order.urgent, "needs_agent": order.needs_agent, "flag_reason": order.flag_reason,
        "unassigned_reason": order.unassigned_reason,
        "accept_deadline": to_local(order.accept_deadline, tz).isoformat() if order.accept_deadline else None,
        "price_lines": [{"kind": l.kind, "description": l.description, "quantity": l.quantity,
                         "unit_price_fen": l.unit_price_fen, "amount_fen": l.amount_fen} for l in order.price_lines],
        "price_total_fen": order.price_total_fen, "amount_due_fen": amount_due(order),
        "final_price_fen": order.final_price_fen,
        "created_at": to_local(order.created_at, tz).isoformat(),
    }
    if history:
        out["history"] = [{"at": to_local(e.created_at, tz).isoformat(), "action": e.action,
                           "from": e.from_status, "to": e.to_status, "by": e.actor_label or e.actor_role,
                           "role": e.actor_role, "data": event_data(e, tz)} for e in order.events]
    return out
