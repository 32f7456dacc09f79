"""The named actions behind the menus' dynamic steps.

Each is a function of the step (`Turn`): an ACTION returns the next node; a `render` returns
the segments of its node's prompt; an INPUT action gets the keys, a RECORD action the file,
and returns the next node or None to have the caller try again. They speak with `turn.say`
and reach the database only through `turn.session` (the step's one short transaction), and
every business rule they need (booking, dispatch, who may hear an order, complaint deadlines)
is a call into `tickets`.
"""
from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import Any, Callable

from sqlalchemy import select

from tickets import actors, audit, complaints, orders, outbound
from tickets.bus import publish_after_commit
from tickets.errors import DuplicateBooking, HotlineError, NotFound, ValidationError
from tickets.bookable import last_bookable_day
from tickets.holidays import calendar
from tickets.models import WorkOrder
from tickets.numbers import parse_number
from tickets.phones import ANONYMOUS, normalize
from tickets.pricing import quote
from tickets.timeutil import to_local, to_utc

from . import hours, prompts
from .menus import EMERGENCY_LEAD, FALLBACK, MAX_LOOKUPS, SLOTS
from .phrases import Segment, digits, number, prompt, say_date, say_money, say_time
from .runtime import Turn

log = logging.getLogger(__name__)

ACTOR = actors.customer("ivr")
MAX_ORDERS_READ = 3          # open orders read out before suggesting an agent
DAY_WORDS = {0: "day.today", 1: "day.tomorrow", 2: "day.after"}


# -------------------------------------------------------------------- helpers

def _anonymous(turn: Turn) -> bool:
    return turn.state["caller"] == ANONYMOUS


def _local_today(turn: Turn) -> date:
    return to_local(turn.hl.now(), turn.hl.tz).date()


def _service_name(turn: Turn, service_id: int) -> Segment:
    """The service's name prompt; a service added after the prompts were built is named in the
    transcript and played as a generic word, never as a missing file."""
    code, name_zh = turn.catalog.service_names.get(service_id, ("", ""))
    key = f"svc.{code}.name"
    return prompt(key) if key in prompts.all_prompts() else prompt("svc.unnamed", name_zh or None)


def _booking_day(turn: Turn) -> date:
    if turn.vars.get("date"):
        return date.fromisoformat(turn.vars["date"])
    return _local_today(turn) + timedelta(days=int(turn.vars.get("day") or 0))


def _booking_start(turn: Turn) -> datetime:
    """Naive UTC start of the booking being made."""
    if turn.vars.get("asap"):
        return turn.hl.now().replace(second=0, microsecond=0) + EMERGENCY_LEAD
    local = datetime.combine(_booking_day(turn), SLOTS[turn.vars["slot"]])
    return to_utc(local, turn.hl.tz)


def _when(turn: Turn, start_utc: datetime) -> list[Segment]:
    local = to_local(start_utc, turn.hl.tz)
    return say_date(local.date(), turn.lang) + say_time(local, turn.lang)


def _order_lookup(turn: Turn, keys: str) -> WorkOrder | None | bool:
    """The order keyed in, when this caller may hear it; None when refused; False for a malformed number.

    Not found and someone else's order sound the same to the caller, so keying in numbers
    tells nothing about which orders exist.
    """
    turn.vars["lookups"] = int(turn.vars.get("lookups") or 0) + 1
    try:
        number_ = parse_number(keys)
    except ValidationError:
        turn.say("status.invalid")
        return False
    try:
        order = orders.get(turn.session, number_)
    except NotFound:
        return None
    return order if orders.phone_may_see(turn.session, order, turn.state["caller"]) else None


def _too_many_lookups(turn: Turn) -> bool:
    if int(turn.vars.get("lookups") or 0) >= MAX_LOOKUPS:
        turn.say("status.too_many")
        return True
    return False


def _read_order(turn: Turn, order: WorkOrder, with_number: bool) -> None:
    # Each part its own clause: "订单2632800001，水电维修，时间：11月23日…，状态：等待接单。"
    segs: list[Segment] = [prompt("status.order"), digits(order.number)] if with_number else []
    segs += [_service_name(turn, order.service_id), prompt("status.time"), *_when(turn, order.scheduled_start),
             prompt("status.state"), prompt(f"state.{order.status}")]
    turn.say(*segs)


# -------------------------------------------------------------------- start, greeting
def route_start(turn: Turn) -> str:
    """Callers whose language we know skip the language menu."""
    return "greet" if turn.vars.get("lang") else "lang"


def greet(turn: Turn) -> str:
    """Greet a known caller by name (in the transcript; the recorded prompt cannot hold a name)."""
    name = turn.vars.get("name")
    if turn.vars.get("customer_id") and name:
        turn.say(prompt("greet.known", prompts.GREETING_BY_NAME[turn.lang].format(name=name)))
    else:
        turn.say("greet.known" if turn.vars.get("customer_id") else "greet.new")
    return "main"


# -------------------------------------------------------------------- booking
def take_date(turn: Turn, keys: str) -> str | None:
    """MMDD: this year's date, or next year's once it has passed; within the bookable window."""
    today = _local_today(turn)
    if len(keys) != 4 or not keys.isdigit():
        return None
    try:
        day = date(today.year, int(keys[:2]), int(keys[2:]))
    except ValueError:
        day = None
    if day is not None and day < today:
        day = day.replace(year=today.year + 1)
    if day is None or day > last_bookable_day(turn.hl):
        turn.say("book.date.invalid", number(turn.hl.settings.booking_horizon_days), "book.date.invalid.days")
        return None
    turn.vars.update(date=day.isoformat(), day=None)
    return "book.slot"


def check_slot(turn: Turn) -> str:
    """A slot already past (this morning, at 10:00) is refused and the caller picks again."""
    if _booking_start(turn) <= turn.hl.now():
        turn.say("book.slot.past")
        return "book.slot"
    return "book.address"


def route_address(turn: Turn) -> str:
    """Offer the default address when the caller has one; otherwise record one."""
    return "book.address.confirm" if turn.vars.get("address") else "book.address.record"


def address_prompt(turn: Turn) -> list[Segment]:
    """The default address (its district played, the full text in the transcript), 1 use / 2 record."""
    addr = turn.vars["address"]
    where = (prompt(f"district.{addr['district']}", addr["text"]) if addr.get("district")
             else prompt("book.address.on_file", addr["text"]))
    return [prompt("book.address.default"), where, prompt("book.address.menu")]


def take_address_note(turn: Turn, file: str) -> str:
    """The recorded address goes on the order as a voice note for an agent to transcribe."""
    turn.vars.update(voice_note=file, address_choice="voice")
    return "book.phone.check"


def route_phone(turn: Turn) -> str:
    """A booking needs a number to call back: the caller ID, or one keyed in when it is withheld."""
    return "book.phone" if _anonymous(turn) and not turn.vars.get("phone") else "book.readback"


def take_phone(turn: Turn, keys: str) -> str | None:
    """A keyed-in contact number, normalised like every number entering Hotline."""
    try:
        turn.vars["phone"] = normalize(keys)
    except ValidationError:
        turn.say("book.phone.invalid")
        return None
    return "book.readback"


def readback(turn: Turn) -> list[Segment]:
    """What is about to be booked, then 1 confirm / 2 start again."""
    svc = turn.catalog.services[turn.vars["service"]]
    start = _booking_start(turn)
    segs: list[Segment] = [prompt("book.readback")]
    if not turn.vars.get("asap"):
        if turn.vars.get("day") is not None:
            segs.append(prompt(DAY_WORDS[int(turn.vars["day"])]))
        segs += say_date(_booking_day(turn), turn.lang) + [prompt(f"slot.{turn.vars['slot']}"),
                                                            prompt("book.readback.service")]
    segs += [prompt(f"svc.{svc.code}.name"), number(svc.default_quantity), prompt(f"unit.{svc.unit}"),
             prompt("book.readback.price"),
             *say_money(sum(line.amount_fen for line in quote(svc, svc.default_quantity, start, turn.hl.tz, calendar(turn.session))))]
    if turn.vars.get("asap"):
        segs.append(prompt("book.readback.asap"))
    segs.append(prompt("book.readback.voice_address" if turn.vars.get("address_choice") == "voice"
                       else "book.readback.default_address"))
    segs.append(prompt("book.confirm"))
    return segs


def restart_booking(turn: Turn) -> str:
    """2 at the read-back: forget the choices and start the booking (or the emergency) again."""
    urgent = turn.vars.get("urgent")
    for key in ("category", "service", "day", "date", "slot", "address_choice", "voice_note"):
        turn.vars[key] = None
    return "emergency" if urgent else "book.category"


def create_order(turn: Turn) -> str:
    """Book through `tickets.orders.book`; the number is read back twice, digit by digit."""
    s = turn.session
    try:
        with s.begin_nested():
            # By its code, through the booking's own catalog (tickets.cache, dropped by every
            # committed change): a price changed since the menus were built is the one charged,
            # and a service withdrawn since is refused.
            order = orders.book(
                s, phone=turn.vars.get("phone") or turn.state["caller"], service=turn.vars["service"],
                start=_booking_start(turn), actor=ACTOR, channel="ivr", urgent=True if turn.vars.get("urgent") else None,
                voice_note=turn.vars.get("voice_note") or "",
                default_address=turn.vars.get("address_choice") != "voice", call=turn.call())
    except DuplicateBooking as exc:
        # A caller who books the same again is usually not sure the first went through: they
        # want to hear the order they have, not a second visit.
        log.info("ivr call %s: same booking as order %s; not booked again", turn.state["call_id"], exc.number)
        turn.vars.update(order=exc.number, outcome="ended")
        turn.say("book.duplicate", digits(exc.number), "book.duplicate.agent")
        return "bye"
    except HotlineError as exc:
        log.warning("ivr call %s: booking refused: %s", turn.state["call_id"], exc)
        turn.say("book.failed")
        return FALLBACK
    turn.vars.update(order=order.number, outcome="booked")
    turn.say("book.done", digits(order.number), "book.done.repeat", digits(order.number))
    if order.needs_agent:
        turn.say("book.done.agent")
    elif order.franchisee_id:
        turn.say("book.done.dispatched")
    return "bye"


def start_emergency(turn: Turn) -> str:
    """Emergency repair: the catalog's emergency item, urgent, as soon as possible; straight to the address."""
    svc = turn.catalog.emergency_service()
    if svc is None:
        return "agent"
    turn.vars.update(category=svc.category, service=svc.code, urgent=True, asap=True)
    turn.say("emergency.intro")
    return "book.address"


# -------------------------------------------------------------------- status
def list_orders(turn: Turn) -> str:
    """Read the caller's open orders (service, date, state); a withheld number must key one in."""
    if _anonymous(turn):
        turn.say("status.anonymous")
        return "status.enter"
    open_ = orders.open_orders_for_phone(turn.session, turn.state["caller"])
    if not open_:
        turn.say("status.none")
        return "status.menu"
    turn.say("status.count", number(len(open_)), "status.count.tail.one" if len(open_) == 1 else "status.count.tail")
    for order in open_[:MAX_ORDERS_READ]:
        _read_order(turn, order, with_number=False)
    if len(open_) > MAX_ORDERS_READ:
        turn.say("status.more")
    turn.vars["outcome"] = "status"
    if len(open_) == 1:
        turn.vars["order"] = open_[0].number
    return "status.menu"


def look_up_order(turn: Turn, keys: str) -> str | None:
    """Read a keyed-in order, only to a number on it (`tickets.orders.phone_may_see`)."""
    if _too_many_lookups(turn):
        return FALLBACK
    order = _order_lookup(turn, keys)
    if order is False:
        return None
    if order is None:
        turn.say("status.refused")
        return "status.menu"
    _read_order(turn, order, with_number=True)
    turn.vars.update(order=order.number, outcome="status")
    return "status.menu"


# -------------------------------------------------------------------- complaint
def route_complaint(turn: Turn) -> str:
    """Offer the caller's latest order first; without one, key in a number or leave a general message."""
    turn.vars["complaint_order"] = None
    if turn.vars.get("customer_id"):
        latest = turn.session.execute(
            select(WorkOrder.number, WorkOrder.service_id, WorkOrder.scheduled_start)
            .where(WorkOrder.customer_id == turn.vars["customer_id"])
            .order_by(WorkOrder.created_at.desc(), WorkOrder.id.desc()).limit(1)).first()
        if latest is not None:
            turn.vars["complaint_order"] = latest.number
            turn.vars["latest"] = {"service_id": latest.service_id, "start": latest.scheduled_start.isoformat()}
            return "complaint.latest"
    return "complaint.menu"


def latest_order_prompt(turn: Turn) -> list[Segment]:
    """The caller's latest order (service, date), then the complaint choices."""
    latest = turn.vars["latest"]
    start = to_local(datetime.fromisoformat(latest["start"]), turn.hl.tz)
    return [prompt("complaint.latest"), _service_name(turn, latest["service_id"]), *say_date(start.date(), turn.lang),
            prompt("complaint.menu.latest")]


def take_complaint_order(turn: Turn, keys: str) -> str | None:
    """A keyed-in order to complain about; like status, only an order on the caller's number."""
    if _too_many_lookups(turn):
        return FALLBACK
    order = _order_lookup(turn, keys)
    if order is False:
        return None
    if order is None:
        turn.say("status.refused")
        return "complaint.menu"
    turn.vars.update(complaint_order=order.number, order=order.number)
    return "complaint.record"


def file_complaint(turn: Turn, file: str) -> str:
    """Open the complaint with the recording; tell the caller its number and when they will be answered."""
    s = turn.session
    order = orders.get(s, turn.vars["complaint_order"]) if turn.vars.get("complaint_order") else None
    complaint = complaints.open_complaint(s, actor=ACTOR, source="ivr", order=order, recording=file,
                                          phone="" if _anonymous(turn) else turn.state["caller"])
    due = to_local(complaint.due_at, turn.hl.tz)
    turn.say("complaint.done", digits(str(complaint.id)), "complaint.due",
             *say_date(due.date(), turn.lang), *say_time(due, turn.lang), "complaint.due.end")
    turn.vars.update(outcome="complaint", complaint=complaint.id)
    if order is not None:
        turn.vars["order"] = order.number
    return "bye"


# -------------------------------------------------------------------- agent, callback, fallback
def route_agent(turn: Turn) -> str:
    """In hours: the queue. Outside hours or on a holiday: say when we are open and offer a callback."""
    status = hours.agents_status(turn.session)
    if status == hours.OPEN:
        return "agent.transfer"
    if status == hours.HOLIDAY:
        turn.say("agent.holiday")
    else:
        start, end = turn.hl.settings.business_hours
        today = _local_today(turn)
        turn.say("agent.closed", *say_time(datetime.combine(today, start), turn.lang), "agent.closed.to",
                 *say_time(datetime.combine(today, end), turn.lang), "agent.closed.end")
    if _anonymous(turn):
        turn.say("agent.callback.anonymous")
        return "bye"
    return "agent.callback"


def request_callback(turn: Turn) -> str:
    """Put the caller on the callback worklist (tickets.outbound), note it on the call record
    (outcome `callback`), audit it, and tell listening consoles."""
    call = turn.call()
    local = to_local(turn.hl.now(), turn.hl.tz)
    call.notes = ((call.notes + "\n") if call.notes else "") + f"{local:%Y-%m-%d %H:%M} 非工作时间来电，请求回电"
    audit.record(turn.session, ACTOR, "call.callback_request", "call", call.id, {"phone": call.caller})
    outbound.request_callback(turn.session, phone=call.caller, source="after-hours", call_id=call.id,
                              customer_id=call.customer_id, actor=ACTOR)
    publish_after_commit(turn.session, "call.callback", {"call_id": call.id, "phone": call.caller,
                                                         "customer_id": call.customer_id})
    turn.vars["outcome"] = "callback"
    turn.say("callback.done")
    return "bye"


def fallback(turn: Turn) -> str:
    """The caller could not get on: an agent when we are open, else a polite end."""
    if hours.agents_status(turn.session) == hours.OPEN:
        turn.say("retry.transfer")
        return "agent.transfer"
    turn.say("retry.goodbye")
    return "bye"


ACTIONS: dict[str, Callable[..., Any]] = {f.__name__: f for f in (
    route_start, greet, take_date, check_slot, route_address, address_prompt, take_address_note, route_phone,
    take_phone, readback, restart_booking, create_order, start_emergency, list_orders, look_up_order,
    route_complaint, latest_order_prompt, take_complaint_order, file_complaint, route_agent, request_callback,
    fallback,
)}
