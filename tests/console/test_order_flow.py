"""The whole life of an order through the console pages, each step by the role that does it:
an agent books, a dispatcher dispatches, the franchisee accepts, assigns, starts and completes,
the callback desk records a score of 2, and the complaint appears."""
from __future__ import annotations

import re

from sqlalchemy import select

from tests.console.conftest import text
from tests.core.helpers import EARLY
from tickets.models import Complaint, Franchisee, WorkOrder, Worker


def _number(resp) -> str:
    return re.search(r"/orders/(\d{10})$", resp.headers["Location"]).group(1)


def test_an_order_goes_from_booking_to_complaint_through_the_console(login, hl):
    with hl.session() as s:
        tianshan = s.scalar(select(Franchisee).where(Franchisee.name == "天山家政服务有限公司"))
        worker = s.scalar(select(Worker).where(Worker.name == "李桂兰"))
        fr_id, worker_id = tianshan.id, worker.id

    # The agent books for a known caller, leaving the choice to a dispatcher.
    agent = login("agent1")
    form = agent.get("/orders/new?phone=13800138000&service=BJ")
    assert "天山区解放南路88号3单元502" in text(form)          # the known customer's default address
    booked = agent.post("/orders/new", {"phone": "13800138000", "service": "BJ", "when": "2026-11-28T09:00",
                                        "address": "天山区解放南路88号3单元502", "quantity": "3"})
    assert booked.status_code == 302
    number = _number(booked)

    # The dispatcher sees it on the board with the engine's suggestion, and dispatches it.
    dispatcher = login("dispatcher1")
    board = text(dispatcher.get("/dispatch/"))
    assert f'data-testid="board-row-{number}"' in board
    assert 'id="suggested-' + number + '">天山家政服务有限公司' in board
    sent = dispatcher.post(f"/orders/{number}/act", {"action": "dispatch", "franchisee_id": str(fr_id),
                                                      "back": "/dispatch/"})
    assert sent.status_code == 302

    # The franchisee accepts, assigns a worker, starts and completes with the final price.
    franchisee = login("franchisee1")
    portal = text(franchisee.get("/portal/"))
    assert f'data-testid="portal-row-{number}"' in portal
    for step in ({"action": "accept"}, {"action": "assign_worker", "worker_id": str(worker_id)},
                 {"action": "start", "reason": EARLY}, {"action": "complete", "final_price": "150.50", "notes": "多做了半小时"}):
        resp = franchisee.post(f"/orders/{number}/act", {**step, "back": "/portal/"})
        assert resp.status_code == 302, text(resp)

    # The callback desk calls the customer, who gives a 2: the order closes and a complaint opens.
    callback = login("callback1")
    assert f'data-testid="survey-{number}"' in text(callback.get("/desk/"))
    recorded = callback.post(f"/desk/survey/{number}", {"score": "2", "comment": "迟到了"})
    assert recorded.status_code == 302
    complaints = text(callback.get("/desk/complaints"))
    assert "回访评分 2/5: 迟到了" in complaints

    with hl.session() as s:
        order = s.scalar(select(WorkOrder).where(WorkOrder.number == number))
        assert order.status == "closed"
        assert order.final_price_fen == 15050
        assert [(e.action, e.actor_label) for e in order.events] == [
            ("create", "agent1"), ("confirm", "agent1"), ("dispatch", "dispatcher1"), ("accept", "franchisee1"),
            ("assign_worker", "franchisee1"), ("start", "franchisee1"), ("complete", "franchisee1"),
            ("close", "callback1")]
        assert s.scalar(select(Complaint).where(Complaint.order_id == order.id)).source == "survey"


def test_the_detail_page_shows_every_event_with_who_and_when(login):
    agent = login("agent1")
    number = _number(agent.post("/orders/new", {"phone": "13800138000", "service": "BJ",
                                                 "when": "2026-11-28T09:00", "dispatch_now": "1"}))
    page = text(agent.get(f"/orders/{number}"))
    timeline = page[page.index('id="order-timeline"'):]
    assert timeline.count("<li data-action=") == 3           # create, confirm, dispatch
    assert "2026-11-23 10:00:00" in timeline
    assert "agent1（坐席）" in timeline
    assert "系统（自动）" in timeline
    assert "加盟商" in timeline
    assert "天山家政服务有限公司" in timeline
