"""The SMS dialogue: one inbound message in, at most one reply out, all in the caller's transaction.

`receive(session, msg, inline=...)` stores the message, applies flood control and opt-out,
parses it and runs the handler for its intent (HANDLERS). A booking or a cancellation is read
back first and waits in `sms_conversations` for Y/N for PENDING_FOR; Y is claimed with one
conditional UPDATE (pending -> confirmed), so two Y replies racing each other create one order.

Business rules are the core's: booking `tickets.orders.book` (which dispatches), cancelling
`tickets.workflow.transition`, prices `tickets.pricing`, surveys `tickets.surveys.record`.

The reply to a message that booked or cancelled an order is that event's notice (kind
`booked`/`cancelled`, dedupe key of the event), so the customer gets one message, not two
(sms/notices.py skips events the SMS customer caused).

Opting out (TD/退订) stops notices, not answers: a message from an opted-out number is answered
like any other, and the answer says how to resume notices (发送"订阅"恢复通知).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from tickets import complaints, orders, selfservice, surveys
from tickets.actors import customer
from tickets.context import Hotline, hotline_of
from tickets.customers import find_by_phone
from tickets.dispatch import resolve_district
from tickets.errors import DuplicateBooking, HotlineError
from tickets.otp import TooManyCodes
from tickets.bookable import holiday_first_day, last_bookable_day, within_window
from tickets.holidays import calendar
from tickets.models import SmsConversation, SmsMessage, WorkOrder
from tickets.phones import ANONYMOUS
from tickets.pricing import late_change_penalty, quote, yuan
from tickets.timeutil import to_local, to_utc
from tickets.workflow import BEFORE_SERVICE, allowed_actions, transition

# notices imports this module too: both use the other's names only at run time.
from . import notices, outbox, ratelimit, replies, segments
from .inbound import Inbound
from .optout import is_opted_out, set_opted_out
from .parse import Catalog, Request, parse
from .replies import render

log = logging.getLogger(__name__)

PENDING_FOR = timedelta(minutes=30)
EXPIRED_NOTICE_WITHIN = timedelta(hours=24)   # a late Y is told its request expired, within this
ACTOR = customer("sms")


@dataclass(frozen=True)
class Reply:
    text: str
    kind: str = "reply"
    order: WorkOrder | None = None
    dedupe_key: str | None = None


@dataclass
class Turn:
    """One inbound message being answered."""
    session: Session
    hl: Hotline
    phone: str
    now: datetime
    catalog: Catalog


def receive(session: Session, msg: Inbound, *, inline: bool) -> str | None:
    """Store `msg`, act on it and return the reply text (None: no reply).

    `inline`: the reply leaves in the webhook's answer (Twilio TwiML) and is recorded as sent;
    otherwise it is queued for the configured outbound provider (Aliyun/Tencent inbound).
    """
    hl = hotline_of(session)
    now = hl.now()
    row = {"direction": "in", "provider": msg.provider, "provider_sid": msg.sid, "phone": msg.phone,
           "body": msg.body, "segments": segments.count(msg.body), "status": "received", "created_at": now,
           "updated_at": now}
    if msg.phone == ANONYMOUS:
        _store(session, row, "anonymous")
        log.info("sms %s from an unusable number %r stored, not answered", msg.sid, msg.raw_from)
        return None
    verdict = ratelimit.verdict(session, msg.phone, now)
    if verdict != "ok":
        _store(session, row, ratelimit.FLOOD_KIND)
        reply = Reply(render("flood"), kind=ratelimit.FLOOD_KIND) if verdict == "notify" else None
    else:
        turn = Turn(session, hl, msg.phone, now, Catalog.load(session))
        req = parse(msg.body, turn.catalog, to_local(now, hl.tz).replace(tzinfo=None),
                    lambda name: holiday_first_day(session, name))
        _store(session, row, req.intent)
        reply = HANDLERS[req.intent](turn, req)
    if reply is None:
        return None
    # Read after the handler: TD and 订阅 have just changed it, and their replies say so already.
    resume = reply.kind not in ("optout", "optin") and is_opted_out(session, msg.phone)
    text = segments.fit(reply.text, tail=replies.TEXTS["optout_resume"] if resume else "")
    if inline:
        outbox.record_reply(session, msg.phone, text, provider=msg.provider, kind=reply.kind, order=reply.order,
                            dedupe_key=reply.dedupe_key)
    else:
        outbox.enqueue(session, msg.phone, kind=reply.kind, template="reply", params={"text": text}, order=reply.order,
                       dedupe_key=reply.dedupe_key, answers_sender=True)
    return text


_INBOUND_COLUMNS = ("direction", "provider", "provider_sid", "phone", "body", "segments", "status", "kind",
                    "created_at", "updated_at")
_STORE_INBOUND = insert(SmsMessage.__table__).values({**{c: bindparam(c) for c in _INBOUND_COLUMNS}, "error": ""})
_CONVERSATIONS = SmsConversation.__table__
_REPLACE_PENDING = (update(_CONVERSATIONS)
                    .where(_CONVERSATIONS.c.phone == bindparam("for_phone"), _CONVERSATIONS.c.status == "pending")
                    .values(status="replaced"))
_NEW_QUESTION = insert(_CONVERSATIONS).values(
    {c: bindparam(c) for c in ("phone", "kind", "payload", "status", "expires_at", "order_id", "created_at")})


def _store(session: Session, row: dict, kind: str) -> None:
    """The inbound message, written once its kind is known (one INSERT, no UPDATE), before any
    handler runs."""
    session.execute(_STORE_INBOUND, {**row, "kind": kind})


# ---------------------------------------------------------------- pending requests

def _pending(turn: Turn) -> SmsConversation | None:
    return turn.session.scalar(select(SmsConversation).where(
        SmsConversation.phone == turn.phone, SmsConversation.status == "pending")
        .order_by(SmsConversation.id.desc()).limit(1))


def _start(turn: Turn, kind: str, payload: dict, order: WorkOrder | None = None) -> None:
    """A new question for this number; an older unanswered one is replaced.

    Every read of a question selects by status in SQL, so a row replaced here is never mistaken
    for a pending one, even if an earlier message of this session loaded it.
    """
    turn.session.execute(_REPLACE_PENDING, {"for_phone": turn.phone})
    turn.session.execute(_NEW_QUESTION, {"phone": turn.phone, "kind": kind, "payload": payload, "status": "pending",
                                     "expires_at": turn.now + PENDING_FOR, "order_id": order.id if order else None,
                                     "created_at": turn.now})


def _claim(turn: Turn, conv: SmsConversation, status: str) -> bool:
    """pending -> `status` for this conversation, only if still pending (the race with a second Y)."""
    done = turn.session.execute(update(SmsConversation).where(
        SmsConversation.id == conv.id, SmsConversation.status == "pending").values(status=status)).rowcount
    turn.session.refresh(conv)
    return bool(done)


def expire_stale(hl: Hotline) -> int:
    """Mark every pending request past its 30 minutes as expired (the console shows the real state)."""
    with hl.session() as s, s.begin():
        return s.execute(update(SmsConversation).where(
            SmsConversation.status == "pending", SmsConversation.expires_at <= hl.now())
            .values(status="expired")).rowcount


# ---------------------------------------------------------------- handlers

def _book(turn: Turn, req: Request) -> Reply:
    if req.problems:
        return Reply(replies.problems_text(req, turn.catalog))
    s, tz = turn.session, turn.hl.tz
    svc = orders.service_by_code(s, req.service)
    quantity = req.quantity or svc.default_quantity
    start = to_utc(req.when, tz)
    if not within_window(turn.hl, start):
        return Reply(render("too_far", days=turn.hl.settings.booking_horizon_days,
                            last=f"{last_bookable_day(turn.hl):%Y-%m-%d}"))
    address, notes, check = None, req.rest, ""
    if req.rest:
        match = resolve_district(s, req.rest)
        if match.district or match.ambiguous:
            address, notes = req.rest, ""
            check = "" if match.district else replies.TEXTS["check_address"]
    if address is None:
        cust = find_by_phone(s, turn.phone)
        default = cust.default_address if cust else None
        if default is None:
            return Reply(render("need_address", code=svc.code))
        address_shown = default.text
        check = "" if default.district_id else replies.TEXTS["check_address"]
    else:
        address_shown = address
    same = orders.duplicate_of(s, turn.phone, svc, start)
    if same is not None:
        # A texter who sends the same booking again is most likely not sure the first went
        # through: name the order they have; a second one is for the hotline to confirm.
        return _duplicate(turn, same, svc.name_zh, start)
    lines = quote(svc, quantity, start, tz, calendar(turn.session))
    price = sum(line.amount_fen for line in lines)
    _start(turn, "book", {"service": svc.code, "start": start.isoformat(), "quantity": quantity,
                          "address": address, "notes": notes, "price_fen": price})
    return Reply(render("readback", service=svc.name_zh, quantity=replies.quantity_text(quantity, svc.unit),
                        when=replies.when_text(start, tz, turn.now), price=yuan(price),
                        holiday="(含节假日加价)" if any(line.kind == "holiday" for line in lines) else "",
                        address=replies.quote(address_shown), check=check))


def _yes(turn: Turn, req: Request) -> Reply:
    conv = _pending(turn)
    if conv is None:
        return _after_the_fact(turn)
    if conv.expires_at <= turn.now:
        _claim(turn, conv, "expired")
        return Reply(render("expired"))
    if not _claim(turn, conv, "confirmed"):
        return _after_the_fact(turn)
    return CONFIRM[conv.kind](turn, conv)


def _after_the_fact(turn: Turn) -> Reply:
    """Y with nothing pending: say what became of the latest request, if it is recent."""
    last = turn.session.scalar(select(SmsConversation).where(
        SmsConversation.phone == turn.phone, SmsConversation.created_at > turn.now - EXPIRED_NOTICE_WITHIN)
        .order_by(SmsConversation.id.desc()).limit(1))
    if last is not None and last.status == "confirmed" and last.order_id:
        order = turn.session.get(WorkOrder, last.order_id)
        return Reply(render("already_booked" if last.kind == "book" else "already_cancelled", number=order.number))
    if last is not None and (last.status == "expired" or (last.status == "pending" and last.expires_at <= turn.now)):
        return Reply(render("expired"))
    return Reply(render("nothing_pending"))


def _confirm_booking(turn: Turn, conv: SmsConversation) -> Reply:
    s, p = turn.session, conv.payload
    start = datetime.fromisoformat(p["start"])
    # What can change in the 30 minutes since the read-back is checked here, before anything is
    # written; anything else book() refuses is a fault and rolls the whole message back.
    why = "预约时间已过" if start <= turn.now else "该服务暂停预约" if p["service"] not in turn.catalog.codes else ""
    if why:
        conv.status = "failed"
        return Reply(render("book_failed", why=why))
    try:
        with s.begin_nested():
            order = orders.book(s, phone=turn.phone, service=p["service"], start=start, actor=ACTOR, channel="sms",
                                address=p.get("address"), quantity=p.get("quantity"), notes=p.get("notes") or "")
    except DuplicateBooking as exc:          # booked by another channel since the read-back
        conv.status = "failed"
        return _duplicate(turn, exc.number, orders.service_by_code(s, p["service"]).name_zh, start)
    s.flush()                 # event ids key the notice this reply stands for
    conv.order_id = order.id
    created = order.events[0]
    return Reply(render("booked", number=order.number, service=order.service.name_zh,
                        when=replies.when_text(order.scheduled_start, turn.hl.tz, turn.now),
                        check=replies.TEXTS["check_address"] if order.needs_agent else ""),
                 kind="booked", order=order, dedupe_key=f"{created.id}:booked")


def _confirm_cancel(turn: Turn, conv: SmsConversation) -> Reply:
    s = turn.session
    order = s.get(WorkOrder, conv.order_id)
    if not _cancellable(order):       # started (or cancelled by an agent) since the read-back
        conv.status = "failed"
        return Reply(render("cannot_cancel", number=order.number, status=replies.STATUS_ZH.get(order.status, "")))
    ev = transition(s, order, "cancel", ACTOR, reason="客户短信取消")
    s.flush()
    return Reply(render("cancelled", number=order.number, service=order.service.name_zh,
                        penalty=replies.penalty_suffix(ev.data.get("penalty_fen"))),
                 kind="cancelled", order=order, dedupe_key=f"{ev.id}:cancelled")


def _duplicate(turn: Turn, number: str, service: str, start: datetime) -> Reply:
    return Reply(render("duplicate", number=number, service=service,
                        when=replies.when_text(start, turn.hl.tz, turn.now)))


CONFIRM: dict[str, Callable[[Turn, SmsConversation], Reply]] = {"book": _confirm_booking, "cancel": _confirm_cancel}


def _no(turn: Turn, req: Request) -> Reply:
    conv = _pending(turn)
    if conv is None or conv.expires_at <= turn.now or not _claim(turn, conv, "declined"):
        return Reply(render("nothing_pending"))
    if conv.kind == "cancel":
        return Reply(render("declined_cancel", number=conv.payload.get("number", "")))
    return Reply(render("declined_book"))


def _visible_order(turn: Turn, number: str) -> WorkOrder | None:
    """The order, if this number may see it (else None: unknown and not-yours read the same)."""
    try:
        order = orders.get(turn.session, number)
    except HotlineError:
        return None
    return order if orders.phone_may_see(turn.session, order, turn.phone) else None


def _query(turn: Turn, req: Request) -> Reply:
    if req.problems:
        return Reply(replies.PROBLEMS["bad_number"])
    if req.number:
        order = _visible_order(turn, req.number)
        if order is None:
            return _query_by_code(turn, req)
        return Reply(replies.status_text(order, turn.hl.tz, turn.now), order=order)
    mine = orders.open_orders_for_phone(turn.session, turn.phone)
    if not mine:
        return Reply(render("no_open_orders"))
    lines = "；".join(replies.order_line(o, turn.hl.tz, turn.now) for o in mine)
    return Reply(render("open_orders", count=len(mine), lines=lines))


def _query_by_code(turn: Turn, req: Request) -> Reply:
    """Another number's order (or none): "CX number" sends a code to the order's phone, with the
    same answer whether the order exists or not; "CX number code" then shows its status."""
    if req.code:
        check = selfservice.verify_lookup_code(turn.session, req.number, req.code)
        if not check.ok:
            return Reply(render("code_refused", why=replies.CODE_REFUSED[check.reason].format(tries=check.tries_left)))
        order = orders.get(turn.session, req.number)
        return Reply(replies.status_text(order, turn.hl.tz, turn.now), order=order)
    try:
        issued = selfservice.request_lookup_code(turn.session, req.number, f"sms:{turn.phone}")
    except TooManyCodes:
        return Reply(render("code_too_many"))
    notices.send_code(turn.session, issued, "lookup", req.number)
    return Reply(render("code_sent", number=req.number))


def _cancellable(order: WorkOrder) -> bool:
    return order.status in BEFORE_SERVICE and "cancel" in allowed_actions(order, ACTOR)


def _cancel(turn: Turn, req: Request) -> Reply:
    if req.problems:
        return Reply(replies.PROBLEMS["bad_number"])
    if not req.number:
        if _pending(turn) is not None:
            return _no(turn, req)      # 取消 in answer to a read-back means N
        mine = [o for o in orders.open_orders_for_phone(turn.session, turn.phone) if _cancellable(o)]
        if not mine:
            return Reply(render("nothing_to_cancel"))
        lines = "；".join(replies.order_line(o, turn.hl.tz, turn.now) for o in mine)
        return Reply(render("cancel_which", first=mine[0].number, lines=lines))
    order = _visible_order(turn, req.number)
    if order is None:
        return Reply(render("not_found", number=req.number))
    if not _cancellable(order):
        return Reply(render("cannot_cancel", number=order.number, status=replies.STATUS_ZH.get(order.status, "")))
    penalty = late_change_penalty(order.price_total_fen, order.scheduled_start, turn.now)
    _start(turn, "cancel", {"number": order.number, "penalty_fen": penalty.amount_fen if penalty else 0}, order)
    return Reply(render("cancel_readback", number=order.number, service=order.service.name_zh,
                        when=replies.when_text(order.scheduled_start, turn.hl.tz, turn.now),
                        penalty=render("cancel_penalty", amount=yuan(penalty.amount_fen)) if penalty
                        else render("cancel_free")), order=order)


def _optout(turn: Turn, req: Request) -> Reply:
    set_opted_out(turn.session, turn.phone, True)
    return Reply(render("optout"), kind="optout")


def _optin(turn: Turn, req: Request) -> Reply:
    set_opted_out(turn.session, turn.phone, False)
    return Reply(render("optin"), kind="optin")


def _help(turn: Turn, req: Request) -> Reply:
    return Reply(render("help", codes=replies.code_list(turn.catalog)))


def _score(turn: Turn, req: Request) -> Reply:
    survey = surveys.pending_for_phone(turn.session, turn.phone)
    if survey is None:
        return Reply(render("no_survey"))
    order = survey.order
    if order.status != "completed":   # reopened for rework: the callback desk asks again later
        log.info("sms survey answer for %s not taken: the order is %s", order.number, order.status)
        return Reply(render("survey_failed"))
    surveys.record(turn.session, order, req.score, ACTOR, comment=req.comment, channel="sms")
    low = req.score <= surveys.COMPLAINT_AT_OR_BELOW
    return Reply(render("thanks_low" if low else "thanks", score=req.score), kind="survey", order=order)


def _complaint(turn: Turn, req: Request) -> Reply:
    order = _visible_order(turn, req.number) if req.number else None
    if not req.comment:
        return Reply(render("complaint_needs_text"))
    complaint = complaints.open_complaint(turn.session, actor=ACTOR, source="sms", phone=turn.phone, order=order,
                                          text=req.comment)
    return Reply(render("complaint_opened", id=complaint.id, order=f"（订单{order.number}）" if order else "",
                        due=replies.when_text(complaint.due_at, turn.hl.tz, turn.now)),
                 kind="complaint", order=order)


def _format(turn: Turn, req: Request) -> Reply:
    # Someone with a survey waiting most likely answered it in words ("很满意", "10分"): say
    # what a score looks like rather than how to book.
    survey = surveys.pending_for_phone(turn.session, turn.phone)
    if survey is not None and req.intent == "unknown":
        return Reply(render("survey_not_score", number=survey.order.number), order=survey.order)
    return Reply(render("format"))


HANDLERS: dict[str, Callable[[Turn, Request], Reply | None]] = {
    "book": _book, "yes": _yes, "no": _no, "query": _query, "cancel": _cancel, "complaint": _complaint,
    "optout": _optout,
    "optin": _optin, "help": _help, "score": _score, "empty": _format, "unknown": _format,
}
