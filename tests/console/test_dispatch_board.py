"""The dispatch board: waiting orders by district, urgent first, deadlines, the engine's
suggestion and reasons, batch dispatch and reassignment."""
from __future__ import annotations

import re

from sqlalchemy import select

from tests.console.conftest import text
from tests.console.helpers import franchisee_id, make_order
from tickets import catalog
from tickets.actors import SYSTEM
from tickets.models import WorkOrder


def _status(hl, number: str) -> tuple[str, str | None]:
    with hl.session() as s:
        o = s.scalar(select(WorkOrder).where(WorkOrder.number == number))
        return o.status, o.franchisee.name if o.franchisee else None


def _rows(page: str) -> list[str]:
    return re.findall(r'data-testid="board-row-(\d{10})"', page)


def test_orders_are_grouped_by_district(login, hl):
    tianshan = make_order(hl, "confirmed")
    shayibake = make_order(hl, "confirmed", address="沙依巴克区友好南路5号")
    page = text(login("dispatcher1").get("/dispatch/"))
    tianshan_group = page[page.index('id="district-tianshan"'):]
    tianshan_group = tianshan_group[:tianshan_group.index("</section>")]
    assert tianshan in tianshan_group
    assert shayibake not in tianshan_group


def test_urgent_orders_come_first_in_their_district(login, hl):
    routine = make_order(hl, "confirmed")
    urgent = make_order(hl, "confirmed", urgent=True)
    rows = _rows(text(login("dispatcher1").get("/dispatch/")))
    assert rows.index(urgent) < rows.index(routine)


def test_the_engines_suggestion_is_shown_with_its_reasons(login, hl):
    number = make_order(hl, "confirmed")
    page = text(login("dispatcher1").get("/dispatch/"))
    cell = page[page.index(f'data-testid="suggestion-{number}"'):]
    assert "天山家政服务有限公司" in cell[:400]
    assert "district priority 1" in cell[:600]


def test_an_order_waiting_for_acceptance_shows_the_time_left(login, hl, clock):
    number = make_order(hl, "dispatched")
    clock.advance(minutes=12)
    page = text(login("dispatcher1").get("/dispatch/"))
    assert re.search(rf'data-testid="deadline-{number}">剩 18 分钟', page)


def test_an_order_past_its_deadline_shows_how_late_it_is(login, hl, clock):
    number = make_order(hl, "dispatched")
    clock.advance(minutes=45)
    page = text(login("dispatcher1").get("/dispatch/"))
    assert re.search(rf'data-testid="deadline-{number}">已超时 15 分钟', page)
    assert 'id="sum-overdue">1<' in page


def test_batch_dispatch_sends_every_ticked_order(login, hl):
    first, second = make_order(hl, "confirmed"), make_order(hl, "confirmed")
    resp = login("dispatcher1").post("/dispatch/batch", {"numbers": [first, second]})
    assert resp.status_code == 302
    assert _status(hl, first)[0] == _status(hl, second)[0] == "dispatched"


def test_batch_dispatch_with_nothing_ticked_says_so(login):
    resp = login("dispatcher1").post("/dispatch/batch", {})
    assert resp.status_code == 400
    assert "请先勾选" in text(resp)


def test_reassigning_to_a_chosen_franchisee(login, hl):
    number = make_order(hl, "dispatched")
    with hl.session() as s:
        other = franchisee_id(s, "沙依巴克洁家服务中心")
    login("dispatcher1").post(f"/orders/{number}/act", {"action": "recall", "reason": "customer asked",
                                                        "franchisee_id": str(other), "back": "/dispatch/"})
    assert _status(hl, number) == ("dispatched", "沙依巴克洁家服务中心")


def test_reassigning_without_a_choice_goes_to_the_engines_next_candidate(login, hl):
    number = make_order(hl, "dispatched")
    login("dispatcher1").post(f"/orders/{number}/act", {"action": "recall", "reason": "too slow"})
    status, franchisee = _status(hl, number)
    assert status == "dispatched"
    assert franchisee != "天山家政服务有限公司"


def test_an_order_no_one_can_take_stays_in_the_unassigned_queue_with_the_reason(login, hl):
    with hl.session() as s, s.begin():
        # A service newly added to the catalog: no franchisee offers it yet.
        catalog.save_service(s, SYSTEM, "ZXC", name_zh="宠物照看", name_en="Pet sitting", category="other",
                             unit="visit", guide_price_fen=8000, default_quantity=1, holiday_pay=False,
                             emergency=False, active=True)
    number = make_order(hl, "dispatched", service="ZXC")
    page = text(login("dispatcher1").get("/dispatch/"))
    assert _status(hl, number) == ("confirmed", None)
    assert re.search(rf'id="why-none-{number}">no franchisee serves this service in this district<', page)
    assert 'id="sum-unassignable">1<' in page



def test_orders_no_one_can_take_are_a_queue_of_their_own_above_the_districts(login, hl):
    with hl.session() as s, s.begin():
        catalog.save_service(s, SYSTEM, "ZXC", name_zh="宠物照看", name_en="Pet sitting", category="other",
                             unit="visit", guide_price_fen=8000, default_quantity=1, holiday_pay=False,
                             emergency=False, active=True)
    stuck = make_order(hl, "dispatched", service="ZXC")      # the engine finds no one: it stays confirmed
    waiting = make_order(hl, "confirmed")                     # has candidates: waits in its district
    page = text(login("dispatcher1").get("/dispatch/"))
    queue = page[page.index('id="queue-unassigned"'):page.index('id="district-tianshan"')]
    assert "无人接单" in queue
    assert f'data-testid="board-row-{stuck}"' in queue and waiting not in queue
    assert f'id="why-none-{stuck}">no franchisee serves this service in this district<' in queue
    assert f'data-testid="board-row-{waiting}"' in page[page.index('id="district-tianshan"'):]


def test_a_district_manager_sees_only_their_districts(login, hl):
    mine = make_order(hl, "confirmed")
    theirs = make_order(hl, "confirmed", address="沙依巴克区友好南路5号")
    rows = _rows(text(login("manager1").get("/dispatch/")))
    assert mine in rows
    assert theirs not in rows


def test_a_district_manager_cannot_dispatch_outside_their_districts(login, hl):
    theirs = make_order(hl, "confirmed", address="沙依巴克区友好南路5号")
    resp = login("manager1").post("/dispatch/batch", {"numbers": [theirs]})
    assert resp.status_code == 404
    assert _status(hl, theirs)[0] == "confirmed"


def test_orders_without_a_district_are_shown_first_with_a_district_choice(login, hl):
    flagged = make_order(hl, "new")
    make_order(hl, "confirmed")
    page = text(login("dispatcher1").get("/dispatch/"))
    assert _rows(page)[0] == flagged
    assert f'id="district-{flagged}"' in page
