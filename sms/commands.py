"""`hotline simulate-sms PHONE TEXT`: text the hotline as Twilio would and print the reply.

The request is the one Twilio sends (form fields, X-Twilio-Signature computed with
TWILIO_AUTH_TOKEN over PUBLIC_BASE_URL/twilio/sms, or the URL posted to). It goes to the
running app (`--url`, default the WEB_BIND address); when nothing listens there it runs
in-process through the app's test client, with a one-off auth token when none is configured,
and also prints the notices the message caused.

A running app without TWILIO_AUTH_TOKEN refuses unsigned requests unless it was started with
TWILIO_INSECURE_DEV=1; for the demo either export the same TWILIO_AUTH_TOKEN in both shells or
start the app with TWILIO_INSECURE_DEV=1.
"""
from __future__ import annotations

import dataclasses
import importlib
import secrets
import socket
import sys
import uuid
import xml.etree.ElementTree as ET

import requests
from sqlalchemy import inspect, select
from twilio.request_validator import RequestValidator

from tickets.config import Settings, load_settings
from tickets.context import create_hotline
from tickets.errors import HotlineError
from tickets.models import SmsMessage
from tickets.phones import normalize

PATH = "/twilio/sms"
# The console app's factory, resolved only when the command runs in-process: the command is an
# outer adapter like `hotline run`, and nothing in the sms library imports the console.
APP_FACTORY = "agent_console.app:create_app"
HTTP_TIMEOUT = 15


def register(subparsers) -> None:
    """Add `simulate-sms` to the `hotline` command."""
    sp = subparsers.add_parser("simulate-sms", help="send an SMS to the hotline as Twilio would (signed) "
                               "and print the reply")
    sp.add_argument("phone", help="sender's number, e.g. 13800138000")
    sp.add_argument("text", help='message text, e.g. "BJ 明天上午"')
    sp.add_argument("--url", help="base URL of the running app, e.g. http://127.0.0.1:8080 "
                    "(default: the WEB_BIND address; in-process when nothing listens there)")
    sp.add_argument("--sid", help="MessageSid to use (default: a new one); repeat one to see a replay answered "
                    "the same")
    sp.set_defaults(func=cmd_simulate_sms)


def twilio_params(settings: Settings, phone: str, text: str, sid: str) -> dict[str, str]:
    """The form Twilio posts for an incoming SMS."""
    return {"MessageSid": sid, "SmsSid": sid, "SmsMessageSid": sid,
            "AccountSid": settings.twilio_account_sid or "AC" + "0" * 32, "MessagingServiceSid": "",
            "From": phone, "To": settings.twilio_number or "+8610000000", "Body": text, "NumMedia": "0",
            "NumSegments": "1", "ApiVersion": "2010-04-01"}


def signed_url(settings: Settings, posted_to: str) -> str:
    """The URL Twilio signs: PUBLIC_BASE_URL + path behind a proxy, else the URL it posts to."""
    return settings.public_base_url + PATH if settings.public_base_url else posted_to


def reply_texts(twiml: str) -> list[str]:
    """The <Message> bodies of a TwiML answer."""
    return [m.text or "" for m in ET.fromstring(twiml.encode("utf-8")).iter("Message")]


def _listening(host: str, port: int) -> bool:
    host = "127.0.0.1" if host in ("0.0.0.0", "") else "::1" if host == "::" else host
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _over_http(settings: Settings, base: str, params: dict[str, str]) -> tuple[int, str]:
    url = base.rstrip("/") + PATH
    headers = {}
    if settings.twilio_auth_token:
        headers["X-Twilio-Signature"] = RequestValidator(settings.twilio_auth_token).compute_signature(
            signed_url(settings, url), params)
    try:
        resp = requests.post(url, data=params, headers=headers, timeout=HTTP_TIMEOUT)
    except requests.RequestException as exc:
        raise HotlineError(f"cannot reach the app at {url}: {exc}") from None
    # TwiML is UTF-8 (its XML declaration says so); `resp.text` would guess Latin-1 for text/xml.
    return resp.status_code, resp.content.decode("utf-8", "replace")


def _in_process(settings: Settings, params: dict[str, str]) -> tuple[int, str, list[str]]:
    if not settings.twilio_auth_token:
        settings = dataclasses.replace(settings, twilio_auth_token=secrets.token_hex(16))
    hl = create_hotline(settings)
    try:
        if not inspect(hl.engine).has_table("sms_messages"):
            raise HotlineError(f"the database {hl.engine.url.render_as_string(hide_password=True)} has no "
                               "schema yet; run `hotline init --demo` first")
        with hl.session() as s:
            mark = s.scalar(select(SmsMessage.id).order_by(SmsMessage.id.desc()).limit(1)) or 0
        module, _, attr = APP_FACTORY.partition(":")
        app = getattr(importlib.import_module(module), attr)(hl)
        signature = RequestValidator(settings.twilio_auth_token).compute_signature(
            signed_url(settings, "http://localhost" + PATH), params)
        resp = app.test_client().post(PATH, data=params, headers={"X-Twilio-Signature": signature})
        body = resp.get_data(as_text=True)
        replies = set(reply_texts(body)) if resp.status_code == 200 else set()
        with hl.session() as s:
            notices = [m.body for m in s.scalars(select(SmsMessage).where(
                SmsMessage.id > mark, SmsMessage.direction == "out", SmsMessage.phone == params["From"],
                SmsMessage.dedupe_key.is_not(None)).order_by(SmsMessage.id)) if m.body not in replies]
        return resp.status_code, body, notices
    finally:
        hl.close()


def cmd_simulate_sms(args) -> int:
    settings = load_settings()
    phone = normalize(args.phone)
    params = twilio_params(settings, phone, args.text, args.sid or "SM" + uuid.uuid4().hex)
    host, port = settings.web_bind
    notices: list[str] = []
    if args.url or _listening(host, port):
        status, body = _over_http(settings, args.url or f"http://{host}:{port}", params)
    else:
        print(f"(no app listening on {host}:{port}; running in-process)", file=sys.stderr)
        status, body, notices = _in_process(settings, params)
    if status == 403:
        print("the app refused the request (403): its TWILIO_AUTH_TOKEN differs from this shell's, or it has "
              "none and was not started with TWILIO_INSECURE_DEV=1", file=sys.stderr)
        return 1
    if status != 200:
        print(f"the app answered HTTP {status}: {body[:500]}", file=sys.stderr)
        return 1
    texts = reply_texts(body)
    print("\n".join(texts) if texts else "(no reply)")
    for notice in notices:
        print(f"[notice] {notice}")
    return 0
