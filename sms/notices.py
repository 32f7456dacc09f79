"""SMS notices of order events: booked, dispatched, rescheduled, cancelled, completed (survey invitation),
and unassigned (no franchisee can take the order: once per order); the follow-through's
(tickets.followup): the day-before reminder to the customer, the franchisee and the worker, the
urging of a late order's franchisee, and its escalation (to the franchisee, and `manager_escalation`
to the district's managers the escalation names, tickets.escalation); of complaints: accepted,
answered and escalated (`on_complaint_event`, a complaint listener); and of member card money:
card_spend, card_topup, card_refund, card_credit (the amount and the balance left), keyed
`card-<ledger row id>:<kind>`.
Their texts and parameters are the kinds of sms/kinds.py.

`on_order_event` is an order listener (installed by sms/plugin.py): it runs inside the
transaction of every order event and queues at most one notice for it, keyed
`<event id>:<kind>` (`order-<order id>:<kind>` for ONCE_PER_ORDER), so a notice exists once per
event (or order) however often anything runs.
Opted-out numbers get a `suppressed` row (see outbox.enqueue), never a message.

Events the customer caused by SMS are not noticed here: the SMS reply already says the same
thing and is recorded as that event's notice (sms/conversation.py).
"""
from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from sqlalchemy import select

from tickets import escalation, outbound
from tickets.cards import CardWriter
from tickets.complaints import district_of
from tickets.context import Hotline, hotline_of
from tickets.customers import may_contact, prefers_phone_survey
from tickets.models import CardLedgerEntry, Complaint, CustomerPhone, MemberCard, WorkOrder, WorkOrderEvent
from tickets.otp import Issued
from tickets.pricing import yuan
from tickets.timeutil import quiet_hours_end

# conversation imports this module too: both use the other's names only at run time.
from . import conversation, outbox
from .kinds import KINDS
from .optout import is_opted_out
from .replies import TEXTS, penalty_suffix, when_text

log = logging.getLogger(__name__)

# Order event action -> notice kind. Other actions (confirm, accept, notes...) send nothing.
NOTICE_OF = {"create": "booked", "dispatch": "dispatched", "reschedule": "rescheduled", "cancel": "cancelled",
             "complete": "completed", "unassigned": "unassigned"}
# Kinds sent once per order, however often the event recurs (the engine finds no franchisee again
# after another refusal): keyed `<order id>:<kind>` instead of the event's id.
ONCE_PER_ORDER = frozenset({"unassigned"})
# Kinds that invite an answer the hotline asks for (the survey): not sent to a do-not-call record,
# nor to a customer who prefers the survey by phone (tickets.outbound calls them at once instead).
OUTBOUND = frozenset({"completed"})


# Follow-through event action -> (notice kind, recipient) pairs; each recipient's notice is keyed
# `<event id>:<kind>:<recipient>`. A recipient without a number (no worker yet) gets none.
FOLLOW_UP = {"remind": (("reminder", "customer"), ("reminder", "franchisee"), ("reminder", "worker")),
             "urge": (("urging", "franchisee"),),
             "escalate": (("escalation", "franchisee"),)}


def _phone_of(order: WorkOrder, recipient: str) -> str:
    if recipient == "customer":
        return order.phone
    if recipient == "franchisee":
        return order.franchisee.contact_phone if order.franchisee else ""
    return order.worker.phone if order.worker else ""


# Whom each reminder names as the contact: the customer's franchisee, the franchisee's worker,
# the worker's customer (by phone).
def _contact(order: WorkOrder, recipient: str) -> str:
    if recipient == "customer":
        return order.franchisee.name if order.franchisee else ""
    if recipient == "franchisee":
        return order.worker.name if order.worker else TEXTS["worker_none"]
    return order.phone


def _follow_up_params(order: WorkOrder, ev: WorkOrderEvent, kind: str, recipient: str, when: str) -> dict:
    data = ev.data or {}
    why = TEXTS.get(f"late_{data.get('overdue')}", "")
    values = {"number": order.number, "service": order.service.name_zh, "when": when, "address": order.address_text,
              "contact": _contact(order, recipient), "why": why,
              "franchisee": order.franchisee.name if order.franchisee else "", "count": str(data.get("urge_count", 0))}
    return {p: values[p] for p in KINDS[kind].params}


def _queue_follow_up(session: Session, order: WorkOrder, ev: WorkOrderEvent) -> None:
    hl = hotline_of(session)
    when = when_text(order.scheduled_start, hl.tz, hl.now())
    for kind, recipient in FOLLOW_UP[ev.action]:
        phone = _phone_of(order, recipient)
        if phone:
            outbox.enqueue(session, phone, kind=kind, params=_follow_up_params(order, ev, kind, recipient, when),
                           order=order, dedupe_key=f"{ev.id}:{kind}:{recipient}")
    if ev.action == "escalate":
        data = ev.data or {}
        _tell_managers(session, data.get("told", []), TEXTS["escalated_order"].format(number=order.number),
                       order.district.name_zh if order.district else "", TEXTS.get(f"late_{data.get('overdue')}", ""),
                       order=order, key=f"{ev.id}:{MANAGER_KIND}")


# The district manager's notice of an escalation (tickets.escalation says who), one per user and escalation.
MANAGER_KIND = "manager_escalation"


def _tell_managers(session: Session, told: list[str], subject: str, district: str, why: str, *,
                   order: WorkOrder | None, key: str) -> None:
    """Queue the escalation notice for each user the escalation recorded as `told`, keyed `<key>:user-<id>`."""
    for user in escalation.users_named(session, told):
        outbox.enqueue(session, user.phone, kind=MANAGER_KIND, params={"subject": subject, "district": district, "why": why},
                       order=order, dedupe_key=f"{key}:user-{user.id}")


def on_order_event(session: Session, order: WorkOrder, ev: WorkOrderEvent) -> None:
    """Queue the notice of `ev` for the number on the order (follow-through: for each of its recipients), once."""
    if ev.action in FOLLOW_UP:
        _queue_follow_up(session, order, ev)
        return
    kind = NOTICE_OF.get(ev.action)
    sms_customer = conversation.ACTOR
    if kind is None or (ev.actor_role == sms_customer.role and ev.actor_label == sms_customer.label):
        return
    if kind in OUTBOUND and (not may_contact(session, order.phone) or prefers_phone_survey(order.customer)):
        return
    hl = hotline_of(session)
    data = ev.data or {}
    values = {"number": order.number, "service": order.service.name_zh,
              "when": when_text(order.scheduled_start, hl.tz, hl.now()),
              "franchisee": data.get("franchisee") or (order.franchisee.name if order.franchisee else ""),
              "penalty": penalty_suffix(data.get("penalty_fen")),
              "check": TEXTS["check_address"] if _needs_agent(order, ev) else ""}
    key = f"order-{order.id}:{kind}" if kind in ONCE_PER_ORDER else f"{ev.id}:{kind}"
    # The survey invitation is the platform reaching out: a job completed at night is asked about
    # in the morning (QUIET_HOURS), as its resend and its calls are.
    outbox.enqueue(session, order.phone, kind=kind, params={p: values[p] for p in KINDS[kind].params},
                   order=order, dedupe_key=key,
                   not_before=quiet_hours_end(hl.settings, hl.now()) if kind in OUTBOUND else None)


# Ledger row kind -> notice kind. An adjustment is a credit (tickets.cards.credit: a complaint's
# compensation, a goodwill gesture): the holder is told. Reversals are staff corrections: no SMS.
CARD_NOTICE_OF = {"spend": "card_spend", "topup": "card_topup", "refund": "card_refund", "adjustment": "card_credit"}


def on_card_entry(session: Session, card: MemberCard, kind: str, order: WorkOrder | None) -> CardWriter | None:
    """The card holder's notice of a spend, top-up or refund: the amount and the balance left.
    Read before the card's lock: a spend for an order goes to the order's phone, anything else
    to the customer's first number, and whether that number takes messages. The notice itself
    is written under the lock, with the entry (cards.CardListener)."""
    notice = CARD_NOTICE_OF.get(kind)
    if notice is None:
        return None
    phone = order.phone if order is not None else session.scalar(
        select(CustomerPhone.e164).where(CustomerPhone.customer_id == card.customer_id).order_by(CustomerPhone.id))
    if phone is None:
        return None
    opted_out = is_opted_out(session, phone)

    def write(card: MemberCard, entry: CardLedgerEntry) -> None:
        params = {"card": card.number[-4:], "amount": yuan(abs(entry.amount_fen)), "balance": yuan(entry.balance_after_fen)}
        outbox.add(session, phone, kind=notice, params=params, order=order, opted_out=opted_out,
                   dedupe_key=f"card-{entry.id}:{notice}")
    return write


def _needs_agent(order: WorkOrder, ev: WorkOrderEvent) -> bool:
    """Whether an agent had to look at the order when `ev` happened: for its creation, the flags it
    was created with (a booking confirms the order before its listeners run)."""
    if ev.action == "create" and ev.data is not None and "flags" in ev.data:
        return bool(ev.data["flags"])
    return order.needs_agent


# Complaint listener "what" -> notice kind.
COMPLAINT_NOTICE_OF = {"accepted": "complaint_accepted", "answered": "complaint_answered"}


def on_complaint_event(session: Session, complaint: Complaint, what: str) -> None:
    """Queue the complainant's notice that their complaint was accepted, or answered: once per
    complaint for the acceptance, once per answer (a reopened complaint answered again is told again);
    and an escalation's notice to the managers it told, once per deadline."""
    if what == "escalated":
        _tell_of_complaint(session, complaint)
        return
    kind = COMPLAINT_NOTICE_OF.get(what)
    # A complaint sent by SMS was accepted in the reply to it (sms/conversation.py).
    if kind is None or not complaint.phone or (kind == "complaint_accepted" and complaint.source == "sms"):
        return
    if kind == "complaint_accepted":
        hl = hotline_of(session)
        params = {"id": complaint.id, "due": when_text(complaint.due_at, hl.tz, hl.now())}
        key = f"complaint-{complaint.id}:{kind}"
    else:
        compensation = TEXTS[f"compensation_{complaint.compensation_kind}"].format(
            amount=yuan(complaint.compensation_fen)) if complaint.compensation_kind else ""
        params = {"id": complaint.id, "result": " ".join(complaint.answer.split()) + compensation}
        key = f"complaint-{complaint.id}:{kind}:{complaint.reopen_count}"
    outbox.enqueue(session, complaint.phone, kind=kind, params=params, order=complaint.order, dedupe_key=key)


def _tell_of_complaint(session: Session, complaint: Complaint) -> None:
    # The same rule, in the same transaction, as the `told` the escalation's audit entry names.
    told = [u.username for u in escalation.managers_to_tell(session, district_of(complaint))]
    order = complaint.order
    district = order.district.name_zh if order is not None and order.district else ""
    _tell_managers(session, told, TEXTS["escalated_complaint"].format(id=complaint.id), district,
                   TEXTS["late_complaint"], order=order, key=f"complaint-{complaint.id}:{MANAGER_KIND}:{complaint.reopen_count}")


def resend_surveys(hl: Hotline) -> int:
    """Resend, once, the survey invitation nobody answered (notice `survey_resend`, parameter
    `number`); which surveys and when is tickets.outbound's rule. Keyed by
    `outbound.resend_key`, so a second run (or a second leader) sends nothing more."""
    with hl.session() as s, s.begin():
        due = outbound.resend_due(s)
        for survey in due:
            order = survey.order
            message = outbox.enqueue(s, survey.phone, kind=outbound.RESEND_KIND, params={"number": order.number},
                                     order=order, dedupe_key=outbound.resend_key(survey))
            outbound.note_resend(s, survey, message)
    return len(due)


def send_code(session: Session, issued: Issued, purpose: str, number: str = "") -> None:
    """Queue the SMS carrying a one-time code (kind `otp`, parameter `code`), once per code. Sent
    whatever the number's opt-out: it was asked for. (`purpose` and `number` say what it is for in
    the log; the approved template names neither.)"""
    if issued.code is None:
        return
    log.info("one-time code %s for %s %s", issued.id, purpose, number)
    outbox.enqueue(session, issued.phone, kind="otp", params={"code": issued.code}, dedupe_key=f"otp-{issued.id}",
                   answers_sender=True)
