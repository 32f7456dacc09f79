"""The follow-through in the console: the overdue list, the board's "overdue and escalated" list
with reassignment, and urgings in an order's history."""
from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from tests.console.conftest import text
from tests.console.helpers import LATER, make_order
from tickets.followup import urge_overdue
from tickets.models import WorkOrder

SHAYIBAKE = "沙依巴克区友好南路5号"     # not one of manager1's districts (天山区, 水磨沟区)


def _follow_up(hl):
    with hl.session() as s, s.begin():
        return urge_overdue(s)


def _late(hl, clock, minutes_after_start):
    clock.now = LATER + timedelta(minutes=minutes_after_start)


def test_overdue_list_says_why_since_when_and_how_often_urged(login, hl, clock):
    number = make_order(hl, "accepted")
    _late(hl, clock, hl.settings.urge_start_grace_minutes)
    assert _follow_up(hl) == [(number, "urge")]
    page = text(login("dispatcher1").get("/dispatch/overdue"))
    row = page[page.index(f'data-testid="overdue-row-{number}"'):]
    row = row[:row.index("</tr>")]
    assert "超时未开始服务" in row
    assert "2026-11-30 09:15" in row              # since: the service time plus the grace
    assert "已催办 1 次" in row


def test_district_manager_sees_only_the_overdue_orders_of_their_districts(login, hl, clock):
    mine = make_order(hl, "accepted")
    theirs = make_order(hl, "confirmed", address=SHAYIBAKE)
    _late(hl, clock, 60)
    manager = text(login("manager1").get("/dispatch/overdue"))
    assert mine in manager and theirs not in manager
    dispatcher = text(login("dispatcher1").get("/dispatch/overdue"))
    assert mine in dispatcher and theirs in dispatcher


def test_an_escalated_order_is_on_the_managers_board_and_can_be_reassigned_from_it(login, hl, clock):
    number = make_order(hl, "accepted")
    _late(hl, clock, hl.settings.urge_start_grace_minutes)
    _follow_up(hl)
    clock.advance(minutes=hl.settings.escalate_after_minutes)
    assert _follow_up(hl) == [(number, "escalate")]
    manager = login("manager1")
    board = text(manager.get("/dispatch/"))
    section = board[board.index('data-testid="escalated"'):board.index("</section>", board.index('data-testid="escalated"'))]
    assert number in section and "超时未开始服务" in section
    choice = re.search(rf'id="escalated-{number}-franchisee">\s*<option value="(\d+)">([^<]+)</option>', section)
    resp = manager.post(f"/orders/{number}/act", {"action": "recall", "franchisee_id": choice.group(1),
                                                  "reason": "late despite urging", "back": "/dispatch/"})
    assert resp.status_code == 302
    with hl.session() as s:
        order = s.scalar(select(WorkOrder).where(WorkOrder.number == number))
        assert (order.status, order.franchisee.name) == ("dispatched", choice.group(2))


def test_urgings_and_escalation_read_in_the_orders_history(login, hl, clock):
    number = make_order(hl, "accepted")
    _late(hl, clock, hl.settings.urge_start_grace_minutes)
    _follow_up(hl)
    clock.advance(minutes=hl.settings.escalate_after_minutes)
    _follow_up(hl)
    page = text(login("dispatcher1").get(f"/orders/{number}"))
    assert "催办" in page and "升级至片区经理" in page and "超时未开始服务" in page
