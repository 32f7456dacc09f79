"""Two people changing one complaint at once: exactly one wins, and the complaint's history says so.

As in test_races: on PostgreSQL both sides read the complaint first and only then, released
together by a barrier, change it, so a missing version check would let both win in every round;
on SQLite (serial transactions) the barrier releases the sides before their reads.
"""
from __future__ import annotations

import threading
from typing import Callable

from tests.core.helpers import AGENT, franchisee_actor, order_in
from tickets import complaints
from tickets.actors import SYSTEM, Actor
from tickets.errors import ConcurrentChange, HotlineError
from tickets.models import Complaint

ROUNDS = 8
SUPERVISOR = Actor(role="supervisor", label="supervisor-a")
ADMIN = Actor(role="admin", label="admin-b")

Move = Callable[..., object]


def race(hl, complaint_id: int, *moves: Move) -> list[object]:
    """Each move in a thread and a transaction of its own on the complaint; its result or refusal."""
    barrier = threading.Barrier(len(moves), timeout=30)
    serial = hl.engine.dialect.name == "sqlite"
    results: list[object] = [None] * len(moves)

    def run(i: int, move: Move) -> None:
        try:
            with hl.session() as s:
                if serial:
                    barrier.wait()
                with s.begin():
                    c = s.get(Complaint, complaint_id)
                    c.status                     # read before the other side writes
                    if not serial:
                        barrier.wait()
                    results[i] = move(s, c)
        except HotlineError as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i, m)) for i, m in enumerate(moves)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a side of the race never finished"
    return results


def new_complaint(hl) -> tuple[int, Actor]:
    with hl.session() as s, s.begin():
        order = order_in(s, hl, "completed")
        c = complaints.open_complaint(s, actor=AGENT, source="agent", order=order, text="late")
        s.flush()
        return c.id, franchisee_actor(order)


def trail(hl, complaint_id: int) -> list[str]:
    with hl.session() as s:
        return [e.action for e in complaints.history(s, s.get(Complaint, complaint_id))]


def test_two_staff_deciding_one_complaint_at_once_make_one_decision(hl):
    for _ in range(ROUNDS):
        cid, _ = new_complaint(hl)
        a, b = race(hl, cid,
                    lambda s, c: complaints.decide(s, c, "refund", SUPERVISOR, compensation_kind="refund",
                                                   compensation_fen=500),
                    lambda s, c: complaints.decide(s, c, "apology only", ADMIN))
        assert sorted(isinstance(r, HotlineError) for r in (a, b)) == [False, True], (a, b)
        with hl.session() as s:
            c = s.get(Complaint, cid)
            assert c.answer == ("refund" if not isinstance(a, HotlineError) else "apology only")
            assert c.compensation_fen == (500 if c.answer == "refund" else 0)
        assert trail(hl, cid).count("complaint.decide") == 1


def test_the_franchisees_account_and_the_platforms_decision_at_once_one_wins(hl):
    for _ in range(ROUNDS):
        cid, fr = new_complaint(hl)
        account, decision = race(hl, cid,
                                 lambda s, c: complaints.give_account(s, c, "our worker was ill", fr),
                                 lambda s, c: complaints.decide(s, c, "sorry", SUPERVISOR))
        outcomes = (account, decision)
        assert sorted(isinstance(r, HotlineError) for r in outcomes) == [False, True], outcomes
        if hl.engine.dialect.name != "sqlite":
            # Both had read it open: the loser is told it changed, not refused on a stale state.
            assert any(isinstance(r, ConcurrentChange) for r in outcomes)
        actions = trail(hl, cid)
        assert ("complaint.account" in actions) != ("complaint.decide" in actions)


def test_escalation_racing_a_decision_leaves_one_consistent_complaint(hl, clock):
    for _ in range(ROUNDS):
        cid, _ = new_complaint(hl)
        clock.advance(hours=hl.settings.complaint_due_hours, minutes=1)
        escalated, decision = race(hl, cid,
                                   lambda s, c: complaints.escalate_overdue(s, SYSTEM),
                                   lambda s, c: complaints.decide(s, c, "sorry", SUPERVISOR))
        with hl.session() as s:
            c = s.get(Complaint, cid)
            escalated_at, status = c.escalated_at, c.status
        # Either the decision came first (no escalation) or both happened, one after the other.
        assert trail(hl, cid).count("complaint.escalate") == (1 if escalated_at else 0)
        assert status == ("resolved" if not isinstance(decision, HotlineError) else "open")
