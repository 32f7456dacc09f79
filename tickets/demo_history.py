"""90 days of demo history for the statistics pages: work orders with their events, surveys and
complaints, written in bulk so `hotline run --demo` starts with reports that show something.

Deterministic for a given day (a seeded random generator); loaded once (a second run finds the
history and does nothing). Weekday and hour profiles, channels, services and outcomes follow
a plausible city hotline: more bookings on Monday and at 10:00 and 15:00, a few refusals,
expiries and cancellations, most customers answering the survey, low scores becoming
complaints. The demo's franchisee and worker ratings are left as the demo city sets them.
Prices are the catalog's demo prices.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from .context import hotline_of
from .models import (Complaint, Customer, CustomerPhone, District, FranchiseeDistrict, FranchiseeService,
                     OrderCounter, PriceLine, Service, Survey, WorkOrder, WorkOrderEvent, Worker, WorkerSkill)
from .numbers import day_key
from .order_rollups import rebuild
from .pricing import late_change_penalty
from .timeutil import to_local, to_utc

DAYS = 90
NOTE = "演示历史 demo history"
CUSTOMERS = 300
PER_WEEKDAY = (46, 40, 38, 38, 42, 34, 28)          # orders booked per day, Monday first
HOUR_WEIGHTS = {8: 3, 9: 8, 10: 12, 11: 10, 12: 5, 13: 5, 14: 8, 15: 11, 16: 9, 17: 7, 18: 5, 19: 4, 20: 3, 21: 2}
CHANNELS = {"ivr": 35, "agent": 30, "sms": 15, "twilio": 10, "online": 10}
SCORES = {5: 55, 4: 27, 3: 10, 2: 5, 1: 3}


def _pick(rng: random.Random, weights: dict) -> Any:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def load_demo_history(session: Session, days: int = DAYS) -> dict[str, int]:
    """Write `days` days of history before today (local), once."""
    if session.scalar(select(func.count()).select_from(WorkOrder).where(WorkOrder.notes == NOTE)):
        return {"history_orders": 0}
    orders, out, counters = build_history(session, days)
    session.execute(insert(WorkOrder), orders)
    if session.get_bind().dialect.name == "postgresql":
        # The ids were given, not drawn: move the sequence past them, or the next booking's
        # INSERT draws an id the history already holds.
        session.execute(text("SELECT setval(pg_get_serial_sequence('work_orders', 'id'), "
                             "(SELECT max(id) FROM work_orders))"))
    for table, rows in out.tables():
        if rows:
            session.execute(insert(table), rows)
    for key, last in counters.items():
        session.merge(OrderCounter(day=key, last=last))
    # Written in bulk, not through the workflow: the reports' roll-ups are built for the whole span here.
    today = to_local(hotline_of(session).now(), hotline_of(session).tz).date()
    rebuild(session, today - timedelta(days=days), today)
    return {"history_orders": len(orders)}


def build_history(session: Session, days: int, scale: float = 1.0) -> tuple[list[dict], "History", dict[str, int]]:
    """The rows of `days` days of history (orders, then events, price lines, surveys, complaints)
    and the day counters of their numbers, not yet written; `scale` multiplies the daily volume
    (bench/reports.py makes a city's year with it). Adds the demo callers to the session."""
    hl = hotline_of(session)
    rng = random.Random(15)
    today = to_local(hl.now(), hl.tz).date()
    services = list(session.scalars(select(Service).where(Service.active).order_by(Service.code)))
    districts = list(session.scalars(select(District).order_by(District.code)))
    # Who serves what where: priority-1 franchisees of each district, and their skilled workers.
    holders: dict[tuple[int, int], list[int]] = {}
    for fd in session.scalars(select(FranchiseeDistrict).order_by(FranchiseeDistrict.priority)):
        for (sid,) in session.execute(select(FranchiseeService.service_id)
                                      .where(FranchiseeService.franchisee_id == fd.franchisee_id)):
            holders.setdefault((fd.district_id, sid), []).append(fd.franchisee_id)
    skilled: dict[tuple[int, int], list[int]] = {}
    for wid, fid, sid in session.execute(select(Worker.id, Worker.franchisee_id, WorkerSkill.service_id)
                                         .join(WorkerSkill, WorkerSkill.worker_id == Worker.id)
                                         .where(Worker.active).order_by(Worker.id)):
        skilled.setdefault((fid, sid), []).append(wid)
    # Bookings the city can serve: a district, a service, franchisees (by priority) with a worker for it.
    servable = {}
    for (did, sid), fids in sorted(holders.items()):
        able = [f for f in fids if skilled.get((f, sid))]
        if able:
            servable[(did, sid)] = able
    pairs = sorted(servable)
    by_id = {s.id: s for s in services}
    customers = _customers(session, districts)
    counters = dict(session.execute(select(OrderCounter.day, OrderCounter.last)).all())

    orders: list[dict] = []
    out = History([], [], [], [])
    next_id = (session.scalar(select(func.max(WorkOrder.id))) or 0) + 1
    for back in range(days, 0, -1):
        day = today - timedelta(days=back)
        for _ in range(round((PER_WEEKDAY[day.weekday()] + rng.randint(-6, 6)) * scale)):
            booked = _at(hl, day, _pick(rng, HOUR_WEIGHTS), rng.randint(0, 59))
            key = day_key(booked, hl.tz)
            counters[key] = counters.get(key, 0) + 1
            district_id, service_id = rng.choice(pairs)
            cust_id, phone, district = rng.choice(customers[district_id])
            orders.append(_order(rng, hl, next_id, f"{key}{counters[key]:05d}", booked, cust_id, phone,
                                 by_id[service_id], district, servable[(district_id, service_id)], skilled, out))
            next_id += 1
    return orders, out, counters


def _at(hl, day: date, hour: int, minute: int) -> datetime:
    return to_utc(datetime.combine(day, time(hour, minute)), hl.tz)


def _customers(session: Session, districts: list[District]) -> dict[int, list[tuple[int, str, District]]]:
    """Demo callers of the history by home district: (customer id, E.164 phone, district)."""
    out = []
    for n in range(CUSTOMERS):
        phone = f"+861379900{n:04d}"
        cust = Customer(name=f"演示客户{n:03d}", language="zh")
        cust.phones.append(CustomerPhone(e164=phone))
        session.add(cust)
        out.append((cust, phone, districts[n % len(districts)]))
    session.flush()
    by_district: dict[int, list[tuple[int, str, District]]] = {}
    for c, p, d in out:
        by_district.setdefault(d.id, []).append((c.id, p, d))
    return by_district


# Demo complaints' categories, in these proportions (tickets.complaints.CATEGORIES).
COMPLAINT_CATEGORIES = ("service", "lateness", "service", "attitude", "lateness", "price", "damage", "other")


@dataclass
class History:
    """The rows written in bulk besides the orders."""
    events: list[dict]
    lines: list[dict]
    surveys: list[dict]
    complaints: list[dict]

    def tables(self) -> list[tuple[type, list[dict]]]:
        """(model, rows) in the order they can be written."""
        return [(WorkOrderEvent, self.events), (PriceLine, self.lines), (Survey, self.surveys),
                (Complaint, self.complaints)]


def _order(rng, hl, order_id, number, booked, cust_id, phone, service, district, fids, skilled,
           out: History) -> dict:
    """One order's row, with its events, price lines, survey and complaint added to `out`."""
    events, surveys, complaints = out.events, out.surveys, out.complaints
    start = booked + timedelta(days=rng.randint(1, 4), hours=rng.choice((-1, 0, 1, 2)))
    price = service.guide_price_fen * service.default_quantity
    row: dict[str, Any] = {
        "id": order_id, "number": number, "channel": _pick(rng, CHANNELS), "customer_id": cust_id, "phone": phone,
        "service_id": service.id, "quantity": service.default_quantity, "scheduled_start": start,
        "address_text": f"{district.name_zh}演示路{order_id % 200 + 1}号", "district_id": district.id,
        "price_total_fen": price, "notes": NOTE, "created_at": booked, "updated_at": booked, "version": 1}
    out.lines.append({"order_id": order_id, "kind": "base", "description": f"{service.name_zh} (demo price)",
                      "quantity": service.default_quantity, "unit_price_fen": service.guide_price_fen,
                      "amount_fen": price})

    def event(action, at, before, after, role="system", **data):
        events.append({"order_id": order_id, "action": action, "from_status": before, "to_status": after,
                       "actor_role": role, "actor_label": "demo", "data": data, "created_at": at})

    event("create", booked, None, "new", role="agent", channel=row["channel"])
    event("confirm", booked, "new", "confirmed")
    now = hl.now()
    if (rng.random() < 0.04 and start - timedelta(hours=1) < now):
        row["status"] = "cancelled"
        event("cancel", booked + timedelta(hours=2), "confirmed", "cancelled", role="agent", reason="customer changed plans")
        return row
    at = booked + timedelta(minutes=rng.randint(0, 3))
    fid = fids[0]
    roll = rng.random()
    if roll < 0.06 and len(fids) > 1:           # the first franchisee refuses; the next one takes it
        event("dispatch", at, "confirmed", "dispatched", franchisee_id=fid)
        at += timedelta(minutes=rng.randint(5, 40))
        event("reject", at, "dispatched", "confirmed", role="franchisee", franchisee_id=fid, reason="no staff that day")
        fid = fids[1]
    elif roll < 0.09:                           # nobody answered in time: expired, dispatched again
        event("dispatch", at, "confirmed", "dispatched", franchisee_id=fid)
        at += timedelta(minutes=30)
        event("expire", at, "dispatched", "confirmed", franchisee_id=fid)
    event("dispatch", at, "confirmed", "dispatched", franchisee_id=fid)
    row.update(franchisee_id=fid, dispatched_at=at, accept_deadline=at + timedelta(minutes=30), status="dispatched")
    at += timedelta(minutes=rng.choice((2, 5, 8, 12, 20, 28)))
    if at > now:
        return row
    event("accept", at, "dispatched", "accepted", role="franchisee")
    row["status"] = "accepted"
    workers = skilled[(fid, service.id)]
    if rng.random() < 0.03 and start - timedelta(hours=2) < now:
        row["status"] = "cancelled"
        cancelled = start - timedelta(hours=20)
        line = late_change_penalty(price, start, cancelled)     # under 72 h before the start: 20%
        out.lines.append({"order_id": order_id, "kind": line.kind, "description": line.description, "quantity": 1,
                          "unit_price_fen": line.unit_price_fen, "amount_fen": line.amount_fen})
        row["price_total_fen"] += line.amount_fen
        event("cancel", cancelled, "accepted", "cancelled", role="agent", reason="customer away",
              penalty_fen=line.amount_fen)
        return row
    began = start + timedelta(minutes=rng.choice((-10, 0, 5, 10, 10, 20, 40)))
    if began > now:
        return row
    row["worker_id"] = rng.choice(workers)
    event("assign_worker", at + timedelta(hours=1), "accepted", "accepted", role="franchisee", worker_id=row["worker_id"])
    event("start", began, "accepted", "in_service", role="franchisee")
    done = began + timedelta(hours=rng.choice((1, 2, 3, 3, 4)))
    if done > now:
        row["status"] = "in_service"
        return row
    final = price + rng.choice((0, 0, 0, 0, 2000, -1000))
    row.update(status="completed", final_price_fen=final)
    event("complete", done, "in_service", "completed", role="franchisee", final_price_fen=final)
    survey: dict[str, Any] = {"order_id": order_id, "phone": phone, "status": "pending", "asked_at": done,
                              "channel": "", "version": 1}
    surveys.append(survey)
    answered = done + timedelta(hours=rng.randint(18, 30))
    if rng.random() < 0.82 and answered <= now:
        score = _pick(rng, SCORES)
        survey.update(status="answered", score=score, answered_at=answered, channel=rng.choice(("phone", "sms")))
        row["status"] = "closed"
        event("close", answered, "completed", "closed", role="callback", score=score)
        if score <= 3:
            _complaint(rng, hl, complaints, order_id, fid, cust_id, phone, "survey", answered, f"回访评分 {score}/5",
                       now)
    elif rng.random() < 0.03:
        _complaint(rng, hl, complaints, order_id, fid, cust_id, phone, rng.choice(("ivr", "sms", "agent")), done,
                   "demo complaint", now)
    return row


def _complaint(rng, hl, complaints, order_id, fid, cust_id, phone, source, at, text, now) -> None:
    due = at + timedelta(hours=hl.settings.complaint_due_hours)
    resolved = at + timedelta(hours=rng.choice((2, 5, 20, 30, 60)))
    open_ = resolved > now or rng.random() < 0.08
    # The franchisee's account comes first, in a third of the time to the decision (kept off the
    # random stream, so the history's orders stay what they were).
    responded = at + (resolved - at) / 3
    complaints.append({"order_id": order_id, "franchisee_id": fid, "customer_id": cust_id, "phone": phone,
                       "source": source, "text": text,
                       "status": "open" if open_ else "resolved", "due_at": due, "created_at": at, "version": 1,
                       "category": COMPLAINT_CATEGORIES[order_id % len(COMPLAINT_CATEGORIES)],
                       "first_response_at": responded if responded <= now else None,
                       "answer": "" if open_ else "demo answer", "resolved_at": None if open_ else resolved})
