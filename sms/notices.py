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

from tickets import outbound
from tickets.context import Hotline, hotline_of
from tickets.models import WorkOrder, WorkOrderEvent

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


def _needs_agent(order: WorkOrder, ev: WorkOrderEvent) -> bool:
    """Whether an agent had to look at the order when `ev` happened: for its creation, the flags it
    was created with (a booking confirms the order before its listeners run)."""
    if ev.action == "create" and ev.data is not None and "flags" in ev.data:
        return bool(ev.data["flags"])
    return order.needs_agent


def resend_surveys(hl: Hotline) -> int:
    """Resend, once, the survey invitation nobody answered (notice `survey_resend`, parameter
    `number`); which surveys and when is tickets.outbound's rule. Keyed by
    `outbound.resend_key`, so a second run (or a second leader) sends nothing more."""
    with hl.session() as s, s.begin():
        due = outbound.resend_due(s)
        for survey in due:
            order = survey.order
            text = render(f"notice_{outbound.RESEND_KIND}", number=order.number)
            message = outbox.enqueue(s, survey.phone, text, kind=outbound.RESEND_KIND, order=order,
                                     dedupe_key=outbound.resend_key(survey))
            outbound.note_resend(s, survey, message)
    return len(due)
