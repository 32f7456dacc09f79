"""The work-order lifecycle: one transition table, one `transition()` that applies it.

Every change of a work order goes through `transition()`: it checks the move, the actor's
role and what the move requires, writes the change and its event row in the caller's
transaction, runs the in-transaction listeners (SMS notices), and queues a bus event that is
published only after commit.

Two people may move one order at once (the franchisee accepts while the watchdog expires it).
Every write of the order names the version it read (`WorkOrder.version`, SQLAlchemy's
version_id_col), so the second writer gets `ConcurrentChange` instead of silently undoing the
first: see docs/core-api.md.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from .actors import Actor
from .bookable import check_bookable
from .bus import publish_after_commit
from .concurrency import flush_or_conflict
from .context import hotline_of
from .errors import PermissionDenied, TransitionError, ValidationError
from .escalation import managers_to_tell
from .models import PriceLine, Survey, WorkOrder, WorkOrderEvent, Worker
from .pricing import check_fen, late_change_penalty
from .timeutil import to_local
from .workhours import accept_deadline

STATES = ("new", "confirmed", "dispatched", "accepted", "in_service", "completed", "closed",
          "cancelled", "rework")
OPEN_STATES = ("new", "confirmed", "dispatched", "accepted", "in_service", "rework")
BEFORE_SERVICE = ("new", "confirmed", "dispatched", "accepted")

STAFF = frozenset({"agent", "dispatcher", "district_manager", "callback", "supervisor", "admin"})
DISPATCHERS = frozenset({"dispatcher", "district_manager", "supervisor", "admin"})


@dataclass(frozen=True)
class Move:
    action: str
    sources: tuple[str, ...]
    target: Optional[str]          # None: the order stays in its state (an audited change)
    roles: frozenset[str]
    requires: tuple[str, ...] = ()
    label_zh: str = ""


# The whole lifecycle. Read a row as: `action` takes an order in one of `sources` to `target`,
# may be done by `roles`, and needs `requires` (parameters, or fields the order must have).
MOVES: dict[str, Move] = {m.action: m for m in (
    Move("confirm", ("new",), "confirmed",   # district_id= when the address matched none
         STAFF - {"callback"} | {"customer", "system"}, ("district",), "确认"),
    Move("dispatch", ("confirmed",), "dispatched", DISPATCHERS | {"system"}, ("franchisee",), "派工"),
    # The engine found no franchisee that can take it: the reason is kept, the customer told once.
    Move("unassigned", ("confirmed",), None, frozenset({"system"}), ("reason",), "无人接单"),
    Move("accept", ("dispatched",), "accepted", frozenset({"franchisee", "admin"}), (), "接单"),
    Move("reject", ("dispatched",), "confirmed", frozenset({"franchisee"}), ("reason",), "拒单"),
    Move("expire", ("dispatched",), "confirmed", frozenset({"system"}), (), "接单超时"),
    Move("recall", ("dispatched", "accepted"), "confirmed", DISPATCHERS, ("reason",), "改派"),
    Move("assign_worker", ("accepted", "rework", "in_service"), None,
         frozenset({"franchisee", "admin"}), ("worker",), "指派服务人员"),
    Move("start", ("accepted", "rework"), "in_service", frozenset({"franchisee", "admin"}),
         ("assigned_worker",), "开始服务"),
    Move("complete", ("in_service",), "completed", frozenset({"franchisee", "admin"}),
         ("assigned_worker", "final_price_fen"), "完工"),
    Move("close", ("completed",), "closed", frozenset({"callback", "supervisor", "admin", "customer", "system"}),
         ("survey",), "回访结案"),
    Move("reschedule", BEFORE_SERVICE, None, STAFF - {"callback", "supervisor"} | {"customer"}, ("when",), "改期"),
    Move("cancel", BEFORE_SERVICE, "cancelled", STAFF - {"callback", "supervisor"} | {"customer"}, ("reason",), "取消"),
    Move("rework", ("completed", "closed"), "rework",
         frozenset({"callback", "supervisor", "admin", "dispatcher"}), ("reason",), "返工"),
    Move("note", OPEN_STATES + ("completed",), None, STAFF | {"franchisee", "system"}, ("text",), "备注"),
    # The follow-through jobs (tickets.followup): the day-before reminder, urging (催办) a late
    # order's franchisee, and handing it to the district manager. Audited changes of no state.
    Move("remind", ("dispatched", "accepted"), None, frozenset({"system"}), (), "服务提醒"),
    Move("urge", ("confirmed", "dispatched", "accepted", "in_service"), None, frozenset({"system"}),
         ("overdue",), "催办"),
    Move("escalate", ("confirmed", "dispatched", "accepted", "in_service"), None, frozenset({"system"}),
         ("overdue",), "升级至片区经理"),
)}


def allowed_actions(order: WorkOrder, actor: Actor | None = None) -> list[str]:
    """Moves possible from the order's state (for this actor, when given)."""
    out = []
    for m in MOVES.values():
        if order.status in m.sources and (actor is None or _may(actor, m, order)):
            out.append(m.action)
    return out


def _may(actor: Actor, move: Move, order: WorkOrder) -> bool:
    if actor.role not in move.roles:
        return False
    if actor.role == "franchisee" and order.franchisee_id != actor.franchisee_id:
        return False
    if actor.role == "district_manager" and order.district_id not in actor.district_ids:
        return False
    return True


# What a move's requirement is called when it is missing (`needs` keeps the keys for translations).
REQUIREMENT_WORDS = {"district": "a district (the address matched none; pick one)",
                     "assigned_worker": "an assigned worker", "final_price_fen": "the final price in fen"}


def _require(move: Move, order: WorkOrder, params: dict[str, Any]) -> None:
    missing = []
    for req in move.requires:
        if req == "district" and order.district_id is None and params.get("district_id") is None:
            missing.append(req)
        elif req == "assigned_worker" and order.worker_id is None:
            missing.append(req)
        elif req in ("franchisee", "worker", "when", "survey", "overdue") and params.get(req) is None:
            missing.append(req)
        elif req in ("reason", "text") and not str(params.get(req) or "").strip():
            missing.append(req)
        elif req == "final_price_fen":
            if params.get(req) is None:
                missing.append(req)
            else:
                check_fen(params[req], "final price")
    if missing:
        raise ValidationError("{action} of order {number} needs {missing}", action=move.action, number=order.number,
                              missing=", ".join(REQUIREMENT_WORDS.get(m, m) for m in missing), needs=tuple(missing))


def transition(session: Session, order: WorkOrder, action: str, actor: Actor, **params: Any) -> WorkOrderEvent:
    """Apply `action` to `order` as `actor`, in the caller's transaction; returns the event row.

    Raises ConcurrentChange when someone else changed the order since it was read.
    """
    move = MOVES.get(action)
    if move is None:
        raise TransitionError("unknown action {action!r}; actions are: {moves}", action=action, moves=", ".join(MOVES),
                              status=order.status, allowed=tuple(allowed_actions(order)))
    if order.status not in move.sources:
        allowed = tuple(allowed_actions(order))
        raise TransitionError("order {number} is {status}; it cannot {action} (from {status} the allowed moves are: {moves})",
                              number=order.number, action=action, moves=", ".join(allowed) or "none",
                              status=order.status, allowed=allowed)
    if not _may(actor, move, order):
        mine = tuple(allowed_actions(order, actor))
        raise PermissionDenied("role {role} may not {action} order {number} (you may: {moves})", role=actor.role,
                               action=action, number=order.number, moves=", ".join(mine) or "nothing on this order")
    _require(move, order, params)
    hl = hotline_of(session)
    now = hl.now()
    data: dict[str, Any] = {}
    _EFFECTS.get(action, _no_effect)(session, order, params, now, data, hl)
    from_status = order.status
    if move.target:
        order.status = move.target
    order.updated_at = now
    for key in ("reason", "text"):
        if params.get(key):
            data[key] = str(params[key])
    return _record(session, hl, order, action, from_status, actor, data, now)


def _record(session: Session, hl, order: WorkOrder, action: str, from_status: str | None, actor: Actor,
            data: dict[str, Any], now: datetime) -> WorkOrderEvent:
    """Write the change and its event row, then run the listeners and queue the bus event."""
    ev = WorkOrderEvent(order=order, action=action, from_status=from_status, to_status=order.status,
                        actor_role=actor.role, actor_user_id=actor.user_id, actor_label=actor.label, data=data,
                        created_at=now)
    session.add(ev)
    # Now, not at the commit: the listeners key their work on the event's id, and a concurrent
    # change of the order is best refused before anything else is done on top of it.
    flush_or_conflict(session, f"order {order.number}")
    for listener in hl.order_listeners:
        listener(session, order, ev)
    publish_after_commit(session, f"order.{action}", {
        "order": order.number, "action": action, "from": from_status, "to": order.status,
        "franchisee_id": data.get("franchisee_id", order.franchisee_id), "district_id": order.district_id}, row=ev)
    return ev


def record_creation(session: Session, order: WorkOrder, actor: Actor, data: dict[str, Any]) -> WorkOrderEvent:
    """The first event of every order (its birth is part of the audit trail too)."""
    hl = hotline_of(session)
    return _record(session, hl, order, "create", None, actor, data, hl.now())


# ---------------------------------------------------------------- effects of moves

# Keys of an event's data that hold a naive-UTC time (ISO); readers show them in local time.
EVENT_TIMES = frozenset({"accept_deadline", "old", "new", "service_time", "since"})

def _no_effect(*_args) -> None:
    return None


def _confirm(session, order, params, now, data, hl) -> None:
    # An agent confirming a flagged order names the district the address matched none of.
    if params.get("district_id") is not None:
        from .models import District
        order.district = session.get(District, int(params["district_id"]))
        order.district_id = order.district.id
        data["district_id"] = order.district_id
    if order.needs_agent:
        data["cleared_flag"] = order.flag_reason
        order.needs_agent = False


def _dispatch(session, order, params, now, data, hl) -> None:
    fr = params["franchisee"]
    # Both the relationship and the id: readers of either see the change before any flush.
    order.franchisee, order.franchisee_id = fr, fr.id
    order.dispatched_at = now
    # Working minutes of the franchisee: a deadline must not run out while they are closed.
    order.accept_deadline = accept_deadline(hl, fr, now)
    order.unassigned_reason = ""
    data.update(franchisee_id=fr.id, franchisee=fr.name, reasons=params.get("reasons", []),
                accept_deadline=order.accept_deadline.isoformat())


def _unassigned(session, order, params, now, data, hl) -> None:
    order.unassigned_reason = str(params["reason"])[:255]


def _release(session, order, params, now, data, hl) -> None:
    # reject / expire / recall: the order goes back to dispatch; who had it is kept in the event.
    data["franchisee_id"] = order.franchisee_id
    order.franchisee, order.franchisee_id = None, None
    order.worker, order.worker_id = None, None
    order.accept_deadline = None
    order.dispatched_at = None


def _assign_worker(session, order, params, now, data, hl) -> None:
    worker: Worker = params["worker"]
    if worker.franchisee_id != order.franchisee_id:
        raise ValidationError("worker {name} does not belong to the franchisee of order {number}", name=worker.name, number=order.number)
    if not worker.active:
        raise ValidationError("worker {name} is not active", name=worker.name)
    if not has_skill(worker, order.service_id):
        raise ValidationError("worker {name} cannot be assigned: their skills do not cover {service} ({code}); choose a "
                              "worker who does this service, or add the skill to the worker's record",
                              name=worker.name, service=order.service.name_zh, code=order.service.code)
    # The certificate must be valid on the day of the service, not only today.
    day = max(now, order.scheduled_start).date()
    expires = worker.health_cert_expires
    if expires is None:
        raise ValidationError("worker {name} cannot be assigned: health certificate (健康证) missing; add it or choose "
                              "another worker", name=worker.name)
    if expires < now.date():
        raise ValidationError("worker {name} cannot be assigned: health certificate (健康证) expired on "
                              "{expires:%Y-%m-%d}; renew it or choose another worker", name=worker.name, expires=expires)
    if expires < day:
        raise ValidationError("worker {name} cannot be assigned: health certificate (健康证) expires before the service "
                              "day, {expires:%Y-%m-%d}; renew it or choose another worker", name=worker.name, expires=expires)
    order.worker, order.worker_id = worker, worker.id
    data.update(worker_id=worker.id, worker=worker.name)


def has_skill(worker: Worker, service_id: int) -> bool:
    """Whether the worker does this service (their skills, kept by service: WorkerSkill)."""
    return any(skill.service_id == service_id for skill in worker.skills)


def _start(session, order, params, now, data, hl) -> None:
    # Tomorrow's job started (and completed) today is how a visit that never happened gets paid:
    # before the service day only with a reason, which `transition` keeps in the event.
    day = to_local(order.scheduled_start, hl.tz).date()
    if to_local(now, hl.tz).date() < day and not str(params.get("reason") or "").strip():
        raise ValidationError("order {number} is booked for {day:%Y-%m-%d}: it cannot start before its service day unless you give a reason (e.g. moved forward at the customer's request)", number=order.number, day=day)


def _complete(session, order, params, now, data, hl) -> None:
    final = params["final_price_fen"]
    quoted = sum(line.amount_fen for line in order.price_lines if line.kind != "penalty")
    if final != quoted:
        order.price_lines.append(PriceLine(kind="adjustment", description="完工结算调整 (actual price reported)",
                                           quantity=1, unit_price_fen=final - quoted, amount_fen=final - quoted))
    order.final_price_fen = final
    order.price_total_fen = sum(line.amount_fen for line in order.price_lines)
    order.completion_notes = str(params.get("notes") or "")
    data.update(final_price_fen=final, notes=order.completion_notes)
    # The survey invitation is born with the completion, so the callback desk and an SMS reply
    # always find it.
    survey = session.scalar(select(Survey).where(Survey.order_id == order.id))
    if survey is None:
        session.add(Survey(order_id=order.id, phone=order.phone, status="pending", asked_at=now))
    else:   # completed again after rework: ask again
        survey.status, survey.score, survey.comment, survey.asked_at = "pending", None, "", now


def _penalty(order: WorkOrder, now: datetime, data: dict) -> None:
    line = late_change_penalty(order.price_total_fen, order.scheduled_start, now)
    if line:
        order.price_lines.append(PriceLine(kind=line.kind, description=line.description, quantity=1,
                                           unit_price_fen=line.unit_price_fen, amount_fen=line.amount_fen))
        order.price_total_fen += line.amount_fen
        data["penalty_fen"] = line.amount_fen


def _reschedule(session, order, params, now, data, hl) -> None:
    when: datetime = params["when"]
    if when <= now:
        raise ValidationError("the new time must be in the future; got {value} (UTC)", value=when.isoformat())
    check_bookable(hl, when)
    _penalty(order, now, data)
    data.update(old=order.scheduled_start.isoformat(), new=when.isoformat())
    order.scheduled_start = when


def _cancel(session, order, params, now, data, hl) -> None:
    _penalty(order, now, data)


def _close(session, order, params, now, data, hl) -> None:
    data["score"] = params["survey"].score


def _remind(session, order, params, now, data, hl) -> None:
    order.reminded_for = order.scheduled_start
    data["service_time"] = order.scheduled_start.isoformat()
    if order.worker is not None:
        data["worker"] = order.worker.name


def _lateness(order: WorkOrder, params, data) -> None:
    """Urge and escalate: a new kind of lateness (params["overdue"]: an Overdue) starts afresh."""
    late = params["overdue"]
    if late.reason != order.urge_reason:
        order.urge_reason, order.urge_count, order.urged_at, order.escalated_at = late.reason, 0, None, None
    data.update(overdue=late.reason, since=late.since.isoformat())
    if order.franchisee_id is not None:
        data["franchisee_id"] = order.franchisee_id


def _urge(session, order, params, now, data, hl) -> None:
    _lateness(order, params, data)
    order.urge_count += 1
    order.urged_at = now
    data["urge_count"] = order.urge_count


def _escalate(session, order, params, now, data, hl) -> None:
    # Whom the escalation SMS goes to (sms/notices.py texts exactly these), kept in the history.
    # Read before the order changes: a flush now would skip the version check's ConcurrentChange.
    told = [u.username for u in managers_to_tell(session, order.district_id)]
    _lateness(order, params, data)
    order.escalated_at = now
    data["urge_count"] = order.urge_count
    data["told"] = told


_EFFECTS = {"remind": _remind, "urge": _urge, "escalate": _escalate, "confirm": _confirm, "dispatch": _dispatch, "unassigned": _unassigned, "reject": _release, "expire": _release, "recall": _release,
            "assign_worker": _assign_worker, "start": _start, "complete": _complete, "reschedule": _reschedule,
            "cancel": _cancel, "close": _close}
