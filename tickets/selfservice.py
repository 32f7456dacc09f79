"""What residents do themselves on the public pages: look an order up with a one-time code, change
or cancel it within the rules, and book online with a verified phone.

The rules are the core's own: codes `tickets.otp`, booking `orders.book` (channel `online`, which
prices, refuses duplicates and dispatches), moves `workflow.transition` as the customer (the
72-hour penalty is `pricing.late_change_penalty`), slots and window `tickets.bookable`. The SMS
with a code is sent by the caller (the console, the SMS channel), which may import sms.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from . import orders, otp
from .actors import customer
from .bookable import SLOTS, check_bookable
from .context import hotline_of
from .dispatch import resolve_district
from .errors import DuplicateBooking, NotFound, ValidationError
from .holidays import calendar
from .models import District, Service, WorkOrder
from .numbers import parse_number
from .phones import mask, normalize
from .pricing import Line, check_quantity, late_change_penalty, quote
from .timeutil import to_utc
from .workflow import allowed_actions, transition

ACTOR = customer("online")
# What a customer may do to an order from the lookup page (each still checked by the workflow).
CUSTOMER_MOVES = ("reschedule", "cancel")


# ---------------------------------------------------------------- lookup

def request_lookup_code(session: Session, number: str, remote_addr: str = "") -> otp.Issued:
    """A code for order `number`, to its phone; an unknown number gets the same answer and no SMS."""
    num = parse_number(number)
    phone = session.scalar(select(WorkOrder.phone).where(WorkOrder.number == num)) or ""
    return otp.issue(session, "lookup", num, phone, remote_addr)


def verify_lookup_code(session: Session, number: str, code: str) -> otp.Check:
    return otp.verify(session, "lookup", parse_number(number), code)


@dataclass(frozen=True)
class Progress:
    """An order as its customer sees it on the lookup page: contact details masked."""
    order: WorkOrder
    phone: str               # masked
    address: str             # district + ***
    worker: str              # the worker's short name ("" before one is assigned)
    moves: tuple[str, ...]   # of CUSTOMER_MOVES, those the order allows now
    penalty: Line | None     # what a change or cancellation costs now (None: free)


def worker_short_name(name: str) -> str:
    """What a customer is told of the worker: the first name of a Latin name ("Anna Li" -> "Anna"),
    the family name of a Chinese one (陈静 -> 陈), which the page shows as 陈师傅."""
    name = (name or "").strip()
    if not name:
        return ""
    return name.split()[0] if name.isascii() else name[0]


def progress(session: Session, number: str) -> Progress:
    """The order `number` for the customer who proved its phone (NotFound when it does not exist)."""
    order = session.scalar(select(WorkOrder).where(WorkOrder.number == parse_number(number)).options(
        selectinload(WorkOrder.events), selectinload(WorkOrder.price_lines)))
    if order is None:
        raise NotFound("no work order {number}", number=number)
    now = hotline_of(session).now()
    district = order.district.name_zh if order.district else ""
    moves = tuple(m for m in CUSTOMER_MOVES if m in allowed_actions(order, ACTOR))
    return Progress(order=order, phone=mask(order.phone), address=f"{district} ***".strip() if order.address_text else "",
                    worker=worker_short_name(order.worker.name) if order.worker else "", moves=moves,
                    penalty=late_change_penalty(order.price_total_fen, order.scheduled_start, now) if moves else None)


def slot_start(session: Session, day: date | None, slot: str) -> datetime:
    """A local day and slot name as naive UTC; refused when missing, unknown or in the past."""
    hl = hotline_of(session)
    if day is None:
        raise ValidationError("choose the day of the service")
    if slot not in SLOTS:
        raise ValidationError("choose a time: {slots}", slots=', '.join(SLOTS))
    start = to_utc(datetime.combine(day, SLOTS[slot]), hl.tz)
    if start <= hl.now():
        raise ValidationError("{day:%Y-%m-%d} {slot} has passed; choose a later day or time", day=day, slot=slot)
    check_bookable(hl, start)
    return start


def reschedule(session: Session, number: str, start: datetime) -> WorkOrder:
    """Move the order to `start` (naive UTC) as its customer; a late change carries the penalty."""
    order = progress(session, number).order
    transition(session, order, "reschedule", ACTOR, when=start)
    return order


def cancel(session: Session, number: str) -> WorkOrder:
    """Cancel the order as its customer; a late cancellation carries the penalty."""
    order = progress(session, number).order
    transition(session, order, "cancel", ACTOR, reason="cancelled by the customer online")
    return order


# ---------------------------------------------------------------- online booking

@dataclass(frozen=True)
class BookingRequest:
    """What the booking page posts (already typed: the day a date, the quantity a number)."""
    service: str
    day: date | None
    slot: str
    address: str
    phone: str
    name: str = ""
    quantity: int | None = None


@dataclass(frozen=True)
class Readback:
    """A booking priced and checked, read back before the phone's code is asked for."""
    service: Service
    start: datetime          # naive UTC
    quantity: int
    lines: list[Line]
    total_fen: int
    phone: str               # E.164
    address: str
    district: District | None   # None: an agent will place the address


def readback(session: Session, req: BookingRequest) -> Readback:
    """Check and price `req` as `orders.book` will (unknown service, past or too far, duplicate)."""
    try:
        svc = orders.service_by_code(session, req.service)
    except ValidationError:
        raise ValidationError("unknown service {service!r}; choose one from the list", service=req.service) from None
    start = slot_start(session, req.day, req.slot)
    qty = check_quantity(req.quantity if req.quantity is not None else svc.default_quantity)
    address = req.address.strip()[:255]
    if not address:
        raise ValidationError("write the address of the service, e.g. 天山区解放南路88号")
    phone = normalize(req.phone)
    same = orders.duplicate_of(session, phone, svc, start)
    if same is not None:
        raise DuplicateBooking("{phone} already has order {number} for this service at this time; nothing was booked",
                               phone=mask(phone), number=same)
    hl = hotline_of(session)
    lines = quote(svc, qty, start, hl.tz, calendar(session))
    return Readback(service=svc, start=start, quantity=qty, lines=lines, total_fen=sum(x.amount_fen for x in lines),
                    phone=phone, address=address, district=resolve_district(session, address).district)


def request_booking_code(session: Session, req: BookingRequest, remote_addr: str = "") -> tuple[Readback, otp.Issued]:
    """The read-back of `req` and a code for its phone (the subject: verifying that phone)."""
    back = readback(session, req)
    return back, otp.issue(session, "booking", back.phone, back.phone, remote_addr)


def confirm_booking(session: Session, req: BookingRequest, code: str) -> WorkOrder | otp.Check:
    """Book `req` once the phone's code is right (the order, dispatched like any other); else the
    failed Check, whose try the caller's transaction must commit.

    The booking is checked before the code: a request that cannot be booked is refused without
    looking at the code, so its answer says nothing of the code, and no guess is made that a
    refusal would roll back uncounted."""
    back = readback(session, req)
    check = otp.verify(session, "booking", back.phone, code)
    if not check.ok:
        return check
    return orders.book(session, phone=back.phone, service=back.service, start=back.start, actor=ACTOR,
                       channel="online", address=back.address, quantity=back.quantity, name=req.name.strip()[:64])

