"""What every provider webhook needs: Twilio's signature check, and exactly-once processing.

`twilio_signed` checks X-Twilio-Signature with the twilio package's RequestValidator against the
URL Twilio used (PUBLIC_BASE_URL + path behind a proxy). `exactly_once` stores the response of a
webhook under its provider id (MessageSid, CallSid + step...) in the same transaction as the work,
so a replay gets the same answer and creates nothing twice, and the 200 leaves after the commit.
`answer_errors` makes a webhook blueprint's errors (bad input, refusals, a crash) TwiML or plain
text: never the console's HTML page, which carries a CSRF token and is for people.
"""
from __future__ import annotations

import functools
import hmac
import logging
from typing import Callable

from flask import Blueprint, Response, request
from sqlalchemy import bindparam, insert, select
from sqlalchemy.exc import IntegrityError, OperationalError, PendingRollbackError
from sqlalchemy.orm import Session
from twilio.request_validator import RequestValidator
from werkzeug.exceptions import HTTPException

from ivr.twilio import TWIML_TYPE, document, element
from tickets.errors import HotlineError
from tickets.models import WebhookReceipt, utcnow
from tickets.outage import Outage

from .app import hotline
from .pages import status_of

log = logging.getLogger(__name__)

# The database's outages as the webhooks meet them, logged once each.
DATABASE = Outage(log, "webhooks", "callers and senders are answered as an outage", service="the database")
# What a 503 asks a webhook's sender to wait before it tries again: a database restart's length.
RETRY_AFTER_S = 30


def public_url() -> str:
    """The URL Twilio signed: PUBLIC_BASE_URL + path and query when set, else the request's own URL."""
    base = hotline().settings.public_base_url
    if base:
        qs = request.query_string.decode()
        return base + request.path + (f"?{qs}" if qs else "")
    return request.url


def twilio_signed(view: Callable) -> Callable:
    """Refuse (403, logged) any request not signed by Twilio with our auth token."""
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        settings = hotline().settings
        if not settings.twilio_auth_token:
            if settings.twilio_insecure_dev:
                return view(*args, **kwargs)
            log.warning("twilio: refused %s: TWILIO_AUTH_TOKEN is not set (TWILIO_INSECURE_DEV=1 allows "
                        "unsigned requests in development)", request.path)
            return _refused()
        signature = request.headers.get("X-Twilio-Signature", "")
        url = public_url()
        if not signature or not signed_by(settings.twilio_auth_token, url, signature):
            log.warning("twilio: refused %s from %s: %s signature (checked against %s)", request.path,
                        request.remote_addr, "bad" if signature else "missing", url)
            return _refused()
        return view(*args, **kwargs)
    return wrapper


def signed_by(token: str, url: str, signature: str) -> bool:
    """Whether `signature` is Twilio's for this request's form posted to `url`, with `token`."""
    params = request.form if request.method == "POST" else {}
    validator = _validator(token)
    # One HMAC when Twilio signed the URL as we see it (the usual case); else the validator's
    # full check, which also tries the URL with and without its port.
    if hmac.compare_digest(validator.compute_signature(url, params).encode(), signature.encode()):
        return True
    return validator.validate(url, params, signature)


@functools.lru_cache(maxsize=4)
def _validator(token: str) -> RequestValidator:
    return RequestValidator(token)


def _refused() -> Response:
    # Plain text: the console's HTML error page (with its CSRF token and session cookie) is for
    # people, and a flood of forged requests should cost as little as possible to turn away.
    return Response("Forbidden: not signed by Twilio with this hotline's auth token\n", status=403,
                    mimetype="text/plain")


def answer_errors(bp: Blueprint, twiml: bool, database_down: Callable[[], Response | None] | None = None) -> None:
    """Answer the errors of `bp`'s views as TwiML (Twilio Voice hangs up; the message is in a
    comment its debugger shows) when `twiml`, else as plain text, with their status.

    The database out of reach (a restart, a failover) is an outage, not a crash, and logged once
    (tickets.outage): `database_down` answers it (what the caller or sender should hear), or when
    it answers None, 503 with Retry-After, which the mainland SMS providers' pushes retry. Nothing
    was stored: the work and the receipt roll back together, so a retried delivery is processed once."""
    def answer(message: str, code: int, logged: bool = True) -> Response:
        if logged:
            log.warning("webhook %s %s answered %s: %s", request.method, request.path, code, message)
        if twiml:
            comment = f"<!-- {code}: {message.replace('--', '- -')} -->"
            return Response(document(comment + element("Hangup")), status=code, content_type=TWIML_TYPE)
        return Response(f"{message}\n", status=code, content_type="text/plain; charset=utf-8")

    @bp.errorhandler(HotlineError)
    def _refused(exc: HotlineError):
        return answer(str(exc), status_of(exc))

    @bp.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        return answer(exc.description or exc.name, exc.code or 500)

    @bp.errorhandler(OperationalError)
    @bp.errorhandler(PendingRollbackError)      # the transaction's connection was lost earlier on
    def _database_down(exc: OperationalError | PendingRollbackError):
        DATABASE.failed(exc)
        resp = database_down() if database_down is not None else None
        if resp is None:
            resp = answer(f"the database is out of reach, try again in {RETRY_AFTER_S} s", 503, logged=False)
            resp.headers["Retry-After"] = str(RETRY_AFTER_S)
        return resp


def exactly_once(session: Session, provider: str, key: str,
                 work: Callable[[Session], tuple[str, str] | str], content_type: str = TWIML_TYPE) -> Response:
    """Run `work(session)` once per (provider, key) and answer with its body; replays get the stored body.

    `work` runs inside the transaction that also stores the receipt: both commit or neither does.
    It returns the body, or (body, content_type).
    """
    try:
        with session.begin():
            stored = session.execute(_FIND, {"provider": provider, "key": key}).first()
            if stored is not None:
                return _stored(stored)
            out = work(session)
            body, ctype = out if isinstance(out, tuple) else (out, content_type)
            session.execute(_STORE, {"provider": provider, "key": key, "body": body, "content_type": ctype,
                                 "now": utcnow()})
        DATABASE.answered()
    except IntegrityError:
        # A concurrent delivery of the same webhook committed first: answer what it answered.
        session.rollback()
        stored = session.execute(_FIND, {"provider": provider, "key": key}).first()
        if stored is None:
            raise
        return _stored(stored)
    return Response(body, status=200, content_type=ctype)


_FIND = (select(WebhookReceipt.body, WebhookReceipt.status_code, WebhookReceipt.content_type)
         .where(WebhookReceipt.provider == bindparam("provider"), WebhookReceipt.key == bindparam("key")))
_STORE = insert(WebhookReceipt.__table__).values(provider=bindparam("provider"), key=bindparam("key"), body=bindparam("body"),
                                       content_type=bindparam("content_type"), status_code=200,
                                       created_at=bindparam("now"))


def _stored(row: tuple[str, int, str]) -> Response:
    body, status, content_type = row
    return Response(body, status=status, content_type=content_type)
