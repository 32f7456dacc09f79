"""Call records and the screen-pop.

One `Call` row per call, keyed by the transport's id (Asterisk uniqueid, Twilio CallSid). The
IVR appends to its path and sets its outcome; queue events (AMI, Twilio, the simulator) offer
the call to an agent, which writes an `AgentEvent` (so a reconnecting console catches up by
id) and publishes `agent.<user_id>` on the bus after commit.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .bus import publish_after_commit
from .context import hotline_of
from .customers import find_by_phone
from .models import AgentEvent, Call, Complaint, Survey, User, WorkOrder
from .phones import ANONYMOUS, national, normalize_caller
from .timeutil import to_local
from .workflow import OPEN_STATES

OUTCOMES = ("booked", "status", "complaint", "agent", "callback", "abandoned", "ended", "failed",
            "busy", "no-answer")


def start_call(session: Session, external_id: str, transport: str, caller_raw: str | None) -> Call:
    """The call's row; a repeated start (a replayed webhook) returns the same row."""
    call = session.scalar(select(Call).where(Call.external_id == external_id))
    if call is not None:
        return call
    caller = normalize_caller(caller_raw)
    cust = find_by_phone(session, caller) if caller != ANONYMOUS else None
    call = Call(external_id=external_id, transport=transport, caller=caller,
                customer_id=cust.id if cust else None, started_at=hotline_of(session).now(), ivr_path=[])
    session.add(call)
    session.flush()
    return call


def get_call(session: Session, external_id: str) -> Call | None:
    return session.scalar(select(Call).where(Call.external_id == external_id))


def finish_call(session: Session, call: Call, outcome: str, *, abandoned_at: str = "") -> Call:
    """Set how the call ended; the first final outcome wins over a later `abandoned`."""
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome {outcome!r} is not one of {', '.join(OUTCOMES)}")
    if not call.outcome or call.outcome in ("agent",) and outcome not in ("abandoned", "ended"):
        call.outcome = outcome
    if abandoned_at and not call.abandoned_at:
        call.abandoned_at = abandoned_at
    if call.ended_at is None:
        call.ended_at = hotline_of(session).now()
    return call


def customer_card(session: Session, caller: str) -> dict[str, Any]:
    """What pops on the agent's screen for `caller` (E.164 or 'anonymous')."""
    hl = hotline_of(session)
    tz = hl.tz
    card: dict[str, Any] = {"caller": caller, "caller_display": national(caller) if caller != ANONYMOUS else "匿名",
                            "known": False}
    cust = find_by_phone(session, caller) if caller != ANONYMOUS else None
    if cust is None:
        return card
    orders = session.scalars(select(WorkOrder).where(WorkOrder.customer_id == cust.id)
                             .order_by(WorkOrder.created_at.desc()).limit(10)).all()
    complaints = session.scalars(select(Complaint).where(Complaint.customer_id == cust.id,
                                                         Complaint.status == "open")).all()
    last_survey = session.scalar(select(Survey).join(WorkOrder, Survey.order_id == WorkOrder.id).where(
        WorkOrder.customer_id == cust.id, Survey.status == "answered").order_by(Survey.answered_at.desc()).limit(1))

    def order_row(o: WorkOrder) -> dict:
        return {"number": o.number, "status": o.status, "service": o.service.name_zh, "service_code": o.service.code,
                "when": to_local(o.scheduled_start, tz).strftime("%Y-%m-%d %H:%M"),
                "franchisee": o.franchisee.name if o.franchisee else None}

    card.update(
        known=True, customer_id=cust.id, name=cust.name, language=cust.language, member_level=cust.member_level,
        balance_fen=cust.card_balance_fen, phones=[p.e164 for p in cust.phones],
        addresses=[{"id": a.id, "text": a.text, "district": a.district.name_zh if a.district else None,
                    "district_id": a.district_id, "default": a.is_default} for a in cust.addresses],
        open_orders=[order_row(o) for o in orders if o.status in OPEN_STATES],
        recent_orders=[order_row(o) for o in orders if o.status not in OPEN_STATES][:5],
        open_complaints=[{"id": c.id, "text": c.text, "due": to_local(c.due_at, tz).strftime("%Y-%m-%d %H:%M")}
                         for c in complaints],
        last_survey_score=last_survey.score if last_survey else None)
    return card


def pick_available_agent(session: Session) -> User | None:
    """The available agent who was offered a call least recently (simulator, Twilio)."""
    last_offer = (select(AgentEvent.user_id, func.max(AgentEvent.id).label("last"))
                  .where(AgentEvent.kind == "offer").group_by(AgentEvent.user_id).subquery())
    return session.scalar(
        select(User).outerjoin(last_offer, last_offer.c.user_id == User.id)
        .where(User.role == "agent", User.active, User.presence == "available")
        .order_by(func.coalesce(last_offer.c.last, 0), User.id).limit(1))


def agent_for_member(session: Session, member: str) -> User | None:
    """The agent behind a queue member (`PJSIP/agent1`, `Local/agent1@...`, or a Twilio client name)."""
    member = (member or "").strip()
    user = session.scalar(select(User).where(User.extension == member, User.active))
    if user is None and "/" in member:
        name = member.split("/", 1)[1].split("@")[0].split("-")[0]
        user = session.scalar(select(User).where(User.username == name, User.active))
    return user


def push_agent_event(session: Session, user: User, kind: str, payload: dict[str, Any],
                     call: Call | None = None) -> AgentEvent:
    """Store an event for one agent's console and publish it after commit."""
    ev = AgentEvent(user_id=user.id, kind=kind, payload=payload, call_id=call.id if call else None,
                    created_at=hotline_of(session).now())
    session.add(ev)
    session.flush()
    publish_after_commit(session, f"agent.{user.id}", {"id": ev.id, "kind": kind, "payload": payload})
    return ev


def offer_call(session: Session, call: Call, agent: User, ivr: dict[str, Any] | None = None) -> AgentEvent:
    """Pop the caller's card on `agent`'s screen, with what the caller did in the IVR."""
    call.agent_user_id = agent.id
    if not call.outcome:
        call.outcome = "agent"
    info = {"language": call.language, "path": list(call.ivr_path or []),
            "order": None}
    if call.order_id:
        o = session.get(WorkOrder, call.order_id)
        info["order"] = o.number if o else None
    info.update(ivr or {})
    payload = {"call_id": call.id, "external_id": call.external_id, "transport": call.transport,
               "card": customer_card(session, call.caller), "ivr": info}
    return push_agent_event(session, agent, "offer", payload, call)


def offered_agents(session: Session, call: Call) -> list[User]:
    """The agents whose screens popped this call (to tell them when the caller leaves the queue)."""
    return list(session.scalars(select(User).join(AgentEvent, AgentEvent.user_id == User.id).where(
        AgentEvent.call_id == call.id, AgentEvent.kind == "offer").distinct()))
