"""Booking from any channel: bad input gets a clear error and leaves nothing half-written."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.core.helpers import AGENT, book
from tickets import orders
from tickets.errors import DuplicateBooking, NotFound, ValidationError
from tickets.models import Customer, WorkOrder, WorkOrderEvent


def counts(hl):
    with hl.session() as s:
        return tuple(s.scalar(select(func.count()).select_from(m)) for m in (WorkOrder, WorkOrderEvent, Customer))


@pytest.mark.parametrize("kwargs, message", [
    ({"service": "ZZ"}, "unknown service code 'ZZ'; codes are: .*BJ"),
    ({"phone": "12345"}, "not a phone number; give a mainland mobile like 13800138000"),
    ({"phone": "13800138000", "quantity": 0}, "quantity must be a whole number from 1 to 1000"),
    ({"phone": "13800138000", "quantity": 2.5}, "quantity must be a whole number"),
    ({"channel": "fax"}, "channel 'fax' is not one of"),
    ({"days": -1}, "must be in the future"),
    # The fixed clock is 2026-11-23: 90 days (BOOKING_HORIZON_DAYS) ahead is 2027-02-21.
    ({"days": 91}, r"bookings are taken up to 90 days ahead, until 2027-02-21; choose an earlier date \(got 2027-02-22\)"),
])
def test_bad_booking_is_refused_and_nothing_is_written(hl, kwargs, message):
    before = counts(hl)
    params = {"phone": "13900000001", "service": "BJ", "days": 3, **kwargs}
    days = params.pop("days")
    with pytest.raises(ValidationError, match=message):
        with hl.session() as s, s.begin():
            orders.book(s, start=hl.now() + timedelta(days=days), actor=AGENT, **params)
    assert counts(hl) == before


def test_any_of_a_customers_numbers_finds_the_customer(session, hl):
    by_landline = orders.book(session, phone="0991-4567890", service="BJ", start=hl.now() + timedelta(days=2), actor=AGENT)
    assert by_landline.customer.name == "王女士"
    assert by_landline.phone == "+869914567890"
    assert by_landline.address_text.startswith("天山区")        # her default address


def test_new_caller_becomes_a_customer_with_the_given_address(session, hl):
    o = orders.book(session, phone="+86 139-0000-0002", service="SD", start=hl.now() + timedelta(hours=5),
                    actor=AGENT, address="水磨沟区南湖路1号", name="孙先生")
    assert o.customer.name == "孙先生"
    assert o.phone == "+8613900000002"
    assert o.district.name_zh == "水磨沟区"
    assert o.status == "dispatched"
    assert o.customer.default_address.text == "水磨沟区南湖路1号"


def test_order_json_has_number_status_district_franchisee_and_price_lines(session, hl):
    d = orders.to_dict(book(session, hl), hl.tz, history=True)
    assert d["status"] == "dispatched"
    assert d["district"] == "天山区"
    assert d["franchisee"] == "天山家政服务有限公司"
    assert d["price_lines"] == [{"kind": "base", "description": "家庭保洁 3小时", "quantity": 3,
                                 "unit_price_fen": 4000, "amount_fen": 12000}]
    assert [h["action"] for h in d["history"]] == ["create", "confirm", "dispatch"]
    assert d["scheduled_start"].endswith("+08:00")


def test_masked_view_hides_phone_and_address(session, hl):
    d = orders.to_dict(book(session, hl), hl.tz, masked=True)
    assert d["phone"] == "138****8000"
    assert d["address"] == "***"


def test_unknown_order_number_is_not_found(session):
    with pytest.raises(NotFound, match="no work order 2632799999"):
        orders.get(session, "2632799999")


def test_only_the_customers_numbers_may_see_an_order(session, hl):
    o = book(session, hl)
    assert orders.phone_may_see(session, o, "+8613800138000")
    assert orders.phone_may_see(session, o, "+869914567890")     # her landline
    assert not orders.phone_may_see(session, o, "+8613900139000")


def test_open_orders_for_phone_lists_earliest_first(session, hl):
    later = book(session, hl, days=9)
    sooner = book(session, hl, days=4)
    numbers = [o.number for o in orders.open_orders_for_phone(session, "+8613800138000")]
    assert numbers.index(sooner.number) < numbers.index(later.number)


def test_an_orders_history_gives_its_times_in_local_time_like_the_order(hl, session):
    order = book(session, hl)
    out = orders.to_dict(order, hl.tz, history=True)
    dispatched = next(h for h in out["history"] if h["action"] == "dispatch")
    # The clock is 02:00 UTC; the 30-minute deadline reads 10:30 in Shanghai, as the order's own field.
    assert dispatched["data"]["accept_deadline"] == "2026-11-23T10:30:00+08:00" == out["accept_deadline"]


def test_the_same_booking_again_is_refused_naming_the_order_it_has(session, hl):
    first = book(session, hl, allow_duplicate=False)
    with pytest.raises(DuplicateBooking, match=f"already has order {first.number} for 家庭保洁 at .*nothing was booked") as err:
        book(session, hl, allow_duplicate=False, phone="+86 138 0013 8000")
    assert err.value.number == first.number
    assert session.scalar(select(func.count()).select_from(WorkOrder)
                          .where(WorkOrder.phone == first.phone, WorkOrder.scheduled_start == first.scheduled_start)) == 1


def test_a_second_identical_booking_is_made_when_the_customer_confirms_it(session, hl):
    first = book(session, hl, allow_duplicate=False)
    second = book(session, hl, allow_duplicate=True)
    assert second.number != first.number


def test_another_service_time_or_a_cancelled_order_is_no_duplicate(session, hl):
    from tests.core.helpers import AGENT as agent
    from tickets.workflow import transition
    first = book(session, hl, allow_duplicate=False)
    book(session, hl, allow_duplicate=False, service="XSG")
    book(session, hl, allow_duplicate=False, days=6)
    transition(session, first, "cancel", agent, reason="changed plans")
    assert book(session, hl, allow_duplicate=False).number != first.number
