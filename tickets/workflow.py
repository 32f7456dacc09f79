"""The work-order lifecycle: one transition table, one `transition()` that applies it.

Every change of a work order goes through `transition()`: it checks the move, the actor's
role and what the move requires, writes the change and its event row in the caller's
transaction, runs the in-transaction listeners (SMS notices), and queues a bus event that is
published only after commit.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from .actors import Actor
from .bus import publish_after_commit
from .context import hotline_of
from .db import insert_many_now, insert_now, update_now
from .errors import PermissionDenied, TransitionError, ValidationError
from .models import PriceLine, Survey, WorkOrder, WorkOrderEvent, Worker
from .pricing import check_fen, late_change_penalty

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


def _require(move: Move, order: WorkOrder, params: dict[str, Any]) -> None:
    missing = []
    for req in move.requires:
        if req == "district" and order.district_id is None and params.get("district_id") is None:
            missing.append("a district (the address matched none; pick one)")
        elif req == "assigned_worker" and order.worker_id is None:
            missing.append("an assigned worker")
        elif req in ("franchisee", "worker", "when", "survey") and params.get(req) is None:
            missing.append(req)
        elif req in ("reason", "text") and not str(params.get(req) or "").strip():
            missing.append(req)
        elif req == "final_price_fen":
            if params.get(req) is None:
                missing.append("the final price in fen")
            else:
                check_fen(params[req], "final price")
    if missing:
        raise ValidationError(f"{move.action} of order {order.number} needs " + ", ".join(missing))


def transition(session: Session, order: WorkOrder, action: str, actor: Actor,
               **params: Any) -> WorkOrderEvent | None:
    """Apply `action` to `order` as `actor`, in the caller's transaction; returns the event row
    (None inside `FirstMoves`, which writes it later)."""
    move = MOVES.get(action)
    if move is None:
        raise TransitionError(f"unknown action {action!r}; actions are: {', '.join(MOVES)}",
                              status=order.status, allowed=tuple(allowed_actions(order)))
    if order.status not in move.sources:
        allowed = tuple(allowed_actions(order))
        raise TransitionError(
            f"order {order.number} is {order.status}; it cannot {action} "
            f"(from {order.status} the allowed moves are: {', '.join(allowed) or 'none'})",
            status=order.status, allowed=allowed)
    if not _may(actor, move, order):
        mine = tuple(allowed_actions(order, actor))
        raise PermissionDenied(
            f"role {actor.role} may not {action} order {order.number} "
            f"(you may: {', '.join(mine) or 'nothing on this order'})")
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
    if not _deferred(session, order):
        update_now(session, order)   # the order's row now, without a flush of the whole session
    return _record(session, hl, order, action, from_status, actor, data, now)


def _record(session: Session, hl, order: WorkOrder, action: str, from_status: str | None, actor: Actor,
            data: dict[str, Any], now: datetime) -> WorkOrderEvent | None:
    """Write the event row now (it has its id at once), then run the listeners and queue the bus event.

    The row is one Core INSERT in the caller's transaction (see tickets.db.insert_now): the audit
    trail costs one statement per change, and listeners keyed on the event id need no flush.
    For an order still being booked (`FirstMoves`), the event is kept and written with the
    order instead; None is returned then.
    """
    values = dict(order_id=order.id, action=action, from_status=from_status, to_status=order.status,
                  actor_role=actor.role, actor_user_id=actor.user_id, actor_label=actor.label, data=data,
                  created_at=now)
    payload = {"order": order.number, "action": action, "from": from_status, "to": order.status,
               "franchisee_id": data.get("franchisee_id", order.franchisee_id), "district_id": order.district_id}
    moves = _deferred(session, order)
    if moves is not None:
        moves.events.append((values, payload))
        return None
    if order.id is None:
        session.flush()          # an order built with the ORM and not yet written: the event needs its id
        values["order_id"] = order.id
    ev = insert_now(session, WorkOrderEvent, values, order=order)
    if "events" in order.__dict__:   # the history is in memory: keep it whole without reloading it
        set_committed_value(order, "events", [*order.events, ev])
    _after(session, hl, order, ev, payload)
    return ev


def _after(session: Session, hl, order: WorkOrder, ev: WorkOrderEvent, payload: dict[str, Any]) -> None:
    for listener in hl.order_listeners:
        listener(session, order, ev)
    publish_after_commit(session, f"order.{ev.action}", payload, row=ev)


_DEFERRED = "tickets.workflow.first_moves"


def _deferred(session: Session, order: WorkOrder) -> "FirstMoves | None":
    moves = session.info.get(_DEFERRED)
    return moves if moves is not None and moves.order is order else None


class FirstMoves:
    """The first moves of an order being booked, applied in memory and written with it.

    A booking creates, confirms and dispatches its order in one go: done one by one, that is
    one INSERT and two UPDATEs of the order plus its events, each move's listeners in between.
    Inside `with FirstMoves(session, order):` (an order built by tickets.db.transient, not yet
    written) `transition()` checks and applies each move exactly as always but writes nothing;
    the caller then writes the order once, in its final state (tickets.db.persist_now), and
    `write()` writes the events in order, then runs the listeners and queues the bus events.
    Each bus payload says what the order was at its move; the listeners see the order as it is
    in the end, so what they need of an earlier move they read from its event (`ev.data`, e.g.
    the flags the order was created with).
    """

    def __init__(self, session: Session, order: WorkOrder) -> None:
        self.session = session
        self.order = order
        self.events: list[tuple[dict[str, Any], dict[str, Any]]] = []

    def __enter__(self) -> "FirstMoves":
        if self.session.info.get(_DEFERRED) is not None:
            raise RuntimeError("FirstMoves blocks do not nest")
        self.session.info[_DEFERRED] = self
        return self

    def __exit__(self, *exc: Any) -> None:
        del self.session.info[_DEFERRED]

    def write(self) -> list[WorkOrderEvent]:
        """After the order is written: its events, in the order of the moves, then their listeners."""
        session, order = self.session, self.order
        if order.id is None:
            raise RuntimeError("write the order (persist_now) before its events")
        hl = hotline_of(session)
        for values, _payload in self.events:
            values["order_id"] = order.id
        written = insert_many_now(session, WorkOrderEvent, [values for values, _payload in self.events], order=order)
        set_committed_value(order, "events", written)
        for ev, (_values, payload) in zip(written, self.events):
            _after(session, hl, order, ev, payload)
        return written


def record_creation(session: Session, order: WorkOrder, actor: Actor,
                    data: dict[str, Any]) -> WorkOrderEvent | None:
    """The first event of every order (its birth is part of the audit trail too)."""
    hl = hotline_of(session)
    return _record(session, hl, order, "create", None, actor, data, hl.now())


# ---------------------------------------------------------------- effects of moves

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
    order.accept_deadline = now + timedelta(minutes=hl.settings.accept_deadline_minutes)
    order.unassigned_reason = ""
    data.update(franchisee_id=fr.id, franchisee=fr.name, reasons=params.get("reasons", []),
                accept_deadline=order.accept_deadline.isoformat())


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
        raise ValidationError(f"worker {worker.name} does not belong to the franchisee of order {order.number}")
    if not worker.active:
        raise ValidationError(f"worker {worker.name} is not active")
    # The certificate must be valid on the day of the service, not only today.
    day = max(now, order.scheduled_start).date()
    if worker.health_cert_expires is None or worker.health_cert_expires < day:
        raise ValidationError(
            f"worker {worker.name} cannot be assigned: health certificate (健康证) "
            f"{'missing' if worker.health_cert_expires is None else 'expired on ' + worker.health_cert_expires.isoformat() if worker.health_cert_expires < now.date() else 'expires before the service day, ' + worker.health_cert_expires.isoformat()}; "
            "renew it or choose another worker")
    order.worker, order.worker_id = worker, worker.id
    data.update(worker_id=worker.id, worker=worker.name)


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
        raise ValidationError(f"the new time must be in the future; got {when.isoformat()} (UTC)")
    _penalty(order, now, data)
    data.update(old=order.scheduled_start.isoformat(), new=when.isoformat())
    order.scheduled_start = when


def _cancel(session, order, params, now, data, hl) -> None:
    _penalty(order, now, data)


def _close(session, order, params, now, data, hl) -> None:
    data["score"] = params["survey"].score


_EFFECTS = {"confirm": _confirm, "dispatch": _dispatch, "reject": _release, "expire": _release, "recall": _release,
            "assign_worker": _assign_worker, "complete": _complete, "reschedule": _reschedule,
            "cancel": _cancel, "close": _close}
