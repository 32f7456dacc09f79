"""The lifecycle, as a specification: every (state, action) pair, allowed or refused, by role."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.core.helpers import AGENT, CALLBACK, EARLY, franchisee_actor, order_in, valid_worker
from tickets.actors import Actor
from tickets.followup import Overdue
from tickets.errors import PermissionDenied, TransitionError, ValidationError
from tickets.models import Survey, WorkOrderEvent
from tickets.workflow import MOVES, STATES, transition

# The lifecycle written out independently of tickets/workflow.py: (from, action) -> to.
# "=" means the order keeps its state (an audited change).
EXPECTED = {
    ("new", "confirm"): "confirmed",
    ("confirmed", "dispatch"): "dispatched",
    ("confirmed", "unassigned"): "=",
    ("dispatched", "accept"): "accepted",
    ("dispatched", "reject"): "confirmed",
    ("dispatched", "expire"): "confirmed",
    ("dispatched", "recall"): "confirmed",
    ("accepted", "recall"): "confirmed",
    ("accepted", "assign_worker"): "=",
    ("rework", "assign_worker"): "=",
    ("in_service", "assign_worker"): "=",
    ("accepted", "start"): "in_service",
    ("rework", "start"): "in_service",
    ("in_service", "complete"): "completed",
    ("completed", "close"): "closed",
    ("completed", "rework"): "rework",
    ("closed", "rework"): "rework",
    **{(s, "reschedule"): "=" for s in ("new", "confirmed", "dispatched", "accepted")},
    **{(s, "cancel"): "cancelled" for s in ("new", "confirmed", "dispatched", "accepted")},
    **{(s, "note"): "=" for s in ("new", "confirmed", "dispatched", "accepted", "in_service", "rework", "completed")},
    # The follow-through (tickets.followup): reminders before the service, urging and escalation
    # of late orders, none of which changes the state.
    **{(s, "remind"): "=" for s in ("dispatched", "accepted")},
    **{(s, a): "=" for s in ("confirmed", "dispatched", "accepted", "in_service") for a in ("urge", "escalate")},
}
# Which roles may take each action (independent of the module under test).
STAFF = {"agent", "dispatcher", "district_manager", "callback", "supervisor", "admin"}
EXPECTED_ROLES = {
    "confirm": STAFF - {"callback"} | {"customer", "system"},
    "dispatch": {"dispatcher", "district_manager", "supervisor", "admin", "system"},
    "accept": {"franchisee", "admin"},
    "reject": {"franchisee"},
    "expire": {"system"},
    "unassigned": {"system"},
    "recall": {"dispatcher", "district_manager", "supervisor", "admin"},
    "assign_worker": {"franchisee", "admin"},
    "start": {"franchisee", "admin"},
    "complete": {"franchisee", "admin"},
    "close": {"callback", "supervisor", "admin", "customer", "system"},
    # Booking and changing a booking is agents' work: a supervisor monitors and intervenes.
    "reschedule": STAFF - {"callback", "supervisor"} | {"customer"},
    "cancel": STAFF - {"callback", "supervisor"} | {"customer"},
    "rework": {"callback", "supervisor", "admin", "dispatcher"},
    "note": STAFF | {"franchisee", "system"},
    "remind": {"system"},
    "urge": {"system"},
    "escalate": {"system"},
}
ALL_ROLES = sorted(STAFF | {"franchisee", "customer", "system"})
LIFECYCLE_STATES = [s for s in STATES if s != "cancelled"] + ["cancelled"]


def test_the_table_in_the_code_is_the_specified_lifecycle():
    actual = {(s, m.action): (m.target or "=") for m in MOVES.values() for s in m.sources}
    assert actual == EXPECTED
    assert {a: set(m.roles) for a, m in MOVES.items()} == EXPECTED_ROLES


def _params(session, order, action, hl):
    from tests.core.helpers import franchisee_named
    if action == "confirm":
        from tickets.models import District
        return {"district_id": session.scalar(select(District.id).where(District.name_zh == "天山区"))}
    if action == "dispatch":
        return {"franchisee": franchisee_named(session, "天山家政服务有限公司")}
    if action == "assign_worker":
        return {"worker": valid_worker(session, order)}
    if action == "complete":
        return {"final_price_fen": 15000}
    if action == "close":
        return {"survey": Survey(order_id=order.id, phone=order.phone, score=4)}
    if action == "reschedule":
        return {"when": order.scheduled_start + timedelta(days=7)}
    if action in ("urge", "escalate"):
        return {"overdue": Overdue(order, "not_started", order.scheduled_start)}
    return {"reason": "test reason", "text": "test note"}


def _actor(role, order):
    return Actor(role=role, label=f"{role}-test", franchisee_id=order.franchisee_id,
                 district_ids=frozenset({order.district_id} if order.district_id else ()))


def _state(session, hl, state):
    if state == "cancelled":
        o = order_in(session, hl, "confirmed")
        transition(session, o, "cancel", _actor("agent", o), reason="changed plans")
        return o
    return order_in(session, hl, state)


@pytest.mark.parametrize("state", LIFECYCLE_STATES)
def test_every_action_from_every_state_by_every_role(hl, state):
    """Allowed pairs move to the expected state and write one event; every other pair is refused
    with an error naming the current state (or the role), and changes nothing."""
    with hl.session() as s:
        order = _state(s, hl, state)
        s.flush()
        for action in MOVES:
            for role in ALL_ROLES:
                sp = s.begin_nested()
                events_before = s.scalar(select(func.count()).select_from(WorkOrderEvent)
                                         .where(WorkOrderEvent.order_id == order.id))
                expected = EXPECTED.get((state, action))
                # A district manager acts only in their districts; an order without one is not theirs.
                may = role in EXPECTED_ROLES[action] and not (role == "district_manager" and order.district_id is None)
                try:
                    ev = transition(s, order, action, _actor(role, order), **_params(s, order, action, hl))
                except TransitionError as exc:
                    assert expected is None, f"{state} --{action}--> refused: {exc}"
                    assert f"is {state}" in str(exc)
                    assert "allowed moves" in str(exc)
                except PermissionDenied as exc:
                    assert expected is not None, f"{role} {action}: {exc}"
                    assert not may, f"{role} {action}: {exc}"
                    assert role in str(exc)
                else:
                    assert expected is not None, f"{state} --{action}--> should be refused"
                    assert may, f"{role} should not {action}"
                    assert order.status == (state if expected == "=" else expected)
                    assert ev.from_status == state
                    assert ev.action == action
                    assert ev.actor_role == role
                    assert s.scalar(select(func.count()).select_from(WorkOrderEvent).where(
                        WorkOrderEvent.order_id == order.id)) == events_before + 1
                sp.rollback()
                s.expire_all()
                assert order.status == state


def test_refusal_names_the_state_and_the_allowed_moves(session, hl):
    order = order_in(session, hl, "dispatched")
    with pytest.raises(TransitionError) as err:
        transition(session, order, "complete", franchisee_actor(order), final_price_fen=100)
    msg = str(err.value)
    assert "is dispatched" in msg
    assert "accept" in msg
    assert "reject" in msg
    assert err.value.allowed
    assert "complete" not in err.value.allowed


def test_franchisee_cannot_touch_another_franchisees_order(session, hl):
    order = order_in(session, hl, "dispatched")
    other = Actor(role="franchisee", label="other", franchisee_id=order.franchisee_id + 1)
    with pytest.raises(PermissionDenied):
        transition(session, order, "accept", other)
    assert order.status == "dispatched"


def test_district_manager_acts_only_in_own_districts(session, hl):
    order = order_in(session, hl, "dispatched")
    outsider = Actor(role="district_manager", label="m", district_ids=frozenset({order.district_id + 1}))
    with pytest.raises(PermissionDenied):
        transition(session, order, "recall", outsider, reason="x")
    insider = Actor(role="district_manager", label="m", district_ids=frozenset({order.district_id}))
    transition(session, order, "recall", insider, reason="customer asked for another company")
    assert order.status == "confirmed"
    assert order.franchisee_id is None


def test_reject_requires_a_reason(session, hl):
    order = order_in(session, hl, "dispatched")
    with pytest.raises(ValidationError, match="reason"):
        transition(session, order, "reject", franchisee_actor(order), reason="  ")


def test_completion_requires_worker_and_final_price(session, hl):
    order = order_in(session, hl, "accepted", worker=False)
    fr = franchisee_actor(order)
    with pytest.raises(ValidationError, match="worker"):
        transition(session, order, "start", fr)
    transition(session, order, "assign_worker", fr, worker=valid_worker(session, order))
    transition(session, order, "start", fr, reason=EARLY)
    with pytest.raises(ValidationError, match="final price"):
        transition(session, order, "complete", fr)
    with pytest.raises(ValidationError, match="whole number of fen"):
        transition(session, order, "complete", fr, final_price_fen=120.5)
    with pytest.raises(ValidationError, match="negative"):
        transition(session, order, "complete", fr, final_price_fen=-1)


def test_completion_at_another_price_adds_an_explaining_line(session, hl):
    order = order_in(session, hl, "in_service")
    transition(session, order, "complete", franchisee_actor(order), final_price_fen=order.price_total_fen + 4000)
    assert order.price_total_fen == sum(l.amount_fen for l in order.price_lines) == order.final_price_fen
    assert order.price_lines[-1].kind == "adjustment"
    assert order.price_lines[-1].amount_fen == 4000


def test_completion_opens_a_pending_survey(session, hl):
    order = order_in(session, hl, "completed")
    survey = session.scalar(select(Survey).where(Survey.order_id == order.id))
    assert survey.status == "pending"
    assert survey.phone == order.phone


def test_low_survey_score_opens_a_complaint_and_closes_the_order(session, hl):
    from tickets.models import Complaint
    from tickets.surveys import record
    order = order_in(session, hl, "completed")
    record(session, order, 2, CALLBACK, comment="late and rude")
    assert order.status == "closed"
    complaint = session.scalar(select(Complaint).where(Complaint.order_id == order.id))
    assert complaint.source == "survey"
    assert complaint.status == "open"
    assert "late and rude" in complaint.text
    assert complaint.due_at == hl.now() + timedelta(hours=hl.settings.complaint_due_hours)


def test_every_change_is_in_the_audit_trail_with_who_and_when(session, hl):
    order = order_in(session, hl, "closed")
    actions = [e.action for e in order.events]
    assert actions == ["create", "confirm", "dispatch", "accept", "assign_worker", "start", "complete", "close"]
    assert all(e.created_at and e.actor_role for e in order.events)
    assert order.events[3].actor_role == "franchisee"
    assert order.events[-1].actor_role == "callback"


def test_a_job_cannot_start_before_its_service_day_without_a_reason(session, hl):
    order = order_in(session, hl, "accepted")        # booked 5 days after the fixed clock
    with pytest.raises(ValidationError, match=r"booked for 2026-11-28: it cannot start before its service day "
                                              r"unless you give a reason"):
        transition(session, order, "start", franchisee_actor(order))
    assert order.status == "accepted"


def test_an_early_start_with_a_reason_keeps_the_reason_in_the_event(session, hl):
    order = order_in(session, hl, "accepted")
    event = transition(session, order, "start", franchisee_actor(order), reason="客户要求提前")
    assert order.status == "in_service"
    assert event.data["reason"] == "客户要求提前"


def test_a_job_starts_on_its_service_day_without_a_reason(session, hl, clock):
    order = order_in(session, hl, "accepted")
    clock.now = order.scheduled_start - timedelta(hours=1)
    transition(session, order, "start", franchisee_actor(order))
    assert order.status == "in_service"


def test_a_reschedule_past_the_bookable_window_is_refused(session, hl):
    order = order_in(session, hl, "dispatched")
    with pytest.raises(ValidationError, match="bookings are taken up to 90 days ahead, until 2027-02-21"):
        transition(session, order, "reschedule", AGENT, when=hl.now() + timedelta(days=400))
