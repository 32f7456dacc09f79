"""Agents at work: their presence (which routes calls to them) and the wrap-up of a call they took.

Presence is what `calls.pick_available_agent` reads (the agent chooses it; a softphone call moves
an available agent to on_call, then wrap_up, then back to available); the extension is what
`calls.agent_for_member` matches against the queue member Asterisk or Twilio names. Both changes
are audited and pushed to the agent's own console stream, so every tab the agent has open shows
the same state.
"""
from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from . import audit
from .actors import SYSTEM, Actor
from .calls import customer_card, push_agent_event
from .context import hotline_of
from .errors import NotFound, PermissionDenied, ValidationError
from .models import AgentEvent, Call, User
from .timeutil import to_local

PRESENCES = ("available", "busy", "away")
# Set by the agent's own call, never chosen: on a call taken with the Twilio softphone, then writing
# it up. Neither is "available", so the next caller is not offered to that agent. (On Asterisk the
# queue itself knows a member is on a call and holds it for `wrapuptime`.)
ON_CALL, WRAP_UP = "on_call", "wrap_up"
CALL_PRESENCES = (ON_CALL, WRAP_UP)

# What the call was about, chosen by the agent at wrap-up: code -> (中文, English).
DISPOSITIONS: dict[str, tuple[str, str]] = {
    "booked": ("已下单", "Order booked"),
    "order_query": ("工单查询", "Order enquiry"),
    "change": ("改约/取消", "Reschedule or cancel"),
    "info": ("咨询", "Information given"),
    "complaint": ("投诉", "Complaint taken"),
    "callback": ("需回电", "Call back needed"),
    "wrong_number": ("打错电话", "Wrong number"),
    "silent": ("无声/掉线", "Silent or dropped"),
    "other": ("其他", "Other"),
}

# A PJSIP/SIP/IAX2/Local queue member (`PJSIP/agent1`, `Local/agent1@agents`) or a Twilio
# client identity: letters, digits and the separators those names use, nothing a dialplan could
# misread.
_EXTENSION = re.compile(r"^[A-Za-z0-9_.:@/+-]{1,32}$")
NOTES_MAX = 4000

# Roles that may take calls in the console; supervisors may also answer and wrap up any call.
CALL_TAKING_ROLES = ("agent", "supervisor")
# An offer not wrapped up is still "the current call" on a reopened workspace this long after it
# started; older ones are listed as recent calls only.
CURRENT_CALL_WINDOW = timedelta(hours=2)
RECENT_CALLS = 10


def set_presence(session: Session, user: User, actor: Actor, presence: str,
                 extension: str | None = None) -> User:
    """Set `user`'s presence (and extension when given); audited and pushed to their console.

    Only the user themself, a supervisor or an admin may change it.
    """
    if user.role not in CALL_TAKING_ROLES:
        raise ValidationError("{username} is a {role}; presence is for {call_taking_roles}", username=user.username, role=user.role, call_taking_roles=', '.join(CALL_TAKING_ROLES))
    if actor.user_id != user.id and actor.role not in ("supervisor", "admin"):
        raise PermissionDenied("only the agent themself, a supervisor or an admin may change an agent's presence")
    if presence not in PRESENCES:
        raise ValidationError("presence {presence!r} is not one of {presences}", presence=presence, presences=', '.join(PRESENCES))
    changes: dict[str, list[str]] = {}
    if extension is not None:
        extension = extension.strip()
        if extension and not _EXTENSION.match(extension):
            raise ValidationError("extension {extension!r} is not a queue member or Twilio client name; use e.g. PJSIP/agent1 or client:agent1 (letters, digits, / : @ . _ - +)", extension=extension)
        if extension:
            holder = session.scalar(select(User).where(User.extension == extension, User.active,
                                                       User.id != user.id))
            if holder is not None:
                raise ValidationError("extension {extension} is already used by {username}; each agent needs their own so calls pop on the right screen", extension=extension, username=holder.username)
        if extension != user.extension:
            changes["extension"] = [user.extension, extension]
            user.extension = extension
    if presence != user.presence:
        changes["presence"] = [user.presence, presence]
        user.presence = presence
    if changes:
        _presence_changed(session, user, actor, changes)
    return user


def _presence_changed(session: Session, user: User, actor: Actor, changes: dict[str, Any]) -> None:
    if "presence" in changes:
        user.presence_since = hotline_of(session).now()
    audit.record(session, actor, "agent.presence", "user", user.id, changes)
    push_agent_event(session, user, "presence", {"presence": user.presence, "extension": user.extension})


def _follow_call(session: Session, user: User, actor: Actor, call: Call, before: tuple[str, ...], after: str) -> None:
    """Move `user` to `after` if their presence is one of `before`: a presence the agent chose
    themself (busy, away, or available pressed during the call) always stands."""
    if user.presence in before:
        changes = {"presence": [user.presence, after], "call_id": call.id}
        user.presence = after
        _presence_changed(session, user, actor, changes)


def call_taken(session: Session, user: User, call: Call) -> None:
    """`user` took `call` on the softphone: on the call, so the next caller is offered to someone else."""
    _follow_call(session, user, SYSTEM, call, ("available", WRAP_UP), ON_CALL)


def call_ended(session: Session, user: User, call: Call) -> None:
    """`user`'s softphone call ended: wrap-up, until they save the call's disposition."""
    _follow_call(session, user, SYSTEM, call, (ON_CALL,), WRAP_UP)


def end_due_wrap_ups(session: Session) -> list[str]:
    """Agents in wrap-up for WRAP_UP_SECONDS are available again (the scheduler's wrap-up timer);
    their usernames. The wrap-up form can still be saved afterwards. 0 seconds: never."""
    hl = hotline_of(session)
    seconds = hl.settings.wrap_up_seconds
    if seconds <= 0:
        return []
    due = session.scalars(select(User).where(
        User.presence == WRAP_UP,
        or_(User.presence_since.is_(None), User.presence_since <= hl.now() - timedelta(seconds=seconds)))
        .order_by(User.id)).all()
    for user in due:
        user.presence = "available"
        _presence_changed(session, user, SYSTEM, {"presence": [WRAP_UP, "available"],
                                                  "reason": f"wrap-up time ({seconds} s) over"})
    return [u.username for u in due]


def wrap_up_time(session: Session, ended_at) -> int:
    """Seconds of wrap-up of a call that ended at `ended_at` and is wrapped up now: at most
    WRAP_UP_SECONDS (after that the agent is offered calls again), when that is set."""
    hl = hotline_of(session)
    seconds = max(0, int((hl.now() - ended_at).total_seconds()))
    return min(seconds, hl.settings.wrap_up_seconds) if hl.settings.wrap_up_seconds else seconds


def wrap_up(session: Session, call: Call, actor: Actor, disposition: str, notes: str = "") -> Call:
    """Save the agent's disposition and notes on the call record; a later wrap-up amends it (audited).
    An agent in wrap-up after this call is available again.

    Allowed for the agent the call was offered to, a supervisor or an admin.
    """
    if actor.user_id is None or (actor.user_id != call.agent_user_id and actor.role not in ("supervisor", "admin")):
        raise PermissionDenied("only the agent who took the call, a supervisor or an admin may wrap it up")
    if disposition not in DISPOSITIONS:
        raise ValidationError("disposition {disposition!r} is not one of {dispositions}", disposition=disposition, dispositions=', '.join(DISPOSITIONS))
    notes = (notes or "").strip()
    if len(notes) > NOTES_MAX:
        raise ValidationError("call notes are {length} characters; keep them under {notes_max}", length=len(notes), notes_max=NOTES_MAX)
    audit.record(session, actor, "call.wrap_up", "call", call.id,
                 {"disposition": [call.disposition, disposition], "notes": notes})
    call.disposition = disposition
    call.notes = notes
    if call.wrap_seconds is None and call.ended_at is not None:
        call.wrap_seconds = wrap_up_time(session, call.ended_at)
    agent = session.get(User, call.agent_user_id) if call.agent_user_id else None
    # Wrapping up the call that put the agent in wrap-up makes them available again (not an older one's).
    if agent is not None and agent.presence == WRAP_UP and call.id == session.scalar(
            select(func.max(Call.id)).where(Call.agent_user_id == agent.id, Call.queue_result == "answered")):
        _follow_call(session, agent, actor, call, (WRAP_UP,), "available")
    return call


def _call_row(call: Call, tz) -> dict[str, Any]:
    return {"id": call.id, "external_id": call.external_id, "transport": call.transport, "caller": call.caller,
            "started": to_local(call.started_at, tz).strftime("%Y-%m-%d %H:%M:%S"),
            "ended": call.ended_at is not None, "outcome": call.outcome, "queue_result": call.queue_result,
            "talk_seconds": call.talk_seconds,
            "disposition": call.disposition, "notes": call.notes, "order_id": call.order_id}


def desk(session: Session, user: User) -> dict[str, Any]:
    """The agent's workspace: presence, the newest event id (where the live stream starts), the
    current call (the newest offer, while it is still theirs, recent and not wrapped up) and the
    recent calls offered."""
    hl = hotline_of(session)
    offers = session.execute(
        select(AgentEvent, Call).join(Call, AgentEvent.call_id == Call.id)
        .where(AgentEvent.user_id == user.id, AgentEvent.kind == "offer")
        .order_by(AgentEvent.id.desc()).limit(RECENT_CALLS)).all()
    recent = []
    for ev, call in offers:
        card = ev.payload.get("card") or {}
        recent.append({"event_id": ev.id, "call": _call_row(call, hl.tz),
                       "caller_display": card.get("caller_display", call.caller), "name": card.get("name", "")})
    current = None
    if offers:
        ev, call = offers[0]
        # Still this agent's call (not missed and taken by another), not wrapped up, and recent.
        if call.agent_user_id == user.id and not call.disposition \
                and call.started_at >= hl.now() - CURRENT_CALL_WINDOW:
            current = ev.id
    last = session.scalar(select(func.max(AgentEvent.id)).where(AgentEvent.user_id == user.id)) or 0
    return {"presence": user.presence, "extension": user.extension, "last_event_id": last,
            "current_event_id": current, "recent": recent}


def screen_pop(session: Session, user: User, event_id: int) -> dict[str, Any]:
    """One offer as the agent's screen shows it: the caller's card as it is now (an order booked
    since the offer is on it), what the caller did in the IVR, and the call record.

    Only the agent the offer was made to sees it (NotFound for anyone else's).
    """
    ev = session.get(AgentEvent, event_id)
    if ev is None or ev.user_id != user.id or ev.kind != "offer" or ev.call_id is None:
        raise NotFound("no call offer {event_id} on your screen", event_id=event_id)
    call = session.get(Call, ev.call_id)
    hl = hotline_of(session)
    return {"event_id": ev.id, "call": _call_row(call, hl.tz), "card": customer_card(session, call.caller),
            "ivr": dict(ev.payload.get("ivr") or {})}
