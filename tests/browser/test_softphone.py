"""In headless Chromium: the workspace's Twilio softphone box, configured or not, with the SDK
reachable or not. The tests have no network: where the SDK must work, the browser is handed a
stand-in for Twilio.Device (the SDK's public surface that softphone.js uses) at the SDK's URL."""
from __future__ import annotations

import base64
import json
import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from agent_console.commands import WebService
from tests.browser.pages import open_as
from tests.console.live import hotline_from
from tests.servers import free_port
from tickets import agents, calls
from tickets.models import Call, User, utcnow

SDK_URL = "https://sdk.example.test/twilio.min.js"
SOFTPHONE = {"TWILIO_API_KEY": "SKbrowser", "TWILIO_API_SECRET": "browser-test-api-key-secret-0123456789",
             "TWILIO_TWIML_APP_SID": "APbrowser", "TWILIO_VOICE_SDK_URL": SDK_URL}

# Twilio.Device as softphone.js drives it: new Device(token), on(), register(), updateToken(), connect() -> Call.
FAKE_SDK = """
window.Twilio = {Device: function (token) {
  var seen = window.seenByTwilio = {token: token, connects: 0, call: {}, device: {}, registered: 0};
  this.on = function (name, fn) { seen.device[name] = fn; };
  this.register = function () { seen.registered += 1; return Promise.resolve(); };
  this.updateToken = function (fresh) { seen.token = fresh; };
  this.connect = function () {
    seen.connects += 1;
    var muted = false;
    return Promise.resolve({
      on: function (name, fn) { seen.call[name] = fn; },
      mute: function (m) { muted = m; }, isMuted: function () { return muted; },
      disconnect: function () { seen.call.disconnect(); }
    });
  };
}};
"""


def serve(template, tmp_path, **env):
    hl = hotline_from(template, tmp_path / "hotline.db", clock=utcnow, WEB_BIND=f"127.0.0.1:{free_port()}",
                      FASTAGI_BIND=f"127.0.0.1:{free_port()}", WEB_THREADS="8", STREAM_SLOTS="16", **env)
    svc = WebService(hl)
    svc.start()
    return svc


@pytest.fixture
def console_with(demo_template, tmp_path):
    """`console_with(**env)`: the console served with these settings; stopped after the test."""
    started = []

    def make(**env):
        started.append(serve(demo_template, tmp_path, **env))
        return started[-1]
    yield make
    for svc in started:
        svc.stop()
        svc.hl.close()


def workspace(chromium, console, errors: list):
    page = open_as(chromium, console, "agent1")
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return page


def test_without_twilio_the_box_says_so_and_the_page_works(chromium, console_with):
    errors: list = []
    page = workspace(chromium, console_with(), errors)
    page.click("#lang-en")
    page.goto("/workspace/")
    expect(page.locator("[data-testid=softphone-off]")).to_have_text("Twilio softphone not configured")
    expect(page.locator("#stream-state")).to_have_attribute("data-state", "live")
    assert page.evaluate("window.Twilio === undefined")
    assert errors == []


def test_an_sdk_that_cannot_be_fetched_is_reported_and_nothing_else_breaks(chromium, console_with):
    errors: list = []
    unreachable = f"http://127.0.0.1:{free_port()}/twilio.min.js"      # nothing listens there
    page = workspace(chromium, console_with(**{**SOFTPHONE, "TWILIO_VOICE_SDK_URL": unreachable}), errors)
    page.goto("/workspace/")
    expect(page.locator("#softphone-state")).to_have_attribute("data-state", "nosdk")
    expect(page.locator("#softphone-take")).to_be_disabled()
    expect(page.locator("#stream-state")).to_have_attribute("data-state", "live")
    assert errors == []


def test_the_softphone_takes_a_call_with_the_agents_token(chromium, console_with):
    errors: list = []
    console = console_with(**SOFTPHONE)
    page = workspace(chromium, console, errors)
    page.route(SDK_URL, lambda route: route.fulfill(status=200, content_type="text/javascript", body=FAKE_SDK))
    page.goto("/workspace/")
    state = page.locator("#softphone-state")
    expect(state).to_have_attribute("data-state", "ready")
    claims = _claims(page.evaluate("window.seenByTwilio.token"))
    with console.hl.session() as s:
        agent_id = s.scalar(select(User.id).where(User.username == "agent1"))
    assert claims["grants"]["identity"] == f"agent_{agent_id}"
    assert claims["grants"]["voice"]["outgoing"]["application_sid"] == "APbrowser"

    page.click("#softphone-take")
    expect(state).to_have_attribute("data-state", "dialing")
    page.evaluate("window.seenByTwilio.call.accept()")
    expect(state).to_have_attribute("data-state", "live")
    expect(page.locator("#softphone-take")).to_be_hidden()
    page.click("#softphone-mute")
    expect(page.locator("#softphone-mute")).to_have_text("取消静音")
    page.click("#softphone-hangup")
    expect(state).to_have_attribute("data-state", "ended")
    expect(page.locator("#softphone-take")).to_be_enabled()
    assert page.evaluate("window.seenByTwilio.connects") == 1
    assert errors == []


# A call ringing the softphone, as the SDK hands it to the "incoming" handler.
RING = """(name) => {
  var handlers = {}, seen = window.seenByTwilio;
  var c = {on: function (ev, fn) { handlers[ev] = fn; },
           accept: function () { (seen.accepted = seen.accepted || []).push(name); handlers.accept(); },
           reject: function () { (seen.rejected = seen.rejected || []).push(name); },
           mute: function () {}, isMuted: function () { return false; },
           disconnect: function () { handlers.disconnect(); }};
  seen.device.incoming(c);
}"""


def test_a_click_to_call_rings_the_softphone_which_answers_it_and_declines_a_second(chromium, console_with):
    """A callback placed from the worklist on Twilio rings the agent's softphone first (the agent
    asked for it a moment ago): it is answered at once; one more while on that call is declined."""
    errors: list = []
    console = console_with(**SOFTPHONE)
    page = workspace(chromium, console, errors)
    page.route(SDK_URL, lambda route: route.fulfill(status=200, content_type="text/javascript", body=FAKE_SDK))
    page.goto("/workspace/")
    state = page.locator("#softphone-state")
    expect(state).to_have_attribute("data-state", "ready")
    assert page.evaluate("window.seenByTwilio.registered") == 1
    assert _claims(page.evaluate("window.seenByTwilio.token"))["grants"]["voice"]["incoming"] == {"allow": True}

    page.evaluate(RING, "callback")
    expect(state).to_have_attribute("data-state", "live")
    expect(page.locator("#softphone-take")).to_be_disabled()
    page.evaluate(RING, "another")
    assert page.evaluate("window.seenByTwilio.accepted") == ["callback"]
    assert page.evaluate("window.seenByTwilio.rejected") == ["another"]
    expect(state).to_have_attribute("data-state", "live")
    page.click("#softphone-hangup")
    expect(state).to_have_attribute("data-state", "ended")
    expect(page.locator("#softphone-take")).to_be_enabled()
    assert page.evaluate("window.seenByTwilio.connects") == 0
    assert errors == []


def test_the_agents_presence_follows_the_softphone_call_live(chromium, console_with):
    """What the Twilio webhooks do to the agent's presence (tests/twilio/test_agent_side.py) shows on
    the open workspace at once; the extension field names the agent's own Twilio client."""
    errors: list = []
    console = console_with(**SOFTPHONE)
    page = workspace(chromium, console, errors)
    page.click("#presence-available")
    page.goto("/workspace/")
    expect(page.locator("#stream-state")).to_have_attribute("data-state", "live")
    badge = page.locator("#presence-call")
    expect(badge).to_be_hidden()
    with console.hl.session() as s, s.begin():
        agent = s.scalar(select(User).where(User.username == "agent1"))
        call = calls.start_call(s, "CAbrowserpresence", "twilio", "13800138000")
        agents.call_taken(s, agent, call)
        agent_id, call_id = agent.id, call.id
    expect(page.locator("#extension")).to_have_attribute("placeholder", re.compile(f"client:agent_{agent_id}$"))
    expect(badge).to_have_text("通话中")
    expect(page.locator(".presence-buttons button.on")).to_have_count(0)
    with console.hl.session() as s, s.begin():
        agents.call_ended(s, s.get(User, agent_id), s.get(Call, call_id))
    expect(badge).to_have_attribute("data-state", "wrap_up")
    expect(badge).to_have_text("话后处理中")
    page.click("#presence-available")             # the agent's own choice ends the wrap-up
    expect(badge).to_be_hidden()
    expect(page.locator("#presence-available")).to_have_class(re.compile(r"\bon\b"))
    assert errors == []


def _claims(token: str) -> dict:
    """The payload of a JWT (the server's signature is checked by tests/twilio/test_agent_side.py)."""
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
