"""Putting orders into a given state through the real core (tickets), for console tests."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from tests.core.helpers import EARLY
from tickets import orders, workflow
from tickets.actors import SYSTEM, Actor
from tickets.models import Franchisee, User, Worker

# Seven days after the fixed test clock: far enough that no 72-hour penalty applies.
LATER = datetime(2026, 11, 30, 1, 0)        # 09:00 Asia/Shanghai
TIANSHAN_ADDRESS = "天山区解放南路88号3单元502"
NO_DISTRICT_ADDRESS = "幸福小区12栋"          # matches no district: the order stays new
# The path through the lifecycle, and the role that takes each step.
STEPS = ("dispatched", "accepted", "assigned", "in_service", "completed")


def actor(session, username: str) -> Actor:
    return Actor.from_user(session.scalar(select(User).where(User.username == username)))


def franchisee_id(session, name: str = "天山家政服务有限公司") -> int:
    return session.scalar(select(Franchisee.id).where(Franchisee.name == name))


def worker_id(session, name: str = "李桂兰") -> int:
    return session.scalar(select(Worker.id).where(Worker.name == name))


def make_order(hl, state: str, *, phone: str = "13800138000", service: str = "BJ", start: datetime = LATER,
               address: str | None = None, urgent: bool | None = None) -> str:
    """An order in `state` (new, confirmed, dispatched, accepted, assigned, in_service, completed),
    in 天山区 and dispatched to 天山家政 (franchisee1) from `dispatched` on. Returns its number."""
    with hl.session() as s, s.begin():
        address = address or (NO_DISTRICT_ADDRESS if state == "new" else TIANSHAN_ADDRESS)
        order = orders.book(s, phone=phone, service=service, start=start, actor=SYSTEM, channel="agent",
                            address=address, urgent=urgent, auto_dispatch=state != "confirmed",
                            allow_duplicate=True)     # tests make several orders of the same slot
        if state in ("new", "confirmed"):
            return order.number
        fr = actor(s, "franchisee1")
        for step in STEPS[1:STEPS.index(state) + 1]:
            if step == "accepted":
                workflow.transition(s, order, "accept", fr)
            elif step == "assigned":
                workflow.transition(s, order, "assign_worker", fr, worker=s.get(Worker, worker_id(s)))
            elif step == "in_service":
                workflow.transition(s, order, "start", fr, reason=EARLY)
            elif step == "completed":
                workflow.transition(s, order, "complete", fr, final_price_fen=order.price_total_fen)
        return order.number
