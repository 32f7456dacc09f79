"""Survey calls on Twilio: calls.create against a local HTTP endpoint standing in for Twilio's
REST API (the real twilio Client, its http client pointed there), then the survey menu over
signed webhooks as Twilio would post them once the customer answers."""
from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import select

from agent_console.app import create_app
from ivr.twilio_calls import TwilioDialer
from tests.outbound import calls_of, survey_of, survey_waiting_for_a_call
from tests.sms.fake_twilio import CALLS_PATH, FakeTwilio
from ivr.prompts import SENTENCES
from tests.core.helpers import AGENT
from tickets import actors, calls, customer_records, outbound, surveys
from tickets.customers import find_by_phone
from tickets.models import Complaint, WorkOrder, WorkOrderEvent

from .phone import BASE, HOTLINE_NUMBER, TOKEN, PhoneCall, Twilio


class CustomerPhone(PhoneCall):
    """The customer's side of a call we placed: Twilio posts From = our number, To = them."""

    def params(self, **extra: str) -> dict[str, str]:
        return {**super().params(**extra), "Direction": "outbound-api", "From": HOTLINE_NUMBER, "To": self.caller,
                "Caller": HOTLINE_NUMBER, "Called": self.caller}

    def answer(self, outbound_id: int, answered_by: str = "human"):
        return self._follow(f"/twilio/voice/survey?outbound={outbound_id}", self.params(AnsweredBy=answered_by))


@pytest.fixture
def twilio_hl(hl):
    hl.settings = dataclasses.replace(hl.settings, outbound_voice="twilio", public_base_url=BASE,
                                      twilio_number=HOTLINE_NUMBER)
    return hl


@pytest.fixture
def twilio(twilio_hl) -> Twilio:
    return Twilio(create_app(twilio_hl, {"TESTING": True}))


def place(hl, api) -> None:
    hl.extensions[outbound.DIALER] = TwilioDialer(hl, api.client(TOKEN))
    outbound.follow_through(hl)


def test_the_survey_call_is_created_with_the_survey_url_and_machine_detection(twilio_hl, clock, api):
    order_id = survey_waiting_for_a_call(twilio_hl, clock)
    place(twilio_hl, api)
    (row,) = calls_of(twilio_hl, order_id)
    (req,) = api.requests
    assert req["path"] == CALLS_PATH and api.credentials(req) == f"ACtest:{TOKEN}"
    form = req["form"]
    assert (form["To"], form["From"]) == ("+8613800138000", HOTLINE_NUMBER)
    assert form["Url"] == f"{BASE}/twilio/voice/survey?outbound={row.id}" and form["Method"] == "POST"
    assert form["StatusCallback"] == f"{BASE}/twilio/voice/outbound/status?outbound={row.id}"
    assert (form["StatusCallbackEvent"], form["StatusCallbackMethod"]) == ("completed", "POST")
    assert (form["MachineDetection"], form["Timeout"]) == ("Enable", "45")
    assert "Twiml" not in form
    assert row.status == "placing" and row.external_id.startswith("CA") and row.backend == "twilio"


def test_a_refused_calls_create_is_a_failed_attempt_with_twilios_reason(twilio_hl, clock, api):
    order_id = survey_waiting_for_a_call(twilio_hl, clock)
    api.refuse(400, 21211, "The 'To' number +8613800138000 is not a valid phone number.")
    place(twilio_hl, api)
    (row,) = calls_of(twilio_hl, order_id)
    assert (row.status, row.attempt) == ("failed", 1)
    assert row.reason == ("Twilio refused the call: HTTP 400, code 21211: Unable to create record: "
                          "The 'To' number +8613800138000 is not a valid phone number.")


def test_a_refused_survey_call_is_tried_again_after_the_retry_interval_up_to_the_attempt_limit(twilio_hl, clock,
                                                                                              api):
    order_id = survey_waiting_for_a_call(twilio_hl, clock)
    attempts = twilio_hl.settings.survey_call_attempts
    for _ in range(attempts + 1):
        api.refuse(400, 21211, "The 'To' number is not a valid phone number.")
    place(twilio_hl, api)
    place(twilio_hl, api)                       # not due yet: nothing more
    assert len(api.requests) == 1
    for _ in range(attempts):
        clock.advance(minutes=twilio_hl.settings.survey_retry_minutes)
        place(twilio_hl, api)
    rows = calls_of(twilio_hl, order_id)
    assert [(r.attempt, r.status) for r in rows] == [(n, "failed") for n in range(1, attempts + 1)]
    assert len(api.requests) == attempts
    with twilio_hl.session() as s:
        assert [survey.order_id for survey in outbound.unanswered_after_calls(s)] == [order_id]


@pytest.mark.parametrize("status, code", [(503, 20503), (500, 20500), (429, 20429)])
def test_a_twilio_server_error_puts_the_call_back_without_counting_an_attempt(twilio_hl, clock, api, status, code):
    order_id = survey_waiting_for_a_call(twilio_hl, clock)
    api.refuse(status, code, "Service unavailable")
    place(twilio_hl, api)
    (row,) = calls_of(twilio_hl, order_id)
    assert (row.status, row.attempt, row.external_id) == ("queued", 1, None)
    assert f"HTTP {status}" in row.reason
    place(twilio_hl, api)                       # waits its minute: not hammered
    assert len(api.requests) == 1
    clock.advance(seconds=outbound.TRANSIENT_RETRY.total_seconds())
    place(twilio_hl, api)
    (row,) = calls_of(twilio_hl, order_id)
    assert (row.status, row.attempt, len(api.requests)) == ("placing", 1, 2)
    assert row.external_id.startswith("CA")


def test_twilio_unreachable_puts_the_call_back(twilio_hl, clock):
    order_id = survey_waiting_for_a_call(twilio_hl, clock)
    gone = FakeTwilio()
    gone.close()                                # nothing listens on its port any more
    place(twilio_hl, gone)
    (row,) = calls_of(twilio_hl, order_id)
    assert (row.status, row.attempt) == ("queued", 1) and "not reachable" in row.reason


def test_a_transient_fault_that_lasts_becomes_a_failed_attempt(twilio_hl, clock, api):
    order_id = survey_waiting_for_a_call(twilio_hl, clock)
    tries = int(outbound.TRANSIENT_GIVE_UP / outbound.TRANSIENT_RETRY) + 1
    for _ in range(tries):
        api.refuse(503, 20503, "Service unavailable")
    for _ in range(tries):
        place(twilio_hl, api)
        clock.advance(seconds=outbound.TRANSIENT_RETRY.total_seconds())
    (row,) = calls_of(twilio_hl, order_id)
    assert (row.status, len(api.requests)) == ("failed", tries) and "given up" in row.reason


def test_a_create_that_gets_no_answer_is_not_placed_again(twilio_hl, twilio, clock, api):
    # The request reached Twilio, which may have queued the call: placing it again could ring the
    # customer twice. The row waits for the status callback (it names our outbound id).
    order_id = survey_waiting_for_a_call(twilio_hl, clock)
    api.stall()
    twilio_hl.extensions[outbound.DIALER] = TwilioDialer(twilio_hl, api.client(TOKEN, timeout=0.5))
    outbound.follow_through(twilio_hl)
    (row,) = calls_of(twilio_hl, order_id)
    assert (row.status, row.external_id) == ("placing", None) and "no answer from Twilio" in row.reason
    clock.advance(minutes=5)
    outbound.follow_through(twilio_hl)
    assert len(api.requests) == 1
    sid = "CA" + "7" * 32
    phone = CustomerPhone(twilio, "+8613800138000", sid=sid)
    resp = twilio.post(f"/twilio/voice/outbound/status?outbound={row.id}", phone.params(CallStatus="no-answer"))
    assert resp.status_code == 200
    (row,) = calls_of(twilio_hl, order_id)
    assert (row.status, row.external_id) == ("no-answer", sid)


def test_the_customer_scores_on_the_survey_menu_over_signed_webhooks(twilio_hl, twilio, clock, api):
    order_id = survey_waiting_for_a_call(twilio_hl, clock)
    place(twilio_hl, api)
    (row,) = calls_of(twilio_hl, order_id)
    phone = CustomerPhone(twilio, "+8613800138000", sid=row.external_id)
    doc = phone.answer(row.id)
    assert doc.find("Gather") is not None
    doc = phone.press("2")
    assert doc.find("Hangup") is not None
    survey = survey_of(twilio_hl, order_id)
    assert (survey.status, survey.score, survey.channel) == ("answered", 2, "phone")
    with twilio_hl.session() as s:
        assert s.get(WorkOrder, order_id).status == "closed"
        assert s.scalar(select(Complaint).where(Complaint.order_id == order_id, Complaint.source == "survey"))
    assert calls_of(twilio_hl, order_id)[0].status == "answered"


def test_a_wrong_key_hears_the_choices_again(twilio_hl, twilio, clock, api):
    order_id = survey_waiting_for_a_call(twilio_hl, clock)
    place(twilio_hl, api)
    (row,) = calls_of(twilio_hl, order_id)
    phone = CustomerPhone(twilio, "+8613800138000", sid=row.external_id)
    phone.answer(row.id)
    doc = phone.press("9")
    assert doc.find("Gather") is not None
    assert survey_of(twilio_hl, order_id).status == "pending"


def test_an_answering_machine_gets_no_survey_and_is_recorded(twilio_hl, twilio, clock, api):
    order_id = survey_waiting_for_a_call(twilio_hl, clock)
    place(twilio_hl, api)
    (row,) = calls_of(twilio_hl, order_id)
    doc = CustomerPhone(twilio, "+8613800138000", sid=row.external_id).answer(row.id, answered_by="machine_start")
    assert doc.find("Gather") is None and doc.find("Hangup") is not None
    assert calls_of(twilio_hl, order_id)[0].status == "machine"


@pytest.mark.parametrize("call_status, recorded", [("no-answer", "no-answer"), ("busy", "busy"),
                                                   ("failed", "failed")])
def test_the_status_callback_records_a_call_nobody_answered(twilio_hl, twilio, clock, api, call_status, recorded):
    order_id = survey_waiting_for_a_call(twilio_hl, clock)
    place(twilio_hl, api)
    (row,) = calls_of(twilio_hl, order_id)
    phone = CustomerPhone(twilio, "+8613800138000", sid=row.external_id)
    resp = twilio.post(f"/twilio/voice/outbound/status?outbound={row.id}", phone.params(CallStatus=call_status))
    assert resp.status_code == 200
    (row,) = calls_of(twilio_hl, order_id)
    assert row.status == recorded and call_status in row.reason


def test_an_unsigned_survey_webhook_is_refused(twilio_hl, twilio, clock, api):
    order_id = survey_waiting_for_a_call(twilio_hl, clock)
    place(twilio_hl, api)
    (row,) = calls_of(twilio_hl, order_id)
    phone = CustomerPhone(twilio, "+8613800138000", sid=row.external_id)
    resp = twilio.post(f"/twilio/voice/survey?outbound={row.id}", phone.params(), signature="forged")
    assert resp.status_code == 403


# ------------------------------------------------------------------ callback instead of hold

def holding(twilio, caller: str = "13800138000") -> PhoneCall:
    """A caller who asked for an agent in business hours and now holds in the queue."""
    call = PhoneCall(twilio, caller)
    call.dial()
    call.press("0")
    return call


def test_the_hold_offers_key_1_to_keep_the_place_and_be_called_back(twilio):
    call = holding(twilio)
    enqueue = call.last.find("Enqueue")
    assert enqueue.get("waitUrl") == "/twilio/voice/queue/wait" and enqueue.get("waitUrlMethod") == "POST"
    doc = twilio.twiml(enqueue.get("waitUrl"), call.params(QueuePosition="3", QueueTime="40",
                                                           QueueSid="QU" + "0" * 32))
    gather = doc.find("Gather")
    assert gather.get("action") == "/twilio/voice/queue/callback?position=3" and gather.get("numDigits") == "1"
    assert "保留您的排队顺序" in "".join(el.text or "" for el in gather.iter())


def test_key_1_while_holding_puts_the_caller_on_the_worklist_and_out_of_the_queue(hl, twilio, clock):
    call = holding(twilio)
    joined = clock.now
    clock.advance(minutes=2)
    doc = twilio.twiml("/twilio/voice/queue/callback?position=3", call.params(Digits="1"))
    assert [el.tag for el in doc][-1] == "Leave"
    with hl.session() as s:
        (request,) = outbound.worklist(s)
        assert (request.source, request.position, request.queued_at) == ("queue", 3, joined)
    call.leave_queue("leave", 160)                  # Twilio's <Enqueue action> after <Leave/>
    with hl.session() as s:
        record = calls.get_call(s, call.sid)
        assert (record.outcome, record.queue_result) == ("callback", "callback")


def test_another_key_while_holding_keeps_the_caller_waiting(hl, twilio):
    call = holding(twilio)
    doc = twilio.twiml("/twilio/voice/queue/callback?position=1", call.params(Digits="5"))
    assert list(doc) == []
    with hl.session() as s:
        assert outbound.worklist(s) == []


def _history(hl, order_id: int) -> list[str]:
    with hl.session() as s:
        return list(s.scalars(select(WorkOrderEvent.action).where(WorkOrderEvent.order_id == order_id)
                              .order_by(WorkOrderEvent.id)))


def test_an_answering_machine_reported_by_the_menu_and_the_status_callback_is_one_unreached_attempt(
        twilio_hl, twilio, clock, api):
    order_id = survey_waiting_for_a_call(twilio_hl, clock)
    place(twilio_hl, api)
    (row,) = calls_of(twilio_hl, order_id)
    phone = CustomerPhone(twilio, "+8613800138000", sid=row.external_id)
    phone.answer(row.id, answered_by="machine_start")
    # Twilio names the machine again in the status callback, and repeats a callback it got no 200 for.
    for _ in range(2):
        resp = twilio.post(f"/twilio/voice/outbound/status?outbound={row.id}",
                           phone.params(CallStatus="completed", AnsweredBy="machine_start"))
        assert resp.status_code == 200
    assert calls_of(twilio_hl, order_id)[0].status == "machine"
    assert _history(twilio_hl, order_id).count("survey_unreached") == 1


def test_a_score_pressed_after_the_survey_was_answered_by_sms_is_thanked_not_an_error(twilio_hl, twilio, clock, api):
    order_id = survey_waiting_for_a_call(twilio_hl, clock)
    place(twilio_hl, api)
    (row,) = calls_of(twilio_hl, order_id)
    phone = CustomerPhone(twilio, "+8613800138000", sid=row.external_id)
    assert phone.answer(row.id).find("Gather") is not None
    with twilio_hl.session() as s, s.begin():        # the SMS reply "5" lands while the menu asks
        surveys.record(s, s.get(WorkOrder, order_id), 5, actors.customer("sms"), channel="sms")
    doc = phone.press("2")
    said = " ".join(el.text or "" for el in doc.iter("Say"))
    assert SENTENCES["survey.done"]["zh"] in said and SENTENCES["error.system"]["zh"] not in said, said
    assert doc.find("Hangup") is not None
    survey = survey_of(twilio_hl, order_id)
    assert (survey.score, survey.channel) == (5, "sms")


def test_a_survey_call_put_back_by_a_twilio_fault_is_not_placed_once_the_survey_is_answered(twilio_hl, clock, api):
    order_id = survey_waiting_for_a_call(twilio_hl, clock)
    api.refuse(503, 20503, "Service unavailable")
    place(twilio_hl, api)
    assert calls_of(twilio_hl, order_id)[0].status == "queued"
    with twilio_hl.session() as s, s.begin():        # the SMS reply comes while the call waits
        surveys.record(s, s.get(WorkOrder, order_id), 4, actors.customer("sms"), channel="sms")
    clock.advance(seconds=outbound.TRANSIENT_RETRY.total_seconds())
    place(twilio_hl, api)
    (row,) = calls_of(twilio_hl, order_id)
    assert len(api.requests) == 1, "the answered customer was called"
    assert row.status == "cancelled" and "answered" in row.reason


def test_a_queued_survey_call_to_a_customer_marked_do_not_call_meanwhile_is_not_placed(twilio_hl, clock, api):
    order_id = survey_waiting_for_a_call(twilio_hl, clock)
    with twilio_hl.session() as s, s.begin():
        (row,) = outbound.queue_survey_calls(s)
        customer_records.update_record(s, AGENT, find_by_phone(s, "13800138000"), None, do_not_call=True)
    place(twilio_hl, api)
    (row,) = calls_of(twilio_hl, order_id)
    assert len(api.requests) == 0 and row.status == "cancelled" and "do-not-call" in row.reason
