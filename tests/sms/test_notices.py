"""Order notices: one per event, in the event's transaction, never to an opted-out number."""
from __future__ import annotations

from datetime import timedelta

import pytest

from sms import notices
from tests.core.helpers import AGENT, franchisee_actor, order_in
from tests.sms.conftest import LI, WANG, messages
from tickets import orders
from tickets.models import SmsMessage, WorkOrder
from tickets.workflow import transition


def notices_of(hl, order: WorkOrder) -> list[SmsMessage]:
    return [m for m in messages(hl, order_id=order.id) if m.direction == "out"]


def book(hl, *, days: float = 1, phone: str = WANG, **kw) -> WorkOrder:
    with hl.session() as s, s.begin():
        return orders.book(s, phone=phone, service="BJ", start=hl.now() + timedelta(days=days), actor=AGENT, **kw)


def test_an_agent_booking_sends_a_booked_and_a_dispatched_notice(hl):
    order = book(hl)
    sent = notices_of(hl, order)
    assert [(m.kind, m.status, m.phone) for m in sent] == [("booked", "sent", WANG), ("dispatched", "sent", WANG)]
    assert sent[0].body == f"已受理预约，订单号{order.number}：家庭保洁 11月24日(周二)10:00。查询回复CX {order.number}"
    assert sent[1].body == (f"订单{order.number}已派给天山家政服务有限公司，服务时间11月24日(周二)10:00。"
                            f"查询回复CX {order.number}")


def test_an_order_whose_address_needs_an_agent_says_so(hl):
    order = book(hl, address="火星路1号")
    [booked] = notices_of(hl, order)
    assert "客服将致电确认地址" in booked.body


def test_a_booking_flagged_at_creation_says_so_though_it_is_confirmed_in_the_same_booking(hl):
    # No address, only a voice note, but the district given: the order is created flagged and
    # confirmed at once. The booked notice is about its creation (its listeners run after all
    # the booking's moves, so they must read that from the creation event).
    with hl.session() as s:
        district_id = orders.get(s, book(hl).number).district_id
    order = book(hl, phone=LI, district_id=district_id, voice_note="vm/1.wav", default_address=False)
    assert order.status == "dispatched"
    assert not order.needs_agent
    booked, dispatched = notices_of(hl, order)
    assert "客服将致电确认地址" in booked.body
    assert "客服" not in dispatched.body


def test_each_event_has_exactly_one_notice_however_often_the_listener_runs(hl):
    order = book(hl)
    with hl.session() as s, s.begin():
        loaded = orders.get(s, order.number)
        for ev in loaded.events:
            notices.on_order_event(s, loaded, ev)
    assert [m.kind for m in notices_of(hl, order)] == ["booked", "dispatched"]
    assert len({m.dedupe_key for m in notices_of(hl, order)}) == 2


def test_events_without_news_for_the_customer_send_nothing(hl):
    order = book(hl)
    with hl.session() as s, s.begin():
        loaded = orders.get(s, order.number)
        transition(s, loaded, "accept", franchisee_actor(loaded))
        transition(s, loaded, "note", AGENT, text="客户要求带鞋套")
    assert len(notices_of(hl, order)) == 2


def test_a_late_reschedule_notice_states_the_new_time_and_the_penalty(hl):
    order = book(hl)
    with hl.session() as s, s.begin():
        transition(s, orders.get(s, order.number), "reschedule", AGENT, when=hl.now() + timedelta(days=2))
    last = notices_of(hl, order)[-1]
    assert (last.kind, last.body) == ("rescheduled",
                                      f"订单{order.number}已改期至11月25日(周三)10:00，违约金¥24.00（72小时内变更）。")


def test_a_cancellation_notice_states_the_penalty(hl):
    order = book(hl)
    with hl.session() as s, s.begin():
        transition(s, orders.get(s, order.number), "cancel", AGENT, reason="客户来电取消")
    last = notices_of(hl, order)[-1]
    assert (last.kind, last.body) == ("cancelled", f"订单{order.number}（家庭保洁）已取消，违约金¥24.00（72小时内变更）。")


def test_an_early_cancellation_notice_has_no_penalty(hl):
    order = book(hl, days=5)
    with hl.session() as s, s.begin():
        transition(s, orders.get(s, order.number), "cancel", AGENT, reason="客户来电取消")
    assert notices_of(hl, order)[-1].body == f"订单{order.number}（家庭保洁）已取消。"


def test_completion_invites_the_survey_by_reply(hl):
    with hl.session() as s, s.begin():
        order = order_in(s, hl, "completed", phone=LI)
    last = notices_of(hl, order)[-1]
    assert (last.kind, last.body) == ("completed", f"订单{order.number}已完工，请回复1-5为服务评分（5分最满意）。")


def test_the_survey_invitation_can_be_answered_by_sms(hl, phone):
    with hl.session() as s, s.begin():
        order = order_in(s, hl, "completed", phone=LI)
    assert phone(LI).text("5") == "感谢您的评价（5分）！"
    with hl.session() as s:
        assert orders.get(s, order.number).status == "closed"


def test_an_opted_out_number_gets_suppressed_notices_only(hl, phone):
    phone(WANG).text("TD")
    order = book(hl)
    assert [(m.kind, m.status) for m in notices_of(hl, order)] == [("booked", "suppressed"), ("dispatched", "suppressed")]


def test_after_opting_in_again_notices_are_sent(hl, phone):
    phone(WANG).text("TD")
    phone(WANG).text("START")
    order = book(hl)
    assert {m.status for m in notices_of(hl, order)} == {"sent"}


def test_a_notice_rolled_back_with_its_order_never_exists(hl):
    with pytest.raises(RuntimeError), hl.session() as s, s.begin():
        orders.book(s, phone=LI, service="BJ", start=hl.now() + timedelta(days=1), actor=AGENT)
        raise RuntimeError("the booking transaction failed")
    assert [m for m in messages(hl, phone=LI) if m.kind in ("booked", "dispatched") and m.created_at >= hl.now()] == []


def test_a_cancellation_by_sms_is_noticed_once_by_the_reply(hl, phone):
    wang = phone(WANG)
    wang.text("BJ 明天上午")
    number = wang.text("Y").split("订单号")[1][:10]
    wang.text(f"QX {number}")
    wang.text("Y")
    with hl.session() as s:
        order = orders.get(s, number)
    cancelled = [m for m in notices_of(hl, order) if m.kind == "cancelled"]
    assert [(m.provider, m.status) for m in cancelled] == [("twilio", "sent")]


def test_a_customer_whose_order_nobody_can_take_is_told_once(hl):
    from tests.core.helpers import franchisee_named
    order = book(hl)                                         # 天山家政 has it
    with hl.session() as s, s.begin():
        o = s.get(WorkOrder, order.id)
        from tickets import dispatch
        dispatch.release_and_redispatch(s, o, "reject", franchisee_actor(o), reason="no staff")   # -> 沙依巴克洁家
        dispatch.release_and_redispatch(s, o, "reject", franchisee_actor(o), reason="too far")    # -> nobody
        assert o.status == "confirmed"
        franchisee_named(s, "天山家政服务有限公司").status = "suspended"   # another finding, another reason
        dispatch.dispatch(s, o)
        assert [e.action for e in o.events].count("unassigned") == 2
    [told] = [m for m in notices_of(hl, order) if m.kind == "unassigned"]
    assert told.body == (f"订单{order.number}（家庭保洁 11月24日(周二)10:00）暂时没有服务商能接，"
                         f"客服会尽快与您联系另行安排。查询回复CX {order.number}")
    assert told.status == "sent"
