"""Placing calls on Asterisk: AMI `Originate`, waiting for its `OriginateResponse`.

A survey call dials the customer (OUTBOUND_TRUNK) into extensions.conf's `hotline-survey`
context, where AMD and the FastAGI `survey` script take over once they answer. A click-to-call
rings the agent's own extension (User.extension, e.g. PJSIP/agent1) into `hotline-callback`,
which dials the customer once the agent picks up. Each call is `Async` with our own ActionID and
`ChannelId` (the new channel's Uniqueid, so the FastAGI session and queue events name the same
call), and the result is the `OriginateResponse` event with that ActionID:

| Response | Reason | recorded as |
|----------|--------|-------------|
| Success  | 4 (answered)                 | answered |
| Failure  | 3 (rang, nobody answered)    | no-answer |
| Failure  | 5 (busy)                     | busy |
| Failure  | 1 (hung up / rejected), 8 (congestion), 0 (no such channel, failed) | failed |

One AMI connection per call (`AmiDialer.place` opens, logs in with the `call` event class,
and logs off), so nothing is kept open between the scheduler's runs. tickets.outbound.place_queued
calls `place` from up to OUTBOUND_MAX_CHANNELS threads at once, so that many Originates are in
flight together; Asterisk sends every OriginateResponse to each connection that takes `call`
events, and each `place` keeps only the one with its own ActionID.
"""
from __future__ import annotations

import logging
import threading
import uuid

from asterisk import manager as pyst_manager

from tickets.context import Hotline
from tickets.models import OutboundCall, User
from tickets.outbound import Placed
from tickets.phones import dialable

from .ami import parse_ami_url

log = logging.getLogger(__name__)

SURVEY_CONTEXT = "hotline-survey"
CALLBACK_CONTEXT = "hotline-callback"
RING_SECONDS = 45
REPLY_MARGIN_S = 15.0      # beyond the ring time, how long the OriginateResponse may take
REASONS = {"0": ("failed", "no such channel or originate failed"), "1": ("failed", "hung up or rejected"),
           "3": ("no-answer", "rang, nobody answered"), "4": ("answered", "answered"),
           "5": ("busy", "busy"), "8": ("failed", "congestion")}


def outcome_of(response: str, reason: str) -> tuple[str, str]:
    """(status, reason text) of an OriginateResponse's Response and Reason headers."""
    if response == "Success":
        return "answered", "answered"
    status, text = REASONS.get(reason, ("failed", "originate failed"))
    if status == "answered":        # Failure with reason 4 would contradict itself; keep it failed
        status = "failed"
    return status, f"{text} (Reason {reason or '?'})"


def originate_action(hl: Hotline, call: OutboundCall, agent: User | None, action_id: str) -> dict:
    """The Originate action's headers for `call`."""
    s = hl.settings
    number = dialable(call.phone)
    variables = [f"HOTLINE_OUTBOUND={call.id}"]
    if call.purpose == "callback":
        if agent is None or not agent.extension:
            raise ValueError(f"callback {call.key}: the agent has no extension to ring")
        channel, context = agent.extension, CALLBACK_CONTEXT
        caller_id = f'"回电 {number}" <{number}>'
    else:
        channel, context = s.outbound_trunk.format(number=number), SURVEY_CONTEXT
        caller_id = s.outbound_caller_id or number
    return {"Action": "Originate", "ActionID": action_id, "Channel": channel, "Context": context, "Exten": number,
            "Priority": "1", "Timeout": str(RING_SECONDS * 1000), "CallerID": caller_id, "Async": "true",
            "ChannelId": f"hotline-out-{call.id}", "Variable": variables}


class AmiDialer:
    """tickets.outbound's Dialer for Asterisk (OUTBOUND_VOICE=asterisk)."""

    backend = "asterisk"

    def __init__(self, hl: Hotline, url: str, *, reply_timeout: float = RING_SECONDS + REPLY_MARGIN_S) -> None:
        self.hl = hl
        self.host, self.port, self.user, self.secret = parse_ami_url(url)
        self.reply_timeout = reply_timeout

    def place(self, call: OutboundCall, agent: User | None) -> Placed:
        """Originate `call` and wait for its OriginateResponse."""
        action_id = f"hotline-{call.id}-{uuid.uuid4().hex[:8]}"
        action = originate_action(self.hl, call, agent, action_id)
        got = threading.Event()
        result: dict[str, str] = {}

        def on_response(event, manager) -> None:
            if event.get_header("ActionID", "") == action_id:
                result.update(dict(event.headers))
                got.set()

        manager = pyst_manager.Manager()
        manager.register_event("OriginateResponse", on_response)
        try:
            manager.connect(self.host, self.port)
            reply = manager.send_action({"Action": "Login", "Username": self.user, "Secret": self.secret,
                                         "Events": "call"})
            if reply.get_header("Response") != "Success":
                return Placed("failed", f"AMI login refused: {reply.get_header('Message', '')}")
            reply = manager.send_action(action)
            if reply.get_header("Response") != "Success":
                return Placed("failed", f"Originate refused: {reply.get_header('Message', '')}")
            if not got.wait(self.reply_timeout):
                return Placed("failed", f"no OriginateResponse within {self.reply_timeout:.0f} s")
        except (pyst_manager.ManagerException, OSError) as exc:
            return Placed("failed", f"AMI {self.host}:{self.port} not reachable: {exc}")
        finally:
            _close(manager)
        status, reason = outcome_of(result.get("Response", ""), result.get("Reason", ""))
        # A call that never got a channel has Uniqueid <null>.
        uniqueid = result.get("Uniqueid", "")
        return Placed(status, reason, uniqueid if uniqueid and uniqueid != "<null>" else None)


def _close(manager: pyst_manager.Manager) -> None:
    try:
        if manager.connected():
            manager.logoff()
        manager.close()
    except Exception:  # noqa: BLE001 - a connection that is half gone cannot be closed cleanly
        pass
