"""Two people changing one thing at once: exactly one wins, and the history says so.

Each test races the moves that really meet (the franchisee accepts as the watchdog expires, two
dispatchers, ...) over several rounds, each round on an order of its own. On PostgreSQL both
sides read the order first and only then, released together by a barrier, write it: the lost
update of a read-check-write without a version or a lock shows in every round. SQLite's
transactions are serial (BEGIN IMMEDIATE), so there a side that reads has the database to
itself: the barrier releases the two sides before their reads, and the test shows the same
rules hold there.
"""
from __future__ import annotations

import threading
from collections import Counter
from datetime import datetime, timedelta
from typing import Callable

from sqlalchemy import func, select

from tests.core.helpers import AGENT, CALLBACK, DISPATCHER, book, franchisee_actor, franchisee_named, order_in
from tickets import orders
from tickets.actors import SYSTEM, customer
from tickets.dispatch import CAPACITY_STATES, candidates, dispatch, expire_overdue, release_and_redispatch
from tickets.errors import HotlineError
from tickets.models import Franchisee, Survey, WorkOrder
from tickets.surveys import record
from tickets.timeutil import to_local, to_utc
from tickets.workflow import transition

ROUNDS = 8

Move = Callable[..., object]


def race(hl, number: str, *moves: Move) -> list[object]:
    """Run each move in a thread of its own, in a transaction of its own, on the order `number`;
    each move's result, or the HotlineError that refused it."""
    barrier = threading.Barrier(len(moves), timeout=30)
    serial = hl.engine.dialect.name == "sqlite"
    results: list[object] = [None] * len(moves)

    def run(i: int, move: Move) -> None:
        try:
            with hl.session() as s:
                if serial:
                    barrier.wait()
                with s.begin():
                    order = orders.get(s, number)
                    if not serial:
                        barrier.wait()
                    results[i] = move(s, order)
        except HotlineError as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i, m)) for i, m in enumerate(moves)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a side of the race never finished"
    return results


def new_order(hl, state: str, **kw):
    """A new order in `state`: its number, and its franchisee as an actor (the one who had it
    when the race began, whoever has it afterwards)."""
    with hl.session() as s, s.begin():
        order = order_in(s, hl, state, **kw)
        return order.number, franchisee_actor(order)


def history(hl, number: str) -> list[str]:
    with hl.session() as s:
        return [e.action for e in orders.get(s, number).events]


def refused(result: object) -> bool:
    return isinstance(result, HotlineError)


def test_accept_and_expire_at_once_end_with_one_of_them(hl):
    for _ in range(ROUNDS):
        number, fr = new_order(hl, "dispatched")
        hl.clock.advance(minutes=hl.settings.accept_deadline_minutes + 1)
        accepted, expired = race(
            hl, number,
            lambda s, o: transition(s, o, "accept", fr),
            lambda s, o: expire_overdue(s))
        actions = history(hl, number)
        assert actions.count("accept") + actions.count("expire") == 1, actions
        if "accept" in actions:
            assert not refused(accepted)
            assert number not in expired          # the watchdog left it to the franchisee
        else:
            assert refused(accepted)
            assert number in expired
        with hl.session() as s:
            order = orders.get(s, number)
            if "accept" in actions:
                assert (order.status, order.franchisee_id) == ("accepted", fr.franchisee_id)
            else:
                assert order.franchisee_id != fr.franchisee_id
            assert order.events[-1].to_status == order.status


def test_two_dispatchers_dispatching_one_order_dispatch_it_once(hl):
    for _ in range(ROUNDS):
        number, _ = new_order(hl, "confirmed")
        with hl.session() as s:
            names = [c.franchisee.name for c in candidates(s, orders.get(s, number))[0]]
        assert len(names) >= 2, "the demo city has two franchisees for this order"
        first, second = race(
            hl, number,
            lambda s, o: dispatch(s, o, DISPATCHER, franchisee=franchisee_named(s, names[0])),
            lambda s, o: dispatch(s, o, DISPATCHER, franchisee=franchisee_named(s, names[1])))
        assert sorted(map(refused, (first, second))) == [False, True], (first, second)
        actions = history(hl, number)
        assert actions.count("dispatch") == 1, actions
        winner = first if not refused(first) else second
        with hl.session() as s:
            assert orders.get(s, number).franchisee.name == winner.name


def test_reject_and_recall_at_once_release_the_order_once(hl):
    for _ in range(ROUNDS):
        number, fr = new_order(hl, "dispatched")
        rejected, recalled = race(
            hl, number,
            lambda s, o: release_and_redispatch(s, o, "reject", fr, reason="没有人手"),
            lambda s, o: release_and_redispatch(s, o, "recall", DISPATCHER, reason="客户要求换一家"))
        assert sorted(map(refused, (rejected, recalled))) == [False, True], (rejected, recalled)
        actions = history(hl, number)
        assert actions.count("reject") + actions.count("recall") == 1, actions


def test_complete_and_cancel_at_once_end_with_one_of_them(hl):
    for _ in range(ROUNDS):
        number, fr = new_order(hl, "accepted")

        def start_and_complete(s, o):
            transition(s, o, "start", fr)
            return transition(s, o, "complete", fr, final_price_fen=o.price_total_fen)

        completed, cancelled = race(
            hl, number, start_and_complete,
            lambda s, o: transition(s, o, "cancel", AGENT, reason="客户临时有事"))
        assert sorted(map(refused, (completed, cancelled))) == [False, True], (completed, cancelled)
        actions = history(hl, number)
        assert ("complete" in actions) != ("cancel" in actions), actions
        with hl.session() as s:
            assert orders.get(s, number).status == ("completed" if "complete" in actions else "cancelled")


def test_a_survey_answered_by_sms_and_by_the_desk_at_once_counts_once(hl):
    for _ in range(ROUNDS):
        number, _ = new_order(hl, "completed")
        with hl.session() as s:
            order = orders.get(s, number)
            fr_id = order.franchisee_id
            ratings_before = s.get(Franchisee, fr_id).rating_count
        by_sms, by_desk = race(
            hl, number,
            lambda s, o: record(s, o, 5, customer("sms"), channel="sms"),
            lambda s, o: record(s, o, 2, CALLBACK))
        outcomes = (by_sms, by_desk)
        assert sorted(map(refused, outcomes)) == [False, True], outcomes
        with hl.session() as s:
            survey = s.scalar(select(Survey).join(WorkOrder).where(WorkOrder.number == number))
            assert survey.score == (5 if not refused(by_sms) else 2)
            assert s.get(Franchisee, fr_id).rating_count == ratings_before + 1
        assert history(hl, number).count("close") == 1


def booked_that_day(s, hl, franchisee_id: int, start) -> int:
    day = to_local(start, hl.tz).date()
    first = to_utc(datetime.combine(day, datetime.min.time()), hl.tz)
    return s.scalar(select(func.count()).select_from(WorkOrder).where(
        WorkOrder.franchisee_id == franchisee_id, WorkOrder.status.in_(CAPACITY_STATES),
        WorkOrder.scheduled_start >= first, WorkOrder.scheduled_start < first + timedelta(days=1)))


def test_two_bookings_for_the_last_place_of_a_franchisees_day_take_it_once(hl):
    start = hl.now() + timedelta(days=6)
    with hl.session() as s, s.begin():
        chosen_id = book(s, hl, days=6).franchisee_id
    for _ in range(ROUNDS):
        with hl.session() as s, s.begin():           # one place left on that day
            s.get(Franchisee, chosen_id).daily_capacity = booked_that_day(s, hl, chosen_id, start) + 1
        barrier = threading.Barrier(2, timeout=30)
        numbers: list[str] = []

        def book_one(phone: str) -> None:
            with hl.session() as s:
                barrier.wait()
                with s.begin():
                    numbers.append(orders.book(s, phone=phone, service="BJ", start=start, actor=AGENT,
                                               address="天山区光明路1号", allow_duplicate=True).number)

        threads = [threading.Thread(target=book_one, args=(p,)) for p in ("13800138001", "13800138002")]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert len(numbers) == 2
        with hl.session() as s:
            taken = Counter(orders.get(s, n).franchisee_id for n in numbers)
            assert taken[chosen_id] == 1, taken
            assert booked_that_day(s, hl, chosen_id, start) == s.get(Franchisee, chosen_id).daily_capacity


def test_the_first_two_orders_of_a_new_day_get_two_numbers(hl):
    for _ in range(ROUNDS):
        hl.clock.advance(days=1)
        numbers = race_bookings(hl, 2)
        assert len(set(numbers)) == 2, numbers
        assert sorted(n[-5:] for n in numbers) == ["00001", "00002"], numbers


def test_the_same_booking_twice_at_once_makes_one_order(hl):
    from tickets.errors import DuplicateBooking
    for n in range(ROUNDS):
        start = hl.now() + timedelta(days=2, hours=n)
        barrier = threading.Barrier(2, timeout=30)
        made: list[str] = []
        refused: list[str] = []

        def book_one() -> None:
            with hl.session() as s:
                barrier.wait()
                try:
                    with s.begin():
                        made.append(orders.book(s, phone="13900139000", service="BJ", start=start, actor=AGENT).number)
                except DuplicateBooking as exc:
                    refused.append(exc.number)

        threads = [threading.Thread(target=book_one) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert len(made) == 1 and refused == made, (made, refused)


def race_bookings(hl, n: int) -> list[str]:
    barrier = threading.Barrier(n, timeout=30)
    numbers: list[str] = []

    def book_one() -> None:
        with hl.session() as s:
            barrier.wait()
            with s.begin():
                # The same booking each time, on purpose: the race is for the order number.
                numbers.append(orders.book(s, phone="13800138000", service="BJ", start=hl.now() + timedelta(days=3),
                                           actor=SYSTEM, allow_duplicate=True).number)

    threads = [threading.Thread(target=book_one) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return numbers


def test_two_orders_dispatched_at_once_to_a_franchisee_with_one_place_left_take_it_once(hl):
    # Bookings also meet on the day's number counter; dispatching orders already booked does
    # not, so only the franchisee's row lock keeps its day from being overbooked here.
    with hl.session() as s, s.begin():
        chosen_id = book(s, hl, days=7).franchisee_id
        start = book(s, hl, days=7, auto_dispatch=False).scheduled_start
    for _ in range(ROUNDS):
        with hl.session() as s, s.begin():
            pair = [book(s, hl, days=7, auto_dispatch=False).number for _ in range(2)]
            s.get(Franchisee, chosen_id).daily_capacity = booked_that_day(s, hl, chosen_id, start) + 1
        barrier = threading.Barrier(2, timeout=30)
        serial = hl.engine.dialect.name == "sqlite"

        def dispatch_one(number: str) -> None:
            with hl.session() as s:
                if serial:
                    barrier.wait()
                with s.begin():
                    order = orders.get(s, number)
                    candidates(s, order)                 # both read the day's count first
                    if not serial:
                        barrier.wait()
                    dispatch(s, order, DISPATCHER)

        threads = [threading.Thread(target=dispatch_one, args=(n,)) for n in pair]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        with hl.session() as s:
            taken = Counter(orders.get(s, n).franchisee_id for n in pair)
            assert taken[chosen_id] == 1, taken
            assert booked_that_day(s, hl, chosen_id, start) == s.get(Franchisee, chosen_id).daily_capacity
