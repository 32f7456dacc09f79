"""The complaint pages: an agent takes a complaint, the franchisee concerned answers with its
account in its portal, the platform decides (with a refund) or reopens, the closed list filters and
pages; bad input gets a message naming what to write, never a 500."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.console.conftest import text
from tests.console.helpers import make_order
from tickets import complaints, orders
from tickets.actors import SYSTEM, Actor
from tickets.models import AuditLog, Complaint, SmsMessage

SUPERVISOR = Actor(role="supervisor", label="supervisor-test")


def _complaint(hl, category: str = "lateness", resolved: bool = False, phone: str = "13800138000") -> int:
    """A complaint about a completed order of franchisee1 (天山家政)."""
    number = make_order(hl, "completed", phone=phone)
    with hl.session() as s, s.begin():
        c = complaints.open_complaint(s, actor=SYSTEM, source="agent", order=orders.get(s, number),
                                      text="师傅迟到两小时", category_code=category)
        if resolved:
            complaints.decide(s, c, "已致歉", SUPERVISOR)
        s.flush()
        return c.id


def test_an_agent_takes_a_complaint_about_an_order_and_it_goes_to_its_franchisee(login, hl):
    number = make_order(hl, "completed")
    resp = login("agent1").post("/complaints/new", {"number": number, "category": "damage", "text": "打碎了花瓶"})
    assert resp.status_code == 302
    with hl.session() as s:
        c = s.scalar(select(Complaint).where(Complaint.text == "打碎了花瓶"))
        assert (c.category, c.franchisee.name, c.source) == ("damage", "天山家政服务有限公司", "agent")
        assert s.scalar(select(SmsMessage).where(SmsMessage.kind == "complaint_accepted",
                                                 SmsMessage.body.contains(f"编号{c.id}"))) is not None
    assert resp.headers["Location"].endswith(f"/complaints/{c.id}")


@pytest.mark.parametrize("form, message", [
    ({"number": "", "phone": "", "category": "other", "text": "late"}, "请填写投诉涉及的工单号"),
    ({"phone": "13800138000", "category": "weather", "text": "late"}, "投诉类别“weather”无效"),
    ({"phone": "12", "category": "other", "text": "late"}, "12"),
])
def test_a_complaint_that_cannot_be_taken_says_why(login, form, message):
    resp = login("agent1").post("/complaints/new", form)
    assert resp.status_code == 400
    assert message in text(resp)


def test_the_franchisee_concerned_sees_its_complaint_and_another_does_not(login, hl):
    cid = _complaint(hl)
    assert f'id="complaint-{cid}"' in text(login("franchisee1").get("/portal/complaints/"))
    assert f'id="complaint-{cid}"' not in text(login("franchisee2").get("/portal/complaints/"))


def test_the_franchisee_answers_with_its_account_and_the_platform_reads_it(login, hl):
    cid = _complaint(hl)
    resp = login("franchisee1").post(f"/portal/complaints/{cid}/account", {"account": "师傅的车坏了，已向客户道歉"})
    assert resp.status_code == 302
    page = text(login("supervisor1").get(f"/complaints/{cid}"))
    assert "师傅的车坏了，已向客户道歉" in page
    assert "franchisee1" in page          # the history names who gave the account


def test_another_franchisee_cannot_answer(login, hl):
    cid = _complaint(hl)
    assert login("franchisee2").post(f"/portal/complaints/{cid}/account", {"account": "x"}).status_code == 404


def test_an_empty_account_is_refused_with_a_message(login, hl):
    cid = _complaint(hl)
    resp = login("franchisee1").post(f"/portal/complaints/{cid}/account", {"account": "  "})
    assert resp.status_code == 400
    assert "请填写情况说明" in text(resp)


def test_a_closed_complaint_cannot_be_answered(login, hl):
    cid = _complaint(hl, resolved=True)
    resp = login("franchisee1").post(f"/portal/complaints/{cid}/account", {"account": "late reply"})
    assert resp.status_code == 400
    assert "请先重新打开" in text(resp)


def test_the_supervisor_decides_with_a_refund_in_fen(login, hl):
    cid = _complaint(hl)
    resp = login("supervisor1").post(f"/complaints/{cid}/decide", {"answer": "退还上门费", "compensation_kind": "refund",
                                                                    "compensation": "30.50"})
    assert resp.status_code == 302
    with hl.session() as s:
        c = s.get(Complaint, cid)
        assert (c.status, c.compensation_kind, c.compensation_fen) == ("resolved", "refund", 3050)
        entry = s.scalar(select(AuditLog).where(AuditLog.action == "complaint.decide", AuditLog.entity_id == str(cid)))
        assert entry.actor_label == "supervisor1"


def test_the_decision_form_offers_a_member_card_credit_which_credits_the_card(login, hl):
    from tickets import cards
    cid = _complaint(hl)                     # 王女士, card 880000000001
    supervisor = login("supervisor1")
    assert '<option value="card_credit">会员卡补偿入账</option>' in text(supervisor.get(f"/complaints/{cid}"))
    with hl.session() as s:
        before = cards.get(s, "880000000001").balance_fen
    resp = supervisor.post(f"/complaints/{cid}/decide", {"answer": "致歉并补偿", "compensation_kind": "card_credit",
                                                         "compensation": "20"})
    assert resp.status_code == 302
    with hl.session() as s:
        assert cards.get(s, "880000000001").balance_fen == before + 2000
        assert s.get(Complaint, cid).compensation_kind == "card_credit"


def test_a_card_credit_for_a_complainant_without_a_card_is_refused_in_chinese(login, hl):
    cid = _complaint(hl, phone="13700137000")       # Mr. Smith has no card
    resp = login("supervisor1").post(f"/complaints/{cid}/decide", {"answer": "ok", "compensation_kind": "card_credit",
                                                                    "compensation": "20"})
    assert resp.status_code == 400
    assert f"投诉 #{cid}：投诉人没有可用的会员卡，无法补偿入账" in text(resp)
    with hl.session() as s:
        assert s.get(Complaint, cid).status == "open"


@pytest.mark.parametrize("amount, message", [
    ("-5", "amount in yuan"),
    ("abc", "amount in yuan"),
    ("999999", "超过了"),
    ("0", "补偿金额须大于 0 元"),
])
def test_a_bad_refund_amount_is_refused_with_a_message(login, hl, amount, message):
    cid = _complaint(hl)
    resp = login("supervisor1").post(f"/complaints/{cid}/decide", {"answer": "ok", "compensation_kind": "refund",
                                                                    "compensation": amount})
    assert resp.status_code == 400
    assert message in text(resp)
    with hl.session() as s:
        assert s.get(Complaint, cid).status == "open"


def test_a_supervisor_reopens_and_the_complaint_is_open_again(login, hl):
    cid = _complaint(hl, resolved=True)
    resp = login("supervisor1").post(f"/complaints/{cid}/reopen", {"reason": "客户不接受处理结果"})
    assert resp.status_code == 302
    with hl.session() as s:
        assert (s.get(Complaint, cid).status, s.get(Complaint, cid).reopen_count) == ("open", 1)


def test_the_closed_list_filters_by_category_and_shows_the_compensation(login, hl):
    damage, price = _complaint(hl, "damage"), _complaint(hl, "price")
    supervisor = login("supervisor1")
    for cid in (damage, price):
        supervisor.post(f"/complaints/{cid}/decide", {"answer": "赔偿", "compensation_kind": "refund", "compensation": "20"})
    page = text(supervisor.get("/complaints/closed?category=damage"))
    assert f'id="closed-{damage}"' in page and f'id="closed-{price}"' not in page
    assert "¥20.00" in page


def test_the_closed_list_pages(login, hl):
    for _ in range(27):
        _complaint(hl, "attitude", resolved=True)
    supervisor = login("supervisor1")
    first = text(supervisor.get("/complaints/closed?category=attitude"))
    assert 'id="closed-next"' in first and "第 1 / 2 页" in first
    second = text(supervisor.get("/complaints/closed?category=attitude&page=2"))
    assert second.count('data-testid="closed-') == 2


def test_a_bad_page_or_date_in_the_closed_list_gets_a_message(login):
    resp = login("supervisor1").get("/complaints/closed?date_from=yesterday")
    assert resp.status_code == 400
    assert "YYYY-MM-DD" in text(resp)


def test_an_escalated_complaint_is_marked_on_the_desk_list(login, hl, clock):
    cid = _complaint(hl)
    clock.advance(hours=hl.settings.complaint_due_hours + 1)
    with hl.session() as s, s.begin():
        complaints.escalate_overdue(s, SYSTEM)
    page = text(login("callback1").get("/desk/complaints"))
    assert f'id="complaint-{cid}-escalated"' in page


def test_the_district_manager_reads_the_complaints_of_their_districts(login, hl):
    cid = _complaint(hl)       # 天山区: manager1's
    assert login("manager1").get(f"/complaints/{cid}").status_code == 200


def test_the_complaint_pages_speak_english(login, hl):
    cid = _complaint(hl)
    franchisee = login("franchisee1")
    franchisee.post("/language", {"lang": "en"})
    page = text(franchisee.get("/portal/complaints/"))
    assert "Complaints about your company" in page and "Lateness" in page
    supervisor = login("supervisor1")
    supervisor.post("/language", {"lang": "en"})
    assert "<h2>Decision</h2>" in text(supervisor.get(f"/complaints/{cid}"))


def test_the_order_page_offers_a_complaint_form_prefilled_with_its_number(login, hl):
    number = make_order(hl, "completed")
    agent = login("agent1")
    assert f'/complaints/new?number={number}' in text(agent.get(f"/orders/{number}"))
    assert f'name="number" value="{number}"' in text(agent.get(f"/complaints/new?number={number}"))


def test_only_the_platform_is_offered_the_decision_form(login, hl):
    cid = _complaint(hl)
    assert 'id="complaint-decide-form"' in text(login("supervisor1").get(f"/complaints/{cid}"))
    assert 'id="complaint-decide-form"' not in text(login("agent1").get(f"/complaints/{cid}"))
