"""How calls end: the status callback and the queue result complete the call record."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from ivr.scenarios import DEMO_PATH
from tickets.models import AgentEvent, Call, IvrSession, User

from .phone import PhoneCall, verbs

WANG = "13800138000"


def call_row(hl, sid) -> Call | None:
    with hl.session() as s:
        return s.scalar(select(Call).where(Call.external_id == sid))


def make_available(hl, username: str = "agent1") -> int:
    with hl.session() as s, s.begin():
        user = s.scalar(select(User).where(User.username == username))
        user.presence = "available"
        return user.id


def agent_events(hl, kind: str) -> list[AgentEvent]:
    with hl.session() as s:
        return list(s.scalars(select(AgentEvent).where(AgentEvent.kind == kind)))


def test_hanging_up_mid_menu_records_where_the_caller_left(hl, phone):
    call = phone(WANG)
    call.dial()
    call.press("1")
    call.hang_up()
    row = call_row(hl, call.sid)
    assert (row.outcome, row.abandoned_at) == ("abandoned", "book.category")
    assert row.ended_at is not None
    assert row.ivr_path[-1] == "book.category"


def test_the_call_state_is_dropped_once_the_call_has_ended(hl, phone):
    call = phone(WANG)
    call.dial()
    call.hang_up()
    with hl.session() as s:
        assert s.get(IvrSession, call.sid) is None


def test_the_end_of_a_call_the_menu_finished_keeps_its_outcome(hl, phone):
    call = phone(WANG)
    call.dial()
    for key in DEMO_PATH.split():
        call.press(key)
    assert verbs(call.last)[-1] == "Hangup"
    call.hang_up()
    row = call_row(hl, call.sid)
    assert (row.outcome, row.abandoned_at) == ("booked", "")


def test_a_replayed_status_callback_changes_nothing(hl, clock, phone):
    call = phone(WANG)
    call.dial()
    call.press("2")
    call.hang_up()
    before = call_row(hl, call.sid)
    clock.advance(minutes=5)
    call.hang_up()
    after = call_row(hl, call.sid)
    assert (after.outcome, after.abandoned_at, after.ended_at) == (before.outcome, before.abandoned_at,
                                                                   before.ended_at)


@pytest.mark.parametrize("status, outcome", [("busy", "busy"), ("no-answer", "no-answer"), ("failed", "failed"),
                                             ("canceled", "abandoned")])
def test_a_call_that_never_reached_the_menu_is_recorded_with_how_it_ended(hl, twilio, status, outcome):
    call = PhoneCall(twilio, "13900139000")
    call.hang_up(status)
    row = call_row(hl, call.sid)
    assert (row.outcome, row.caller, row.transport) == (outcome, "+8613900139000", "twilio")
    assert row.ended_at is not None


def test_a_withheld_number_is_recorded_as_anonymous(hl, phone):
    call = phone("")
    call.dial()
    call.hang_up()
    assert call_row(hl, call.sid).caller == "anonymous"


@pytest.mark.parametrize("status", ["queued", "ringing", "in-progress"])
def test_progress_reports_record_nothing(hl, twilio, status):
    call = PhoneCall(twilio, WANG)
    call.hang_up(status)
    assert call_row(hl, call.sid) is None


def test_a_caller_who_hangs_up_in_the_queue_is_recorded_as_abandoned_there(hl, phone):
    call = phone(WANG)
    call.dial()
    call.press("0")
    doc = call.leave_queue("hangup", 42)
    assert verbs(doc) == ["Hangup"]
    row = call_row(hl, call.sid)
    assert (row.queue, row.queue_result, row.hold_seconds, row.abandoned_at) == ("agents", "abandoned", 42, "queue")


def test_the_agent_whose_screen_popped_is_told_when_the_caller_leaves_the_queue(hl, phone):
    agent_id = make_available(hl)
    call = phone(WANG)
    call.dial()
    call.press("0")
    call.leave_queue("hangup", 42)
    [abandon] = agent_events(hl, "abandon")
    assert abandon.user_id == agent_id
    assert abandon.payload["external_id"] == call.sid
    assert abandon.payload["hold_seconds"] == 42


def test_a_caller_served_by_an_agent_is_recorded_as_answered(hl, phone):
    call = phone(WANG)
    call.dial()
    call.press("0")
    call.leave_queue("bridged", 12)
    call.hang_up()
    row = call_row(hl, call.sid)
    assert (row.outcome, row.queue_result, row.hold_seconds) == ("agent", "answered", 12)
    assert agent_events(hl, "abandon") == []


def test_a_replayed_queue_result_tells_the_agent_once(hl, phone):
    make_available(hl)
    call = phone(WANG)
    call.dial()
    call.press("0")
    call.leave_queue("hangup", 42)
    url, params = call.requests[-1]
    assert call.twilio.post(url, params).get_data(as_text=True) == call.bodies[-1]
    assert len(agent_events(hl, "abandon")) == 1
