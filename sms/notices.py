"""SMS notices of order events: booked, dispatched, rescheduled, cancelled, completed (survey invitation),
and unassigned (no franchisee can take the order: once per order).

`on_order_event` is an order listener (installed by sms/plugin.py): it runs inside the
transaction of every order event and queues at most one notice for it, keyed
`<event id>:<kind>` (`order-<order id>:<kind>` for ONCE_PER_ORDER), so a notice exists once per
event (or order) however often anything runs.
Opted-out numbers get a `suppressed` row (see outbox.enqueue), never a message.

Events the customer caused by SMS are not noticed here: the SMS reply already says the same
thing and is recorded as that event's notice (sms/conversation.py).
"""
from __future__ import annotations

from sqlalchemy.orm import Session

from tickets.context import hotline_of
from tickets.customers import may_contact
from tickets.models import WorkOrder, WorkOrderEvent
from tickets.otp import TTL, Issued

# conversation imports this module too: both use the other's names only at run time.
from . import conversation, outbox
from .replies import TEXTS, penalty_suffix, render, when_text

# Order event action -> notice kind. Other actions (confirm, accept, notes...) send nothing.
NOTICE_OF = {"create": "booked", "dispatch": "dispatched", "reschedule": "rescheduled", "cancel": "cancelled",
             "complete": "completed", "unassigned": "unassigned"}
# Kinds sent once per order, however often the event recurs (the engine finds no franchisee again
# after another refusal): keyed `<order id>:<kind>` instead of the event's id.
ONCE_PER_ORDER = frozenset({"unassigned"})
# Kinds that invite an answer the hotline asks for (the survey): not sent to a do-not-call record.
OUTBOUND = frozenset({"completed"})


def on_order_event(session: Session, order: WorkOrder, ev: WorkOrderEvent) -> None:
    """Queue the notice of `ev` for the number on the order, once."""
    kind = NOTICE_OF.get(ev.action)
    sms_customer = conversation.ACTOR
    if kind is None or (ev.actor_role == sms_customer.role and ev.actor_label == sms_customer.label):
        return
    if kind in OUTBOUND and not may_contact(session, order.phone):
        return
    hl = hotline_of(session)
    data = ev.data or {}
    text = render(f"notice_{kind}", number=order.number, service=order.service.name_zh,
                  when=when_text(order.scheduled_start, hl.tz, hl.now()),
                  franchisee=data.get("franchisee") or (order.franchisee.name if order.franchisee else ""),
                  penalty=penalty_suffix(data.get("penalty_fen")),
                  check=TEXTS["check_address"] if _needs_agent(order, ev) else "")
    key = f"order-{order.id}:{kind}" if kind in ONCE_PER_ORDER else f"{ev.id}:{kind}"
    outbox.enqueue(session, order.phone, text, kind=kind, order=order, dedupe_key=key)


def _needs_agent(order: WorkOrder, ev: WorkOrderEvent) -> bool:
    """Whether an agent had to look at the order when `ev` happened: for its creation, the flags it
    was created with (a booking confirms the order before its listeners run)."""
    if ev.action == "create" and ev.data is not None and "flags" in ev.data:
        return bool(ev.data["flags"])
    return order.needs_agent


def send_code(session: Session, issued: Issued, purpose: str, number: str = "") -> None:
    """Queue the SMS carrying a one-time code (kind `otp`; params: code, minutes, and for a lookup
    the order number), once per code. Sent whatever the number's opt-out: it was asked for."""
    if issued.code is None:
        return
    text = render("notice_otp", code=issued.code, minutes=int(TTL.total_seconds() // 60),
                  what=render("otp_lookup", number=number) if purpose == "lookup" else TEXTS["otp_booking"])
    outbox.enqueue(session, issued.phone, text, kind="otp", dedupe_key=f"otp-{issued.id}", answers_sender=True)
