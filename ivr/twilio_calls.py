"""Placing calls on Twilio: the REST API's `calls.create` (OUTBOUND_VOICE=twilio).

A survey call dials the customer with `url` = `<base>/twilio/voice/survey?outbound=<id>`, where
the survey menu runs over the same webhooks and engine as the inbound menu, answering-machine
detection on (`machine_detection=Enable`: Twilio's AnsweredBy reaches the menu's start), and
`status_callback` = `<base>/twilio/voice/outbound/status?outbound=<id>` for the calls nobody
answered (CallStatus no-answer, busy, failed, canceled). A click-to-call rings the agent's
softphone (`client:agent_<user id>`, the identity its access token carries: ivr.twilio_agents) and
dials the customer once the agent answers, with the same status callback.

Twilio answers `calls.create` at once (the call is queued); the outcome comes later by webhook,
so the call stays `placing` until then (tickets.outbound). What `calls.create` can meet:

| Twilio's answer | recorded as |
|---|---|
| 201, the call resource | `placing`, with its CallSid |
| 4xx (21211 invalid number, 21215 geo permission, 20003 keys, ...) | `failed` with the code and message: an attempt, retried within the attempt limit |
| 429, 5xx, no connection, no connection within HTTP_TIMEOUT_S | `queued` again: not an attempt, tried again a minute later (tickets.outbound.TRANSIENT_RETRY) |
| the request went out and no answer came back in HTTP_TIMEOUT_S | stays `placing` without a CallSid: Twilio may have queued the call, so it is not placed again; its status callback (it names our outbound id) settles it, or it counts as failed after tickets.outbound.PLACING_LOST_AFTER |
"""
from __future__ import annotations

import logging
from typing import Mapping

from sqlalchemy.orm import Session
import requests
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client
from urllib3.exceptions import ConnectTimeoutError

from tickets import calls, outbound
from tickets.context import Hotline
from tickets.models import OutboundCall, User
from tickets.outbound import Placed

from .twilio import TwilioVoice, element, escape
from .twilio_agents import client_name

log = logging.getLogger(__name__)

SURVEY_PATH = "/twilio/voice/survey"
STATUS_PATH = "/twilio/voice/outbound/status"
RING_SECONDS = 45
HTTP_TIMEOUT_S = 10
# CallStatus of an outbound call's status callback -> tickets.outbound status.
STATUSES = {"no-answer": "no-answer", "busy": "busy", "failed": "failed", "canceled": "failed",
            "completed": "answered"}
MACHINE = ("machine_start", "machine_end_beep", "machine_end_silence", "machine_end_other", "fax")


class TwilioDialer:
    """tickets.outbound's Dialer for Twilio; `client` is a twilio Client (tests give one whose
    http_client points at a local server)."""

    backend = "twilio"

    def __init__(self, hl: Hotline, client: Client | None = None) -> None:
        s = hl.settings
        self.hl = hl
        self.client = client or Client(s.twilio_account_sid, s.twilio_auth_token)
        if self.client.http_client.timeout is None:
            self.client.http_client.timeout = HTTP_TIMEOUT_S

    def place(self, call: OutboundCall, agent: User | None) -> Placed:
        """calls.create for `call`; a refusal (bad number, no credit) is a failed attempt."""
        s = self.hl.settings
        status_callback = f"{s.public_base_url}{STATUS_PATH}?outbound={call.id}"
        common = {"from_": s.twilio_number, "status_callback": status_callback, "status_callback_method": "POST",
                  "status_callback_event": ["completed"], "timeout": RING_SECONDS}
        try:
            if call.purpose == "callback":
                if agent is None:
                    return Placed("failed", "a callback without the agent to ring first")
                dial = element("Dial", {"callerId": s.twilio_number}, escape(call.phone))
                created = self.client.calls.create(to=client_name(agent), twiml=f"<Response>{dial}</Response>",
                                                   **common)
            else:
                created = self.client.calls.create(to=call.phone, url=f"{s.public_base_url}{SURVEY_PATH}?outbound={call.id}",
                                                   method="POST", machine_detection="Enable", **common)
        except TwilioRestException as exc:
            if exc.status >= 500 or exc.status == 429:
                return Placed("queued", f"Twilio unavailable: HTTP {exc.status} {exc.code or ''} {exc.msg}")
            return Placed("failed", f"Twilio refused the call: HTTP {exc.status}, code {exc.code}: {exc.msg}")
        except (requests.ConnectionError, requests.Timeout) as exc:
            if _never_sent(exc):
                return Placed("queued", f"Twilio not reachable: {exc}")
            return Placed("placing", f"no answer from Twilio ({type(exc).__name__}); the call may be queued "
                                     "there, so it is not placed again")
        return Placed("placing", "queued at Twilio", created.sid)


def _never_sent(exc: requests.RequestException) -> bool:
    """Whether the request failed before a connection existed (so Twilio cannot have it); a read
    timeout or a dropped connection may have reached Twilio."""
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(exc, requests.ConnectTimeout) or isinstance(reason, ConnectTimeoutError)


def outbound_status(session: Session, voice: TwilioVoice, params: Mapping[str, str], outbound_id: int) -> str:
    """The status callback of a call we placed: a no-answer, busy line, failure or answering
    machine is recorded on its outbound row (the attempt counts); a call that reached the survey
    menu is finished as any Twilio call is."""
    sid = params.get("CallSid", "")
    row = session.get(OutboundCall, outbound_id)
    if row is None or (row.external_id and row.external_id != sid):
        log.warning("twilio outbound status for %s names outbound call %s, which is not that call", sid, outbound_id)
        return ""
    status = STATUSES.get(params.get("CallStatus", ""))
    if status is None:
        return ""
    answered_by = params.get("AnsweredBy", "")
    if answered_by in MACHINE:
        outbound.answered_by_machine(session, row, f"Twilio AnsweredBy {answered_by}")
    else:
        outbound.settle(session, row, status, f"Twilio CallStatus {params.get('CallStatus')}", sid)
    if calls.get_call(session, sid) is not None:
        voice.status(session, params)
    return ""
