"""The supervisor's wallboard: what each figure counts (tickets.stats) and who may see the page."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from tests.console.conftest import text
from tests.core.helpers import book
from tickets import agents, calls, stats
from tickets.actors import Actor
from tickets.models import Call, User


def new_call(s, external_id: str, *, started: datetime | None = None, **fields) -> Call:
    call = calls.start_call(s, external_id, "simulator", "13800138000")
    if started is not None:
        call.started_at = started
    for name, value in fields.items():
        setattr(call, name, value)
    return call


def test_a_call_in_the_agent_queue_not_yet_answered_is_waiting(hl, clock):
    with hl.session() as s, s.begin():
        new_call(s, "w1", started=clock.now - timedelta(seconds=90), outcome="agent")
        new_call(s, "w2", started=clock.now - timedelta(seconds=30), outcome="agent")
        assert stats.calls_waiting(s) == stats.Waiting(count=2, longest_seconds=90)


@pytest.mark.parametrize("fields", [{"queue_result": "answered"}, {"disposition": "info"},
                                    {"outcome": "booked"}],
                         ids=["answered", "wrapped-up", "self-served"])
def test_a_call_answered_or_served_is_not_waiting(hl, clock, fields):
    with hl.session() as s, s.begin():
        new_call(s, "c", **{"outcome": "agent", **fields})
        assert stats.calls_waiting(s).count == 0


def test_a_caller_who_left_the_queue_is_not_waiting(hl, clock):
    with hl.session() as s, s.begin():
        new_call(s, "c", outcome="abandoned", queue_result="abandoned", ended_at=clock.now)
        assert stats.calls_waiting(s).count == 0


def test_a_call_the_voice_menu_handed_to_the_queue_is_waiting(hl, clock):
    with hl.session() as s, s.begin():
        # The menu's part of the call is over (ended_at) once it transfers; the caller still waits.
        new_call(s, "c", outcome="agent", queue="agents", ended_at=clock.now)
        assert stats.calls_waiting(s).count == 1


def test_a_call_whose_hang_up_never_arrived_stops_counting_as_waiting(hl, clock):
    with hl.session() as s, s.begin():
        new_call(s, "stale", started=clock.now - stats.WAITING_HORIZON - timedelta(seconds=1), outcome="agent")
        assert stats.calls_waiting(s) == stats.Waiting(count=0, longest_seconds=0)


def test_calls_today_start_at_local_midnight(hl, clock):
    # clock: Monday 10:00 Asia/Shanghai = 02:00 UTC, so local midnight is 16:00 UTC the day before.
    midnight_utc = datetime(2026, 11, 22, 16, 0)
    with hl.session() as s, s.begin():
        new_call(s, "yesterday", started=midnight_utc - timedelta(seconds=1))
        new_call(s, "today", started=midnight_utc)
        assert stats.today_start(s) == midnight_utc
        assert stats.calls_today(s)["offered"] == 1


def test_calls_today_counts_answered_abandoned_and_self_served(hl):
    with hl.session() as s, s.begin():
        new_call(s, "answered", outcome="agent", queue_result="answered")
        new_call(s, "wrapped", outcome="agent", disposition="booked")
        new_call(s, "left-in-queue", outcome="abandoned", queue_result="abandoned")
        new_call(s, "left-in-menu", outcome="abandoned")
        new_call(s, "booked-by-voice", outcome="booked")
        new_call(s, "status-by-voice", outcome="status")
        new_call(s, "still-waiting", outcome="agent")
        assert stats.calls_today(s) == {"offered": 7, "answered": 2, "abandoned": 2, "self_served": 2,
                                         "menu_failed": 0}


def test_agents_are_grouped_by_presence(hl):
    with hl.session() as s, s.begin():
        agent2 = s.scalar(select(User).where(User.username == "agent2"))
        agents.set_presence(s, agent2, Actor.from_user(agent2), "available")
        groups = stats.agents_by_presence(s)
    assert list(groups) == ["available", "busy", "away"]
    assert [a["username"] for a in groups["available"]] == ["agent2"]
    assert "agent1" in [a["username"] for a in groups["away"]]
    assert all(a["role"] in agents.CALL_TAKING_ROLES for group in groups.values() for a in group)


def test_orders_by_status_lists_every_state_and_counts_a_new_booking(hl):
    with hl.session() as s, s.begin():
        before = stats.orders_by_status(s)
        order = book(s, hl)
        after = stats.orders_by_status(s)
    assert set(before) == set(after)
    assert "rework" in after
    assert after[order.status] == before[order.status] + 1
    assert sum(after.values()) == sum(before.values()) + 1


def test_supervisor_sees_the_wallboard_figures(login, hl):
    with hl.session() as s, s.begin():
        new_call(s, "w", outcome="agent")
    page = text(login("supervisor1").get("/wallboard/"))
    assert 'data-testid="wb-waiting"' in page
    assert 'class="n">1</span>' in page
    assert 'data-testid="wb-agents-away"' in page
    assert "坐席 小张" in page
    assert 'data-status="closed"' in page


def test_wallboard_refresh_sends_the_figures_alone(login):
    html = text(login("supervisor1").get("/wallboard/figures"))
    assert 'id="wallboard-figures"' in html
    assert "<html" not in html


def test_wallboard_figures_as_json(login, hl):
    with hl.session() as s, s.begin():
        new_call(s, "w", outcome="agent")
    data = login("admin").get("/wallboard/data").json
    assert data["waiting"]["count"] == 1
    assert data["calls_today"]["offered"] == 1
    assert set(data["agents"]) == {"available", "busy", "away"}


@pytest.mark.parametrize("username", ["agent1", "dispatcher1", "callback1", "franchisee1"])
def test_wallboard_is_for_supervisors_and_admins(login, username):
    assert login(username).get("/wallboard/").status_code == 403


@pytest.mark.postgres
def test_wallboard_and_desk_queries_give_the_same_answers_on_postgresql(pg_hl):
    with pg_hl.session() as s, s.begin():
        agent1 = s.scalar(select(User).where(User.username == "agent1"))
        agents.set_presence(s, agent1, Actor.from_user(agent1), "available")
        call = new_call(s, "pg-waiting", outcome="agent")
        calls.offer_call(s, call, agent1)
        new_call(s, "pg-answered", outcome="agent", queue_result="answered")
        board = stats.wallboard(s)
        desk = agents.desk(s, agent1)
    assert board["waiting"] == {"count": 1, "longest_seconds": 0}
    assert board["calls_today"] == {"offered": 2, "answered": 1, "abandoned": 0, "self_served": 0,
                                     "menu_failed": 0}
    assert [a["username"] for a in board["agents"]["available"]] == ["agent1"]
    assert sum(board["orders_by_status"].values()) > 0
    assert desk["current_event_id"] == desk["last_event_id"]
