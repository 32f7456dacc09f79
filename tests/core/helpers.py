"""Builders shared by the core tests: orders walked into any lifecycle state."""
from __future__ import annotations

import threading
from datetime import timedelta
from typing import Callable

from sqlalchemy import select

from tickets import orders
from tickets.actors import Actor
from tickets.errors import HotlineError
from tickets.models import Franchisee, Worker
from tickets.surveys import record
from tickets.workflow import transition

AGENT = Actor(role="agent", user_id=None, label="agent-test")
DISPATCHER = Actor(role="dispatcher", label="dispatcher-test")
CALLBACK = Actor(role="callback", label="callback-test")


def franchisee_actor(order) -> Actor:
    return Actor(role="franchisee", label="fr-test", franchisee_id=order.franchisee_id)


def valid_worker(session, order) -> Worker:
    """A worker of the order's franchisee (any franchisee's when it has none) with a valid certificate
    and the skill of the order's service."""
    fr = session.get(Franchisee, order.franchisee_id) if order.franchisee_id else \
        franchisee_named(session, "天山家政服务有限公司")
    return next(w for w in fr.workers
                if w.health_cert_expires and w.health_cert_expires > order.scheduled_start.date()
                and any(skill.service_id == order.service_id for skill in w.skills))


def book(session, hl, *, days=5, phone="13800138000", service="BJ", **kw):
    kw.setdefault("allow_duplicate", True)       # tests book the same slot again on purpose (capacity, ranking)
    return orders.book(session, phone=phone, service=service, start=hl.now() + timedelta(days=days),
                       actor=AGENT, **kw)


# Orders are booked days ahead of the fixed clock: starting one today needs a reason (workflow._start).
EARLY = "customer asked us to come early"


def order_in(session, hl, state: str, worker: bool = True, **kw):
    """A real order walked through the lifecycle into `state` (accepted: with a worker unless worker=False)."""
    if state == "new":
        return book(session, hl, address="火星路1号", **kw)
    if state == "confirmed":
        return book(session, hl, auto_dispatch=False, **kw)
    o = book(session, hl, **kw)
    assert o.status == "dispatched", o.unassigned_reason
    if state == "dispatched":
        return o
    fr = franchisee_actor(o)
    transition(session, o, "accept", fr)
    if state == "accepted" and not worker:
        return o
    transition(session, o, "assign_worker", fr, worker=valid_worker(session, o))
    if state == "accepted":
        return o
    transition(session, o, "start", fr, reason=EARLY)
    if state == "in_service":
        return o
    transition(session, o, "complete", fr, final_price_fen=o.price_total_fen)
    if state == "completed":
        return o
    if state in ("closed", "rework"):
        record(session, o, 5, CALLBACK)
        if state == "rework":
            transition(session, o, "rework", CALLBACK, reason="complaint")
        return o
    if state == "cancelled":
        raise AssertionError("use order_in(..., 'confirmed') then cancel")
    raise AssertionError(state)


def franchisee_named(session, name: str) -> Franchisee:
    return session.scalar(select(Franchisee).where(Franchisee.name == name))


def at_once(hl, work: Callable, calls: list[tuple]) -> list[object]:
    """`work(session, *args)` for each args of `calls`, every one in its own session and transaction,
    started together (a barrier): what each returned, or the HotlineError it raised, in call order."""
    barrier = threading.Barrier(len(calls), timeout=30)
    results: list[object] = [None] * len(calls)

    def run(i: int, args: tuple) -> None:
        with hl.session() as s:
            barrier.wait()
            try:
                with s.begin():
                    results[i] = work(s, *args)
            except HotlineError as exc:
                results[i] = exc

    threads = [threading.Thread(target=run, args=(i, args)) for i, args in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results
