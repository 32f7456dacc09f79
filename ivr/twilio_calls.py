"""Placing calls on Twilio: the REST API's `calls.create` (OUTBOUND_VOICE=twilio).

A survey call dials the customer with `url` = `<base>/twilio/voice/survey?outbound=<id>`, where
the survey menu runs over the same webhooks and engine as the inbound menu, answering-machine
detection on (`machine_detection=Enable`: Twilio's AnsweredBy reaches the menu's start), and
`status_callback` = `<base>/twilio/voice/outbound/status?outbound=<id>` for the calls nobody
answered (CallStatus no-answer, busy, failed, canceled). A click-to-call rings the agent's
softphone (`client:<their extension>`, as the console's Twilio agent side registers it) and
dials the customer once the agent answers, with the same status callback.

Twilio answers `calls.create` at once (the call is queued); the outcome comes later by webhook,
so the call stays `placing` until then (tickets.outbound).
"""
from __future__ import annotations

import logging
from typing import Mapping

from sqlalchemy.orm import Session
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from tickets import calls, outbound
from tickets.context import Hotline
from tickets.models import OutboundCall, User
from tickets.outbound import Placed

from .twilio import TwilioVoice, element, escape

log = logging.getLogger(__name__)

SURVEY_PATH = "/twilio/voice/survey"
STATUS_PATH = "/twilio/voice/outbound/status"
RING_SECONDS = 45
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

    def place(self, call: OutboundCall, agent: User | None) -> Placed:
        """calls.create for `call`; a refusal (bad number, no credit) is a failed attempt."""
        s = self.hl.settings
        status_callback = f"{s.public_base_url}{STATUS_PATH}?outbound={call.id}"
        common = {"from_": s.twilio_number, "status_callback": status_callback, "status_callback_method": "POST",
                  "status_callback_event": ["completed"], "timeout": RING_SECONDS}
        try:
            if call.purpose == "callback":
                if agent is None or not agent.extension:
                    return Placed("failed", "the agent has no softphone identity (extension) to ring")
                dial = element("Dial", {"callerId": s.twilio_number}, escape(call.phone))
                created = self.client.calls.create(to=f"client:{agent.extension}",
                                                   twiml=f"<Response>{dial}</Response>", **common)
            else:
                created = self.client.calls.create(to=call.phone, url=f"{s.public_base_url}{SURVEY_PATH}?outbound={call.id}",
                                                   method="POST", machine_detection="Enable", **common)
        except TwilioRestException as exc:
            return Placed("failed", f"Twilio refused the call: {exc.code} {exc.msg}")
        return Placed("placing", "queued at Twilio", created.sid)


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
