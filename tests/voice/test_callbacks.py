"""Callbacks: after-hours requests and "callback instead of hold" (the queue's key 1, a FastAGI
session of extensions.conf's hotline-queue-exit over the real AGI protocol) land on one
worklist in the order the callers would have been answered; click-to-call is an AMI Originate
that rings the agent's extension and then the customer (the fake AMI), and unanswered callbacks
come back after the retry interval up to the attempt limit."""
from __future__ import annotations

import dataclasses
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from agi_scripts.fake_ami import FakeAmiServer
from agi_scripts.fake_asterisk import Caller, FakeAsterisk, ScriptedKeys
from agi_scripts.originate import AmiDialer
from tickets import calls, outbound
from tickets.actors import Actor
from tickets.errors import ConcurrentChange, ValidationError
from tickets.models import CallbackRequest, OutboundCall, User

from .conftest import catalog_sounds

WANG, LI = "13800138000", "13900139000"


def in_queue(hl, uniqueid: str, caller: str) -> None:
    """The call record the voice menu leaves when it hands a caller to the agents' queue."""
    with hl.session() as s, s.begin():
        call = calls.start_call(s, uniqueid, "fastagi", caller)
        call.ivr_path = ["start", "main", "agent"]
        calls.finish_call(s, call, "agent", queue="agents")


def press_callback_key(fastagi, uniqueid: str, caller: str, position: str):
    """The caller presses 1 while holding: the queue's exit context runs the `callback` script."""
    fake = FakeAsterisk(Caller(number=caller, keys=ScriptedKeys([])), catalog_sounds(), uniqueid=uniqueid)
    host, port = fastagi.address
    return fake.call_fastagi(host, port, "callback", args=("zh", position), context="hotline-queue-exit")


def worklist(hl) -> list[CallbackRequest]:
    with hl.session() as s:
        return outbound.worklist(s)


def agent(hl, username: str = "agent1") -> User:
    with hl.session() as s:
        return s.scalar(select(User).where(User.username == username))


def test_the_queue_key_puts_the_caller_on_the_worklist_with_their_place(hl, clock, fastagi):
    in_queue(hl, "1795500000.1", WANG)
    joined = clock.now
    clock.advance(minutes=4)
    result = press_callback_key(fastagi, "1795500000.1", WANG, "3")
    assert "hotline/zh/callback.kept" in [h.value for h in result.heard]
    assert result.variables.get("HOTLINE_RESULT") == "callback" and result.hung_up_by == "script"
    (request,) = worklist(hl)
    assert (request.source, request.position, request.phone) == ("queue", 3, "+8613800138000")
    assert request.queued_at == joined and request.requested_at == clock.now
    with hl.session() as s:
        call = calls.get_call(s, "1795500000.1")
        assert (call.outcome, call.queue_result) == ("callback", "callback")


def test_callers_are_served_in_the_order_they_joined_the_queue(hl, clock, fastagi):
    in_queue(hl, "1795500000.1", WANG)
    clock.advance(minutes=1)
    in_queue(hl, "1795500000.2", LI)
    clock.advance(minutes=1)
    press_callback_key(fastagi, "1795500000.2", LI, "2")       # the later caller asks first
    clock.advance(minutes=1)
    press_callback_key(fastagi, "1795500000.1", WANG, "1")
    assert [r.phone for r in worklist(hl)] == ["+8613800138000", "+8613900139000"]


def test_a_withheld_number_cannot_keep_a_place_and_stays_in_the_queue(hl, fastagi):
    in_queue(hl, "1795500000.3", "")
    result = press_callback_key(fastagi, "1795500000.3", "", "1")
    assert "HOTLINE_RESULT" not in result.variables or result.variables["HOTLINE_RESULT"] != "callback"
    assert worklist(hl) == []


def test_the_same_call_pressing_twice_is_one_request(hl, fastagi):
    in_queue(hl, "1795500000.4", WANG)
    press_callback_key(fastagi, "1795500000.4", WANG, "2")
    press_callback_key(fastagi, "1795500000.4", WANG, "2")
    assert len(worklist(hl)) == 1


@pytest.fixture
def ami(hl):
    made = []

    def start(callee=lambda action: "answer") -> FakeAmiServer:
        server = FakeAmiServer(callee=callee).start()
        made.append(server)
        hl.settings = dataclasses.replace(hl.settings, ami_url=server.url, outbound_voice="asterisk")
        hl.extensions[outbound.DIALER] = AmiDialer(hl, server.url, reply_timeout=30)
        return server
    yield start
    for server in made:
        server.stop()


def new_request(hl) -> int:
    with hl.session() as s, s.begin():
        return outbound.request_callback(s, phone="+8613800138000", source="after-hours").id


def call_back(hl, request_id: int, username: str = "agent1") -> None:
    with hl.session() as s, s.begin():
        user = s.scalar(select(User).where(User.username == username))
        outbound.start_callback(s, s.get(CallbackRequest, request_id), user, Actor.from_user(user))


def actor(hl, username: str = "agent1") -> Actor:
    with hl.session() as s:
        return Actor.from_user(s.scalar(select(User).where(User.username == username)))


def record_outcome(hl, request_id: int, outcome: str, notes: str = "") -> None:
    who = actor(hl)
    with hl.session() as s, s.begin():
        outbound.record_callback_outcome(s, s.get(CallbackRequest, request_id), outcome, who, notes=notes)


def request_of(hl, request_id: int) -> CallbackRequest:
    with hl.session() as s:
        return s.get(CallbackRequest, request_id)


def test_click_to_call_rings_the_agents_extension_then_dials_the_customer(hl, ami):
    server = ami()
    request_id = new_request(hl)
    call_back(hl, request_id)
    outbound.follow_through(hl)
    (action,) = server.originated
    me = agent(hl)
    assert action["Channel"] == me.extension == "PJSIP/agent1"
    assert (action["Context"], action["Exten"], action["Priority"]) == ("hotline-callback", "13800138000", "1")
    assert action["CallerID"].endswith("<13800138000>")
    with hl.session() as s:
        (placed,) = s.scalars(select(OutboundCall).where(OutboundCall.callback_id == request_id)).all()
        assert (placed.status, placed.agent_user_id, placed.purpose) == ("answered", me.id, "callback")
    assert request_of(hl, request_id).status == "calling"


def test_a_callback_nobody_answered_comes_back_after_the_retry_interval(hl, clock, ami):
    ami()
    request_id = new_request(hl)
    call_back(hl, request_id)
    outbound.follow_through(hl)
    record_outcome(hl, request_id, "no-answer")
    request = request_of(hl, request_id)
    assert request.status == "waiting"
    assert request.next_attempt_at == clock.now + timedelta(minutes=hl.settings.callback_retry_minutes)
    with pytest.raises(ValidationError, match="due again"):
        call_back(hl, request_id)
    clock.advance(minutes=hl.settings.callback_retry_minutes)
    call_back(hl, request_id)
    assert request_of(hl, request_id).attempts == 2


def test_a_callback_is_given_up_after_the_attempt_limit(hl, clock, ami):
    ami()
    request_id = new_request(hl)
    for _ in range(hl.settings.callback_attempts):
        call_back(hl, request_id)
        outbound.follow_through(hl)
        record_outcome(hl, request_id, "busy")
        clock.advance(minutes=hl.settings.callback_retry_minutes)
    assert request_of(hl, request_id).status == "given-up"
    assert worklist(hl) == []


def test_an_agent_who_does_not_pick_up_puts_the_request_back(hl, ami):
    ami(callee=lambda action: "no-answer")
    request_id = new_request(hl)
    call_back(hl, request_id)
    outbound.follow_through(hl)
    request = request_of(hl, request_id)
    assert (request.status, request.outcome, request.attempts) == ("waiting", "no-answer", 1)


def test_a_reached_customer_leaves_the_worklist(hl, ami):
    ami()
    request_id = new_request(hl)
    call_back(hl, request_id)
    record_outcome(hl, request_id, "reached", notes="booked a cleaning")
    assert request_of(hl, request_id).status == "done" and worklist(hl) == []


def test_two_agents_taking_the_same_request_at_once_one_wins(hl, ami):
    ami()
    request_id = new_request(hl)
    serial = hl.engine.dialect.name == "sqlite"
    barrier = threading.Barrier(2, timeout=30)
    results: list[object] = [None, None]

    def take(i: int, username: str) -> None:
        try:
            with hl.session() as s:
                if serial:
                    barrier.wait()
                with s.begin():
                    request = s.get(CallbackRequest, request_id)
                    user = s.scalar(select(User).where(User.username == username))
                    if not serial:
                        barrier.wait()
                    results[i] = outbound.start_callback(s, request, user, Actor.from_user(user)).key
        except (ConcurrentChange, ValidationError) as exc:
            results[i] = exc

    threads = [threading.Thread(target=take, args=(i, u)) for i, u in enumerate(("agent1", "agent2"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(type(r).__name__ for r in results) in (["ConcurrentChange", "str"], ["ValidationError", "str"])
    with hl.session() as s:
        assert len(s.scalars(select(OutboundCall).where(OutboundCall.callback_id == request_id)).all()) == 1


# ---------------------------------------------------------------- a caller marked do-not-call

def mark_do_not_call(hl, phone: str = "+8613800138000") -> None:
    from tickets import customer_records, customers
    with hl.session() as s, s.begin():
        customer_records.update_record(s, actor(hl), customers.find_by_phone(s, phone), None, do_not_call=True)


def test_a_do_not_call_caller_who_asked_is_called_once_and_not_retried(hl, clock, ami):
    server = ami()
    mark_do_not_call(hl)
    request_id = new_request(hl)
    call_back(hl, request_id)                 # they asked: the call is placed
    outbound.follow_through(hl)
    assert len(server.originated) == 1
    record_outcome(hl, request_id, "no-answer")
    request = request_of(hl, request_id)
    assert (request.status, request.attempts) == ("given-up", 1) and worklist(hl) == []
    clock.advance(minutes=hl.settings.callback_retry_minutes)
    with pytest.raises(ValidationError, match="only a waiting request can be called"):
        call_back(hl, request_id)


def test_a_do_not_call_callers_request_comes_back_when_the_agent_did_not_pick_up(hl, ami):
    ami(callee=lambda action: "no-answer")    # the agent's own extension rang out: the customer was not called
    mark_do_not_call(hl)
    request_id = new_request(hl)
    call_back(hl, request_id)
    outbound.follow_through(hl)
    assert request_of(hl, request_id).status == "waiting"


def test_a_reached_do_not_call_caller_is_done_as_anyone(hl, ami):
    ami()
    mark_do_not_call(hl)
    request_id = new_request(hl)
    call_back(hl, request_id)
    record_outcome(hl, request_id, "reached")
    assert request_of(hl, request_id).status == "done"
