"""A franchisee's own figures for its portal: workload now and satisfaction over recent weeks."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .complaints import UNRESOLVED
from .context import hotline_of
from .dispatch import CAPACITY_STATES
from .errors import NotFound
from .models import Complaint, Franchisee, Survey, WorkOrder, Worker
from .order_metrics import franchisee_card
from .reports import Query, Scope
from .timeutil import to_local, to_utc

WINDOW_DAYS = 30
WORKLOAD_STATES = ("dispatched", "accepted", "in_service", "rework")


@dataclass
class WorkerFigures:
    worker: Worker
    rating: float
    rating_count: int
    open_orders: int


@dataclass
class Scorecard:
    franchisee: Franchisee
    by_status: dict[str, int]                  # open work by state
    booked_today: int                          # orders occupying today's capacity
    capacity: int
    completed_in_window: int
    surveys_in_window: int
    average_score_x100: int | None             # survey average over the window × 100
    scores: dict[int, int]                     # score 1..5 -> answers in the window
    rating: float                              # all-time rating the dispatch engine uses
    rating_count: int
    complaints_open: int
    complaints_in_window: int
    workers: list[WorkerFigures] = field(default_factory=list)
    window_days: int = WINDOW_DAYS
    # Work-order figures of the orders booked in the window (the franchisees report's row, from the roll-ups).
    orders: dict[str, Any] = field(default_factory=dict)


def scorecard(session: Session, franchisee_id: int) -> Scorecard:
    hl = hotline_of(session)
    now = hl.now()
    fr = session.get(Franchisee, franchisee_id)
    if fr is None:
        raise NotFound("no franchisee {franchisee_id}", franchisee_id=franchisee_id)
    since = now - timedelta(days=WINDOW_DAYS)
    today = to_local(now, hl.tz).date()
    day_start = to_utc(datetime.combine(today, datetime.min.time()), hl.tz)

    by_status = dict(session.execute(
        select(WorkOrder.status, func.count()).where(WorkOrder.franchisee_id == fr.id,
                                                     WorkOrder.status.in_(WORKLOAD_STATES))
        .group_by(WorkOrder.status)).all())
    booked_today = session.scalar(select(func.count()).select_from(WorkOrder).where(
        WorkOrder.franchisee_id == fr.id, WorkOrder.status.in_(CAPACITY_STATES),
        WorkOrder.scheduled_start >= day_start, WorkOrder.scheduled_start < day_start + timedelta(days=1)))
    # Every completion creates the order's survey, so surveys asked in the window count completions.
    completed = session.scalar(select(func.count()).select_from(Survey).join(WorkOrder, Survey.order_id == WorkOrder.id)
                               .where(WorkOrder.franchisee_id == fr.id, Survey.asked_at >= since))
    scores = dict(session.execute(
        select(Survey.score, func.count()).join(WorkOrder, Survey.order_id == WorkOrder.id)
        .where(WorkOrder.franchisee_id == fr.id, Survey.status == "answered", Survey.answered_at >= since)
        .group_by(Survey.score)).all())
    answered = sum(scores.values())
    total = sum(score * n for score, n in scores.items())
    complaint_base = select(func.count()).select_from(Complaint).join(WorkOrder, Complaint.order_id == WorkOrder.id) \
        .where(WorkOrder.franchisee_id == fr.id)
    open_by_worker = dict(session.execute(
        select(WorkOrder.worker_id, func.count()).where(WorkOrder.franchisee_id == fr.id,
                                                        WorkOrder.status.in_(WORKLOAD_STATES),
                                                        WorkOrder.worker_id.is_not(None))
        .group_by(WorkOrder.worker_id)).all())
    workers = session.scalars(select(Worker).where(Worker.franchisee_id == fr.id).order_by(Worker.name)).all()
    window = Query(start=today - timedelta(days=WINDOW_DAYS - 1), end=today, interval="day", tz=hl.tz,
                   scope=Scope(franchisee_id=fr.id))
    orders = franchisee_card(session, window, fr.id)
    return Scorecard(
        franchisee=fr, by_status={s: by_status.get(s, 0) for s in WORKLOAD_STATES}, booked_today=booked_today,
        capacity=fr.daily_capacity, completed_in_window=completed, surveys_in_window=answered,
        average_score_x100=(total * 100 + answered // 2) // answered if answered else None,
        scores={n: scores.get(n, 0) for n in range(1, 6)}, rating=fr.rating_x100 / 100,
        rating_count=fr.rating_count,
        complaints_open=session.scalar(complaint_base.where(Complaint.status.in_(UNRESOLVED))),
        complaints_in_window=session.scalar(complaint_base.where(Complaint.created_at >= since)),
        workers=[WorkerFigures(w, w.rating_x100 / 100, w.rating_count, open_by_worker.get(w.id, 0)) for w in workers],
        orders=orders)
