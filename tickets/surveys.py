"""Satisfaction surveys (回访): invited on completion, answered by phone or SMS, closing the order."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from .actors import Actor
from .complaints import open_complaint
from .concurrency import flush_or_conflict
from .context import hotline_of
from .errors import ValidationError
from .models import Franchisee, Survey, WorkOrder, Worker
from .workflow import transition

COMPLAINT_AT_OR_BELOW = 3


def invite(session: Session, order: WorkOrder) -> Survey:
    """The pending survey of a completed order (created once; a second call returns it)."""
    s = session.scalar(select(Survey).where(Survey.order_id == order.id))
    if s is None:
        s = Survey(order_id=order.id, phone=order.phone, status="pending", asked_at=hotline_of(session).now())
        session.add(s)
        session.flush()
    return s


def _rate(entity: Franchisee | Worker, score: int) -> None:
    total = entity.rating_x100 * entity.rating_count + score * 100 if entity.rating_count else score * 100
    entity.rating_count += 1
    entity.rating_x100 = round(total / entity.rating_count)


def record(session: Session, order: WorkOrder, score: int, actor: Actor, *, comment: str = "",
           channel: str = "phone") -> Survey:
    """Record the answer, close the order, update ratings; a low score opens a complaint."""
    if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
        raise ValidationError("a satisfaction score is a whole number from 1 (very unhappy) to 5 (very happy); got {score!r}", score=score)
    s = invite(session, order)
    if s.status == "answered":
        raise ValidationError("the survey of order {number} was already answered ({score})", number=order.number, score=s.score)
    s.status, s.score, s.comment, s.channel = "answered", score, comment.strip()[:2000], channel
    s.answered_at = hotline_of(session).now()
    s.answered_by = actor.user_id
    # The survey's version guards against a second answer at the same moment (an SMS reply while
    # the survey desk is on the phone): the second one is refused, not counted twice.
    flush_or_conflict(session, f"the survey of order {order.number}")
    transition(session, order, "close", actor, survey=s)
    if order.franchisee:
        _rate(order.franchisee, score)
    if order.worker:
        _rate(order.worker, score)
    if score <= COMPLAINT_AT_OR_BELOW:
        open_complaint(session, actor=actor, source="survey", order=order, phone=order.phone,
                       text=f"回访评分 {score}/5" + (f": {s.comment}" if s.comment else ""))
    return s


def pending_for_phone(session: Session, phone: str) -> Survey | None:
    """The most recent survey waiting for an answer from this number."""
    return session.scalar(select(Survey).where(Survey.phone == phone, Survey.status == "pending")
                          .order_by(Survey.asked_at.desc()).limit(1))


def waiting(session: Session) -> list[WorkOrder]:
    """Completed orders waiting for their satisfaction call, oldest completion first."""
    return list(session.scalars(select(WorkOrder).where(WorkOrder.status == "completed")
                                .order_by(WorkOrder.updated_at)))
