"""Managing franchisees, the districts and services they cover, and their workers (admin).

Every change is audited. Dispatch reads what is kept here: district priorities (1 is the
district's protected first choice), services, daily capacity, status, and each worker's
qualifications (an expired health certificate blocks assigning the worker).
"""
from __future__ import annotations

from datetime import date
from typing import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from . import audit
from .actors import Actor
from .errors import NotFound, ValidationError
from .models import District, Franchisee, FranchiseeDistrict, FranchiseeService, Service, Worker, WorkerSkill, WorkOrder
from .phones import normalize
from .workhours import check_hours

STATUSES = ("active", "suspended")


def franchisees(session: Session) -> list[Franchisee]:
    return list(session.scalars(select(Franchisee).order_by(Franchisee.name).options(
        selectinload(Franchisee.districts), selectinload(Franchisee.services))))


def get_franchisee(session: Session, franchisee_id: int) -> Franchisee:
    fr = session.get(Franchisee, franchisee_id)
    if fr is None:
        raise NotFound("no franchisee {franchisee_id}", franchisee_id=franchisee_id)
    return fr


def save_franchisee(session: Session, actor: Actor, franchisee: Franchisee | None, *, name: str,
                    contact_phone: str, status: str, daily_capacity: int, business_hours: str = "") -> Franchisee:
    """Create a franchisee (franchisee=None) or change one; `business_hours` "HH:MM-HH:MM" or "" (BUSINESS_HOURS)."""
    name = (name or "").strip()
    if not name:
        raise ValidationError("a franchisee needs its registered name")
    if status not in STATUSES:
        raise ValidationError("status {status!r} is not one of {statuses}", status=status, statuses=', '.join(STATUSES))
    if isinstance(daily_capacity, bool) or not isinstance(daily_capacity, int) or not 0 <= daily_capacity <= 10000:
        raise ValidationError("daily capacity is a whole number of orders from 0 to 10000; got {daily_capacity!r}", daily_capacity=daily_capacity)
    other = session.scalar(select(Franchisee).where(Franchisee.name == name))
    if other is not None and other is not franchisee:
        raise ValidationError("there is already a franchisee named {name}", name=name)
    phone = normalize(contact_phone) if (contact_phone or "").strip() else ""
    hours = check_hours(business_hours)
    created = franchisee is None
    before = {} if created else {"name": franchisee.name, "contact_phone": franchisee.contact_phone,
                                 "status": franchisee.status, "daily_capacity": franchisee.daily_capacity,
                                 "business_hours": franchisee.business_hours}
    fr = franchisee or Franchisee(name=name)
    if created:
        session.add(fr)
    fr.name, fr.contact_phone, fr.status, fr.daily_capacity = name, phone, status, daily_capacity
    fr.business_hours = hours
    session.flush()
    audit.record(session, actor, "franchisee.create" if created else "franchisee.update", "franchisee", fr.id,
                 {"before": before, "after": {"name": name, "contact_phone": phone, "status": status,
                                              "daily_capacity": daily_capacity, "business_hours": hours}})
    return fr


def set_coverage(session: Session, actor: Actor, franchisee: Franchisee, districts: dict[int, int],
                 service_ids: Iterable[int]) -> Franchisee:
    """Replace the franchisee's districts (district id -> priority, 1 first) and services."""
    for district_id, prio in districts.items():
        if session.get(District, district_id) is None:
            raise ValidationError("no district {district_id}", district_id=district_id)
        if isinstance(prio, bool) or not isinstance(prio, int) or not 1 <= prio <= 9:
            raise ValidationError("a district priority is 1 (first choice) to 9; got {prio!r}", prio=prio)
    ids = sorted(set(service_ids))
    known = set(session.scalars(select(Service.id).where(Service.id.in_(ids))))
    if known != set(ids):
        raise ValidationError("no services {ids}", ids=sorted(set(ids) - known))
    before = {"districts": {str(d.district_id): d.priority for d in franchisee.districts},
              "services": sorted(s.service_id for s in franchisee.services)}
    franchisee.districts = [FranchiseeDistrict(district_id=d, priority=p) for d, p in sorted(districts.items())]
    franchisee.services = [FranchiseeService(service_id=s) for s in ids]
    session.flush()
    audit.record(session, actor, "franchisee.coverage", "franchisee", franchisee.id,
                 {"before": before, "after": {"districts": {str(d): p for d, p in districts.items()},
                                              "services": ids}})
    return franchisee


def workers_of(session: Session, franchisee_id: int, active_only: bool = False) -> list[Worker]:
    q = select(Worker).where(Worker.franchisee_id == franchisee_id)
    if active_only:
        q = q.where(Worker.active.is_(True))
    return list(session.scalars(q.order_by(Worker.name)))


def workers_for(session: Session, order: WorkOrder) -> list[Worker]:
    """The active workers of the order's franchisee whose skills cover its service: whom it may be assigned to."""
    if order.franchisee_id is None:
        return []
    return list(session.scalars(
        select(Worker).join(WorkerSkill, WorkerSkill.worker_id == Worker.id)
        .where(Worker.franchisee_id == order.franchisee_id, Worker.active.is_(True),
               WorkerSkill.service_id == order.service_id).order_by(Worker.name)))


def get_worker(session: Session, worker_id: int) -> Worker:
    w = session.get(Worker, worker_id)
    if w is None:
        raise NotFound("no worker {worker_id}", worker_id=worker_id)
    return w


def save_worker(session: Session, actor: Actor, worker: Worker | None, *, franchisee_id: int, name: str,
                phone: str, id_verified: bool, health_cert_expires: date | None, training_cert: str,
                background_checked: bool, active: bool, skill_ids: Iterable[int] = ()) -> Worker:
    """Create a worker (worker=None) or change one, with their qualifications and skills."""
    get_franchisee(session, franchisee_id)
    name = (name or "").strip()
    if not name:
        raise ValidationError("a worker needs a name")
    e164 = normalize(phone) if (phone or "").strip() else ""
    created = worker is None
    w = worker or Worker(franchisee_id=franchisee_id, name=name)
    if created:
        session.add(w)
    elif w.franchisee_id != franchisee_id:
        raise ValidationError("worker {name} belongs to another franchisee; add them there as a new worker", name=w.name)
    before = {} if created else _worker_facts(w)
    w.name, w.phone, w.id_verified, w.health_cert_expires = name, e164, id_verified, health_cert_expires
    w.training_cert, w.background_checked, w.active = (training_cert or "").strip()[:64], background_checked, active
    w.skills = [WorkerSkill(service_id=s) for s in sorted(set(skill_ids))]
    session.flush()
    audit.record(session, actor, "worker.create" if created else "worker.update", "worker", w.id,
                 {"before": before, "after": _worker_facts(w)})
    return w


def _worker_facts(w: Worker) -> dict:
    return {"name": w.name, "phone": w.phone, "id_verified": w.id_verified,
            "health_cert_expires": w.health_cert_expires.isoformat() if w.health_cert_expires else None,
            "training_cert": w.training_cert, "background_checked": w.background_checked, "active": w.active,
            "skills": sorted(s.service_id for s in w.skills)}
