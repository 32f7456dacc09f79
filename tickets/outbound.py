"""Calls the platform places: survey calls (回访) and callbacks, and the rules of both.

Surveys: the SMS invitation goes out on completion (sms/notices.py); SURVEY_RESEND_HOURS later an
unanswered survey is resent once (`resend_due`, sent by the sms package); SURVEY_CALL_AFTER_HOURS
after that (at once for a number whose SMS was suppressed or failed) the platform calls with the
voice survey, at most SURVEY_CALL_ATTEMPTS times, SURVEY_RETRY_MINUTES apart, never in QUIET_HOURS.
A customer who prefers phone (Customer.survey_channel) gets no SMS and is called at once; a
do-not-call one gets neither resend nor call. What is still unanswered stays on the survey desk.

Callbacks: a caller who asked for one after hours, or pressed the key to leave the queue and
keep their place, is a `CallbackRequest`; the worklist serves them in the order they would have
been answered. An agent takes one (click-to-call), the platform rings the agent and then the
customer, the agent records the outcome; an unanswered one is due again CALLBACK_RETRY_MINUTES
later, up to CALLBACK_ATTEMPTS.

Every attempt is an `OutboundCall` row with a unique key per attempt, written by the job that
decides it is due; a dialer (agi_scripts.originate for Asterisk, ivr.twilio_calls for Twilio)
places only rows it moved from `queued` to `placing` itself. So a job run twice, by two leaders
one after the other, places nothing twice.
"""
from __future__ import annotations

import logging
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import case, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from . import actors, audit, calls
from .actors import SYSTEM, Actor
from .agents import CALL_TAKING_ROLES
from .concurrency import flush_or_conflict
from .customers import may_contact, prefers_phone_survey
from .context import Hotline, hotline_of
from .errors import NotFound, ValidationError
from .phones import ANONYMOUS
from .models import CallbackRequest, Customer, OutboundCall, SmsMessage, Survey, User, WorkOrder, WorkOrderEvent
from .timeutil import in_quiet_hours, to_local   # in_quiet_hours: the rule of every outbound call and SMS

log = logging.getLogger(__name__)

RESEND_KIND = "survey_resend"
DIALER = "dialer"          # hl.extensions key of the installed Dialer
IN_FLIGHT = ("queued", "placing")
# How a call ended -> whether the customer was reached. `answered` for a survey call means only
# that someone picked up; the survey itself says whether they gave a score.
UNREACHED = ("no-answer", "busy", "machine", "failed")
# A row still `placing` this long after it was claimed lost its dialer (the process stopped
# between the claim and the result): it is counted as a failed attempt so the next one may go.
PLACING_LOST_AFTER = timedelta(minutes=15)
# A call the dialer could not hand over for a passing reason (Twilio 5xx or 429, no connection)
# goes back to the queue, not counted as an attempt, and is tried again this much later, for
# TRANSIENT_GIVE_UP after it was queued; then it is a failed attempt.
TRANSIENT_RETRY = timedelta(minutes=1)
TRANSIENT_GIVE_UP = timedelta(minutes=30)
# While calls ring, how often place_queued looks for newly queued ones (a click-to-call).
POLL_SECONDS = 1.0
CALLBACK_OUTCOMES = ("reached", "no-answer", "busy", "machine", "wrong-number")
CALLBACK_FINAL = ("reached", "wrong-number")


# ---------------------------------------------------------------- surveys

def resend_key(survey: Survey) -> str:
    """The dedupe key of a survey's one resend (sms outbox keeps one message per key, ever)."""
    return f"survey-{survey.id}:{RESEND_KIND}"


def _pending_surveys():
    return (select(Survey).join(WorkOrder, WorkOrder.id == Survey.order_id)
            .where(Survey.status == "pending", WorkOrder.status == "completed"))


# The customers whose survey is a call at once (tickets.customers.SURVEY_CHANNELS): no SMS to resend.
_BY_PHONE_SURVEY = WorkOrder.customer_id.in_(select(Customer.id).where(Customer.survey_channel == "phone"))


def resend_due(session: Session) -> list[Survey]:
    """Pending surveys of completed orders asked SURVEY_RESEND_HOURS ago and not resent yet;
    none in quiet hours. The caller queues each resend under `resend_key` and calls `note_resend`."""
    hl = hotline_of(session)
    now = hl.now()
    if in_quiet_hours(hl.settings, now):
        return []
    cutoff = now - timedelta(hours=hl.settings.survey_resend_hours)
    rows = session.scalars(_pending_surveys().where(Survey.asked_at <= cutoff, ~_BY_PHONE_SURVEY)
                           .order_by(Survey.asked_at, Survey.id)).all()
    if not rows:
        return []
    resent = set(session.scalars(select(SmsMessage.dedupe_key)
                                 .where(SmsMessage.dedupe_key.in_([resend_key(r) for r in rows]))))
    return [r for r in rows if resend_key(r) not in resent and may_contact(session, r.phone)]


def _event(session: Session, order: WorkOrder, action: str, data: dict, actor: Actor = SYSTEM) -> None:
    """An event in the order's history that changes nothing else (a survey SMS or call)."""
    session.add(WorkOrderEvent(order_id=order.id, action=action, from_status=order.status, to_status=order.status,
                               actor_role=actor.role, actor_user_id=actor.user_id, actor_label=actor.label,
                               data=data, created_at=hotline_of(session).now()))


def note_resend(session: Session, survey: Survey, message: SmsMessage) -> None:
    """The order's history says the survey was resent (and how that SMS fared)."""
    _event(session, survey.order, RESEND_KIND, {"sms": message.id, "status": message.status})


def _resend_of(session: Session, survey: Survey) -> SmsMessage | None:
    return session.scalar(select(SmsMessage).where(SmsMessage.dedupe_key == resend_key(survey)))


def _attempts(session: Session, survey: Survey) -> list[OutboundCall]:
    return list(session.scalars(select(OutboundCall).where(OutboundCall.survey_id == survey.id)
                                .order_by(OutboundCall.attempt)))


def survey_call_due(session: Session, survey: Survey, now: datetime) -> bool:
    """Whether the next survey call of `survey` may be queued now (quiet hours aside): never to a
    do-not-call customer; at once for one who prefers phone; else after the SMS resend."""
    s = hotline_of(session).settings
    if not may_contact(session, survey.phone):
        return False
    if not prefers_phone_survey(survey.order.customer):
        resend = _resend_of(session, survey)
        if resend is None:
            return False
        sms_reaches = resend.status not in ("suppressed", "failed")
        if sms_reaches and resend.created_at > now - timedelta(hours=s.survey_call_after_hours):
            return False
    attempts = _attempts(session, survey)
    if len(attempts) >= s.survey_call_attempts or any(a.status in IN_FLIGHT for a in attempts):
        return False
    last = attempts[-1] if attempts else None
    return last is None or (last.ended_at or last.created_at) <= now - timedelta(minutes=s.survey_retry_minutes)


def queue_survey_calls(session: Session) -> list[OutboundCall]:
    """Queue the survey calls that are due (one row per attempt, keyed so a second run adds none)."""
    hl = hotline_of(session)
    now = hl.now()
    if hl.settings.outbound_voice == "off" or in_quiet_hours(hl.settings, now):
        return []
    queued = []
    for survey in session.scalars(_pending_surveys().order_by(Survey.asked_at, Survey.id)).all():
        if not survey_call_due(session, survey, now):
            continue
        attempt = len(_attempts(session, survey)) + 1
        row = _queue(session, OutboundCall(key=f"survey-{survey.id}-{attempt}", purpose="survey", survey_id=survey.id,
                                           order_id=survey.order_id, phone=survey.phone, attempt=attempt,
                                           status="queued", reason="", backend="", created_at=now))
        if row is not None:
            _event(session, survey.order, "survey_call", {"attempt": attempt, "outbound": row.id})
            queued.append(row)
    return queued


def _queue(session: Session, row: OutboundCall) -> OutboundCall | None:
    """Add `row` unless its attempt exists already (another run of the job got there first)."""
    try:
        with session.begin_nested():
            session.add(row)
        return row
    except IntegrityError:
        log.info("outbound call %s exists already; not queued twice", row.key)
        return None


def unanswered_after_calls(session: Session) -> list[Survey]:
    """Pending surveys whose every allowed call was placed without a score: the phone desk's."""
    s = hotline_of(session).settings
    counted = (select(OutboundCall.survey_id).where(OutboundCall.status.not_in(IN_FLIGHT))
               .group_by(OutboundCall.survey_id)
               .having(OutboundCall.survey_id.is_not(None)))
    rows = session.scalars(_pending_surveys().where(Survey.id.in_(counted)).order_by(Survey.asked_at)).all()
    return [r for r in rows if len(_attempts(session, r)) >= s.survey_call_attempts]


def survey_calls_by_order(session: Session, order_ids: list[int]) -> dict[int, list[OutboundCall]]:
    """The survey calls placed for each of these orders, first attempt first (the survey desk
    shows why nobody answered)."""
    out: dict[int, list[OutboundCall]] = {}
    if order_ids:
        for row in session.scalars(select(OutboundCall).where(OutboundCall.purpose == "survey",
                                                              OutboundCall.order_id.in_(order_ids))
                                   .order_by(OutboundCall.order_id, OutboundCall.attempt)):
            out.setdefault(row.order_id, []).append(row)
    return out


def survey_for_call(session: Session, outbound_id: int) -> tuple[OutboundCall, Survey]:
    """The survey call `outbound_id` and its survey (the voice survey starts from it)."""
    row = session.get(OutboundCall, outbound_id)
    if row is None or row.survey_id is None:
        raise NotFound("no survey call {outbound_id}", outbound_id=outbound_id)
    return row, session.get(Survey, row.survey_id)


# ---------------------------------------------------------------- placing and results

@dataclass(frozen=True)
class Placed:
    """What a dialer knows right after placing: `status` is final (answered, no-answer, busy,
    failed) for AMI, `placing` while Twilio rings and reports later, or `queued` when the call
    could not be handed over for a passing reason and should be tried again (not an attempt)."""
    status: str
    reason: str = ""
    external_id: str | None = None


class Dialer(Protocol):
    backend: str

    def place(self, call: OutboundCall, agent: User | None) -> Placed:
        """Place `call` (for a callback, ringing `agent` first); raise nothing for a refused call."""


def claim(session: Session, call_id: int, backend: str) -> bool:
    """Take a queued call for placing; False when another process took it (or it is not queued)."""
    hl = hotline_of(session)
    got = session.execute(update(OutboundCall).where(OutboundCall.id == call_id, OutboundCall.status == "queued")
                          .values(status="placing", backend=backend, placed_at=hl.now())).rowcount
    return got == 1


def settle(session: Session, call: OutboundCall, status: str, reason: str = "",
           external_id: str | None = None) -> bool:
    """Record how a placed call went, unless something later already did (the voice survey
    found an answering machine while the dialer was still waiting for its reply). True if written."""
    hl = hotline_of(session)
    values: dict = {"status": status, "reason": reason[:255]}
    if external_id:
        values["external_id"] = external_id
    if status not in IN_FLIGHT:
        values["ended_at"] = hl.now()
    got = session.execute(update(OutboundCall).where(OutboundCall.id == call.id, OutboundCall.status == "placing")
                          .values(values)).rowcount
    session.expire(call)
    if got and status in UNREACHED:
        _unreached(session, call, status, reason)
    return bool(got)


def _unreached(session: Session, call: OutboundCall, status: str, reason: str) -> None:
    if call.order_id is not None:
        order = session.get(WorkOrder, call.order_id)
        _event(session, order, "survey_unreached", {"attempt": call.attempt, "status": status, "reason": reason})
    if call.callback_id is not None:
        request = session.get(CallbackRequest, call.callback_id)
        if request.status == "calling":
            _after_attempt(session, request, status, "")


def answered_by_machine(session: Session, call: OutboundCall, how: str) -> None:
    """The call reached an answering machine (Asterisk AMD, Twilio AnsweredBy): recorded as such,
    once (Twilio names the machine to the survey menu and again in the status callback)."""
    got = session.execute(update(OutboundCall).where(OutboundCall.id == call.id,
                                                     OutboundCall.status.in_(("placing", "answered")))
                          .values(status="machine", reason=how[:255], ended_at=hotline_of(session).now())).rowcount
    session.expire(call)
    if got:
        _unreached(session, call, "machine", how)


def mark_answered(session: Session, call: OutboundCall, external_id: str | None = None) -> None:
    """Someone picked up (the voice survey started)."""
    values: dict = {"status": "answered"}
    if external_id and not call.external_id:
        values["external_id"] = external_id
    session.execute(update(OutboundCall).where(OutboundCall.id == call.id, OutboundCall.status == "placing")
                    .values(values))
    session.expire(call)


def expire_lost(session: Session) -> int:
    """Calls left `placing` by a dialer that died count as failed attempts."""
    hl = hotline_of(session)
    lost = session.scalars(select(OutboundCall).where(OutboundCall.status == "placing",
                                                      OutboundCall.placed_at < hl.now() - PLACING_LOST_AFTER)).all()
    for call in lost:
        settle(session, call, "failed", "no result from the dialer (process stopped?)")
    return len(lost)


def _due_to_place(session: Session, now: datetime, n: int) -> list[int]:
    """Up to `n` queued calls to place now: callbacks first (an agent is waiting for the ring),
    then by age; a call put back after a transient fault waits TRANSIENT_RETRY; no survey call in
    quiet hours (one put back in the evening waits for the morning)."""
    stmt = (select(OutboundCall.id)
            .where(OutboundCall.status == "queued",
                   or_(OutboundCall.placed_at.is_(None), OutboundCall.placed_at <= now - TRANSIENT_RETRY))
            .order_by(case((OutboundCall.purpose == "callback", 0), else_=1), OutboundCall.id).limit(n))
    if in_quiet_hours(hotline_of(session).settings, now):
        stmt = stmt.where(OutboundCall.purpose != "survey")
    return list(session.scalars(stmt))


def _not_wanted_now(session: Session, call: OutboundCall) -> str:
    """Why a survey call queued earlier must not ring now (the survey was answered, by SMS or at the
    desk, or the customer was marked do-not-call while it waited); "" when it may."""
    if call.purpose != "survey":
        return ""       # a callback: the caller asked for it, and an agent is waiting for the ring
    survey = session.get(Survey, call.survey_id) if call.survey_id is not None else None
    if survey is not None and survey.status != "pending":
        return "the survey was answered before the call was placed"
    if not may_contact(session, call.phone):
        return "the customer was marked do-not-call before the call was placed"
    return ""


def _in_flight(session: Session) -> int:
    """Calls ringing now as far as we know: every row `placing`, whichever run placed it."""
    return session.scalar(select(func.count()).select_from(OutboundCall).where(OutboundCall.status == "placing"))


def _place_one(hl: Hotline, dialer: Dialer, call: OutboundCall, agent: User | None) -> tuple[str, str]:
    """Place one claimed call and record what the dialer knows: (key, status)."""
    try:
        placed = dialer.place(call, agent)
    except Exception as exc:  # noqa: BLE001 - one failed originate must not stop the others
        log.exception("outbound call %s to %s could not be placed", call.key, call.phone)
        placed = Placed("failed", f"{type(exc).__name__}: {exc}")
    with hl.session() as s, s.begin():
        row = s.get(OutboundCall, call.id)
        now = hl.now()
        if placed.status == "queued" and now - row.created_at >= TRANSIENT_GIVE_UP:
            placed = Placed("failed", f"{placed.reason} (given up after {TRANSIENT_GIVE_UP})")
        if placed.status == "queued":
            # Not an attempt: nothing reached the customer. Back in the queue, tried again later.
            s.execute(update(OutboundCall).where(OutboundCall.id == call.id, OutboundCall.status == "placing")
                      .values(status="queued", reason=placed.reason[:255], backend="", placed_at=now))
        elif placed.status == "placing":
            if placed.external_id:
                row.external_id = placed.external_id
            if placed.reason:
                row.reason = placed.reason[:255]
        else:
            settle(s, row, placed.status, placed.reason, placed.external_id)
    log.info("outbound %s to %s: %s %s", call.key, call.phone, placed.status, placed.reason)
    return call.key, placed.status


def place_queued(hl: Hotline, dialer: Dialer) -> list[tuple[str, str]]:
    """Place what is queued, at most OUTBOUND_MAX_CHANNELS ringing at once: (key, status) of each
    call placed, in the order they finished.

    Each call is claimed (`queued` -> `placing`) before it is placed, so no row is placed twice;
    the rows `placing` are the calls in flight (ours, and Twilio calls whose status callback has
    not come), and only the free channels are filled. As a call ends, the next queued one goes,
    also one queued after this run started (an agent's click-to-call), until nothing is queued
    or every channel is busy. A survey call whose survey was answered (or whose customer became
    do-not-call) while it waited is `cancelled`, not placed. A dialer that raises leaves its call
    `failed`, which counts as an attempt: the next one is queued after the retry interval, within
    the attempt limit."""
    channels = hl.settings.outbound_max_channels
    with hl.session() as s, s.begin():
        expire_lost(s)
    done: list[tuple[str, str]] = []
    running: set[Future] = set()
    with ThreadPoolExecutor(channels, thread_name_prefix="outbound") as pool:
        while True:
            with hl.session() as s, s.begin():
                free = channels - _in_flight(s)
                claimed = []
                for call_id in _due_to_place(s, hl.now(), free) if free > 0 else []:
                    if claim(s, call_id, dialer.backend):
                        call = s.get(OutboundCall, call_id)
                        if why := _not_wanted_now(s, call):
                            settle(s, call, "cancelled", why)
                            continue
                        claimed.append((call, s.get(User, call.agent_user_id) if call.agent_user_id else None))
                s.expunge_all()
            running.update(pool.submit(_place_one, hl, dialer, call, agent) for call, agent in claimed)
            if not running:
                return done
            finished, running = wait(running, timeout=POLL_SECONDS, return_when=FIRST_COMPLETED)
            done.extend(f.result() for f in finished)


# ---------------------------------------------------------------- callbacks

def request_callback(session: Session, *, phone: str, source: str, call_id: int | None = None,
                     customer_id: int | None = None, queued_at: datetime | None = None,
                     position: int | None = None, actor: Actor = SYSTEM) -> CallbackRequest:
    """Put a caller on the callback worklist (once per call); `queued_at`: when they entered the
    queue, so they keep their place."""
    if call_id is not None:
        existing = session.scalar(select(CallbackRequest).where(CallbackRequest.call_id == call_id))
        if existing is not None:
            return existing
    now = hotline_of(session).now()
    row = CallbackRequest(phone=phone, customer_id=customer_id, call_id=call_id, source=source, position=position,
                          queued_at=queued_at or now, requested_at=now, status="waiting", attempts=0,
                          next_attempt_at=now, outcome="", notes="", updated_at=now)
    session.add(row)
    session.flush()
    audit.record(session, actor, "callback.request", "callback", row.id,
                 {"phone": phone, "source": source, "position": position})
    return row


def callback_from_queue(session: Session, external_id: str, transport: str, caller_raw: str,
                        position: int | None) -> CallbackRequest:
    """A caller pressed the callback key while holding in the queue: they leave it (the call's
    outcome becomes `callback`) and keep their place, the time they entered the queue."""
    call = calls.start_call(session, external_id, transport, caller_raw)
    if call.caller == ANONYMOUS:
        raise ValidationError("the caller's number is withheld: no callback is possible")
    # The menu's hand-over to the queue wrote the call's end time (tickets.calls): that is when
    # the caller joined the queue, the place they keep.
    now = hotline_of(session).now()
    queued_at = call.ended_at if call.outcome == "agent" and call.ended_at else now
    calls.finish_call(session, call, "callback", queue_result="callback")
    return request_callback(session, phone=call.caller, source="queue", call_id=call.id,
                            customer_id=call.customer_id, queued_at=queued_at, position=position,
                            actor=actors.customer(transport))


def worklist(session: Session) -> list[CallbackRequest]:
    """Open requests in the order their callers would have been answered (queue entry first)."""
    return list(session.scalars(select(CallbackRequest).where(CallbackRequest.status.in_(("waiting", "calling")))
                                .order_by(CallbackRequest.queued_at, CallbackRequest.id)))


def get_request(session: Session, request_id: int) -> CallbackRequest:
    row = session.get(CallbackRequest, request_id)
    if row is None:
        raise NotFound("no callback request {request_id}", request_id=request_id)
    return row


def start_callback(session: Session, request: CallbackRequest, agent: User, actor: Actor) -> OutboundCall:
    """Click-to-call: the platform rings `agent`, then the customer. Two agents clicking the same
    request at once: the request's version lets one through and refuses the other."""
    hl = hotline_of(session)
    now = hl.now()
    if request.status != "waiting":
        raise ValidationError("callback {id} is {status}; only a waiting request can be called", id=request.id, status=request.status)
    if request.next_attempt_at > now:
        when = to_local(request.next_attempt_at, hl.tz)
        raise ValidationError("callback {id} is due again at {when:%H:%M}; it was just tried", id=request.id, when=when)
    if hl.settings.outbound_voice == "off":
        raise ValidationError("no outbound calling is configured (OUTBOUND_VOICE); call the customer by hand "
                              "and record the outcome")
    if hl.settings.outbound_voice == "asterisk" and not agent.extension:
        # The Asterisk endpoint (PJSIP/agent1) the platform rings first; on Twilio it is the
        # user's softphone, whose identity comes from the user id (ivr.twilio_agents).
        raise ValidationError("user {username} has no extension to ring; an admin sets it on the user page", username=agent.username)
    if hl.settings.outbound_voice == "twilio" and agent.role not in CALL_TAKING_ROLES:
        raise ValidationError("user {username} has no Twilio softphone to ring (agents and supervisors have one); "
                              "call the customer by hand and record the outcome", username=agent.username)
    request.status, request.handled_by, request.updated_at = "calling", agent.id, now
    request.attempts += 1
    flush_or_conflict(session, f"callback {request.id}")
    row = OutboundCall(key=f"callback-{request.id}-{request.attempts}", purpose="callback", callback_id=request.id,
                       phone=request.phone, attempt=request.attempts, agent_user_id=agent.id, status="queued",
                       reason="", backend="", created_at=now)
    session.add(row)
    session.flush()
    audit.record(session, actor, "callback.call", "callback", request.id, {"attempt": request.attempts})
    return row


def do_not_call(session: Session, request: CallbackRequest) -> bool:
    """Whether the caller's record says do-not-call. Their request is still served (they asked to
    be called), but once the agent records that the customer was not reached, no retry is
    scheduled (`record_callback_outcome`). An agent's own extension not answering (the dialer's
    result) is no attempt on the customer and puts the request back as for anyone."""
    return not may_contact(session, request.phone)


def do_not_call_requests(session: Session, requests: list[CallbackRequest]) -> set[int]:
    """The ids of the requests (of the worklist) whose caller is marked do-not-call: flagged there."""
    return {r.id for r in requests if do_not_call(session, r)}


def _after_attempt(session: Session, request: CallbackRequest, outcome: str, notes: str, *, retry: bool = True) -> None:
    s = hotline_of(session).settings
    now = hotline_of(session).now()
    request.outcome, request.updated_at = outcome, now
    if notes:
        request.notes = ((request.notes + "\n") if request.notes else "") + notes.strip()[:1000]
    if outcome in CALLBACK_FINAL:
        request.status = "done"
    elif request.attempts >= s.callback_attempts or not retry:
        request.status = "given-up"
    else:
        request.status = "waiting"
        request.next_attempt_at = now + timedelta(minutes=s.callback_retry_minutes)


def record_callback_outcome(session: Session, request: CallbackRequest, outcome: str, actor: Actor,
                            notes: str = "") -> CallbackRequest:
    """The agent's outcome of a callback; an unanswered one is due again after CALLBACK_RETRY_MINUTES
    (given up after CALLBACK_ATTEMPTS, or at once for a do-not-call caller: see `do_not_call`)."""
    if outcome not in CALLBACK_OUTCOMES:
        raise ValidationError("choose an outcome: {callback_outcomes}; got {outcome!r}", callback_outcomes=', '.join(CALLBACK_OUTCOMES), outcome=outcome)
    if request.status not in ("waiting", "calling"):
        raise ValidationError("callback {id} is {status} already", id=request.id, status=request.status)
    if request.status == "waiting":
        request.attempts += 1          # called by hand (no outbound calling), counted all the same
    # A do-not-call caller asked for this one call: calling again unasked would be outbound contact.
    no_retry = do_not_call(session, request)
    _after_attempt(session, request, outcome, notes, retry=not no_retry)
    flush_or_conflict(session, f"callback {request.id}")
    data = {"outcome": outcome, "attempt": request.attempts, "status": request.status}
    if request.status == "given-up" and no_retry:
        data["no_retry"] = "do_not_call"
    audit.record(session, actor, "callback.outcome", "callback", request.id, data)
    return request


# ---------------------------------------------------------------- the job

def follow_through(hl: Hotline) -> None:
    """The scheduler's job: queue the survey calls that are due, then place what is queued with
    the dialer the voice side installed (`hl.extensions["dialer"]`), if any."""
    with hl.session() as s, s.begin():
        queued = queue_survey_calls(s)
    if queued:
        log.info("survey calls queued: %s", ", ".join(c.key for c in queued))
    dialer = hl.extensions.get(DIALER)
    if dialer is not None:
        place_queued(hl, dialer)
