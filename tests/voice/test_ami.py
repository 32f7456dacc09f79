"""The AMI listener against a fake AMI replaying the events a real Asterisk 22 sent
(../shared/asterisk-captures/ami-queue-events.json: call 1795422310.5 answered by agent1,
call 1795422317.8 from 王女士 abandoned while the agent was paused)."""
from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from sqlalchemy import select

from agi_scripts.ami import AmiListener, parse_ami_url
from agi_scripts.commands import fastagi_service
from agi_scripts.fake_ami import FakeAmiServer, load_events
from tests.console.live import wait_until
from tickets import calls, stats
from tickets.models import AgentEvent, User

from .conftest import CAPTURES

DEADLINE = 30.0
ANSWERED, ABANDONED = "1795422310.5", "1795422317.8"
QUEUE_EVENTS = 4        # AgentCalled, AgentConnect, AgentComplete, QueueCallerAbandon


@pytest.fixture
def captured_events():
    path = CAPTURES / "ami-queue-events.json"
    if not path.exists():
        pytest.skip(f"capture {path} not present")
    return load_events(path)


@pytest.fixture
def ami(captured_events):
    server = FakeAmiServer(captured_events).start()
    yield server
    server.stop()


@pytest.fixture
def listener(hl):
    made = []

    def start(url: str) -> AmiListener:
        lst = AmiListener(hl, url)
        lst.start()
        made.append(lst)
        return lst
    yield start
    for lst in made:
        lst.stop()


def ivr_transferred(hl, uniqueid: str, caller: str) -> None:
    """The call record the voice menu leaves when it hands a call to the queue."""
    with hl.session() as s, s.begin():
        call = calls.start_call(s, uniqueid, "fastagi", caller)
        call.ivr_path = ["start", "main", "agent"]
        calls.finish_call(s, call, "agent")


def agent(hl, username: str) -> User:
    with hl.session() as s:
        return s.scalar(select(User).where(User.username == username))


def events_of(hl, user: User) -> list[tuple[str, str]]:
    with hl.session() as s:
        return [(e.kind, e.payload.get("external_id")) for e in
                s.scalars(select(AgentEvent).where(AgentEvent.user_id == user.id).order_by(AgentEvent.id))]


def test_a_queue_call_pops_on_the_agent_it_rings_then_connects_and_completes(hl, ami, listener):
    subscription = hl.bus.subscribe("agent.*")
    lst = listener(ami.url)
    assert lst.wait_processed(QUEUE_EVENTS, DEADLINE)
    agent1 = agent(hl, "agent1")
    assert events_of(hl, agent1) == [("offer", ANSWERED), ("connect", ANSWERED), ("complete", ANSWERED)]
    first = subscription.get(timeout=DEADLINE)
    assert first.topic == f"agent.{agent1.id}"
    assert first.payload["kind"] == "offer"
    assert first.payload["payload"]["card"]["caller"] == "anonymous"     # caller ID "sipp" is not a number
    subscription.close()


def test_the_answered_call_record_gets_its_agent_and_times(hl, ami, listener):
    assert listener(ami.url).wait_processed(QUEUE_EVENTS, DEADLINE)
    agent1 = agent(hl, "agent1")
    with hl.session() as s:
        call = calls.get_call(s, ANSWERED)
        assert (call.agent_user_id, call.queue, call.queue_result) == (agent1.id, "hotline-agents", "answered")
        assert (call.hold_seconds, call.talk_seconds, call.outcome) == (2, 4, "agent")
        assert call.ended_at is not None
        assert call.transport == "asterisk"       # it reached the queue without the voice menu


def test_an_abandoned_queue_call_keeps_its_menu_record_and_says_abandoned_in_the_queue(hl, ami, listener):
    ivr_transferred(hl, ABANDONED, "13800138000")
    assert listener(ami.url).wait_processed(QUEUE_EVENTS, DEADLINE)
    with hl.session() as s:
        call = calls.get_call(s, ABANDONED)
        assert (call.transport, call.outcome) == ("fastagi", "agent")
        assert (call.queue_result, call.abandoned_at, call.hold_seconds) == ("abandoned", "queue", 4)
        assert call.ivr_path == ["start", "main", "agent"]


def test_a_call_answered_in_the_queue_ends_when_the_agents_call_ends_not_when_the_menu_did(hl, clock, ami,
                                                                                          listener):
    ivr_transferred(hl, ANSWERED, "13800138000")
    menu_ended = hl.now()
    clock.advance(minutes=7)
    assert listener(ami.url).wait_processed(QUEUE_EVENTS, DEADLINE)
    with hl.session() as s:
        call = calls.get_call(s, ANSWERED)
        assert (call.outcome, call.talk_seconds) == ("agent", 4)
        assert call.ended_at == menu_ended + timedelta(minutes=7)


def test_agents_offered_a_call_the_caller_abandons_are_told(hl, listener):
    ivr_transferred(hl, "1795500000.9", "13800138000")
    events = [
        {"Event": "AgentCalled", "Privilege": "agent,all", "Uniqueid": "1795500000.9", "Linkedid": "1795500000.9",
         "CallerIDNum": "13800138000", "Queue": "hotline-agents", "Interface": "PJSIP/agent2", "MemberName": "坐席 小李"},
        {"Event": "QueueCallerAbandon", "Privilege": "agent,all", "Uniqueid": "1795500000.9",
         "Linkedid": "1795500000.9", "CallerIDNum": "13800138000", "Queue": "hotline-agents", "Position": "1",
         "OriginalPosition": "1", "HoldTime": "7"},
    ]
    server = FakeAmiServer(events).start()
    try:
        assert listener(server.url).wait_processed(2, DEADLINE)
    finally:
        server.stop()
    assert events_of(hl, agent(hl, "agent2")) == [("offer", "1795500000.9"), ("abandon", "1795500000.9")]


def test_a_call_the_menu_could_not_handle_is_recorded_from_the_dialplans_user_event(hl, listener):
    # FastAGI down at night: only Asterisk saw the call; its failure path says so (extensions.conf)
    events = [{"Event": "UserEvent", "Privilege": "user,all", "Channel": "PJSIP/carrier-00000007",
               "Uniqueid": "1795600000.7", "Linkedid": "1795600000.7", "CallerIDNum": "13800138000",
               "UserEvent": "HotlineMenuFailed", "Result": "", "AGIStatus": "FAILURE"},
              {"Event": "UserEvent", "Privilege": "user,all", "Uniqueid": "1795600000.8", "UserEvent": "SomethingElse"}]
    server = FakeAmiServer(events).start()
    try:
        assert listener(server.url).wait_processed(1, DEADLINE)
        assert server.wait_for("sent", 2, DEADLINE)
    finally:
        server.stop()
    with hl.session() as s:
        call = calls.get_call(s, "1795600000.7")
        assert (call.transport, call.caller, call.outcome) == ("asterisk", "+8613800138000", "failed")
        assert "AGISTATUS=FAILURE" in call.notes
        assert calls.get_call(s, "1795600000.8") is None
        assert stats.wallboard(s)["calls_today"]["menu_failed"] == 1


def test_only_agent_and_user_class_events_are_asked_for(hl, ami, listener, captured_events):
    lst = listener(ami.url)
    assert lst.wait_processed(QUEUE_EVENTS, DEADLINE)
    agent_class = [e for e in captured_events if {"agent", "user"} & set(e["Privilege"].split(","))]
    assert ami.wait_for("sent", len(agent_class), DEADLINE)
    assert ami.sent == len(agent_class) < len(captured_events)


def test_the_listener_logs_in_again_after_the_connection_drops(hl, listener):
    server = FakeAmiServer([]).start()
    try:
        lst = listener(server.url)
        assert server.wait_for("logins", 1, DEADLINE)
        server.drop_clients()
        assert server.wait_for("logins", 2, DEADLINE)
        assert lst.connected.wait(DEADLINE)
    finally:
        server.stop()


def test_a_wrong_secret_is_refused_and_the_listener_does_not_pretend_to_be_connected(hl, listener, caplog):
    server = FakeAmiServer([], secret="right").start()
    try:
        lst = listener(server.url.replace(":right@", ":wrong@"))
        assert server.wait_for("refused_logins", 1, DEADLINE)
        # The server counts the refusal as it answers; the listener logs it once it has read the answer.
        wait_until(lambda: any("check the user and secret" in r.getMessage() for r in caplog.records),
                   DEADLINE, "the refused login's log line")
        lst.stop()
        assert not lst.connected.is_set()
    finally:
        server.stop()


@pytest.mark.parametrize("url", ["ami://127.0.0.1:5038", "http://u:p@h:1", "ami://user:pw@"])
def test_a_malformed_ami_url_names_the_variable_and_an_example(url):
    with pytest.raises(ValueError, match=r"AMI_URL=.*ami://hotline:secret@127.0.0.1:5038"):
        parse_ami_url(url)


def test_the_ami_url_carries_user_secret_host_and_port():
    assert parse_ami_url("ami://hotline:s%40cret@10.0.0.5:5039") == ("10.0.0.5", 5039, "hotline", "s@cret")


def test_hotline_run_starts_the_listener_with_fastagi_when_ami_url_is_set(hl, ami):
    hl.settings = dataclasses.replace(hl.settings, ami_url=ami.url, fastagi_bind=("127.0.0.1", 0))
    service = fastagi_service(hl)
    service.start()
    try:
        assert service.ami.wait_processed(QUEUE_EVENTS, DEADLINE)
        lines = "\n".join(service.describe())
    finally:
        service.stop()
    assert "FastAGI:    agi://127.0.0.1:" in lines
    assert f"AMI:        listening to ami://hotline@127.0.0.1:{ami.address[1]}" in lines


def test_without_ami_url_hotline_run_says_how_to_get_queue_events(hl):
    hl.settings = dataclasses.replace(hl.settings, ami_url="", fastagi_bind=("127.0.0.1", 0))
    service = fastagi_service(hl)
    service.start()
    service.stop()
    assert service.ami is None
    assert any("set AMI_URL" in line for line in service.describe())
