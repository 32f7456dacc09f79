"""The franchisee portal (own orders, reject back to dispatch, figures, notices) and the
callback and complaint desk (oldest first, scores, complaints overdue first, answers)."""
from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from tests.console.conftest import text
from tests.console.helpers import make_order
from tickets import complaints, notices
from tickets.actors import SYSTEM
from tickets.models import Complaint, WorkOrder


def _order(hl, number):
    with hl.session() as s:
        o = s.scalar(select(WorkOrder).where(WorkOrder.number == number))
        return o.status, o.franchisee.name if o.franchisee else None


# ---------------------------------------------------------------- portal

def test_the_portal_lists_the_franchisees_orders_by_state_with_the_customers_number(login, hl):
    waiting, accepted = make_order(hl, "dispatched"), make_order(hl, "accepted")
    page = text(login("franchisee1").get("/portal/"))
    assert waiting in page[page.index('id="portal-dispatched"'):page.index('id="portal-accepted"')]
    assert accepted in page[page.index('id="portal-accepted"'):]
    assert re.search(rf'data-testid="portal-phone-{waiting}">13800138000<', page)


def test_the_portal_offers_each_order_only_the_workers_who_do_its_service(login, hl):
    cleaning, repair = make_order(hl, "accepted"), make_order(hl, "accepted", service="SD")
    page = text(login("franchisee1").get("/portal/"))

    def offered(number):
        form = page[page.index(f'id="assign-{number}-worker"'):]
        return form[:form.index("</select>")]
    assert "李桂兰" in offered(cleaning) and "马建国" not in offered(cleaning)
    assert "马建国" in offered(repair) and "李桂兰" not in offered(repair)


def test_a_rejected_order_goes_back_to_dispatch_and_to_the_next_franchisee(login, hl):
    number = make_order(hl, "dispatched")
    resp = login("franchisee1").post(f"/orders/{number}/act", {"action": "reject", "reason": "无人手",
                                                               "back": "/portal/"})
    assert resp.headers["Location"] == "/portal/"
    assert _order(hl, number) == ("dispatched", "沙依巴克洁家服务中心")


def test_a_reject_needs_a_reason(login, hl):
    number = make_order(hl, "dispatched")
    resp = login("franchisee1").post(f"/orders/{number}/act", {"action": "reject", "reason": " "})
    assert resp.status_code == 400
    assert "需要：原因" in text(resp)


def test_the_figures_show_workload_and_satisfaction(login, hl):
    make_order(hl, "dispatched")
    make_order(hl, "accepted")
    page = text(login("franchisee1").get("/portal/figures"))
    assert 'id="workload-dispatched">1<' in page
    assert 'id="workload-accepted">1<' in page
    # The demo city's history: 天山家政 has answered surveys and a rating.
    assert re.search(r'id="sat-rating">\d\.\d\d<', page)


def test_platform_notices_reach_the_portal(login, hl):
    with hl.session() as s, s.begin():
        notices.post(s, SYSTEM, "春节值班安排", "除夕至初三照常接单")
    assert "春节值班安排" in text(login("franchisee2").get("/portal/notices"))


# ---------------------------------------------------------------- callback desk

def test_orders_waiting_for_a_call_are_listed_oldest_completion_first(login, hl, clock):
    first = make_order(hl, "completed")
    clock.advance(minutes=5)
    second = make_order(hl, "completed")
    page = text(login("callback1").get("/desk/"))
    assert page.index(f'data-testid="survey-{first}"') < page.index(f'data-testid="survey-{second}"')


def test_a_good_score_closes_the_order_without_a_complaint(login, hl):
    number = make_order(hl, "completed")
    callback = login("callback1")
    callback.post(f"/desk/survey/{number}", {"score": "5", "comment": "很好"})
    assert _order(hl, number)[0] == "closed"
    with hl.session() as s:
        assert s.scalar(select(Complaint).join(WorkOrder).where(WorkOrder.number == number)) is None


def test_a_score_of_three_opens_a_complaint(login, hl):
    number = make_order(hl, "completed")
    resp = login("callback1").post(f"/desk/survey/{number}", {"score": "3"}, follow_redirects=True)
    assert "已自动生成投诉" in text(resp)
    with hl.session() as s:
        assert s.scalar(select(Complaint).join(WorkOrder).where(WorkOrder.number == number)).source == "survey"


def test_a_survey_without_a_score_is_refused(login, hl):
    number = make_order(hl, "completed")
    resp = login("callback1").post(f"/desk/survey/{number}", {"score": "", "back": "list"})
    assert resp.status_code == 400
    assert "1（很不满意）到 5" in text(resp)
    assert _order(hl, number)[0] == "completed"


def test_a_survey_cannot_be_recorded_twice(login, hl):
    number = make_order(hl, "completed")
    callback = login("callback1")
    callback.post(f"/desk/survey/{number}", {"score": "4"})
    resp = callback.post(f"/desk/survey/{number}", {"score": "2"})
    assert resp.status_code == 400
    assert "回访已完成" in text(resp)


def _complaint(hl, text_: str, hours_ago: int = 0) -> int:
    with hl.session() as s, s.begin():
        c = complaints.open_complaint(s, actor=SYSTEM, source="agent", phone="13800138000", text=text_)
        c.due_at -= timedelta(hours=hours_ago)
        return c.id


def test_overdue_complaints_come_first_and_are_marked(login, hl):
    recent = _complaint(hl, "服务员迟到")
    overdue = _complaint(hl, "没有打扫厨房", hours_ago=72)
    page = text(login("callback1").get("/desk/complaints"))
    assert page.index(f'data-testid="complaint-{overdue}"') < page.index(f'data-testid="complaint-{recent}"')
    assert re.search(rf'data-testid="complaint-{overdue}" id="complaint-{overdue}" data-overdue="yes"', page)


def test_resolving_a_complaint_records_the_answer(login, hl):
    cid = _complaint(hl, "服务员迟到")
    supervisor = login("supervisor1")
    supervisor.post(f"/complaints/{cid}/decide", {"answer": "已致歉并减免上门费"})
    with hl.session() as s:
        c = s.get(Complaint, cid)
        assert (c.status, c.answer) == ("resolved", "已致歉并减免上门费")
    assert f'data-testid="complaint-{cid}"' not in text(supervisor.get("/desk/complaints"))


def test_resolving_needs_the_answer(login, hl):
    cid = _complaint(hl, "服务员迟到")
    resp = login("supervisor1").post(f"/complaints/{cid}/decide", {"answer": ""})
    assert resp.status_code == 400
    assert "需要填写给客户的答复" in text(resp)


def test_an_early_start_is_refused_in_the_portal_which_offers_the_reason_field(login, hl):
    number = make_order(hl, "assigned")
    franchisee = login("franchisee1")
    assert f'id="start-{number}-reason"' in text(franchisee.get("/portal/"))
    resp = franchisee.post(f"/orders/{number}/act", {"action": "start", "back": "/portal/"})
    assert resp.status_code == 400
    page = text(resp)
    assert "服务日之前开工需要填写原因" in page
    assert 'id="action-start-reason"' in page
    resp = franchisee.post(f"/orders/{number}/act", {"action": "start", "reason": "客户要求提前", "back": "/portal/"})
    assert resp.status_code == 302
