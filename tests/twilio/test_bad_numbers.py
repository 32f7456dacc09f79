"""Numbers Twilio never sends (but a forged or broken signed request can): never a 500, always a
TwiML answer (text/xml; charset=utf-8) that says what was wrong, never the console's HTML page."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.console.conftest import text
from tickets.models import Call

from .phone import twiml
from .test_agent_side import hl, queued, softphone  # noqa: F401 - hl: the softphone-configured Hotline

ODD = {"superscript two": "²", "fifty digits": "9" * 50, "negative": "-5", "float": "1e400", "infinity": "inf"}
TWIML_TYPE = "text/xml; charset=utf-8"


def refused(resp, field: str) -> None:
    assert resp.status_code == 400, text(resp)
    assert resp.headers["Content-Type"] == TWIML_TYPE
    body = text(resp)
    twiml(body)                       # a TwiML document, not the HTML error page
    assert "csrf" not in body.lower()
    assert field in body and "whole number" in body


@pytest.mark.parametrize("value", ODD.values(), ids=ODD.keys())
def test_queue_time_that_is_not_a_plain_number_is_refused_on_queue_result(phone, value):
    call = queued(phone)
    enqueue = call.last.find("Enqueue")
    resp = call.twilio.post(enqueue.get("action"), call.params(QueueResult="hangup", QueueTime=value))
    refused(resp, "QueueTime")


@pytest.mark.parametrize("value", ODD.values(), ids=ODD.keys())
def test_queue_time_that_is_not_a_plain_number_is_refused_on_agent_connect(hl, twilio, phone, value):  # noqa: F811
    caller = queued(phone)
    url, params = softphone(hl, twilio, "agent1").take(caller)
    refused(twilio.post(url, {**params, "QueueTime": value}), "QueueTime")


@pytest.mark.parametrize("value", ODD.values(), ids=ODD.keys())
def test_dial_duration_that_is_not_a_plain_number_is_refused_on_agent_dialed(hl, twilio, phone, value):  # noqa: F811
    caller = queued(phone)
    sp = softphone(hl, twilio, "agent1")
    sp.answer(caller)
    refused(sp.ended(seconds=value, caller=caller), "DialCallDuration")


@pytest.mark.parametrize("value", ["9" * 50, "²", "0"])
def test_an_agent_id_in_our_url_that_is_not_a_user_id_is_refused(hl, twilio, phone, value):  # noqa: F811
    caller = queued(phone)
    url, params = softphone(hl, twilio, "agent1").take(caller)
    refused(twilio.post(url.replace("agent=", f"agent={value}&was="), params), "agent")


@pytest.mark.parametrize("value", ["inf", "1e400", "²", "9" * 50])
def test_a_recording_of_unreadable_length_is_asked_for_again_not_a_500(phone, hl, value):
    call = phone("13900139000")    # 李先生, a known caller with an open order
    call.dial()
    call.press("3")
    record = call.press("1").find("Record")
    resp = call.twilio.post(record.get("action"), call.params(
        RecordingUrl="https://api.twilio.com/2010-04-01/Accounts/ACtest/Recordings/RE1", RecordingDuration=value))
    assert resp.status_code == 200
    assert [v.tag for v in twiml(text(resp))][-2:] == ["Record", "Redirect"]


def test_a_step_number_that_is_not_ours_is_refused_as_twiml(phone):
    call = phone()
    call.dial()
    action = call.last.find("Gather").get("action")
    refused(call.twilio.post(action.replace("step=", "step=" + "9" * 50 + "&was="), call.params(Digits="1")), "step")


def test_a_good_queue_time_is_still_recorded(phone, hl):
    call = queued(phone)
    call.leave_queue("hangup", 37)
    with hl.session() as s:
        assert s.scalar(select(Call.hold_seconds).where(Call.external_id == call.sid)) == 37


def test_twiml_is_served_as_utf8_xml(phone):
    call = phone()
    call.dial()
    resp = call.twilio.post("/twilio/voice", call.params(CallStatus="ringing"))
    assert resp.headers["Content-Type"] == TWIML_TYPE


def test_an_sms_webhook_error_is_plain_text(twilio):
    resp = twilio.post("/twilio/sms", {"AccountSid": "ACtest", "From": "+8613800138000"})
    assert resp.status_code == 400
    assert resp.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert "<html" not in text(resp).lower() and "not a Twilio message" in text(resp)
