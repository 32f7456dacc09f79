"""The agent side of a queued Twilio call: the softphone's token, the agent's dial into the
queue, and the screen-pop when Twilio bridges a caller to that agent.

The caller's side is `ivr/twilio.py`: the menu's transfer answers `<Enqueue>agents</Enqueue>`
and offers the card to an agent who is available at that moment, if any. The agent's side:

1. `access_token`: a call-taking user of the console gets a Twilio Access Token with a
   VoiceGrant for the TwiML App; its identity is `agent_<user id>`, so Twilio posts
   `From=client:agent_<user id>` for the softphone's calls.
2. `dial_queue`: the softphone calls the TwiML App, whose voice URL answers
   `<Dial><Queue url=...>agents</Queue></Dial>`; Twilio bridges the caller who waited longest.
   `<Enqueue>` has no caller priority, so members whose level gives one wait in a queue per
   priority (`agents-p2`); `next_queue` sends the softphone to the highest of those with a caller
   waiting, and to `agents` when none has.
3. `connect`: before bridging, Twilio fetches the Queue `url` on the caller's leg (`CallSid` is
   the caller's call, `DequeingCallSid` the agent's). The caller's card pops on that agent's
   screen (unless it already has), agents who were offered the call and did not take it are
   told so, the call record is answered by that agent, and the agent is `on_call` (no other
   caller pops on their screen). Twilio plays the answer to the caller only (it allows `<Play>`,
   `<Say>`, `<Pause>`, `<Redirect>` there): the caller hears that an agent is taking the call;
   the agent sees the card.
4. `dialed`: the `<Dial action>`, posted on the agent's call when the dial ends (the bridged
   call is over, or it never bridged). The call record gets the talk time, the agent's console
   `complete` (as the AMI listener's AgentComplete), and the agent goes to `wrap_up` whatever
   the DialCallStatus; the agent's call is hung up.

Nothing here knows Flask; `agent_console/twilio_agents.py` serves it.
"""
from __future__ import annotations

import logging
import re
from typing import Any, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session
from twilio.jwt.access_token import AccessToken
from twilio.jwt.access_token.grants import VoiceGrant
from twilio.twiml.voice_response import VoiceResponse

from tickets import agents, calls, cards
from tickets.agents import CALL_TAKING_ROLES
from tickets.bus import publish_after_commit
from tickets.config import ConfigError, Settings
from tickets.context import hotline_of
from tickets.inputs import whole_number
from tickets.models import AgentEvent, Call, Customer, User
from tickets.stats import WAITING_HORIZON

from . import phrases
from .menus import QUEUE
from .runtime import PRIORITY_VAR
from .twilio import HANGUP, SAY, TRANSPORT, Links, TwilioVoice, caller_id, render, twilio_queue

log = logging.getLogger(__name__)

# What Twilio puts before a softphone's identity in `From`, and what Call.agent_member records.
CLIENT = "client:"
IDENTITY_PREFIX = "agent_"
_CLIENT_IDENTITY = re.compile(rf"{CLIENT}{IDENTITY_PREFIX}([0-9]{{1,18}})")
# The softphone asks for a fresh token when Twilio says this one is about to expire.
TOKEN_TTL_SECONDS = 3600
# What the caller hears as the agent's softphone takes the call.
CONNECTING = "agent.connecting"
# DialCallStatus of a dial that bridged and ended normally (anything else: busy, no-answer,
# failed, canceled). Only these finish the call record; the caller's own webhooks finish the rest.
BRIDGED = frozenset({"completed", "answered"})

# The settings the softphone needs -> the variables that set them (named when missing).
SOFTPHONE_SETTINGS: dict[str, str] = {
    "twilio_account_sid": "TWILIO_ACCOUNT_SID",
    "twilio_api_key": "TWILIO_API_KEY",
    "twilio_api_secret": "TWILIO_API_SECRET",
    "twilio_twiml_app_sid": "TWILIO_TWIML_APP_SID",
}


def missing_settings(settings: Settings) -> list[str]:
    """The environment variables the softphone still needs; empty when it is configured."""
    return [variable for attr, variable in SOFTPHONE_SETTINGS.items() if not getattr(settings, attr)]


def client_identity(user: User) -> str:
    """The Twilio Client identity of a console user. Built from the id: Twilio allows only letters,
    digits and underscores there, a user name may hold anything but spaces, and an id never changes."""
    return f"{IDENTITY_PREFIX}{user.id}"


def client_name(user: User) -> str:
    """`client:agent_<id>`: how Twilio names the user's softphone (`From`), and the call record's member."""
    return CLIENT + client_identity(user)


def access_token(settings: Settings, user: User, ttl: int = TOKEN_TTL_SECONDS) -> str:
    """A signed Access Token (JWT) letting `user`'s browser call the TwiML App, and nothing else."""
    missing = missing_settings(settings)
    if missing:
        raise ConfigError(f"the Twilio softphone needs {', '.join(missing)}; see docs/twilio-agents.md")
    token = AccessToken(settings.twilio_account_sid, settings.twilio_api_key, settings.twilio_api_secret,
                        identity=client_identity(user), ttl=ttl)
    # Outgoing: the agent pulls the next caller from the queue. Incoming: a callback's
    # click-to-call rings the agent's softphone first (ivr.twilio_calls).
    token.add_grant(VoiceGrant(outgoing_application_sid=settings.twilio_twiml_app_sid, incoming_allow=True))
    return token.to_jwt()


def agent_by_id(session: Session, user_id: int) -> User | None:
    """The active call-taking user with this id; None for anyone else."""
    return session.scalar(select(User).where(User.id == user_id, User.active, User.role.in_(CALL_TAKING_ROLES)))


def agent_for_client(session: Session, caller: str) -> User | None:
    """The active call-taking user behind `client:<identity>`; None for a phone number or any other name."""
    found = _CLIENT_IDENTITY.fullmatch(caller)
    return agent_by_id(session, int(found.group(1))) if found else None


def next_queue(session: Session) -> str:
    """The Twilio queue an agent's softphone takes a caller from: the queue of the highest queue
    priority (`twilio_queue`) among the callers waiting now (as the wallboard counts them,
    tickets.stats.calls_waiting: a record whose leave was never reported stops counting after
    WAITING_HORIZON); the agents' queue when nobody with a priority waits. The call record keeps
    the queue's common name (`agents`), as on Asterisk, so the figures stay one queue."""
    hl = hotline_of(session)
    levels = session.scalars(select(Customer.member_level).distinct().join(Call, Call.customer_id == Customer.id).where(
        Call.transport == TRANSPORT, Call.outcome == "agent", Call.queue_result == "", Call.disposition == "",
        Call.started_at >= hl.now() - WAITING_HORIZON))
    top = max((cards.level_priority(hl.settings, level) for level in levels), default=0)
    return twilio_queue({"queue": QUEUE, "variables": {PRIORITY_VAR: str(top)}})


def dial_queue(connect_url: str, dialed_url: str, queue: str = QUEUE) -> str:
    """The agent's TwiML: take the longest-waiting caller of `queue`; Twilio fetches `connect_url`
    before bridging, and posts `dialed_url` when the dial ends."""
    vr = VoiceResponse()
    vr.dial(action=dialed_url, method="POST").queue(queue, url=connect_url, method="POST")
    return str(vr)


def connect(session: Session, voice: TwilioVoice, params: Mapping[str, str], agent: User, links: Links) -> str:
    """The caller of `params["CallSid"]` is being bridged to `agent`: pop, answer, and tell the caller."""
    call_sid = params["CallSid"]
    call = calls.get_call(session, call_sid)
    if call is None:
        # Enqueued without our menu (another app's TwiML): still a call the agent answered.
        log.info("twilio call %s: bridged to %s without a call record; starting one", call_sid, agent.username)
        call = calls.start_call(session, call_sid, TRANSPORT, caller_id(params))
    call.queue = call.queue or QUEUE
    offered = calls.offered_agents(session, call)
    if all(other.id != agent.id for other in offered):
        calls.offer_call(session, call, agent, ivr=_ivr_info(session, voice, call))
    call.agent_user_id = agent.id
    call.agent_member = client_name(agent)
    call.queue_result = "answered"
    call.hold_seconds = whole_number(params.get("QueueTime"), "QueueTime", default=call.hold_seconds)
    summary = {"call_id": call.id, "external_id": call_sid, "queue": call.queue, "member": call.agent_member,
               "hold_seconds": call.hold_seconds}
    agents.call_taken(session, agent, call)
    for other in offered:
        if other.id != agent.id:
            # Their card of this call is stale: another agent has it.
            calls.push_agent_event(session, other, "missed", summary, call)
    # The agent's own call, by which its <Dial action> finds this call again.
    calls.push_agent_event(session, agent, "connect", {**summary, "agent_call_sid": params.get("DequeingCallSid", "")},
                           call)
    publish_after_commit(session, "call.answered", {**summary, "agent_user_id": agent.id})
    lang = call.language if call.language in SAY else "zh"
    segments, text = phrases.render([phrases.prompt(CONNECTING)], lang)
    return render([{"type": "play", "segments": segments, "text": text, "lang": lang}], links, voice.files)


def dialed(session: Session, params: Mapping[str, str], agent: User) -> str:
    """<Dial action> of `agent`'s call (`params["CallSid"]`): its dial into the queue has ended.

    When it had been bridged to a caller, that call record gets the talk time (DialCallDuration),
    the agent's console a `complete` with the dial's outcome, and the agent goes to wrap-up; a
    dial that bridged nobody (the queue stayed empty until the timeout) records nothing.
    """
    agent_call_sid, status = params["CallSid"], params.get("DialCallStatus", "")
    call = bridged_call(session, agent, agent_call_sid)
    if call is None:
        log.info("twilio agent call %s of %s: dial ended (%s) without a caller", agent_call_sid, agent.username,
                 status or "no status")
        return HANGUP
    call.talk_seconds = whole_number(params.get("DialCallDuration"), "DialCallDuration", default=0)
    if status in BRIDGED:
        calls.finish_call(session, call, "agent")
    summary = {"call_id": call.id, "external_id": call.external_id, "queue": call.queue, "member": call.agent_member,
               "talk_seconds": call.talk_seconds, "dial_status": status, "agent_call_sid": agent_call_sid,
               "queue_sid": params.get("QueueSid", "")}
    calls.push_agent_event(session, agent, "complete", summary, call)
    publish_after_commit(session, "call.completed", summary)
    agents.call_ended(session, agent, call)
    # The agent's leg has nothing left to do (Twilio ignores this when that leg already hung up).
    return HANGUP


def bridged_call(session: Session, agent: User, agent_call_sid: str) -> Call | None:
    """The caller's call record that `agent`'s call `agent_call_sid` was bridged to (by its `connect`)."""
    return session.scalar(
        select(Call).join(AgentEvent, AgentEvent.call_id == Call.id)
        .where(AgentEvent.user_id == agent.id, AgentEvent.kind == "connect",
               AgentEvent.payload["agent_call_sid"].as_string() == agent_call_sid)
        .order_by(AgentEvent.id.desc()).limit(1))


def _ivr_info(session: Session, voice: TwilioVoice, call: Call) -> dict[str, Any]:
    """What the enqueue-time pop adds to the card: the queue, and the order the caller had in hand."""
    state = voice.states.latest(session, call.external_id) or {}
    order = (state.get("vars") or {}).get("order")
    return {"queue": call.queue, **({"order": order} if order else {})}
