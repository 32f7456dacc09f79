"""Call records and the screen-pop.

One `Call` row per call, keyed by the transport's id (Asterisk uniqueid, Twilio CallSid). The
IVR appends to its path and sets its outcome; queue events (AMI, Twilio, the simulator) offer
the call to an agent, which writes an `AgentEvent` (so a reconnecting console catches up by
id) and publishes `agent.<user_id>` on the bus after commit.

The voice menu starts and ends a call on every call it takes, so those writes are single Core
statements built once (`open_call`, `update_call`, `finish_call`): the ORM's query and unit of
work would cost several times what the database spends on them. A `Call` object of the same
row in the session is kept in step with what they write.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Boolean, and_, bindparam, case, func, or_, select, update
from sqlalchemy.exc import NoResultFound
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from .bus import publish_after_commit
from .context import hotline_of
from .customers import find_by_phone
from .db import insert_row
from .models import Address, AgentEvent, Call, Complaint, Customer, CustomerPhone, Survey, User, WorkOrder
from .phones import ANONYMOUS, national, normalize_caller
from .prepared import Prepared
from .timeutil import to_local
from .workflow import OPEN_STATES

OUTCOMES = ("booked", "status", "complaint", "agent", "callback", "abandoned", "ended", "failed",
            "busy", "no-answer")
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


_CALL_BY_EXTERNAL_ID = Prepared(select(Call.id, Call.caller).where(Call.external_id == bindparam("external_id")))
# Customer.default_address in SQL: the first address marked default, else the first one.
_DEFAULT_ADDRESS = (select(Address.id).where(Address.customer_id == Customer.id)
                    .order_by(Address.is_default.desc(), Address.id).limit(1).correlate(Customer).scalar_subquery())
_CALLER = Prepared(select(Customer.id, Customer.name, Customer.language, Address.text, Address.district_id)
                   .select_from(CustomerPhone).join(Customer, Customer.id == CustomerPhone.customer_id)
                   .outerjoin(Address, Address.id == _DEFAULT_ADDRESS)
                   .where(CustomerPhone.e164 == bindparam("e164")))


def open_call(session: Session, external_id: str, transport: str, caller_raw: str | None) -> OpenedCall:
    """Insert the call's row (a repeated start, a replayed webhook, finds the same row) and
    read what the menu needs to know about the caller."""
    row = _CALL_BY_EXTERNAL_ID.first(session, {"external_id": external_id})
    caller = row[1] if row is not None else normalize_caller(caller_raw)
    known = _CALLER.first(session, {"e164": caller}) if caller != ANONYMOUS else None
    if row is not None:
        pk = row[0]
    else:
        # Not INSERT ... ON CONFLICT DO NOTHING: SQLAlchemy compiles that again on every
        # execution, which costs more than the SELECT it saves.
        pk = insert_row(session, _CALLS, {
            "external_id": external_id, "transport": transport, "caller": caller,
            "customer_id": known[0] if known else None, "started_at": hotline_of(session).now(),
            "ivr_path": []})
    if known is None:
        return OpenedCall(pk, caller)
    return OpenedCall(pk, caller, *known)


def start_call(session: Session, external_id: str, transport: str, caller_raw: str | None) -> Call:
    """The call's row; a repeated start (a replayed webhook) returns the same row."""
    return session.get(Call, open_call(session, external_id, transport, caller_raw).id)


def get_call(session: Session, external_id: str) -> Call | None:
    return session.scalar(select(Call).where(Call.external_id == external_id))


def call_ref(session: Session, call_id: int) -> Call:
    """The call's row as a persistent object of `session`, without reading it: enough to link
    to it (`orders.book(call=...)`); any other attribute is loaded on first access."""
    call = session.identity_map.get(identity_key(Call, call_id))
    if call is None:
        call = Call(id=call_id)
        make_transient_to_detached(call)
        session.add(call)
    return call


# The first final outcome wins, except that a call that reached the queue (`agent`) takes the
# outcome it ends with unless that is only the hang-up; the first abandon point and end time stay.
_FINISH = {
    "outcome": case((or_(func.coalesce(Call.outcome, "") == "",
                         and_(Call.outcome == "agent", bindparam("over_agent", type_=Boolean))),
                     bindparam("new_outcome")), else_=Call.outcome),
    "abandoned_at": func.coalesce(func.nullif(Call.abandoned_at, ""), bindparam("new_abandoned_at")),
    "ended_at": func.coalesce(Call.ended_at, bindparam("new_ended_at")),
}
_STATEMENTS: dict[tuple[frozenset[str], bool], Prepared] = {}
_CALLS = Call.__table__


def _write(session: Session, call_id: int, columns: dict[str, Any], finish: dict[str, Any] | None = None) -> None:
    """One UPDATE of the call's row (built once per set of columns). The session's object of the
    row, if it has one, takes the new values; its own pending changes to them are written first."""
    shape = (frozenset(columns), finish is not None)
    obj = session.identity_map.get(identity_key(Call, call_id))
    if obj is not None and not sa_inspect(obj).committed_state.keys().isdisjoint(
            shape[0] | (_FINISH.keys() if finish is not None else set())):
        session.flush()
    stmt = _STATEMENTS.get(shape)
    if stmt is None:
        # Bound as new_<column>: SQLAlchemy reserves a column's own name for its SET value.
        update_ = update(_CALLS).where(_CALLS.c.id == bindparam("call_id")).values(
            {c: bindparam(f"new_{c}") for c in columns})
        if finish is not None:
            update_ = update_.values(_FINISH).returning(*(_CALLS.c[c] for c in _FINISH))
        stmt = _STATEMENTS[shape] = Prepared(update_)
    params = {"call_id": call_id, **{f"new_{c}": v for c, v in columns.items()}, **(finish or {})}
    if finish is not None:
        row = stmt.first(session, params)
        if row is None:
            raise NoResultFound(f"no call {call_id}")
        ended = dict(zip(_FINISH, row))
    else:
        stmt.run(session, params)
        ended = {}
    if obj is not None:
        for key, value in {**columns, **ended}.items():
            set_committed_value(obj, key, value)


def update_call(session: Session, call_id: int, **columns: Any) -> None:
    """Set columns of a call's row in one statement (the IVR path as the caller moves on)."""
    _write(session, call_id, columns)


def finish_call(session: Session, call: Call | int, outcome: str, *, abandoned_at: str = "",
                **columns: Any) -> None:
    """Set how the call ended (and any other `columns` with it) in one statement; the first final
    outcome wins over a later `abandoned`. `call` is the row's object or its id."""
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome {outcome!r} is not one of {', '.join(OUTCOMES)}")
    _write(session, call if isinstance(call, int) else call.id, columns, {
        "new_outcome": outcome, "over_agent": outcome not in _AFTER_AGENT, "new_abandoned_at": abandoned_at,
        "new_ended_at": hotline_of(session).now()})


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
