"""SMS notices of order events: booked, dispatched, rescheduled, cancelled, completed (survey invitation),
and unassigned (no franchisee can take the order: once per order); and of member card money:
card_spend, card_topup, card_refund (the amount and the balance left), keyed `card-<ledger row id>:<kind>`.

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

from sqlalchemy import select

from tickets.context import hotline_of
from tickets.models import CardLedgerEntry, CustomerPhone, MemberCard, WorkOrder, WorkOrderEvent
from tickets.pricing import yuan

from . import outbox
from .conversation import ACTOR as SMS_CUSTOMER
from .replies import TEXTS, penalty_suffix, render, when_text

# Order event action -> notice kind. Other actions (confirm, accept, notes...) send nothing.
NOTICE_OF = {"create": "booked", "dispatch": "dispatched", "reschedule": "rescheduled", "cancel": "cancelled",
             "complete": "completed", "unassigned": "unassigned"}
# Kinds sent once per order, however often the event recurs (the engine finds no franchisee again
# after another refusal): keyed `<order id>:<kind>` instead of the event's id.
ONCE_PER_ORDER = frozenset({"unassigned"})


def on_order_event(session: Session, order: WorkOrder, ev: WorkOrderEvent) -> None:
    """Queue the notice of `ev` for the number on the order, once."""
    kind = NOTICE_OF.get(ev.action)
    if kind is None or (ev.actor_role == SMS_CUSTOMER.role and ev.actor_label == SMS_CUSTOMER.label):
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


# Ledger row kind -> notice kind. Adjustments and reversals are staff corrections: no SMS.
CARD_NOTICE_OF = {"spend": "card_spend", "topup": "card_topup", "refund": "card_refund"}


def on_card_entry(session: Session, card: MemberCard, entry: CardLedgerEntry) -> None:
    """Queue the card holder's notice of a spend, top-up or refund: the amount and the balance left.
    A spend for an order goes to the order's phone, anything else to the customer's first number."""
    kind = CARD_NOTICE_OF.get(entry.kind)
    if kind is None:
        return
    order = entry.order
    phone = order.phone if order is not None else session.scalar(
        select(CustomerPhone.e164).where(CustomerPhone.customer_id == card.customer_id).order_by(CustomerPhone.id))
    if phone is None:
        return
    text = render(f"notice_{kind}", card_tail=card.number[-4:], amount=yuan(abs(entry.amount_fen)),
                  balance=yuan(entry.balance_after_fen),
                  order=render("card_order", number=order.number) if order is not None else "")
    outbox.enqueue(session, phone, text, kind=kind, order=order, dedupe_key=f"card-{entry.id}:{kind}")


def _needs_agent(order: WorkOrder, ev: WorkOrderEvent) -> bool:
    """Whether an agent had to look at the order when `ev` happened: for its creation, the flags it
    was created with (a booking confirms the order before its listeners run)."""
    if ev.action == "create" and ev.data is not None and "flags" in ev.data:
        return bool(ev.data["flags"])
    return order.needs_agent
