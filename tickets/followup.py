"""Follow-through of work orders: day-before reminders, urging (催办) of late orders, and
escalation to the district manager.

Everything is derived from the orders themselves, so the jobs can run on any leader, twice, or
late, and do each thing once:
- A reminder is the `remind` event of an order; it stores the service time it was for
  (`reminded_for`), so a rescheduled order is reminded again for its new time and no other is.
- An order is late (`Overdue`) for the first of its deadlines it missed, judged by its state:
  not accepted (confirmed or dispatched: it missed an accept deadline, or its service time went
  by with nobody holding it), not started (accepted, its service time plus a grace passed), not
  completed (in service past its expected end). The accept-deadline watchdog keeps its rule: at
  the deadline the order goes to the next franchisee; from then on the order counts as late for
  acceptance, and whoever holds it is urged until someone accepts it.
- A late order's franchisee is urged every URGE_EVERY_MINUTES (`urge` event, `urge_count`);
  an interval after its ESCALATE_AFTER_URGINGS-th urging, or after any urging once the order is
  ESCALATE_AFTER_MINUTES late (the second deadline), it escalates once (`escalate` event,
  `escalated_at`) and the district manager takes it from there. An order nobody holds (no one to
  urge) escalates at the second deadline.
Each action is an order transition with the order's version check, so of two runners at once
the second is refused (ConcurrentChange) instead of doing it again. The SMS of each event are
queued by the order listeners (sms/notices.py), keyed on the event: once per event.
No SMS leave in quiet hours, so the jobs wait for the morning then.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, aliased, selectinload

from . import outbound
from .actors import SYSTEM, Actor
from .context import Hotline, hotline_of
from .dispatch import candidates
from .errors import ConcurrentChange
from .models import WorkOrder, WorkOrderEvent
from .search import scope
from .timeutil import to_local, to_utc
from .workflow import transition

log = logging.getLogger(__name__)

REMIND_STATES = ("dispatched", "accepted")
# The state of a late order says which deadline it missed.
REASON_OF_STATE = {"confirmed": "not_accepted", "dispatched": "not_accepted", "accepted": "not_started",
                   "in_service": "not_completed"}
REASONS = ("not_accepted", "not_started", "not_completed")
# Expected length of a job by the unit it is sold in (others: SERVICE_EXPECTED_MINUTES).
UNIT_MINUTES = {"hour": 60, "month": 30 * 24 * 60}


@dataclass(frozen=True)
class Overdue:
    """A late order: why (`reason`, one of REASONS) and since when (naive UTC)."""
    order: WorkOrder
    reason: str
    since: datetime

    @property
    def escalated(self) -> bool:
        """Handed to the district manager for this lateness."""
        return self.order.escalated_at is not None and self.order.urge_reason == self.reason

    @property
    def urgings(self) -> int:
        """Urgings of the franchisee for this lateness."""
        return self.order.urge_count if self.order.urge_reason == self.reason else 0


def in_quiet_hours(hl: Hotline, now: datetime) -> bool:
    """Whether `now` (naive UTC) is in QUIET_HOURS: the outbound calls' rule, for SMS too."""
    return outbound.in_quiet_hours(hl.settings, now)


def expected_end(hl: Hotline, order: WorkOrder) -> datetime:
    """When the job should be done: its start plus its hours, or the usual length of a visit."""
    per_unit = UNIT_MINUTES.get(order.service.unit)
    minutes = per_unit * order.quantity if per_unit else hl.settings.service_expected_minutes
    return order.scheduled_start + timedelta(minutes=minutes)


# What the events and their notices read, loaded with the orders: a lazy load inside a
# transition would flush the change before its version check could report a concurrent one.
_FOR_NOTICES = (selectinload(WorkOrder.service), selectinload(WorkOrder.franchisee), selectinload(WorkOrder.worker))
# When an order first missed an accept deadline (the watchdog's `expire`) since it was last
# accepted: one accepted and then recalled starts waiting for acceptance afresh.
_ACCEPT = aliased(WorkOrderEvent)
_LAST_ACCEPT = (select(func.coalesce(func.max(_ACCEPT.id), 0))
                .where(_ACCEPT.order_id == WorkOrder.id, _ACCEPT.action == "accept")
                .correlate(WorkOrder).scalar_subquery())
_FIRST_EXPIRY = (select(func.min(WorkOrderEvent.created_at))
                 .where(WorkOrderEvent.order_id == WorkOrder.id, WorkOrderEvent.action == "expire",
                        WorkOrderEvent.id > _LAST_ACCEPT)
                 .correlate(WorkOrder).scalar_subquery())


def overdue_orders(session: Session, actor: Actor | None = None) -> list[Overdue]:
    """Every open order past one of its deadlines (those `actor` may see), longest late first."""
    hl = hotline_of(session)
    now = hl.now()
    grace = timedelta(minutes=hl.settings.urge_start_grace_minutes)
    q = (select(WorkOrder, _FIRST_EXPIRY)
         .where(WorkOrder.status.in_(tuple(REASON_OF_STATE)),
                or_(WorkOrder.scheduled_start <= now - grace,
                    WorkOrder.status == "in_service",   # its expected end is checked below
                    WorkOrder.status.in_(("confirmed", "dispatched")) & _FIRST_EXPIRY.is_not(None)))
         .options(*_FOR_NOTICES, selectinload(WorkOrder.district), selectinload(WorkOrder.customer)))
    cond = scope(actor) if actor is not None else None
    if cond is not None:
        q = q.where(cond)
    out = []
    for order, first_expiry in session.execute(q):
        reason = REASON_OF_STATE[order.status]
        if reason == "not_completed":
            since = expected_end(hl, order)
        else:
            missed = [order.scheduled_start + grace] if order.scheduled_start + grace <= now else []
            if reason == "not_accepted" and first_expiry is not None:
                missed.append(first_expiry)
            since = min(missed) if missed else None
        if since is not None and since <= now:
            out.append(Overdue(order, reason, since))
    return sorted(out, key=lambda late: (late.since, late.order.id))


def _act(session: Session, order: WorkOrder, action: str, **params) -> bool:
    """One follow-through event, in a savepoint: False when someone changed the order meanwhile."""
    try:
        with session.begin_nested():
            transition(session, order, action, SYSTEM, **params)
        return True
    except ConcurrentChange:
        log.info("order %s changed while being followed up (%s); left to the next run", order.number, action)
        return False


def send_reminders(session: Session) -> list[str]:
    """The day-before reminders due now (from REMINDER_HOUR the day before until the service);
    the numbers of the orders reminded."""
    hl = hotline_of(session)
    now = hl.now()
    if in_quiet_hours(hl, now):
        return []
    local_now = to_local(now, hl.tz)
    days = 2 if local_now.hour >= hl.settings.reminder_hour else 1
    horizon = to_utc(datetime.combine(local_now.date() + timedelta(days=days), time()), hl.tz)
    due = session.scalars(
        select(WorkOrder).where(WorkOrder.status.in_(REMIND_STATES), WorkOrder.scheduled_start > now,
                                WorkOrder.scheduled_start < horizon,
                                or_(WorkOrder.reminded_for.is_(None), WorkOrder.reminded_for != WorkOrder.scheduled_start))
        .options(*_FOR_NOTICES).order_by(WorkOrder.scheduled_start, WorkOrder.id)).all()
    return [order.number for order in due if _act(session, order, "remind")]


def urge_overdue(session: Session) -> list[tuple[str, str]]:
    """Urge or escalate the late orders that are due for it; (order number, action) of each."""
    hl = hotline_of(session)
    now = hl.now()
    if in_quiet_hours(hl, now):
        return []
    cfg = hl.settings
    every = timedelta(minutes=cfg.urge_every_minutes)
    done = []
    for late in overdue_orders(session):
        order = late.order
        if late.escalated:
            continue
        last_urged = order.urged_at if late.urgings else None
        past_second = now - late.since >= timedelta(minutes=cfg.escalate_after_minutes)
        if order.franchisee_id is None:
            # Nobody holds it to urge: only the second deadline moves it.
            action = "escalate" if past_second else None
        elif last_urged is None:
            # Whoever holds it is urged at least once, and has an interval to act, before it goes
            # over their head (late for hours overnight, it is urged in the morning first).
            action = "urge"
        elif now - last_urged < every:
            action = None
        else:
            action = "escalate" if late.urgings >= cfg.escalate_after_urgings or past_second else "urge"
        if action and _act(session, order, action, overdue=late):
            done.append((order.number, action))
    return done


# Orders a manager can hand to another franchisee from the escalated list (an order in service
# stays with the one doing it).
REASSIGNABLE = ("confirmed", "dispatched", "accepted")


@dataclass
class EscalatedRow:
    """An escalated order on the dispatch board, with the franchisees it could go to instead."""
    late: Overdue
    candidates: list = field(default_factory=list)
    why_none: str = ""


def escalated_rows(session: Session, actor: Actor) -> list[EscalatedRow]:
    """The dispatch board's "overdue and escalated" list of the orders `actor` may see (a district
    manager: their districts), each with whom it could be reassigned to."""
    rows = []
    for late in overdue_orders(session, actor):
        if not late.escalated:
            continue
        row = EscalatedRow(late)
        if late.order.status in REASSIGNABLE:
            ranked, row.why_none = candidates(session, late.order)
            row.candidates = [c for c in ranked if c.franchisee.id != late.order.franchisee_id]
        rows.append(row)
    return rows
