"""Twilio's side of a call, for the tests: signed webhook requests and TwiML followed as Twilio does.

`Twilio` signs every request with the auth token exactly as Twilio does (RequestValidator's
compute_signature over the full URL and the POST parameters) and parses every answer as XML.
`PhoneCall` is one caller on one call: it dials, presses keys into the current <Gather>, stays
silent (follows the <Redirect>), speaks into a <Record>, and hangs up (the status callback).
`TwilioSteps` wraps a PhoneCall so ivr.scenarios.run_scenario can drive it like the engine.
"""
from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from typing import Any
from urllib.parse import parse_qs, urlsplit

from twilio.request_validator import RequestValidator

TOKEN = "test-twilio-token"      # what tests/conftest.py configures as TWILIO_AUTH_TOKEN
BASE = "http://localhost"        # the Flask test client's host
HOTLINE_NUMBER = "+8699196156"
WITHHELD_FROM = "+266696687"     # Twilio's From for a withheld caller ID


def new_sid() -> str:
    return "CA" + uuid.uuid4().hex


def twiml(body: str) -> ET.Element:
    """The <Response> of a TwiML document; fails when it is not one."""
    root = ET.fromstring(body)
    assert root.tag == "Response", body
    return root


def verbs(root: ET.Element) -> list[str]:
    return [child.tag for child in root]


class Twilio:
    """Sends webhook requests to the app the way Twilio does."""

    def __init__(self, app, token: str = TOKEN, base: str = BASE, signing: bool = True) -> None:
        self.client = app.test_client()
        self.token = token
        self.base = base
        self.signing = signing     # False: an unconfigured account in development sends no signature

    def sign(self, path: str, params: dict[str, str], base: str | None = None) -> str:
        return RequestValidator(self.token).compute_signature((base or self.base) + path, params)

    def post(self, path: str, params: dict[str, str], *, signature: str | None = None, signed: bool = True,
             headers: dict[str, str] | None = None):
        hdrs = dict(headers or {})
        if signed and self.signing:
            hdrs["X-Twilio-Signature"] = signature if signature is not None else self.sign(path, params)
        return self.client.post(path, data=params, headers=hdrs)

    def twiml(self, path: str, params: dict[str, str]) -> ET.Element:
        resp = self.post(path, params)
        assert resp.status_code == 200, (resp.status_code, resp.get_data(as_text=True))
        assert resp.mimetype == "text/xml"
        return twiml(resp.get_data(as_text=True))


class PhoneCall:
    """One call as Twilio runs it: each answer is a TwiML document whose URLs say where to go next."""

    def __init__(self, twilio: Twilio, caller: str, sid: str | None = None) -> None:
        self.twilio = twilio
        self.sid = sid or new_sid()
        self.caller = caller or WITHHELD_FROM
        self.documents: list[ET.Element] = []
        self.bodies: list[str] = []                        # the TwiML as it came, one per document
        self.requests: list[tuple[str, dict[str, str]]] = []   # what was posted for each document
        self.hung_up = False

    @property
    def last(self) -> ET.Element:
        return self.documents[-1]

    @property
    def over(self) -> bool:
        """Twilio has nothing left to post: the document ends without a Gather or Record."""
        return self.hung_up or not self.documents or (
            self.last.find("Gather") is None and self.last.find("Record") is None)

    def params(self, **extra: str) -> dict[str, str]:
        return {"AccountSid": "ACtest", "ApiVersion": "2010-04-01", "CallSid": self.sid, "CallStatus": "in-progress",
                "Direction": "inbound", "From": self.caller, "To": HOTLINE_NUMBER, "Caller": self.caller,
                "Called": HOTLINE_NUMBER, **extra}

    def _follow(self, url: str, params: dict[str, str]) -> ET.Element:
        resp = self.twilio.post(url, params)
        assert resp.status_code == 200, (url, resp.status_code, resp.get_data(as_text=True))
        assert resp.mimetype == "text/xml"
        body = resp.get_data(as_text=True)
        doc = twiml(body)
        self.requests.append((url, params))
        self.bodies.append(body)
        self.documents.append(doc)
        return doc

    def dial(self) -> ET.Element:
        return self._follow("/twilio/voice", self.params(CallStatus="ringing"))

    def press(self, keys: str) -> ET.Element:
        gather = self.last.find("Gather")
        assert gather is not None, f"no <Gather> to press {keys!r} into: {ET.tostring(self.last, 'unicode')}"
        return self._follow(gather.get("action"), self.params(Digits=keys, FinishedOnKey="", msg="Gather End"))

    def silence(self) -> ET.Element:
        redirect = self.last.find("Redirect")
        assert redirect is not None, ET.tostring(self.last, "unicode")
        assert redirect.get("method") == "POST", ET.tostring(self.last, "unicode")
        return self._follow(redirect.text, self.params())

    def speak(self, seconds: int = 4, recording_url: str | None = None) -> ET.Element:
        record = self.last.find("Record")
        assert record is not None, ET.tostring(self.last, "unicode")
        url = recording_url or f"https://api.twilio.com/2010-04-01/Accounts/ACtest/Recordings/RE{uuid.uuid4().hex}"
        return self._follow(record.get("action"), self.params(
            RecordingUrl=url, RecordingDuration=str(seconds), RecordingSid="RE" + uuid.uuid4().hex, Digits="#"))

    def leave_queue(self, result: str, seconds: int) -> ET.Element:
        enqueue = self.last.find("Enqueue")
        assert enqueue is not None, ET.tostring(self.last, "unicode")
        return self._follow(enqueue.get("action"), self.params(
            QueueResult=result, QueueTime=str(seconds), QueueSid="QU" + uuid.uuid4().hex))

    def hang_up(self, status: str = "completed", duration: int = 30):
        """The status callback Twilio sends when the call ends."""
        self.hung_up = True
        resp = self.twilio.post("/twilio/voice/status", self.params(CallStatus=status, CallDuration=str(duration)))
        assert resp.status_code == 200, resp.get_data(as_text=True)
        return resp


def spoken(doc: ET.Element) -> list[dict[str, Any]]:
    """What the caller hears in a document, as pseudo-actions for ivr.scenarios.heard_in:
    a <Say> is its text, a <Play> of a prompt file is that prompt's key."""
    out: list[dict[str, Any]] = []
    for el in doc.iter():
        if el.tag == "Say":
            out.append({"text": el.text or "", "lang": el.get("language")})
        elif el.tag == "Play":
            key = urlsplit(el.text).path.rsplit("/", 1)[-1].removesuffix(".wav")
            out.append({"segments": [{"prompt": key}]})
    return out


class TwilioSteps:
    """Looks like `Ivr.step` to ivr.scenarios.run_scenario, but every step is a webhook request."""

    def __init__(self, twilio: Twilio) -> None:
        self.twilio = twilio
        self.call: PhoneCall | None = None

    def __call__(self, state: dict[str, Any] | None, event: dict[str, Any]):
        kind = event["type"]
        if kind == "start":
            self.call = PhoneCall(self.twilio, event["caller"], sid=event["call_id"])
            doc = self.call.dial()
        elif kind == "digits":
            doc = self.call.press(event["digits"])
        elif kind == "timeout":
            doc = self.call.silence()
        elif kind == "recorded":
            doc = self.call.speak(seconds=event["duration_ms"] // 1000)
        elif kind == "hangup":
            self.call.hang_up()
            return {"done": True}, []
        else:
            raise ValueError(f"no Twilio request stands for a {kind!r} event")
        return {"done": self.call.over}, spoken(doc)


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
