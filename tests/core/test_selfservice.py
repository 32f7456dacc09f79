"""Self-service (tickets.selfservice): lookup by order number and code, customer moves, online booking."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests.core.helpers import book, order_in
from tickets import selfservice
from tickets.errors import DuplicateBooking, ValidationError
from tickets.models import WorkOrder
from tickets.timeutil import to_local

WANG = "+8613800138000"
TOMORROW = date(2026, 11, 24)       # the fixed clock is Monday 2026-11-23 10:00 local


def booking(**kw) -> selfservice.BookingRequest:
    values = dict(service="BJ", day=TOMORROW, slot="morning", address="天山区解放南路88号3单元502", phone="13700137000")
    return selfservice.BookingRequest(**{**values, **kw})


def test_a_known_and_an_unknown_order_number_read_the_same(hl):
    with hl.session() as s, s.begin():
        number = book(s, hl).number
        known = selfservice.request_lookup_code(s, number, "203.0.113.5")
        unknown = selfservice.request_lookup_code(s, "2600100001", "203.0.113.6")
    assert known.phone == WANG and known.code is not None
    assert unknown.phone == "" and unknown.code is None
    assert type(known) is type(unknown)


def test_a_malformed_order_number_says_what_one_looks_like(session):
    with pytest.raises(ValidationError, match="10 digits"):
        selfservice.request_lookup_code(session, "12345")


def test_progress_masks_the_contact_and_names_the_worker_by_family_name(hl):
    with hl.session() as s, s.begin():
        order = order_in(s, hl, "accepted")
        p = selfservice.progress(s, order.number)
        assert p.phone == "138****8000" and p.address.endswith("***") and "解放南路" not in p.address
        assert p.worker == order.worker.name[0]
        assert p.moves == ("reschedule", "cancel")


@pytest.mark.parametrize("name, short", [("陈静", "陈"), ("Anna Li", "Anna"), ("", "")])
def test_a_workers_short_name(name, short):
    assert selfservice.worker_short_name(name) == short


def test_a_change_within_72_hours_shows_and_carries_the_penalty(hl):
    with hl.session() as s, s.begin():
        order = book(s, hl, days=1)
        p = selfservice.progress(s, order.number)
        assert p.penalty is not None and p.penalty.amount_fen == order.price_total_fen // 5
        selfservice.cancel(s, order.number)
        assert order.status == "cancelled"
        assert [line.kind for line in order.price_lines].count("penalty") == 1
        assert order.events[-1].actor_label == "customer via online"


def test_a_change_days_ahead_is_free_and_keeps_the_order(hl):
    with hl.session() as s, s.begin():
        order = book(s, hl, days=5)
        assert selfservice.progress(s, order.number).penalty is None
        start = selfservice.slot_start(s, TOMORROW + timedelta(days=6), "afternoon")
        selfservice.reschedule(s, order.number, start)
        assert to_local(order.scheduled_start, hl.tz).hour == 14


@pytest.mark.parametrize("day, slot, message", [
    (date(2026, 11, 22), "morning", "has passed"),
    (date(2026, 11, 23), "morning", "has passed"),
    (TOMORROW, "night", "choose a time"),
    (None, "morning", "choose the day"),
    (date(2027, 6, 1), "morning", "days ahead"),
])
def test_a_slot_is_refused_with_its_own_reason(session, day, slot, message):
    with pytest.raises(ValidationError, match=message):
        selfservice.slot_start(session, day, slot)


def test_the_readback_prices_the_booking_and_finds_the_district(session):
    back = selfservice.readback(session, booking())
    assert back.total_fen == sum(line.amount_fen for line in back.lines) > 0
    assert back.district.name_zh == "天山区" and back.phone == "+8613700137000"


def test_an_unknown_service_is_refused_by_name(session):
    with pytest.raises(ValidationError, match="unknown service 'ZZZ'"):
        selfservice.readback(session, booking(service="ZZZ"))


def test_an_online_booking_needs_the_right_code(hl):
    with hl.session() as s, s.begin():
        _, issued = selfservice.request_booking_code(s, booking(), "203.0.113.5")
    wrong = f"{(int(issued.code) + 1) % 10 ** 6:06d}"
    with hl.session() as s, s.begin():
        assert selfservice.confirm_booking(s, booking(), wrong).reason == "wrong"
    with hl.session() as s, s.begin():
        order = selfservice.confirm_booking(s, booking(), issued.code)
        assert isinstance(order, WorkOrder)
        assert (order.channel, order.status, order.phone) == ("online", "dispatched", "+8613700137000")


def test_the_same_online_booking_twice_is_refused_as_a_duplicate(hl):
    with hl.session() as s, s.begin():
        _, issued = selfservice.request_booking_code(s, booking())
        number = selfservice.confirm_booking(s, booking(), issued.code).number
    with hl.session() as s, s.begin():
        with pytest.raises(DuplicateBooking) as refused:
            selfservice.readback(s, booking())
    assert refused.value.number == number
