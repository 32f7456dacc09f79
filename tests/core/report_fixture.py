"""A small world of orders, surveys and complaints whose figures are worked out by hand.

All on Thursday 2026-12-10 (local, Asia/Shanghai) and the days after, clear of the demo city's
history. BJ (home cleaning) is 3 h × 40.00 = 120.00 yuan.

| order | channel | district   | franchisee      | what happens                                                    |
|-------|---------|------------|-----------------|-----------------------------------------------------------------|
| A     | agent   | 天山区      | 天山家政 (fr1)   | dispatched 10:00, accepted 10:30, started 12-11 10:10 (on time), completed 13:10 at 150.00; survey 5 |
| B     | sms     | 沙依巴克区  | 沙依巴克洁家 (fr2) | dispatched 10:00, rejected 11:00, dispatched again 11:30, accepted 12:00, started 12-12 11:00 (late), completed 14:00 at 120.00; survey 2 -> complaint (lateness), answered by fr2 2 h later, resolved 5 h later |
| C     | ivr     | 天山区      | —               | not dispatched, cancelled 10:00 (start 12-11: under 72 h -> penalty 24.00) |
| D     | twilio  | 天山区      | 天山家政 (fr1)   | dispatched 10:00, let expire 13:00 -> waiting for dispatch       |
| —     |         |            |                 | complaint about no order (agent, attitude), opened 12-10 10:00, still open |

Hand-worked figures for 2026-12-10 .. 2026-12-13, supervisor:
booked 4, dispatched 3 (A, B, D), completed 2, cancelled 1, open 1 (D), refusals 2, redispatches 1,
accepted on time 2/3 (A, B; D expired), started on time 1/2, penalties 2400 fen,
revenue 15000 + 12000 = 27000 fen; booked->dispatched median 0; dispatched->accepted A 1800 s,
B 7200 s (first dispatch to first accept): median 4500, p90 7200.
Surveys 2, answered 2, average 3.50, one 2 and one 5. Complaints opened 2: one about no order
(attitude, open), one from B's survey (lateness: first response 7200 s, resolved 18000 s).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from tickets import complaints, orders
from tickets.actors import SYSTEM, Actor
from tickets.order_rollups import roll_up
from tickets.surveys import record
from tickets.workflow import transition
from tests.core.helpers import AGENT, DISPATCHER, franchisee_actor, franchisee_named, valid_worker

DAY = date(2026, 12, 10)
T0 = datetime(2026, 12, 10, 2, 0)       # 10:00 local
TIANSHAN = "天山区解放南路88号"
SAYIBAKE = "沙依巴克区友好北路6号"


@dataclass
class World:
    a: str
    b: str
    c: str
    d: str
    penalty_fen: int


def build(hl, clock) -> World:
    clock.now = T0
    with hl.session() as s, s.begin():
        start = T0 + timedelta(days=1)
        a = orders.book(s, phone="13811110001", service="BJ", start=start, actor=AGENT, channel="agent",
                        address=TIANSHAN, allow_duplicate=True)
        b = orders.book(s, phone="13811110002", service="BJ", start=T0 + timedelta(days=2), actor=AGENT,
                        channel="sms", address=SAYIBAKE, allow_duplicate=True)
        c = orders.book(s, phone="13811110003", service="BJ", start=start, actor=AGENT, channel="ivr",
                        address=TIANSHAN, auto_dispatch=False, allow_duplicate=True)
        d = orders.book(s, phone="13811110004", service="BJ", start=start, actor=AGENT, channel="twilio",
                        address=TIANSHAN, allow_duplicate=True)
        assert (a.franchisee.name, b.franchisee.name, d.franchisee.name) == \
            ("天山家政服务有限公司", "沙依巴克洁家服务中心", "天山家政服务有限公司")
        transition(s, c, "cancel", AGENT, reason="plans changed")
        complaints.open_complaint(s, actor=AGENT, source="agent", phone="+8613711110009", text="rude on the phone",
                                  category_code="attitude")
        numbers = World(a.number, b.number, c.number, d.number, 0)
        numbers.penalty_fen = c.price_total_fen - 12000
    _at(hl, clock, T0 + timedelta(minutes=30), lambda s, o: transition(s, o, "accept", franchisee_actor(o)), numbers.a)
    _at(hl, clock, T0 + timedelta(hours=1), lambda s, o: transition(s, o, "reject", franchisee_actor(o),
                                                                      reason="no staff"), numbers.b)
    _at(hl, clock, T0 + timedelta(minutes=90), lambda s, o: transition(
        s, o, "dispatch", DISPATCHER, franchisee=franchisee_named(s, "沙依巴克洁家服务中心")), numbers.b)
    _at(hl, clock, T0 + timedelta(hours=2), lambda s, o: transition(s, o, "accept", franchisee_actor(o)), numbers.b)
    _at(hl, clock, T0 + timedelta(hours=3), lambda s, o: transition(s, o, "expire", SYSTEM), numbers.d)
    _serve(hl, clock, numbers.a, T0 + timedelta(days=1, minutes=10), 15000, 5)
    _serve(hl, clock, numbers.b, T0 + timedelta(days=2, hours=1), 12000, 2)
    # The low score opened a complaint at the survey (12-13 10:00), filed under lateness; the
    # franchisee gives its account 2 h later and the platform decides it 5 h after the opening.
    supervisor = Actor(role="supervisor", label="supervisor-test")
    clock.now = T0 + timedelta(days=3, hours=2)
    with hl.session() as s, s.begin():
        cp = _survey_complaint(s)
        complaints.set_category(s, cp, "lateness", supervisor)
        complaints.give_account(s, cp, "the worker was held up", franchisee_actor(orders.get(s, numbers.b)))
    clock.now = T0 + timedelta(days=3, hours=5)
    with hl.session() as s, s.begin():
        complaints.decide(s, _survey_complaint(s), "refunded", supervisor)
    # The reports read the roll-ups: the scheduler's job brings them up to date.
    roll_up(hl)
    return numbers


def _survey_complaint(s):
    from sqlalchemy import select
    from tickets.models import Complaint
    return s.scalar(select(Complaint).where(Complaint.source == "survey", Complaint.created_at >= T0))


def _at(hl, clock, when, move, number) -> None:
    clock.now = when
    with hl.session() as s, s.begin():
        move(s, orders.get(s, number))


def _serve(hl, clock, number, started, final_fen, score) -> None:
    clock.now = started
    with hl.session() as s, s.begin():
        o = orders.get(s, number)
        fr = franchisee_actor(o)
        transition(s, o, "assign_worker", fr, worker=valid_worker(s, o))
        transition(s, o, "start", fr)
    clock.now = started + timedelta(hours=3)
    with hl.session() as s, s.begin():
        o = orders.get(s, number)
        transition(s, o, "complete", franchisee_actor(o), final_price_fen=final_fen)
    clock.now = T0 + timedelta(days=3)
    with hl.session() as s, s.begin():
        record(s, orders.get(s, number), score, Actor(role="callback", label="callback-test"))
