"""Call records and the screen-pop.

One `Call` row per call, keyed by the transport's id (Asterisk uniqueid, Twilio CallSid). The
IVR appends to its path and sets its outcome; queue events (AMI, Twilio, the simulator) offer
the call to an agent, which writes an `AgentEvent` (so a reconnecting console catches up by
id) and publishes `agent.<user_id>` on the bus after commit.

A call's row is written from two sides at once: the voice menu (its path, its outcome) and the
queue events (AMI, Twilio: the agent, the times). `update_call` and `finish_call` are single
UPDATE statements whose new values are computed by the database from the row as it is then
(the first final outcome wins), so neither side can overwrite what the other just wrote; an
object of the row in the session has those columns expired, so it reads what they wrote.
`offer_call` reads and writes the agent columns under a row lock.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Boolean, and_, bindparam, case, func, or_, select, update
from sqlalchemy.exc import NoResultFound
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from .bus import publish_after_commit
from .cards import card_of, queue_priority
from .complaints import UNRESOLVED
from .context import hotline_of
from .customers import find_by_phone
from .models import Address, AgentEvent, Call, Complaint, Customer, CustomerPhone, Survey, User, WorkOrder
from .phones import ANONYMOUS, national, normalize_caller
from .timeutil import to_local
from .workflow import OPEN_STATES

OUTCOMES = ("booked", "status", "complaint", "agent", "callback", "abandoned", "ended", "failed",
            "busy", "no-answer", "survey", "machine")
# Outcomes that do not replace `agent` (the caller reached the queue, then hung up or was done).
_AFTER_AGENT = ("abandoned", "ended")


@dataclass(frozen=True)
class OpenedCall:
    """A call's row as the voice menu starts it: its id, the caller, and what we know of them."""
    id: int
    caller: str                       # E.164, or "anonymous"
    customer_id: int | None = None
    name: str = ""
    language: str | None = None
    address: str | None = None        # the customer's default address (Customer.default_address)
    district_id: int | None = None
    member_level: str = "standard"    # what the card's level gives the caller: tickets.cards.level_rules


_BY_EXTERNAL_ID = select(Call).where(Call.external_id == bindparam("external_id"))
# Customer.default_address in SQL: the first address marked default, else the first one.
_DEFAULT_ADDRESS = (select(Address.id).where(Address.customer_id == Customer.id)
                    .order_by(Address.is_default.desc(), Address.id).limit(1).correlate(Customer).scalar_subquery())
_CALLER = (select(Customer.id, Customer.name, Customer.language, Address.text, Address.district_id, Customer.member_level)
           .select_from(CustomerPhone).join(Customer, Customer.id == CustomerPhone.customer_id)
           .outerjoin(Address, Address.id == _DEFAULT_ADDRESS)
           .where(CustomerPhone.e164 == bindparam("e164")))


def open_call(session: Session, external_id: str, transport: str, caller_raw: str | None) -> OpenedCall:
    """The call's row, inserted on the first start (a repeated start, a replayed webhook, finds
    the same row), and what the menu needs to know about the caller."""
    call = get_call(session, external_id)
    caller = call.caller if call is not None else normalize_caller(caller_raw)
    known = session.execute(_CALLER, {"e164": caller}).first() if caller != ANONYMOUS else None
    if call is None:
        call = Call(external_id=external_id, transport=transport, caller=caller,
                    customer_id=known[0] if known else None, started_at=hotline_of(session).now(), ivr_path=[])
        session.add(call)
        session.flush()
    if known is None:
        return OpenedCall(call.id, caller)
    return OpenedCall(call.id, caller, *known)


def start_call(session: Session, external_id: str, transport: str, caller_raw: str | None) -> Call:
    """The call's row; a repeated start (a replayed webhook) returns the same row."""
    return session.get(Call, open_call(session, external_id, transport, caller_raw).id)


def get_call(session: Session, external_id: str) -> Call | None:
    return session.scalar(_BY_EXTERNAL_ID, {"external_id": external_id})


_CALLS = Call.__table__


# The first final outcome wins, except that a call that reached the queue (`agent`) takes the
# outcome it ends with unless that is only the hang-up; the first abandon point stays. The end
# time stays too, except for a call in the queue: the menu's hand-over is not the end of the
# call, the queue's end of it (AMI AgentComplete, an abandon, Twilio's status) is.
def _finish_values(outcome: str, abandoned_at: str, ended_at) -> dict[str, Any]:
    c = _CALLS.c
    over_agent = outcome not in _AFTER_AGENT
    new_ended_at = bindparam("new_ended_at", ended_at)
    return {
        "outcome": case((or_(func.coalesce(c.outcome, "") == "",
                             and_(c.outcome == "agent", bindparam("over_agent", over_agent, type_=Boolean))),
                         bindparam("new_outcome", outcome)), else_=c.outcome),
        "abandoned_at": func.coalesce(func.nullif(c.abandoned_at, ""), bindparam("new_abandoned_at", abandoned_at)),
        "ended_at": case((c.outcome == "agent", new_ended_at), else_=func.coalesce(c.ended_at, new_ended_at)),
    }


def _write(session: Session, call_id: int, values: dict[str, Any]) -> None:
    """One UPDATE of the call's row (columns by name); the session's object of the row, if it
    has one, reads those columns again."""
    call = session.identity_map.get(identity_key(Call, call_id))
    if call is not None and call in session.dirty:
        session.flush()                 # its own pending changes first, so none is lost
    result = session.execute(update(_CALLS).where(_CALLS.c.id == call_id).values(values))
    if result.rowcount == 0:
        raise NoResultFound(f"no call {call_id}")
    if call is not None:
        session.expire(call, list(values))


def update_call(session: Session, call_id: int, **columns: Any) -> None:
    """Set columns of a call's row in one statement (the IVR path as the caller moves on)."""
    _write(session, call_id, columns)


def finish_call(session: Session, call: Call | int, outcome: str, *, abandoned_at: str = "",
                **columns: Any) -> None:
    """Set how the call ended (and any other `columns` with it) in one statement; the first final
    outcome wins over a later `abandoned`. `call` is the row's object or its id."""
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome {outcome!r} is not one of {', '.join(OUTCOMES)}")
    values = {**columns, **_finish_values(outcome, abandoned_at, hotline_of(session).now())}
    _write(session, call if isinstance(call, int) else call.id, values)


def menu_failed(session: Session, external_id: str, transport: str, caller_raw: str | None, why: str = "") -> Call:
    """A call the voice menu could not handle (FastAGI down, refused, crashed), as the PBX reports
    it: the call gets its record (outcome `failed`, unless the menu already wrote how it ended),
    so an outage at night leaves a trace for the supervisors' wallboard."""
    call = start_call(session, external_id, transport, caller_raw)
    finish_call(session, call, "failed", notes=why[:200] if why and not call.notes else call.notes)
    publish_after_commit(session, "call.menu_failed", {"call_id": call.id, "external_id": external_id,
                                                        "caller": call.caller, "why": why})
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
                                                         Complaint.status.in_(UNRESOLVED))).all()
    last_survey = session.scalar(select(Survey).join(WorkOrder, Survey.order_id == WorkOrder.id).where(
        WorkOrder.customer_id == cust.id, Survey.status == "answered").order_by(Survey.answered_at.desc()).limit(1))

    def order_row(o: WorkOrder) -> dict:
        return {"number": o.number, "status": o.status, "service": o.service.name_zh, "service_code": o.service.code,
                "when": to_local(o.scheduled_start, tz).strftime("%Y-%m-%d %H:%M"),
                "franchisee": o.franchisee.name if o.franchisee else None}

    member_card = card_of(session, cust)
    card.update(
        known=True, customer_id=cust.id, name=cust.name, language=cust.language, member_level=cust.member_level,
        card_number=member_card.number if member_card else None,
        card_status=member_card.status if member_card else None,
        balance_fen=member_card.balance_fen if member_card else None,
        queue_priority=queue_priority(hl.settings, cust), phones=[p.e164 for p in cust.phones],
        addresses=[{"id": a.id, "text": a.text, "district": a.district.name_zh if a.district else None,
                    "district_id": a.district_id, "default": a.is_default} for a in cust.addresses],
        open_orders=[order_row(o) for o in orders if o.status in OPEN_STATES],
        recent_orders=[order_row(o) for o in orders if o.status not in OPEN_STATES][:5],
        open_complaints=[{"id": c.id, "text": c.text, "recording": bool(c.recording), "source": c.source,
                          "order": c.order.number if c.order else None,
                          "due": to_local(c.due_at, tz).strftime("%Y-%m-%d %H:%M")} for c in complaints],
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
    # Locked (PostgreSQL) and read afresh while we read and write its outcome: the voice menu
    # may be finishing it. The caller's own changes to it are written first, not lost.
    session.flush()
    session.refresh(call, with_for_update=True)
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


def caller_left_queue(session: Session, call: Call, summary: dict[str, Any], *, abandoned_at: str = "queue") -> None:
    """The caller hung up while waiting for an agent: the call ends abandoned, and every agent whose
    screen popped it is told, so no card keeps saying it is ringing."""
    call.queue_result = "abandoned"
    finish_call(session, call, "abandoned", abandoned_at=abandoned_at)
    for agent in offered_agents(session, call):
        push_agent_event(session, agent, "abandon", summary, call)
    publish_after_commit(session, "call.abandoned", summary)


def offered_agents(session: Session, call: Call) -> list[User]:
    """The agents whose screens popped this call (to tell them when the caller leaves the queue)."""
    return list(session.scalars(select(User).join(AgentEvent, AgentEvent.user_id == User.id).where(
        AgentEvent.call_id == call.id, AgentEvent.kind == "offer").distinct()))
