"""SMS webhooks: Twilio Messaging (inbound and status callbacks), Aliyun SmsUp, Tencent Cloud SMS replies,
and the mainland providers' delivery receipts.

Thin views: each checks who is calling, turns the provider's payload into `sms.inbound.Inbound`
and hands it to `sms.conversation.receive` inside `exactly_once`, so a replayed message gets the
same answer and creates nothing twice, and the 200 leaves only after the commit.

Configure in Twilio (Messaging, "A message comes in"): POST {PUBLIC_BASE_URL}/twilio/sms. Status
callbacks come to /twilio/sms/status (set per message by the Twilio provider).
Aliyun SmsUp HTTP batch push: POST {PUBLIC_BASE_URL}/sms/aliyun/smsup?token={SMS_CALLBACK_TOKEN}.
Tencent Cloud reply callback: POST {PUBLIC_BASE_URL}/sms/tencent/reply?token={SMS_CALLBACK_TOKEN}.
Delivery receipts: Aliyun SmsReport HTTP push to {PUBLIC_BASE_URL}/sms/aliyun/report?token=..., Tencent
status callback to {PUBLIC_BASE_URL}/sms/tencent/status?token=... (404 with SMS_RECEIPTS=poll: then
sms/receipts.py asks the providers instead).
Neither of those two signs its requests, hence the secret in the URL.

The blueprint is named "sms_hooks" so the console's CSRF layer can exempt it: providers cannot
send CSRF tokens.
"""
from __future__ import annotations

import functools
import hmac
import logging
from typing import Callable

from flask import Blueprint, Response, abort, jsonify, request

from ivr.twilio import TWIML_TYPE, document, element, escape
from sms import conversation, mainland, outbox
from sms.inbound import BadPayload, Inbound, from_aliyun, from_tencent, from_twilio
from sms.providers import TWILIO_STATUSES
from sms.replies import render

from .app import db, hotline
from .webhooks import answer_errors, exactly_once, twilio_signed

log = logging.getLogger(__name__)

bp = Blueprint("sms_hooks", __name__)


def _database_down() -> Response | None:
    """The database out of reach: Twilio does not retry a failed messaging webhook by default (and
    its connection-override retries last seconds, not a restart), so its sender is told in TwiML
    to send again; nothing of the message was kept. The mainland providers' pushes get the
    default 503 (None) and retry on their own."""
    if request.endpoint == f"{bp.name}.twilio_sms":
        return Response(twiml(render("unavailable")), content_type=TWIML_TYPE)
    return None


answer_errors(bp, twiml=False, database_down=_database_down)
MAX_BATCH = 500      # Aliyun pushes a few dozen at most; more is not a real push


def twiml(reply: str | None) -> str:
    """The TwiML answer: one <Message> with the reply, or an empty <Response/>."""
    return document(element("Message", None, escape(reply)) if reply else "")


@bp.post("/twilio/sms")
@twilio_signed
def twilio_sms():
    try:
        msg = from_twilio(request.form)
    except BadPayload as exc:
        abort(400, f"not a Twilio message: {exc}")
    return exactly_once(db(), "twilio-sms", msg.sid,
                        lambda s: twiml(conversation.receive(s, msg, inline=True)))


@bp.post("/twilio/sms/status")
@twilio_signed
def twilio_sms_status():
    form = request.form
    status = TWILIO_STATUSES.get((form.get("MessageStatus") or "").lower())
    error = f"twilio {form.get('MessageStatus')}, error {form['ErrorCode']}" if form.get("ErrorCode") else ""
    s = db()
    with s.begin():
        outbox.record_status(s, "twilio", form.get("MessageSid", ""), status, error)
    return Response(status=204)


def callback_token_checked(view: Callable) -> Callable:
    """Refuse (403, logged) a mainland provider's callback without our SMS_CALLBACK_TOKEN."""
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        settings = hotline().settings
        expected = settings.sms_callback_token
        if not expected:
            if settings.twilio_insecure_dev:
                return view(*args, **kwargs)
            log.warning("sms callback: refused %s: SMS_CALLBACK_TOKEN is not set", request.path)
            abort(403)
        if not hmac.compare_digest(request.args.get("token", "").encode(), expected.encode()):
            log.warning("sms callback: refused %s from %s: bad or missing token", request.path, request.remote_addr)
            abort(403)
        return view(*args, **kwargs)
    return wrapper


def _receive_queued(msg: Inbound) -> None:
    """Process one mainland message once; its reply goes out through the outbound provider."""
    exactly_once(db(), f"{msg.provider}-sms", msg.sid,
                 lambda s: (conversation.receive(s, msg, inline=False) or "", "text/plain"))


def _receive_all(items: list, normalise: Callable[[dict], Inbound]) -> int:
    taken = 0
    for item in items:
        try:
            msg = normalise(item)
        except BadPayload as exc:
            # A malformed element will not improve on retry; the rest of the batch still counts.
            log.warning("sms callback: skipped an element: %s", exc)
            continue
        _receive_queued(msg)
        taken += 1
    return taken


@bp.post("/sms/aliyun/smsup")
@callback_token_checked
def aliyun_smsup():
    items = request.get_json(silent=True)
    if not isinstance(items, list) or len(items) > MAX_BATCH:
        return jsonify(code=1, msg=f"expected a JSON array of at most {MAX_BATCH} SmsUp messages"), 400
    _receive_all(items, from_aliyun)
    return jsonify(code=0, msg="接收成功")


@bp.post("/sms/tencent/reply")
@callback_token_checked
def tencent_reply():
    payload = request.get_json(silent=True)
    items = payload if isinstance(payload, list) else [payload]
    if not items or len(items) > MAX_BATCH or not all(isinstance(i, dict) for i in items):
        return jsonify(result=1, errmsg="expected the reply callback JSON object"), 400
    _receive_all(items, from_tencent)
    return jsonify(result=0, errmsg="OK")


def receipts_pushed(view: Callable) -> Callable:
    """Refuse (404) a pushed receipt when SMS_RECEIPTS=poll: the receipts job asks for them."""
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        if hotline().settings.sms_receipts == "poll":
            log.warning("sms receipt push to %s refused: SMS_RECEIPTS=poll", request.path)
            abort(404)
        return view(*args, **kwargs)
    return wrapper


def _receipts(provider: str):
    """A pushed receipt batch applied in one transaction; None when the payload is not a batch."""
    items = request.get_json(silent=True)
    if isinstance(items, dict):     # a single report, as Tencent's console test sends
        items = [items]
    if not isinstance(items, list) or len(items) > MAX_BATCH:
        return None
    s = db()
    with s.begin():
        mainland.apply_receipts(s, provider, items)
    return len(items)


@bp.post("/sms/aliyun/report")
@callback_token_checked
@receipts_pushed
def aliyun_report():
    if _receipts("aliyun") is None:
        return jsonify(code=1, msg=f"expected a JSON array of at most {MAX_BATCH} SmsReport receipts"), 400
    return jsonify(code=0, msg="接收成功")


@bp.post("/sms/tencent/status")
@callback_token_checked
@receipts_pushed
def tencent_status():
    if _receipts("tencent") is None:
        return jsonify(result=1, errmsg=f"expected a JSON array of at most {MAX_BATCH} status reports"), 400
    return jsonify(result=0, errmsg="OK")
