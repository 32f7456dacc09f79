"""The callback worklist page: requests in queue order with their age and place, click-to-call,
and the outcome form, in Chinese and English; bad input gets a clear message, not a 500."""
from __future__ import annotations

import dataclasses
from datetime import timedelta

from sqlalchemy import select

from tickets import outbound
from tests.outbound import survey_waiting_for_a_call
from tickets.models import AuditLog, CallbackRequest, OutboundCall, WorkOrder

from .conftest import text


def request(hl, phone: str, minutes_ago: int, **kw) -> int:
    with hl.session() as s, s.begin():
        return outbound.request_callback(s, phone=phone, queued_at=hl.now() - timedelta(minutes=minutes_ago),
                                         **{"source": "queue", **kw}).id


def test_the_worklist_lists_requests_in_queue_order_with_age_and_place(hl, login):
    later = request(hl, "+8613900139000", 5, position=2)
    earlier = request(hl, "+8613800138000", 12, position=1)
    page = text(login("callback1").get("/callbacks/"))
    assert page.index(f'id="callback-{earlier}"') < page.index(f'id="callback-{later}"')
    assert "12 分钟" in page and "排队位置 1" in page and "13800138000" in page


def test_the_worklist_speaks_english_when_chosen(hl, login):
    request(hl, "+8613800138000", 3, position=4)
    c = login("agent1")
    c.post("/language", {"lang": "en"})
    page = text(c.get("/callbacks/"))
    assert "Call-back worklist" in page and "Place in queue 4" in page and "3 min" in page


def test_click_to_call_queues_a_call_ringing_the_agent_first(hl, login):
    hl.settings = dataclasses.replace(hl.settings, outbound_voice="asterisk")
    request_id = request(hl, "+8613800138000", 3)
    resp = login("agent1").post(f"/callbacks/{request_id}/call")
    assert resp.status_code == 302
    with hl.session() as s:
        (call,) = s.scalars(select(OutboundCall).where(OutboundCall.callback_id == request_id)).all()
        assert call.status == "queued" and s.get(CallbackRequest, request_id).status == "calling"


def test_click_to_call_without_outbound_calling_says_so(hl, login):
    request_id = request(hl, "+8613800138000", 3)
    resp = login("agent1").post(f"/callbacks/{request_id}/call")
    assert resp.status_code == 400 and "OUTBOUND_VOICE" in text(resp)


def test_an_unknown_outcome_is_refused_with_the_choices(hl, login):
    request_id = request(hl, "+8613800138000", 3)
    resp = login("callback1").post(f"/callbacks/{request_id}/outcome", {"outcome": "maybe"})
    assert resp.status_code == 400 and "reached" in text(resp)


def test_recording_an_outcome_by_hand_counts_the_attempt(hl, login):
    request_id = request(hl, "+8613800138000", 3)
    resp = login("callback1").post(f"/callbacks/{request_id}/outcome", {"outcome": "no-answer", "notes": "rang out"})
    assert resp.status_code == 302
    with hl.session() as s:
        r = s.get(CallbackRequest, request_id)
        assert (r.status, r.attempts, r.notes) == ("waiting", 1, "rang out")


def test_a_do_not_call_callers_request_is_flagged_and_an_unanswered_call_is_not_retried(hl, login):
    from tests.sms.test_do_not_call import mark_do_not_call
    mark_do_not_call(hl, "+8613900139000")
    flagged = request(hl, "+8613900139000", 5)
    plain = request(hl, "+8613800138000", 4)
    c = login("callback1")
    page = text(c.get("/callbacks/"))
    assert f'id="callback-{flagged}-dnc"' in page and f'id="callback-{plain}-dnc"' not in page
    assert "客户主动要求回电，可拨打这一次；未接通不再安排重拨。" in page
    resp = c.post(f"/callbacks/{flagged}/outcome", {"outcome": "no-answer"}, follow_redirects=True)
    assert f"回电 #{flagged}：未接通，客户勿电话打扰，不再安排重拨" in text(resp)
    assert f'id="callback-{flagged}"' not in text(resp)
    with hl.session() as s:
        assert s.get(CallbackRequest, flagged).status == "given-up"
        entry = s.scalar(select(AuditLog).where(AuditLog.action == "callback.outcome",
                                                AuditLog.entity_id == str(flagged)))
        assert entry.data["no_retry"] == "do_not_call"


def test_an_unknown_request_is_not_found(hl, login):
    assert login("callback1").post("/callbacks/999999/outcome", {"outcome": "reached"}).status_code == 404


def test_the_survey_desk_shows_the_survey_calls_nobody_answered(hl, clock, login):
    order_id = survey_waiting_for_a_call(hl, clock)
    hl.settings = dataclasses.replace(hl.settings, outbound_voice="asterisk")
    with hl.session() as s, s.begin():
        (row,) = outbound.queue_survey_calls(s)
        assert outbound.claim(s, row.id, "asterisk")
        outbound.settle(s, row, "no-answer", "rang, nobody answered (Reason 3)")
    with hl.session() as s:
        number = s.get(WorkOrder, order_id).number
    page = text(login("callback1").get("/desk/"))
    assert f'id="survey-calls-{number}"' in page and "无人接听" in page
