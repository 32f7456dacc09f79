"""The agent side of a queued Twilio call: the softphone's token, the TwiML App's voice URL that
dials the agents' queue, and the Queue url that pops the caller's card on the agent who took it.

Every Twilio request is signed as Twilio signs it (tests/twilio/phone.py) and every answer is
parsed as TwiML.
"""
from __future__ import annotations

import uuid
from html.parser import HTMLParser

import jwt
import pytest
from sqlalchemy import func, select

from ivr import prompts
from ivr.scenarios import DEMO_PATH
from tests.console.conftest import Console, text
from tickets.models import AgentEvent, AuditLog, Call, User, WorkOrder

from .phone import PhoneCall, Twilio, query, twiml, verbs

WANG = "13800138000"
ACCOUNT, API_KEY, API_SECRET, APP_SID = "ACtest", "SKtest0123", "api-key-secret-for-the-softphone-tests", "APtest4567"
SDK_URL = "https://sdk.example.test/twilio.min.js"
SOFTPHONE = {"TWILIO_API_KEY": API_KEY, "TWILIO_API_SECRET": API_SECRET, "TWILIO_TWIML_APP_SID": APP_SID,
             "TWILIO_VOICE_SDK_URL": SDK_URL}
VOICE_URL = "/twilio/agent/voice"


@pytest.fixture
def hl(new_hotline, tmp_path, clock):
    """The test Hotline with the softphone configured (the shared fixtures build on it)."""
    h = new_hotline(**SOFTPHONE)
    yield h
    h.close()


def console(app, username: str | None = None, lang: str = "zh") -> Console:
    c = Console(app)
    if username:
        assert c.login(username).status_code == 302
    if lang != "zh":
        c.post("/language", {"lang": lang})
    return c


def request_token(c: Console, accept: str = "application/json"):
    return c.client.post("/workspace/softphone/token", headers={"X-CSRFToken": c.token(), "Accept": accept})


def user_id(hl, username: str) -> int:
    with hl.session() as s:
        return s.scalar(select(User.id).where(User.username == username))


def make_available(hl, username: str) -> None:
    with hl.session() as s, s.begin():
        s.scalar(select(User).where(User.username == username)).presence = "available"


def call_row(hl, sid: str) -> Call:
    with hl.session() as s:
        return s.scalar(select(Call).where(Call.external_id == sid))


def events(hl, kind: str, username: str | None = None) -> list[AgentEvent]:
    with hl.session() as s:
        q = select(AgentEvent).where(AgentEvent.kind == kind).order_by(AgentEvent.id)
        if username:
            q = q.where(AgentEvent.user_id == user_id(hl, username))
        return list(s.scalars(q))


class Softphone:
    """An agent's browser calling the TwiML App, as Twilio reports that call to our webhooks."""

    def __init__(self, twilio: Twilio, identity: str) -> None:
        self.twilio = twilio
        self.sid = "CA" + uuid.uuid4().hex
        self.identity = identity

    def params(self) -> dict[str, str]:
        return {"AccountSid": ACCOUNT, "ApiVersion": "2010-04-01", "ApplicationSid": APP_SID, "CallSid": self.sid,
                "CallStatus": "ringing", "Direction": "inbound", "From": f"client:{self.identity}",
                "Caller": f"client:{self.identity}", "To": ""}

        self.action = ""         # the <Dial action> of the voice URL's answer

    def dial(self):
        resp = self.twilio.post(VOICE_URL, self.params())
        if resp.status_code == 200:
            self.action = twiml(text(resp)).find("Dial").get("action")
        return resp

    def take(self, caller: PhoneCall, queue_seconds: int = 42, queue_sid: str = "QUtest") -> tuple[str, dict]:
        """Dial the queue and be bridged to `caller`: Twilio fetches the <Queue url> on the caller's leg.
        Returns the URL and the parameters of that request (to replay it)."""
        resp = self.dial()
        assert resp.status_code == 200, text(resp)
        url = twiml(text(resp)).find("Dial/Queue").get("url")
        params = caller.params(QueueSid=queue_sid, QueueTime=str(queue_seconds), DequeingCallSid=self.sid)
        return url, params

    def answer(self, caller: PhoneCall, **kw) -> None:
        """`take` the caller, and Twilio fetches the Queue url: the agent is on the line with them."""
        self.twilio.twiml(*self.take(caller, **kw))

    def ended(self, status: str = "completed", seconds: int | None = 95, caller: PhoneCall | None = None,
              queue_sid: str = "QUtest"):
        """The <Dial action> Twilio posts on the agent's call when its dial ends: `completed` after a
        bridged call, whichever side hung up; busy, no-answer, failed or canceled otherwise."""
        extra = {"DialCallStatus": status, "QueueSid": queue_sid, "CallStatus": "in-progress"}
        if seconds is not None:
            extra["DialCallDuration"] = str(seconds)
        if caller is not None:
            extra["DialCallSid"] = caller.sid
        return self.twilio.post(self.action, {**self.params(), **extra})


def softphone(hl, twilio: Twilio, username: str) -> Softphone:
    """`username`'s softphone: the identity its token carries is agent_<user id>."""
    return Softphone(twilio, f"agent_{user_id(hl, username)}")


def queued(phone, caller: str = WANG) -> PhoneCall:
    call = phone(caller)
    call.dial()
    assert verbs(call.press("0")) == ["Enqueue"]
    return call


# ----------------------------------------------------------------------------- the token

def test_the_token_names_the_agent_grants_calls_to_the_twiml_app_and_lets_click_to_call_ring_it(app):
    resp = request_token(console(app, "agent1"))
    assert resp.status_code == 200
    assert resp.headers["Cache-Control"] == "no-store"
    body = resp.get_json()
    claims = jwt.decode(body["token"], API_SECRET, algorithms=["HS256"])
    assert (claims["iss"], claims["sub"]) == (API_KEY, ACCOUNT)
    assert claims["grants"]["identity"] == body["identity"] == f"agent_{user_id(app.extensions['hotline'], 'agent1')}"
    assert claims["grants"]["voice"] == {"outgoing": {"application_sid": APP_SID}, "incoming": {"allow": True}}


@pytest.mark.parametrize("username, status", [("agent1", 200), ("supervisor1", 200), ("franchisee1", 403),
                                              ("dispatcher1", 403), ("callback1", 403), ("admin", 403)])
def test_only_call_taking_roles_get_a_token(app, username, status):
    resp = request_token(console(app, username))
    assert resp.status_code == status
    assert ("token" in (resp.get_json(silent=True) or {})) == (status == 200)


def test_the_softphone_of_the_tokens_identity_may_dial_the_queue(app, twilio):
    identity = request_token(console(app, "supervisor1")).get_json()["identity"]
    resp = Softphone(twilio, identity).dial()
    assert resp.status_code == 200
    assert twiml(text(resp)).find("Dial/Queue") is not None


def test_a_logged_out_script_gets_401(app):
    resp = request_token(console(app))
    assert resp.status_code == 401
    assert "token" not in resp.get_json()


def test_a_logged_out_browser_is_sent_to_the_login_page(app):
    resp = request_token(console(app), accept="text/html")
    assert resp.status_code == 302
    assert "/login" in resp.headers["Location"]


def test_a_token_request_without_the_csrf_token_is_refused(app):
    c = console(app, "agent1")
    resp = c.client.post("/workspace/softphone/token", headers={"Accept": "application/json"})
    assert resp.status_code == 400


def test_without_twilio_configured_the_token_is_503_naming_the_missing_variables(sibling_app):
    app = sibling_app(twilio_api_key="", twilio_twiml_app_sid="")
    resp = request_token(console(app, "agent1", lang="en"))
    assert resp.status_code == 503
    body = resp.get_json()
    assert body["missing"] == ["TWILIO_API_KEY", "TWILIO_TWIML_APP_SID"]
    assert "Twilio softphone not configured" in body["error"]
    assert "TWILIO_API_KEY" in body["error"]


# ----------------------------------------------------------------------------- the workspace page

def test_the_workspace_loads_the_sdk_and_the_softphone_when_configured(app):
    box = SoftphoneBox(text(console(app, "agent1").get("/workspace/")))
    assert box.attrs["data-configured"] == "yes"
    assert box.attrs["data-token-url"] == "/workspace/softphone/token"
    assert [(s["src"], "defer" in s) for s in box.scripts] == [(SDK_URL, True), ("/static/js/softphone.js", True)]
    assert "softphone-take" in box.ids
    assert "softphone-off" not in box.ids


def test_without_twilio_the_workspace_says_so_and_loads_no_sdk(sibling_app):
    app = sibling_app(twilio_api_secret="")
    page = text(console(app, "agent1", lang="en").get("/workspace/"))
    box = SoftphoneBox(page)
    assert box.attrs["data-configured"] == "no"
    assert box.scripts == []
    assert box.text["softphone-off"] == "Twilio softphone not configured"
    assert "TWILIO_API_SECRET" in box.ids["softphone-off"]["title"]
    assert "softphone.js" not in page
    assert SDK_URL not in page


class SoftphoneBox(HTMLParser):
    """The workspace's <div id=softphone> as a browser reads it: its attributes, the elements
    inside by id, their text, and its <script> tags."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.attrs: dict[str, str | None] = {}
        self.ids: dict[str, dict[str, str | None]] = {}
        self.text: dict[str, str] = {}
        self.scripts: list[dict[str, str | None]] = []
        self._depth = 0          # > 0 inside the box
        self._current: str | None = None
        self.feed(page)
        assert self.attrs, "the workspace has no softphone box"

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if self._depth == 0:
            if attrs.get("id") == "softphone":
                self.attrs, self._depth = attrs, 1
            return
        if tag == "div":
            self._depth += 1
        if tag == "script":
            self.scripts.append(attrs)
        if "id" in attrs:
            self.ids[attrs["id"]] = attrs
            self._current = attrs["id"]

    def handle_endtag(self, tag):
        self._current = None
        if self._depth and tag == "div":
            self._depth -= 1

    def handle_data(self, data):
        if self._depth and self._current:
            self.text[self._current] = self.text.get(self._current, "") + data.strip()


# ----------------------------------------------------------------------------- the agent's call

def test_the_softphone_dials_the_queue_the_callers_are_enqueued_in(hl, twilio, phone):
    enqueue = queued(phone).last.find("Enqueue")
    resp = softphone(hl, twilio, "agent2").dial()
    assert resp.status_code == 200
    assert resp.mimetype == "text/xml"
    doc = twiml(text(resp))
    assert verbs(doc) == ["Dial"]
    queue = doc.find("Dial/Queue")
    assert queue.text == enqueue.text == "agents-p2"        # 王女士 is VIP: the priority 2 queue
    assert queue.get("method") == "POST"
    assert queue.get("url").startswith("/twilio/agent/connect?")
    assert query(queue.get("url")) == {"agent": str(user_id(hl, "agent2"))}


@pytest.mark.parametrize("caller", ["client:agent1", "client:agent_99999", "client:agent_{franchisee}", "client:agent_",
                                    "client:agent_1x", "+8613800138000", ""])
def test_a_call_from_anything_but_an_agents_softphone_is_refused(hl, twilio, caller):
    phone = softphone(hl, twilio, "agent1")
    params = {**phone.params(), "From": caller.format(franchisee=user_id(hl, "franchisee1"))}
    assert twilio.post(VOICE_URL, params).status_code == 403


def test_a_deactivated_agents_softphone_is_refused(hl, twilio):
    with hl.session() as s, s.begin():
        s.scalar(select(User).where(User.username == "agent2")).active = False
    assert softphone(hl, twilio, "agent2").dial().status_code == 403


def test_an_unsigned_or_forged_agent_call_is_refused(hl, twilio):
    phone = softphone(hl, twilio, "agent1")
    assert twilio.post(VOICE_URL, phone.params(), signed=False).status_code == 403
    forged = Twilio(twilio.client.application, token="not-our-auth-token")
    assert forged.post(VOICE_URL, phone.params()).status_code == 403


def test_a_replayed_agent_call_gets_the_same_twiml(hl, twilio):
    phone = softphone(hl, twilio, "agent1")
    first, again = phone.dial(), phone.dial()
    assert (again.status_code, text(again)) == (first.status_code, text(first))


# ----------------------------------------------------------------------------- the bridge and the pop

def test_the_caller_pops_on_the_agent_whose_softphone_took_the_call(hl, twilio, phone):
    caller = queued(phone)                        # nobody was available: no card popped at enqueue time
    assert events(hl, "offer") == []
    agent_id = user_id(hl, "agent2")
    bus = hl.bus.subscribe(f"agent.{agent_id}")
    try:
        url, params = softphone(hl, twilio, "agent2").take(caller, queue_seconds=42)
        doc = twilio.twiml(url, params)
        first = bus.get(timeout=10)
    finally:
        bus.close()
    assert first is not None
    assert first.payload["kind"] == "offer"
    pop = first.payload["payload"]
    assert pop["external_id"] == caller.sid
    assert (pop["card"]["caller"], pop["card"]["name"]) == ("+8613800138000", "王女士")
    row = call_row(hl, caller.sid)
    assert pop["ivr"]["queue"] == "agents"
    assert pop["ivr"]["path"] == row.ivr_path
    assert row.ivr_path
    assert (row.agent_user_id, row.agent_member, row.queue_result, row.hold_seconds) == (
        agent_id, f"client:agent_{agent_id}", "answered", 42)
    assert [e.kind for e in events(hl, "connect", "agent2")] == ["connect"]
    # Twilio plays this to the caller, just before the agent is on the line.
    assert verbs(doc) == ["Say"]
    assert doc.find("Say").text == prompts.text("agent.connecting", "zh")
    assert doc.find("Say").get("language") == "zh-CN"


def test_the_card_carries_the_order_the_caller_had_in_hand(hl, twilio, phone):
    booking = phone(WANG)
    booking.dial()
    for key in DEMO_PATH.split():
        booking.press(key)
    booking.hang_up()
    number = _order_number(hl, booking.sid)
    assert number
    assert number.isdigit()
    caller = phone(WANG)
    caller.dial()
    caller.press("2")                             # the status of my order: the one open order is read
    assert verbs(caller.press("0")) == ["Enqueue"]
    twilio.twiml(*softphone(hl, twilio, "agent1").take(caller))
    [offer] = events(hl, "offer", "agent1")
    assert offer.payload["ivr"]["order"] == number


def _order_number(hl, sid: str) -> str:
    with hl.session() as s:
        return s.scalar(select(WorkOrder.number).join(Call, Call.order_id == WorkOrder.id)
                        .where(Call.external_id == sid))


def test_an_english_caller_hears_english(hl, twilio, phone):
    caller = phone(WANG)
    caller.dial()
    with hl.session() as s, s.begin():
        s.scalar(select(Call).where(Call.external_id == caller.sid)).language = "en"
    doc = twilio.twiml(*softphone(hl, twilio, "agent1").take(caller))
    assert doc.find("Say").text == prompts.text("agent.connecting", "en")
    assert doc.find("Say").get("language") == "en-US"


def test_the_agent_popped_at_enqueue_who_takes_the_call_gets_no_second_card(hl, twilio, phone):
    make_available(hl, "agent1")
    caller = queued(phone)
    assert [e.call_id for e in events(hl, "offer", "agent1")] == [call_row(hl, caller.sid).id]
    twilio.twiml(*softphone(hl, twilio, "agent1").take(caller))
    assert len(events(hl, "offer")) == 1
    assert len(events(hl, "connect", "agent1")) == 1
    assert events(hl, "missed") == []


def test_an_agent_popped_at_enqueue_is_told_when_another_agent_takes_the_call(hl, twilio, phone):
    make_available(hl, "agent1")
    caller = queued(phone)
    twilio.twiml(*softphone(hl, twilio, "agent2").take(caller))
    assert [e.payload["external_id"] for e in events(hl, "offer", "agent2")] == [caller.sid]
    [missed] = events(hl, "missed", "agent1")
    assert missed.call_id == call_row(hl, caller.sid).id
    assert call_row(hl, caller.sid).agent_user_id == user_id(hl, "agent2")


def test_a_replayed_bridge_answers_the_same_and_offers_nothing_again(hl, twilio, phone):
    caller = queued(phone)
    url, params = softphone(hl, twilio, "agent2").take(caller)
    first, again = twilio.post(url, params), twilio.post(url, params)
    assert first.status_code == again.status_code == 200
    assert text(again) == text(first)
    assert len(events(hl, "offer")) == 1
    assert len(events(hl, "connect")) == 1


def test_a_caller_enqueued_without_our_menu_is_still_recorded_and_popped(hl, twilio):
    stranger = PhoneCall(twilio, "13900139000")   # never went through /twilio/voice
    twilio.twiml(*softphone(hl, twilio, "agent1").take(stranger))
    row = call_row(hl, stranger.sid)
    assert (row.transport, row.caller, row.queue_result) == ("twilio", "+8613900139000", "answered")
    [offer] = events(hl, "offer", "agent1")
    assert offer.call_id == row.id


def test_the_queue_url_must_name_an_active_agent(hl, twilio, phone):
    caller = queued(phone)
    params = caller.params(QueueSid="QUtest", QueueTime="5")
    assert twilio.post("/twilio/agent/connect", params).status_code == 400
    franchisee = user_id(hl, "franchisee1")
    assert twilio.post(f"/twilio/agent/connect?agent={franchisee}", params).status_code == 403
    with hl.session() as s:
        assert s.scalar(select(func.count()).select_from(AgentEvent)) == 0


def test_the_bridged_call_is_answered_in_the_figures_once_it_ends(hl, twilio, phone):
    caller = queued(phone)
    twilio.twiml(*softphone(hl, twilio, "agent1").take(caller))
    caller.leave_queue("bridged", 42)             # <Enqueue action> after both sides hung up
    caller.hang_up()
    row = call_row(hl, caller.sid)
    assert (row.outcome, row.queue_result, row.agent_user_id) == ("agent", "answered", user_id(hl, "agent1"))


def test_agent_webhooks_without_a_call_sid_are_bad_requests(hl, twilio):
    params = {k: v for k, v in softphone(hl, twilio, "agent1").params().items() if k != "CallSid"}
    assert twilio.post(VOICE_URL, params).status_code == 400
    assert twilio.post(f"/twilio/agent/connect?agent={user_id(hl, 'agent1')}", params).status_code == 400


# ----------------------------------------------------------------------------- the end of the call, presence

def presence(hl, username: str) -> str:
    with hl.session() as s:
        return s.scalar(select(User.presence).where(User.username == username))


def test_the_agents_dial_names_its_action_url(hl, twilio):
    phone = softphone(hl, twilio, "agent2")
    dial = twiml(text(phone.dial())).find("Dial")
    assert dial.get("method") == "POST"
    assert dial.get("action").startswith("/twilio/agent/dialed?")
    assert query(dial.get("action")) == {"agent": str(user_id(hl, "agent2"))}


def test_an_available_agent_is_on_a_call_once_bridged(hl, twilio, phone):
    make_available(hl, "agent1")
    caller = queued(phone)
    softphone(hl, twilio, "agent1").answer(caller)
    assert presence(hl, "agent1") == "on_call"
    [pushed] = events(hl, "presence", "agent1")
    assert pushed.payload["presence"] == "on_call"
    with hl.session() as s:
        audit = s.scalar(select(AuditLog).where(AuditLog.action == "agent.presence"))
    assert audit.data == {"presence": ["available", "on_call"], "call_id": call_row(hl, caller.sid).id}
    assert audit.actor_label == "system"


def test_the_next_caller_does_not_pop_on_an_agent_on_a_softphone_call(hl, twilio, phone):
    make_available(hl, "agent1")
    make_available(hl, "agent2")
    first, second = queued(phone), queued(phone, "13900139000")      # offered to agent1, then agent2
    softphone(hl, twilio, "agent1").answer(first)
    third = queued(phone, "13700137000")         # agent1's turn again, but agent1 is on the call
    offers = {e.payload["external_id"]: e.user_id for e in events(hl, "offer")}
    agent1, agent2 = user_id(hl, "agent1"), user_id(hl, "agent2")
    assert offers == {first.sid: agent1, second.sid: agent2, third.sid: agent2}


def test_nobody_is_offered_the_next_caller_while_the_only_agent_is_on_a_call(hl, twilio, phone):
    make_available(hl, "agent1")
    softphone(hl, twilio, "agent1").answer(queued(phone))
    queued(phone, "13900139000")
    assert len(events(hl, "offer")) == 1


def test_the_end_of_the_bridged_call_is_recorded_and_the_agent_wraps_up(hl, twilio, phone):
    make_available(hl, "agent1")
    caller = queued(phone)
    agent = softphone(hl, twilio, "agent1")
    agent.answer(caller, queue_seconds=42)
    resp = agent.ended("completed", 95, caller=caller)
    assert resp.status_code == 200
    assert resp.mimetype == "text/xml"
    assert verbs(twiml(text(resp))) == ["Hangup"]
    row = call_row(hl, caller.sid)
    assert (row.outcome, row.queue_result, row.hold_seconds, row.talk_seconds) == ("agent", "answered", 42, 95)
    assert row.ended_at is not None
    [complete] = events(hl, "complete", "agent1")
    assert complete.call_id == row.id
    assert (complete.payload["dial_status"], complete.payload["talk_seconds"], complete.payload["queue_sid"],
            complete.payload["agent_call_sid"]) == ("completed", 95, "QUtest", agent.sid)
    assert presence(hl, "agent1") == "wrap_up"
    assert [e.payload["presence"] for e in events(hl, "presence", "agent1")] == ["on_call", "wrap_up"]


def ended_call(hl, twilio: Twilio, phone) -> PhoneCall:
    """An available agent1 took a queued caller on the softphone and the call ended: agent1 is in wrap-up."""
    make_available(hl, "agent1")
    caller = queued(phone)
    agent = softphone(hl, twilio, "agent1")
    agent.answer(caller)
    agent.ended()
    return caller


def test_an_agent_in_wrap_up_is_not_offered_the_next_caller(hl, twilio, phone):
    ended_call(hl, twilio, phone)
    queued(phone, "13900139000")
    assert len(events(hl, "offer")) == 1


def test_saving_the_wrap_up_makes_the_agent_available_again(app, hl, twilio, phone):
    caller = ended_call(hl, twilio, phone)
    resp = console(app, "agent1").post(f"/workspace/calls/{call_row(hl, caller.sid).id}/wrap-up",
                                       {"disposition": "booked", "notes": "约了周六保洁"})
    assert resp.status_code == 302
    assert presence(hl, "agent1") == "available"
    nxt = queued(phone, "13900139000")
    assert [e.payload["external_id"] for e in events(hl, "offer", "agent1")][-1] == nxt.sid


def test_wrapping_up_an_older_call_does_not_end_the_wrap_up_of_the_last(app, hl, twilio, phone):
    make_available(hl, "agent1")
    older, last = queued(phone), queued(phone, "13900139000")
    for caller in (older, last):
        agent = softphone(hl, twilio, "agent1")
        agent.answer(caller)
        agent.ended()
    console(app, "agent1").post(f"/workspace/calls/{call_row(hl, older.sid).id}/wrap-up", {"disposition": "info"})
    assert presence(hl, "agent1") == "wrap_up"


@pytest.mark.parametrize("status", ["no-answer", "busy", "failed", "canceled"])
def test_a_dial_that_ends_badly_after_the_bridge_still_puts_the_agent_in_wrap_up(hl, twilio, phone, status):
    make_available(hl, "agent1")
    caller = queued(phone)
    agent = softphone(hl, twilio, "agent1")
    agent.answer(caller)
    resp = agent.ended(status, seconds=None)
    assert verbs(twiml(text(resp))) == ["Hangup"]
    row = call_row(hl, caller.sid)
    assert row.talk_seconds == 0
    [complete] = events(hl, "complete", "agent1")
    assert complete.payload["dial_status"] == status
    assert presence(hl, "agent1") == "wrap_up"


def test_a_dial_that_bridged_nobody_records_nothing(hl, twilio):
    make_available(hl, "agent1")
    agent = softphone(hl, twilio, "agent1")
    agent.dial()
    resp = agent.ended("no-answer", 0)          # the queue stayed empty until the dial's timeout
    assert resp.status_code == 200
    assert verbs(twiml(text(resp))) == ["Hangup"]
    assert events(hl, "complete") == []
    assert events(hl, "presence") == []
    assert presence(hl, "agent1") == "available"


def test_a_retried_dial_action_records_once(hl, twilio, phone):
    make_available(hl, "agent1")
    caller = queued(phone)
    agent = softphone(hl, twilio, "agent1")
    agent.answer(caller)
    first, again = agent.ended("completed", 95), agent.ended("completed", 95)
    assert (again.status_code, text(again)) == (first.status_code, text(first))
    assert len(events(hl, "complete")) == 1
    assert [e.payload["presence"] for e in events(hl, "presence", "agent1")] == ["on_call", "wrap_up"]
    with hl.session() as s:
        assert s.scalar(select(func.count()).select_from(AuditLog)
                        .where(AuditLog.action == "agent.presence")) == 2


def test_a_busy_or_away_agent_who_takes_a_call_keeps_their_own_presence(hl, twilio, phone):
    with hl.session() as s, s.begin():
        s.scalar(select(User).where(User.username == "agent1")).presence = "busy"
    agent = softphone(hl, twilio, "agent1")
    agent.answer(queued(phone))
    assert presence(hl, "agent1") == "busy"
    agent.ended()
    assert presence(hl, "agent1") == "busy"
    assert events(hl, "presence") == []
    assert len(events(hl, "complete")) == 1


def test_an_unsigned_or_forged_dial_action_is_refused(hl, twilio, phone):
    make_available(hl, "agent1")
    caller = queued(phone)
    agent = softphone(hl, twilio, "agent1")
    agent.answer(caller)
    params = {**agent.params(), "DialCallStatus": "completed", "DialCallDuration": "95"}
    assert twilio.post(agent.action, params, signed=False).status_code == 403
    forged = Twilio(twilio.client.application, token="not-our-auth-token")
    assert forged.post(agent.action, params).status_code == 403
    assert events(hl, "complete") == []
    assert presence(hl, "agent1") == "on_call"
    assert call_row(hl, caller.sid).talk_seconds is None


def test_the_dial_action_must_name_an_active_agent(hl, twilio):
    params = {**softphone(hl, twilio, "agent1").params(), "DialCallStatus": "completed"}
    assert twilio.post("/twilio/agent/dialed", params).status_code == 400
    assert twilio.post(f"/twilio/agent/dialed?agent={user_id(hl, 'franchisee1')}", params).status_code == 403


# ----------------------------------------------------------------------------- presence and the client name on the page

class ById(HTMLParser):
    """Elements of a page by id: their attributes and text."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.attrs: dict[str, dict[str, str | None]] = {}
        self.text: dict[str, str] = {}
        self._current: str | None = None
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self._current = attrs.get("id")
        if self._current:
            self.attrs[self._current] = attrs

    def handle_endtag(self, tag):
        self._current = None

    def handle_data(self, data):
        if self._current:
            self.text[self._current] = self.text.get(self._current, "") + data.strip()


@pytest.mark.parametrize("lang, hint", [("zh", "如 PJSIP/agent1；您的 Twilio 客户端名是 client:agent_{id}"),
                                        ("en", "e.g. PJSIP/agent1; your Twilio client is client:agent_{id}")])
def test_the_workspace_names_the_agents_own_twilio_client(app, hl, lang, hint):
    page = ById(text(console(app, "agent2", lang=lang).get("/workspace/")))
    assert page.attrs["extension"]["placeholder"] == hint.format(id=user_id(hl, "agent2"))


def test_the_workspace_shows_an_agent_on_a_call_and_wrapping_up(app, hl, twilio, phone):
    make_available(hl, "agent1")
    c = console(app, "agent1", lang="en")
    assert "hidden" in ById(text(c.get("/workspace/"))).attrs["presence-call"]
    agent = softphone(hl, twilio, "agent1")
    agent.answer(queued(phone))
    page = ById(text(c.get("/workspace/")))
    assert "hidden" not in page.attrs["presence-call"]
    assert (page.attrs["presence-call"]["data-state"], page.text["presence-call"]) == ("on_call", "on a call")
    agent.ended()
    page = ById(text(c.get("/workspace/")))
    assert (page.attrs["presence-call"]["data-state"], page.text["presence-call"]) == ("wrap_up", "wrapping up")


# ----------------------------------------------------------------------------- the wrap-up timer

def end_wrap_ups(hl) -> list[str]:
    from tickets.agents import end_due_wrap_ups
    with hl.session() as s, s.begin():
        return end_due_wrap_ups(s)


def test_an_agent_who_never_saves_the_wrap_up_is_offered_calls_again_after_the_wrap_up_time(hl, twilio, phone, clock):
    ended_call(hl, twilio, phone)
    clock.advance(seconds=hl.settings.wrap_up_seconds - 1)
    assert end_wrap_ups(hl) == []
    assert presence(hl, "agent1") == "wrap_up"
    clock.advance(seconds=1)
    assert end_wrap_ups(hl) == ["agent1"]
    assert presence(hl, "agent1") == "available"
    assert [e.payload["presence"] for e in events(hl, "presence", "agent1")] == ["on_call", "wrap_up", "available"]
    with hl.session() as s:
        audit = s.scalars(select(AuditLog).where(AuditLog.action == "agent.presence").order_by(AuditLog.id)).all()[-1]
    assert audit.data["presence"] == ["wrap_up", "available"]
    assert audit.actor_label == "system"
    nxt = queued(phone, "13900139000")
    assert [e.payload["external_id"] for e in events(hl, "offer", "agent1")][-1] == nxt.sid
    assert end_wrap_ups(hl) == [], "nobody is freed twice"


def test_the_wrap_up_timer_leaves_a_presence_the_agent_chose(app, hl, twilio, phone, clock):
    ended_call(hl, twilio, phone)
    with hl.session() as s, s.begin():
        from tickets.agents import set_presence
        from tickets.actors import Actor
        user = s.scalar(select(User).where(User.username == "agent1"))
        set_presence(s, user, Actor(role="agent", user_id=user.id, label="agent1"), "away")
    clock.advance(seconds=hl.settings.wrap_up_seconds + 60)
    assert end_wrap_ups(hl) == []
    assert presence(hl, "agent1") == "away"


def test_with_no_wrap_up_time_the_agent_stays_in_wrap_up_until_they_save_it(new_hotline, tmp_path, clock):
    h = new_hotline(WRAP_UP_SECONDS="0", **SOFTPHONE)
    try:
        with h.session() as s, s.begin():
            user = s.scalar(select(User).where(User.username == "agent1"))
            user.presence = "wrap_up"
        clock.advance(seconds=3600)
        assert end_wrap_ups(h) == []
        assert presence(h, "agent1") == "wrap_up"
    finally:
        h.close()


# ----------------------------------------------------------------------------- member priority

def enqueued_in(call: PhoneCall) -> str:
    call.dial()
    doc = call.press("0")
    assert verbs(doc) == ["Enqueue"]
    return doc.find("Enqueue").text


def dialed_queue(sp: Softphone) -> str:
    resp = sp.dial()
    assert resp.status_code == 200, text(resp)
    return twiml(text(resp)).find("Dial/Queue").text


def test_a_member_with_a_queue_priority_waits_in_that_prioritys_twilio_queue(phone):
    assert enqueued_in(phone(WANG)) == "agents-p2"             # VIP: CARD_LEVELS' vip priority 2
    assert enqueued_in(phone("13900139000")) == "agents-p1"    # 李先生, senior
    assert enqueued_in(phone("13700137000")) == "agents"       # Mr. Smith, standard


def test_the_agent_takes_the_highest_priority_queue_with_a_caller_then_the_others(hl, phone, twilio):
    def next_dial(username: str = "agent1") -> Softphone:   # each take is a new call of the softphone
        return softphone(hl, twilio, username)

    assert dialed_queue(next_dial()) == "agents"               # nobody waiting anywhere
    smith, li, wang = phone("13700137000"), phone("13900139000"), phone(WANG)
    for call in (smith, li, wang):                             # the VIP called last
        enqueued_in(call)
    agent = next_dial()
    assert dialed_queue(agent) == "agents-p2"
    agent.answer(wang)
    assert dialed_queue(next_dial("supervisor1")) == "agents-p1"
    li.leave_queue("hangup", 30)                               # 李先生 hangs up while waiting
    assert dialed_queue(next_dial()) == "agents"               # only Mr. Smith is left
