"""Complaints (投诉): recorded from any channel, answered within a deadline."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import audit
from .actors import Actor
from .bus import publish_after_commit
from .concurrency import flush_or_conflict
from .context import hotline_of
from .customers import find_by_phone
from .errors import NotFound, ValidationError
from .models import Complaint, WorkOrder

SOURCES = ("ivr", "sms", "agent", "survey", "twilio")


def open_complaint(session: Session, *, actor: Actor, source: str, phone: str = "", order: WorkOrder | None = None,
                   text: str = "", recording: str = "") -> Complaint:
    if source not in SOURCES:
        raise ValidationError("complaint source {source!r} is not one of {sources}", source=source, sources=', '.join(SOURCES))
    if not (text.strip() or recording or order):
        raise ValidationError("a complaint needs a text, a recording or an order")
    hl = hotline_of(session)
    now = hl.now()
    cust = order.customer if order else find_by_phone(session, phone)
    c = Complaint(order_id=order.id if order else None, customer_id=cust.id if cust else None,
                  phone=phone or (order.phone if order else ""), source=source, text=text.strip()[:4000],
                  recording=recording, status="open", created_at=now,
                  due_at=now + timedelta(hours=hl.settings.complaint_due_hours))
    session.add(c)
    session.flush()
    audit.record(session, actor, "complaint.open", "complaint", c.id,
                 {"order": order.number if order else None, "source": source})
    publish_after_commit(session, "complaint.open", {"complaint_id": c.id, "order": order.number if order else None})
    return c


def resolve(session: Session, complaint: Complaint, answer: str, actor: Actor) -> Complaint:
    if complaint.status != "open":
        raise ValidationError("complaint {id} is already {status}", id=complaint.id, status=complaint.status)
    if not answer.strip():
        raise ValidationError("resolving a complaint needs the answer given to the customer")
    complaint.status = "resolved"
    complaint.answer = answer.strip()
    complaint.resolved_at = hotline_of(session).now()
    complaint.resolved_by = actor.user_id
    flush_or_conflict(session, f"complaint {complaint.id}")
    audit.record(session, actor, "complaint.resolve", "complaint", complaint.id, {"answer": complaint.answer})
    return complaint


def open_complaints(session: Session) -> list[Complaint]:
    """Open complaints, overdue first (earliest due date first)."""
    return list(session.scalars(select(Complaint).where(Complaint.status == "open").order_by(Complaint.due_at)))


def recording_source(settings, complaint: Complaint) -> Path | str:
    """Where a voice complaint's recording is: a file under RECORDINGS_DIR (Asterisk), or the URL
    the provider keeps it at (Twilio). A path outside RECORDINGS_DIR is never served."""
    rec = complaint.recording
    if not rec:
        raise NotFound("complaint {id} has no recording", id=complaint.id)
    if rec.startswith(("https://", "http://")):
        return rec
    root = settings.recordings_dir.resolve()
    path = (root / rec).resolve()          # an absolute `rec` stays itself
    if not path.is_relative_to(root) or not path.is_file():
        raise NotFound("the recording of complaint {id} is not in RECORDINGS_DIR ({root})", id=complaint.id, root=root)
    return path
