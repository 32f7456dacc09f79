"""Work orders in the console: search, the booking form (also opened by the screen-pop), the
detail page, moves, and the 72-hour penalty shown before it is applied."""
from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from tests.console.conftest import text
from tests.console.helpers import make_order
from tickets import calls
from tickets.models import Call, WorkOrder


def _order(hl, number: str) -> WorkOrder:
    """The order as stored now, loaded whole and detached (no transaction left open)."""
    with hl.session() as s:
        return s.scalar(select(WorkOrder).where(WorkOrder.number == number).options(
            selectinload(WorkOrder.customer), selectinload(WorkOrder.district), selectinload(WorkOrder.franchisee),
            selectinload(WorkOrder.price_lines)))


def _numbers(page: str) -> set[str]:
    return set(re.findall(r'data-testid="order-row-(\d{10})"', page))


# ---------------------------------------------------------------- search

def test_search_by_number_finds_that_order(login, hl):
    wanted, other = make_order(hl, "dispatched"), make_order(hl, "dispatched")
    assert _numbers(text(login("agent1").get(f"/orders/?number={wanted}"))) == {wanted}


def test_search_by_any_of_the_customers_numbers_finds_their_orders(login, hl):
    wanted = make_order(hl, "dispatched")                     # booked from 13800138000
    make_order(hl, "dispatched", phone="13900139000")
    found = _numbers(text(login("agent1").get("/orders/?phone=0991-4567890")))   # 王女士's landline
    assert wanted in found
    assert all(_order(hl, n).phone == "+8613800138000" for n in found)


def test_search_by_the_last_digits_of_a_phone(login, hl):
    wanted = make_order(hl, "dispatched", phone="13900139000")
    assert wanted in _numbers(text(login("agent1").get("/orders/?phone=9000")))


def test_search_by_customer_name(login, hl):
    wanted = make_order(hl, "dispatched", phone="13900139000")   # 李先生
    found = _numbers(text(login("agent1").get("/orders/?name=李先生")))
    assert wanted in found
    assert all(_order(hl, n).customer.name == "李先生" for n in found)


def test_search_by_status_district_service_and_date(login, hl):
    wanted = make_order(hl, "accepted", service="YYJ")
    make_order(hl, "dispatched", service="YYJ")
    make_order(hl, "accepted", service="BJ")
    district = _order(hl, wanted).district_id
    page = text(login("agent1").get(f"/orders/?status=accepted&service=YYJ&district={district}"
                                    "&date_from=2026-11-30&date_to=2026-11-30"))
    assert _numbers(page) == {wanted}


def test_search_by_a_day_with_no_orders_finds_none(login, hl):
    make_order(hl, "dispatched")
    assert _numbers(text(login("agent1").get("/orders/?date_from=2026-12-05&date_to=2026-12-06"))) == set()


def test_a_bad_search_says_what_to_type_with_400(login):
    resp = login("agent1").get("/orders/?phone=12")
    assert resp.status_code == 400
    assert "至少其中4位数字" in text(resp)


# ---------------------------------------------------------------- booking

def test_the_form_is_prefilled_from_the_screen_pop_parameters(login, hl):
    with hl.session() as s, s.begin():
        call_id = calls.start_call(s, "sim-123", "simulator", "13800138000").id
    page = text(login("agent1").get(f"/orders/new?phone=13800138000&name=王女士&address=水磨沟区南湖路12号"
                                    f"&service=YYJ&call_id={call_id}"))
    assert 'id="order-phone" name="phone" type="tel" value="13800138000"' in page
    assert 'value="王女士"' in page
    assert 'value="水磨沟区南湖路12号"' in page
    assert '<option value="YYJ" selected>' in page
    assert f'id="order-call-id" value="{call_id}"' in page


def test_a_known_callers_default_address_is_offered(login):
    page = text(login("agent1").get("/orders/new?phone=13800138000"))
    assert 'value="天山区解放南路88号3单元502"' in page
    assert 'data-testid="order-known-customer"' in page


def test_booking_from_a_call_links_the_order_to_the_call(login, hl):
    with hl.session() as s, s.begin():
        call_id = calls.start_call(s, "sim-456", "simulator", "13800138000").id
    resp = login("agent1").post("/orders/new", {"phone": "13800138000", "service": "BJ", "when": "2026-11-30T09:00",
                                                "call_id": str(call_id), "dispatch_now": "1"})
    number = resp.headers["Location"].rsplit("/", 1)[1]
    order = _order(hl, number)
    assert order.call_id == call_id
    assert order.channel == "agent"
    with hl.session() as s:
        assert s.get(Call, call_id).order_id == order.id


def test_the_same_booking_again_asks_for_confirmation_and_books_only_when_ticked(login, hl):
    form = {"phone": "13800138000", "service": "BJ", "when": "2026-11-30T09:00", "dispatch_now": "1"}
    agent = login("agent1")
    first = agent.post("/orders/new", form).headers["Location"].rsplit("/", 1)[1]
    again = agent.post("/orders/new", form)
    assert again.status_code == 409
    page = text(again)
    assert f"该号码已有同一服务、同一时间的工单 {first}" in page
    assert 'id="order-allow-duplicate"' in page and 'value="13800138000"' in page
    with hl.session() as s:
        assert s.scalar(select(func.count()).select_from(WorkOrder).where(
            WorkOrder.phone == "+8613800138000", WorkOrder.scheduled_start == _order(hl, first).scheduled_start)) == 1
    second = agent.post("/orders/new", {**form, "allow_duplicate": "1"})
    assert second.status_code == 302
    assert second.headers["Location"].rsplit("/", 1)[1] != first


def test_a_new_callers_order_creates_the_customer(login, hl):
    resp = login("agent1").post("/orders/new", {"phone": "13500135000", "name": "钱女士", "service": "BJ",
                                                "when": "2026-11-30T09:00", "address": "天山区新华北路1号"})
    order = _order(hl, resp.headers["Location"].rsplit("/", 1)[1])
    assert order.customer.name == "钱女士"
    assert order.district.name_zh == "天山区"


def test_a_date_past_the_bookable_window_is_refused_with_the_last_bookable_day(login, hl):
    resp = login("agent1").post("/orders/new", {"phone": "13800138000", "service": "BJ", "when": "9999-12-31T09:00"})
    assert resp.status_code == 400
    assert "最多可预约 90 天内的服务（至 2027-02-21）" in text(resp)
    with hl.session() as s:
        assert s.scalar(select(WorkOrder).where(WorkOrder.scheduled_start > datetime(2027, 3, 1))) is None


def test_a_bad_phone_number_keeps_the_form_and_says_the_right_format(login):
    resp = login("agent1").post("/orders/new", {"phone": "12345", "name": "钱女士", "service": "BJ",
                                                "when": "2026-11-30T09:00"})
    assert resp.status_code == 400
    assert "“12345”不是有效的电话号码：请填写手机号（如 13800138000）" in text(resp)
    assert 'value="钱女士"' in text(resp)


def test_a_quantity_that_is_not_a_number_keeps_the_form_and_says_so(login):
    resp = login("agent1").post("/orders/new", {"phone": "13800138000", "name": "钱女士", "service": "BJ",
                                                "when": "2026-11-30T09:00", "quantity": "two"})
    assert resp.status_code == 400
    assert "quantity must be a whole number" in text(resp)
    assert "got &#39;two&#39;" in text(resp)
    assert 'value="钱女士"' in text(resp)
    assert 'value="two"' in text(resp)


def test_an_unticked_dispatch_box_stays_unticked_when_the_form_comes_back(login):
    resp = login("agent1").post("/orders/new", {"phone": "12345", "service": "BJ", "when": "2026-11-30T09:00"})
    assert resp.status_code == 400
    assert re.search(r'id="order-dispatch-now"[^>]*checked', text(resp)) is None


def test_a_time_in_the_past_is_refused(login):
    resp = login("agent1").post("/orders/new", {"phone": "13800138000", "service": "BJ", "when": "2026-11-20T09:00"})
    assert resp.status_code == 400
    assert "服务时间必须在将来" in text(resp)


def test_an_order_left_to_the_dispatcher_waits_confirmed(login, hl):
    resp = login("agent1").post("/orders/new", {"phone": "13800138000", "service": "BJ", "when": "2026-11-30T09:00"})
    assert _order(hl, resp.headers["Location"].rsplit("/", 1)[1]).status == "confirmed"


# ---------------------------------------------------------------- detail and moves

def test_the_detail_offers_only_the_moves_the_role_may_make(login, hl):
    number = make_order(hl, "dispatched")
    actions = lambda user: re.search(r'data-actions="([^"]*)"', text(login(user).get(f"/orders/{number}"))).group(1)
    assert actions("franchisee1").split() == ["accept", "reject", "note"]
    assert actions("dispatcher1").split() == ["recall", "reschedule", "cancel", "note"]
    assert actions("callback1").split() == ["note"]


def test_a_move_not_possible_in_the_state_says_state_and_allowed_moves_with_409(login, hl):
    number = make_order(hl, "completed")
    resp = login("franchisee1").post(f"/orders/{number}/act", {"action": "accept"})
    assert resp.status_code == 409
    assert f"工单 {number} 当前状态为“已完工”，不能执行“接单”（此状态下可执行：" in text(resp)


def test_a_move_of_another_role_is_refused_with_403_and_what_the_role_may_do(login, hl):
    number = make_order(hl, "dispatched")
    resp = login("agent1").post(f"/orders/{number}/act", {"action": "recall", "reason": "x"})
    assert resp.status_code == 403
    assert f"“坐席”角色不能对工单 {number} 执行“改派”（您可以：" in text(resp)
    assert _order(hl, number).status == "dispatched"


def test_an_expired_health_certificate_blocks_the_assignment_with_the_reason(login, hl):
    from tests.console.helpers import worker_id
    number = make_order(hl, "accepted")
    with hl.session() as s:
        expired = worker_id(s, "阿依古丽")
    resp = login("franchisee1").post(f"/orders/{number}/act", {"action": "assign_worker", "worker_id": str(expired)})
    assert resp.status_code == 400
    assert "健康证已于" in text(resp)
    assert _order(hl, number).worker_id is None


def test_a_worker_without_the_services_skill_is_not_offered_and_is_refused(login, hl):
    from tests.console.helpers import worker_id
    number = make_order(hl, "accepted")          # home cleaning
    with hl.session() as s:
        electrician = worker_id(s, "马建国")
    franchisee = login("franchisee1")
    page = text(franchisee.get(f"/orders/{number}"))
    assert 'id="action-assign-worker-worker"' in page and "马建国" not in page and "李桂兰" in page
    resp = franchisee.post(f"/orders/{number}/act", {"action": "assign_worker", "worker_id": str(electrician)})
    assert resp.status_code == 400
    assert "其技能不包括家庭保洁" in text(resp)
    assert _order(hl, number).worker_id is None


def test_completion_turns_the_yuan_typed_into_exact_fen(login, hl):
    number = make_order(hl, "in_service")
    login("franchisee1").post(f"/orders/{number}/act", {"action": "complete", "final_price": "150.10",
                                                        "notes": "加时半小时"})
    order = _order(hl, number)
    assert order.final_price_fen == 15010
    assert order.completion_notes == "加时半小时"


def test_a_price_that_is_not_yuan_is_refused(login, hl):
    number = make_order(hl, "in_service")
    resp = login("franchisee1").post(f"/orders/{number}/act", {"action": "complete", "final_price": "150.105"})
    assert resp.status_code == 400
    assert "最多两位小数" in text(resp)
    assert _order(hl, number).status == "in_service"


def test_dispatching_to_a_chosen_franchisee(login, hl):
    from tests.console.helpers import franchisee_id
    number = make_order(hl, "confirmed")
    with hl.session() as s:
        second = franchisee_id(s, "沙依巴克洁家服务中心")
    login("dispatcher1").post(f"/orders/{number}/act", {"action": "dispatch", "franchisee_id": str(second)})
    assert _order(hl, number).franchisee.name == "沙依巴克洁家服务中心"


# ---------------------------------------------------------------- the 72-hour penalty

def test_cancelling_within_72_hours_shows_the_penalty_before_applying_it(login, hl):
    number = make_order(hl, "dispatched", start=datetime(2026, 11, 24, 1, 0))   # tomorrow 09:00
    agent = login("agent1")
    step = agent.post(f"/orders/{number}/act", {"action": "cancel", "reason": "plans changed"})
    assert step.status_code == 200
    assert 'data-testid="penalty-amount">¥24.00' in text(step)           # 20% of ¥120.00
    assert _order(hl, number).status == "dispatched"                     # nothing applied yet
    agent.post(f"/orders/{number}/act", {"action": "cancel", "reason": "plans changed", "confirmed": "1"})
    order = _order(hl, number)
    assert order.status == "cancelled"
    assert [(l.kind, l.amount_fen) for l in order.price_lines if l.kind == "penalty"] == [("penalty", 2400)]


def test_rescheduling_more_than_72_hours_ahead_shows_no_penalty(login, hl):
    number = make_order(hl, "dispatched")                                # seven days ahead
    step = login("agent1").post(f"/orders/{number}/act", {"action": "reschedule", "when": "2026-12-02T14:00"})
    assert 'data-testid="no-penalty"' in text(step)
    assert 'id="confirm-new-when">2026-12-02 14:00' in text(step)


def test_rescheduling_after_confirmation_moves_the_order(login, hl):
    number = make_order(hl, "dispatched")
    login("agent1").post(f"/orders/{number}/act", {"action": "reschedule", "when": "2026-12-02T14:00",
                                                   "confirmed": "1"})
    assert _order(hl, number).scheduled_start == datetime(2026, 12, 2, 6, 0)     # 14:00 Shanghai in UTC


def test_a_bad_new_time_is_refused_before_the_confirmation_step(login, hl):
    number = make_order(hl, "dispatched")
    resp = login("agent1").post(f"/orders/{number}/act", {"action": "reschedule", "when": "next week"})
    assert resp.status_code == 400
    assert "请按 YYYY-MM-DD HH:MM 填写" in text(resp)


def test_a_cancel_by_a_role_that_may_not_is_refused_without_a_confirmation_step(login, hl):
    number = make_order(hl, "dispatched")
    resp = login("callback1").post(f"/orders/{number}/act", {"action": "cancel", "reason": "x"})
    assert resp.status_code == 403
    assert 'data-testid="confirm-action"' not in text(resp)


def test_choosing_the_district_of_a_flagged_order_confirms_and_dispatches_it(login, hl):
    from tickets.models import District
    number = make_order(hl, "new")
    with hl.session() as s:
        tianshan = s.scalar(select(District.id).where(District.name_zh == "天山区"))
    login("agent1").post(f"/orders/{number}/district", {"district_id": str(tianshan)})
    order = _order(hl, number)
    assert (order.status, order.district.name_zh, order.needs_agent) == ("dispatched", "天山区", False)
