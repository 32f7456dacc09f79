"""Click-to-call on Twilio, end to end from the console: the agent presses "Call" on the callback
worklist, the scheduler's outbound-calls job sends calls.create to a local stand-in of Twilio's
REST API (the real twilio Client), ringing the agent's softphone (`client:agent_<id>`) with TwiML
that dials the customer; Twilio's status callback and the agent's outcome finish it."""
from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import select

from agent_console.app import create_app
from ivr.twilio_calls import TwilioDialer
from tests.console.conftest import Console
from tests.sms.fake_twilio import CALLS_PATH
from tickets import outbound
from tickets.models import CallbackRequest, OutboundCall, User

from .phone import BASE, HOTLINE_NUMBER, TOKEN, PhoneCall, Twilio

CUSTOMER = "+8613800138000"


@pytest.fixture
def app(hl, api):
    hl.settings = dataclasses.replace(hl.settings, outbound_voice="twilio", public_base_url=BASE,
                                      twilio_number=HOTLINE_NUMBER)
    hl.extensions[outbound.DIALER] = TwilioDialer(hl, api.client(TOKEN))
    return create_app(hl, {"TESTING": True})


def logged_in(app, username: str = "agent1") -> Console:
    c = Console(app)
    assert c.login(username).status_code == 302
    return c


def new_request(hl) -> int:
    with hl.session() as s, s.begin():
        return outbound.request_callback(s, phone=CUSTOMER, source="after-hours").id


def attempts_of(hl, request_id: int) -> list[OutboundCall]:
    with hl.session() as s:
        return list(s.scalars(select(OutboundCall).where(OutboundCall.callback_id == request_id)
                              .order_by(OutboundCall.attempt)))


def request_of(hl, request_id: int) -> CallbackRequest:
    with hl.session() as s:
        return s.get(CallbackRequest, request_id)


def user_id(hl, username: str) -> int:
    with hl.session() as s:
        return s.scalar(select(User.id).where(User.username == username))


def test_call_rings_the_agents_softphone_with_twiml_that_dials_the_customer(hl, app, api):
    request_id = new_request(hl)
    assert logged_in(app).post(f"/callbacks/{request_id}/call").status_code == 302
    outbound.follow_through(hl)
    (req,) = api.requests
    (row,) = attempts_of(hl, request_id)
    assert req["path"] == CALLS_PATH and api.credentials(req) == f"ACtest:{TOKEN}"
    form = req["form"]
    assert (form["To"], form["From"]) == (f"client:agent_{user_id(hl, 'agent1')}", HOTLINE_NUMBER)
    assert form["Twiml"] == f'<Response><Dial callerId="{HOTLINE_NUMBER}">{CUSTOMER}</Dial></Response>'
    assert form["StatusCallback"] == f"{BASE}/twilio/voice/outbound/status?outbound={row.id}"
    assert (form["StatusCallbackEvent"], form["StatusCallbackMethod"], form["Timeout"]) == ("completed", "POST", "45")
    assert "Url" not in form and "MachineDetection" not in form
    assert (row.status, row.backend, row.agent_user_id) == ("placing", "twilio", user_id(hl, "agent1"))
    assert row.external_id.startswith("CA") and request_of(hl, request_id).status == "calling"


def test_the_status_callback_and_the_agents_outcome_finish_the_callback(hl, app, api):
    request_id = new_request(hl)
    agent = logged_in(app)
    agent.post(f"/callbacks/{request_id}/call")
    outbound.follow_through(hl)
    (row,) = attempts_of(hl, request_id)
    twilio = Twilio(app)
    leg = PhoneCall(twilio, CUSTOMER, sid=row.external_id)
    resp = twilio.post(f"/twilio/voice/outbound/status?outbound={row.id}",
                       leg.params(CallStatus="completed", Direction="outbound-api"))
    assert resp.status_code == 200
    assert attempts_of(hl, request_id)[0].status == "answered"
    assert agent.post(f"/callbacks/{request_id}/outcome", {"outcome": "reached", "notes": "booked"}).status_code == 302
    assert request_of(hl, request_id).status == "done"


def test_a_refused_create_is_a_failed_attempt_and_the_request_is_due_again(hl, app, api, clock):
    request_id = new_request(hl)
    agent = logged_in(app)
    api.refuse(400, 21211, "The 'To' number is not a valid phone number.")
    agent.post(f"/callbacks/{request_id}/call")
    outbound.follow_through(hl)
    (row,) = attempts_of(hl, request_id)
    assert row.status == "failed" and "code 21211" in row.reason
    request = request_of(hl, request_id)
    assert (request.status, request.outcome, request.attempts) == ("waiting", "failed", 1)
    again = agent.post(f"/callbacks/{request_id}/call")
    assert again.status_code == 400 and "刚刚拨打过" in again.get_data(as_text=True)
    clock.advance(minutes=hl.settings.callback_retry_minutes)
    assert agent.post(f"/callbacks/{request_id}/call").status_code == 302
    outbound.follow_through(hl)
    assert [(r.attempt, r.status) for r in attempts_of(hl, request_id)] == [(1, "failed"), (2, "placing")]


def test_refused_every_time_the_request_is_given_up_at_the_attempt_limit(hl, app, api, clock):
    request_id = new_request(hl)
    agent = logged_in(app)
    for _ in range(hl.settings.callback_attempts):
        api.refuse(400, 21211, "The 'To' number is not a valid phone number.")
        assert agent.post(f"/callbacks/{request_id}/call").status_code == 302
        outbound.follow_through(hl)
        clock.advance(minutes=hl.settings.callback_retry_minutes)
    assert request_of(hl, request_id).status == "given-up"
    assert len(api.requests) == hl.settings.callback_attempts
    assert agent.post(f"/callbacks/{request_id}/call").status_code == 400


def test_a_twilio_outage_leaves_the_click_to_call_queued_not_counted(hl, app, api, clock):
    request_id = new_request(hl)
    api.refuse(503, 20503, "Service unavailable")
    logged_in(app).post(f"/callbacks/{request_id}/call")
    outbound.follow_through(hl)
    (row,) = attempts_of(hl, request_id)
    assert row.status == "queued" and "HTTP 503" in row.reason
    assert request_of(hl, request_id).status == "calling"
    clock.advance(seconds=outbound.TRANSIENT_RETRY.total_seconds())
    outbound.follow_through(hl)
    (row,) = attempts_of(hl, request_id)
    assert (row.status, row.attempt, len(api.requests)) == ("placing", 1, 2)


def test_callback_staff_without_a_softphone_are_told_to_call_by_hand(hl, app, api):
    request_id = new_request(hl)
    resp = logged_in(app, "callback1").post(f"/callbacks/{request_id}/call")
    assert resp.status_code == 400 and "软电话" in resp.get_data(as_text=True)
    assert attempts_of(hl, request_id) == [] and api.requests == []
