"""Survey calls on Twilio: calls.create against a local HTTP endpoint standing in for Twilio's
REST API (the real twilio Client, its http client pointed there), then the survey menu over
signed webhooks as Twilio would post them once the customer answers."""
from __future__ import annotations

import base64
import dataclasses
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest
from sqlalchemy import select
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from agent_console.app import create_app
from ivr.twilio_calls import TwilioDialer
from tests.outbound import calls_of, survey_of, survey_waiting_for_a_call
from tickets import calls, outbound
from tickets.models import Complaint, WorkOrder

from .phone import BASE, HOTLINE_NUMBER, TOKEN, PhoneCall, Twilio, new_sid


class TwilioApi:
    """Twilio's REST endpoint for Calls.json on a loopback port: records each request, answers
    with a queued call resource as Twilio does (201)."""

    def __init__(self, refuse: bool = False) -> None:
        self.requests: list[dict] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                form = parse_qs(self.rfile.read(length).decode(), keep_blank_values=True)
                api.requests.append({"path": self.path, "form": form, "auth": self.headers.get("Authorization", "")})
                if refuse:
                    body, code = {"code": 21217, "message": "Phone number does not appear to be valid",
                                  "more_info": "https://www.twilio.com/docs/errors/21217", "status": 400}, 400
                else:
                    sid = new_sid()
                    body, code = {"sid": sid, "status": "queued", "to": form["To"][0], "from": form["From"][0],
                                  "account_sid": "ACtest", "direction": "outbound-api",
                                  "uri": f"/2010-04-01/Accounts/ACtest/Calls/{sid}.json"}, 201
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def client(self) -> Client:
        """The real twilio Client, its requests sent here instead of api.twilio.com."""
        local = self.url

        class LocalHttp(TwilioHttpClient):
            def request(self, method, url, *args, **kwargs):
                return super().request(method, url.replace("https://api.twilio.com", local), *args, **kwargs)

        return Client("ACtest", TOKEN, http_client=LocalHttp())

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class CustomerPhone(PhoneCall):
    """The customer's side of a call we placed: Twilio posts From = our number, To = them."""

    def params(self, **extra: str) -> dict[str, str]:
        return {**super().params(**extra), "Direction": "outbound-api", "From": HOTLINE_NUMBER, "To": self.caller,
                "Caller": HOTLINE_NUMBER, "Called": self.caller}

    def answer(self, outbound_id: int, answered_by: str = "human"):
        return self._follow(f"/twilio/voice/survey?outbound={outbound_id}", self.params(AnsweredBy=answered_by))


@pytest.fixture
def api():
    server = TwilioApi()
    yield server
    server.stop()


@pytest.fixture
def twilio_hl(hl):
    hl.settings = dataclasses.replace(hl.settings, outbound_voice="twilio", public_base_url=BASE,
                                      twilio_number=HOTLINE_NUMBER)
    return hl


@pytest.fixture
def twilio(twilio_hl) -> Twilio:
    return Twilio(create_app(twilio_hl, {"TESTING": True}))


def place(hl, api) -> None:
    hl.extensions[outbound.DIALER] = TwilioDialer(hl, api.client())
    outbound.follow_through(hl)


def test_the_survey_call_is_created_with_the_survey_url_and_machine_detection(twilio_hl, clock, api):
    order_id = survey_waiting_for_a_call(twilio_hl, clock)
    place(twilio_hl, api)
    (row,) = calls_of(twilio_hl, order_id)
    (req,) = api.requests
    assert req["path"] == "/2010-04-01/Accounts/ACtest/Calls.json"
    assert base64.b64decode(req["auth"].split()[1]).decode() == f"ACtest:{TOKEN}"
    form = {k: v[0] for k, v in req["form"].items()}
    assert (form["To"], form["From"]) == ("+8613800138000", HOTLINE_NUMBER)
    assert form["Url"] == f"{BASE}/twilio/voice/survey?outbound={row.id}" and form["Method"] == "POST"
    assert form["StatusCallback"] == f"{BASE}/twilio/voice/outbound/status?outbound={row.id}"
    assert form["StatusCallbackEvent"] == "completed" and form["MachineDetection"] == "Enable"
    assert row.status == "placing" and row.external_id.startswith("CA") and row.backend == "twilio"


def test_a_refused_calls_create_is_a_failed_attempt(twilio_hl, clock):
    order_id = survey_waiting_for_a_call(twilio_hl, clock)
    refusing = TwilioApi(refuse=True)
    try:
        place(twilio_hl, refusing)
    finally:
        refusing.stop()
    (row,) = calls_of(twilio_hl, order_id)
    assert row.status == "failed" and "21217" in row.reason


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
