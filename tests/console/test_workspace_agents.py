"""tickets.agents: presence routes calls, the extension names the agent's phone, wrap-up is saved on
the call record, and the workspace knows which call is current."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from tickets import agents, calls
from tickets.actors import Actor
from tickets.errors import NotFound, PermissionDenied, ValidationError
from tickets.models import AgentEvent, AuditLog, Call, User


def user(s, username: str) -> User:
    return s.scalar(select(User).where(User.username == username))


def me(u: User) -> Actor:
    return Actor.from_user(u)


def offer(s, agent: User, caller: str = "13800138000", external_id: str = "c1") -> AgentEvent:
    call = calls.start_call(s, external_id, "simulator", caller)
    return calls.offer_call(s, call, agent)


def test_available_agent_is_the_one_offered_the_next_call(hl):
    with hl.session() as s, s.begin():
        agent2 = user(s, "agent2")
        agents.set_presence(s, agent2, me(agent2), "available")
    with hl.session() as s:
        assert calls.pick_available_agent(s).username == "agent2"


def test_presence_change_is_audited_and_pushed_to_the_agents_console(hl):
    with hl.session() as s, s.begin():
        agent1 = user(s, "agent1")
        agents.set_presence(s, agent1, me(agent1), "busy", "PJSIP/agent9")
    with hl.session() as s:
        audit = s.scalar(select(AuditLog).where(AuditLog.action == "agent.presence"))
        assert audit.data == {"presence": ["away", "busy"], "extension": ["PJSIP/agent1", "PJSIP/agent9"]}
        ev = s.scalar(select(AgentEvent).where(AgentEvent.kind == "presence"))
        assert ev.user_id == user(s, "agent1").id
        assert ev.payload == {"presence": "busy", "extension": "PJSIP/agent9"}


def test_setting_the_same_presence_again_records_nothing(hl):
    with hl.session() as s, s.begin():
        agent1 = user(s, "agent1")
        agents.set_presence(s, agent1, me(agent1), "away", "PJSIP/agent1")
    with hl.session() as s:
        assert s.scalar(select(AuditLog).where(AuditLog.action == "agent.presence")) is None


def test_new_extension_routes_queue_member_to_the_agent(hl):
    with hl.session() as s, s.begin():
        agent1 = user(s, "agent1")
        agents.set_presence(s, agent1, me(agent1), "available", "client:xiaozhang")
    with hl.session() as s:
        assert calls.agent_for_member(s, "client:xiaozhang").username == "agent1"


def test_unknown_presence_is_refused_naming_the_allowed_ones(hl):
    with hl.session() as s, s.begin():
        agent1 = user(s, "agent1")
        with pytest.raises(ValidationError, match="available, busy, away"):
            agents.set_presence(s, agent1, me(agent1), "lunch")


def test_extension_of_another_agent_is_refused(hl):
    with hl.session() as s, s.begin():
        agent1 = user(s, "agent1")
        with pytest.raises(ValidationError, match="already used by agent2"):
            agents.set_presence(s, agent1, me(agent1), "available", "PJSIP/agent2")


def test_extension_with_dialplan_characters_is_refused(hl):
    with hl.session() as s, s.begin():
        agent1 = user(s, "agent1")
        with pytest.raises(ValidationError, match="PJSIP/agent1"):
            agents.set_presence(s, agent1, me(agent1), "available", "PJSIP/a,b;c")


def test_an_agent_may_not_change_another_agents_presence(hl):
    with hl.session() as s, s.begin():
        with pytest.raises(PermissionDenied):
            agents.set_presence(s, user(s, "agent2"), me(user(s, "agent1")), "available")


def test_a_supervisor_may_change_an_agents_presence(hl):
    with hl.session() as s, s.begin():
        agents.set_presence(s, user(s, "agent2"), me(user(s, "supervisor1")), "away")
        agents.set_presence(s, user(s, "agent2"), me(user(s, "supervisor1")), "busy")
        assert user(s, "agent2").presence == "busy"


def test_presence_is_only_for_call_taking_roles(hl):
    with hl.session() as s, s.begin():
        dispatcher = user(s, "dispatcher1")
        with pytest.raises(ValidationError, match="presence is for agent, supervisor"):
            agents.set_presence(s, dispatcher, me(dispatcher), "available")


def test_wrap_up_saves_disposition_and_notes_on_the_call(hl):
    with hl.session() as s, s.begin():
        agent1 = user(s, "agent1")
        call_id = offer(s, agent1).call_id
        agents.wrap_up(s, s.get(Call, call_id), me(agent1), "booked", "  想要周六上午保洁  ")
    with hl.session() as s:
        call = s.get(Call, call_id)
        assert (call.disposition, call.notes) == ("booked", "想要周六上午保洁")
        assert s.scalar(select(AuditLog).where(AuditLog.action == "call.wrap_up")).entity_id == str(call_id)


def test_wrap_up_by_another_agent_is_refused(hl):
    with hl.session() as s, s.begin():
        call_id = offer(s, user(s, "agent1")).call_id
        with pytest.raises(PermissionDenied):
            agents.wrap_up(s, s.get(Call, call_id), me(user(s, "agent2")), "info")


def test_wrap_up_with_unknown_disposition_is_refused_naming_the_choices(hl):
    with hl.session() as s, s.begin():
        agent1 = user(s, "agent1")
        call_id = offer(s, agent1).call_id
        with pytest.raises(ValidationError, match="booked, order_query"):
            agents.wrap_up(s, s.get(Call, call_id), me(agent1), "happy")


def test_overlong_call_notes_are_refused(hl):
    with hl.session() as s, s.begin():
        agent1 = user(s, "agent1")
        call_id = offer(s, agent1).call_id
        with pytest.raises(ValidationError, match="under 4000"):
            agents.wrap_up(s, s.get(Call, call_id), me(agent1), "info", "话" * 4001)


def test_newest_offer_not_wrapped_up_is_the_current_call(hl):
    with hl.session() as s, s.begin():
        agent1 = user(s, "agent1")
        offer(s, agent1, external_id="old")
        newest = offer(s, agent1, "13900139000", external_id="new").id
        desk = agents.desk(s, agent1)
    assert desk["current_event_id"] == newest
    assert [r["event_id"] for r in desk["recent"]][0] == newest
    assert len(desk["recent"]) == 2


def test_wrapped_up_call_is_no_longer_current(hl):
    with hl.session() as s, s.begin():
        agent1 = user(s, "agent1")
        ev = offer(s, agent1)
        agents.wrap_up(s, s.get(Call, ev.call_id), me(agent1), "info")
        assert agents.desk(s, agent1)["current_event_id"] is None


def test_call_taken_by_another_agent_is_not_current(hl):
    with hl.session() as s, s.begin():
        ev = offer(s, user(s, "agent1"))
        calls.offer_call(s, s.get(Call, ev.call_id), user(s, "agent2"))    # agent1 missed it
        assert agents.desk(s, user(s, "agent1"))["current_event_id"] is None


def test_call_from_hours_ago_is_not_current(hl, clock):
    with hl.session() as s, s.begin():
        offer(s, user(s, "agent1"))
    clock.advance(hours=2, minutes=1)
    with hl.session() as s:
        assert agents.desk(s, user(s, "agent1"))["current_event_id"] is None


def test_screen_pop_shows_the_card_as_it_is_now(hl):
    with hl.session() as s, s.begin():
        agent1 = user(s, "agent1")
        ev = offer(s, agent1, "13900139000")
        pop = agents.screen_pop(s, agent1, ev.id)
    assert pop["card"]["name"] == "李先生"
    assert pop["call"]["id"] == ev.call_id


def test_screen_pop_of_another_agents_offer_is_not_found(hl):
    with hl.session() as s, s.begin():
        ev = offer(s, user(s, "agent1"))
        with pytest.raises(NotFound):
            agents.screen_pop(s, user(s, "agent2"), ev.id)


def test_desk_starts_the_stream_after_the_agents_newest_event(hl):
    with hl.session() as s, s.begin():
        agent1 = user(s, "agent1")
        newest = offer(s, agent1).id
        offer(s, user(s, "agent2"), external_id="other")
        assert agents.desk(s, agent1)["last_event_id"] == newest

