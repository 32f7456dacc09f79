"""The agent's event stream over real HTTP (waitress on loopback): live offers, replay by event id,
events from other processes, heartbeats, bounded life, slots, and shutdown."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from agent_console.commands import WebService
from agent_console.stream import BUSY_RETRY_MS, RECONNECT_MS, StreamHub
from agent_console.workspace import HUB
from tests.console.live import Browser, SseStream, offer_to, wait_until
from tests.servers import free_port
from tickets import calls
from tickets.config import load_settings
from tickets.context import Hotline
from tickets.models import User


@pytest.fixture
def serve(new_hotline, clock):
    """`serve(**env)` -> a started WebService on a free port over a fresh demo database."""
    started = []

    def _serve(**env) -> WebService:
        env.setdefault("STREAM_SLOTS", "8")
        env.setdefault("WEB_THREADS", "4")
        hl = new_hotline(clock=clock, WEB_BIND=f"127.0.0.1:{free_port()}", **env)
        svc = WebService(hl)
        svc.start()
        started.append(svc)
        return svc

    yield _serve
    for svc in started:
        svc.stop()


def agent_browser(svc: WebService, username: str = "agent1") -> Browser:
    return Browser(f"http://127.0.0.1:{svc.port}").login(username)


def open_stream(browser: Browser, path: str = "/workspace/stream", last_event_id: str = "") -> SseStream:
    stream = SseStream(browser, path, last_event_id=last_event_id).open()
    assert stream.status == 200
    wait_until(lambda: any(c.startswith("hello") for c in stream.comments), what="the stream's hello")
    return stream


def short_heartbeat(svc: WebService, seconds: float = 0.2) -> None:
    """Swap in a hub that beats every `seconds` (the production beat is 15 s)."""
    s = svc.hl.settings
    svc.app.extensions[HUB] = StreamHub(svc.hl, slots=s.stream_slots, max_seconds=s.stream_max_seconds,
                                        heartbeat=seconds)


def test_offer_reaches_the_agents_open_stream_with_its_id(serve):
    svc = serve()
    stream = open_stream(agent_browser(svc))
    event_id = offer_to(svc.hl, "agent1")
    ev = stream.next_of("offer")
    assert ev.id == str(event_id)
    assert ev.data["id"] == event_id
    assert ev.data["payload"]["card"]["name"] == "王女士"
    stream.close()


def test_stream_carries_only_the_agents_own_events(serve):
    svc = serve()
    stream = open_stream(agent_browser(svc, "agent1"))
    offer_to(svc.hl, "agent2", external_id="for-agent2")
    mine = offer_to(svc.hl, "agent1", external_id="for-agent1")
    assert stream.next_of("offer").data["id"] == mine
    stream.close()


def test_reconnect_with_last_event_id_gets_what_was_missed_in_order(serve):
    svc = serve()
    browser = agent_browser(svc)
    stream = open_stream(browser)
    first = offer_to(svc.hl, "agent1", external_id="c1")
    assert stream.next_of("offer").data["id"] == first
    stream.close()
    missed = [offer_to(svc.hl, "agent1", external_id=f"c{n}") for n in (2, 3)]
    again = open_stream(browser, last_event_id=str(first))
    assert [again.next_of("offer").data["id"] for _ in missed] == missed
    again.close()


def test_page_position_starts_the_stream_after_it(serve):
    svc = serve()
    browser = agent_browser(svc)
    seen = offer_to(svc.hl, "agent1", external_id="before-page")
    after_page = offer_to(svc.hl, "agent1", external_id="after-page")
    stream = open_stream(browser, f"/workspace/stream?after={seen}")
    assert stream.next_of("offer").data["id"] == after_page
    stream.close()


def test_stream_without_a_position_starts_from_now(serve):
    svc = serve()
    browser = agent_browser(svc)
    offer_to(svc.hl, "agent1", external_id="earlier")
    stream = open_stream(browser)
    now = offer_to(svc.hl, "agent1", external_id="now")
    assert stream.next_of("offer").data["id"] == now
    stream.close()


def test_last_event_id_header_wins_over_the_page_position(serve):
    svc = serve()
    browser = agent_browser(svc)
    ids = [offer_to(svc.hl, "agent1", external_id=f"c{n}") for n in range(3)]
    stream = open_stream(browser, f"/workspace/stream?after={ids[0]}", last_event_id=str(ids[1]))
    assert stream.next_of("offer").data["id"] == ids[2]
    stream.close()


def test_event_written_by_another_process_arrives_without_redis(serve):
    svc = serve()
    stream = open_stream(agent_browser(svc))
    # Another process: its own engine and its own in-process bus, which does not reach the server's.
    other = Hotline(load_settings({"DATABASE_URL": svc.hl.settings.database_url}))
    try:
        event_id = offer_to(other, "agent1", external_id="from-simulator")
    finally:
        other.close()
    assert stream.next_of("offer").data["id"] == event_id
    stream.close()


def test_presence_change_reaches_every_open_tab_of_the_agent(serve):
    svc = serve()
    browser = agent_browser(svc)
    tabs = [open_stream(browser), open_stream(browser)]
    browser.set_presence("available", "PJSIP/agent1")
    for tab in tabs:
        assert tab.next_of("presence").data["payload"] == {"presence": "available", "extension": "PJSIP/agent1"}
        tab.close()


def test_heartbeat_comments_flow_on_an_idle_stream(serve):
    svc = serve()
    short_heartbeat(svc)
    stream = open_stream(agent_browser(svc))
    wait_until(lambda: stream.comments.count("keepalive") >= 2, what="two heartbeats")
    stream.close()


@pytest.mark.redis
def test_event_whose_publish_was_lost_arrives_at_the_next_heartbeat(serve, redis_server):
    svc = serve(REDIS_URL=redis_server.url)
    short_heartbeat(svc)
    stream = open_stream(agent_browser(svc))
    with svc.hl.session() as s, s.begin():
        s.info["bus"] = None      # committed, but never published (as when Redis was unreachable)
        call = calls.start_call(s, "lost-publish", "simulator", "13800138000")
        event_id = calls.offer_call(s, call, s.scalar(select(User).where(User.username == "agent1"))).id
    assert stream.next_of("offer").data["id"] == event_id
    stream.close()


@pytest.mark.redis
def test_redis_bus_delivers_an_offer_made_by_another_process(serve, redis_server):
    svc = serve(REDIS_URL=redis_server.url)
    stream = open_stream(agent_browser(svc))
    other = Hotline(load_settings({"DATABASE_URL": svc.hl.settings.database_url,
                                   "REDIS_URL": redis_server.url}))
    try:
        event_id = offer_to(other, "agent1", external_id="via-redis")
    finally:
        other.close()
    assert stream.next_of("offer").data["id"] == event_id
    stream.close()


def test_stream_ends_after_its_bound_and_asks_for_a_quick_reconnect(serve):
    svc = serve(STREAM_MAX_SECONDS="1")
    stream = open_stream(agent_browser(svc))
    assert stream.ended.wait(10), "the stream outlived STREAM_MAX_SECONDS"
    assert stream.retry_ms == RECONNECT_MS


def test_stream_beyond_the_slots_is_told_to_retry_later(serve):
    svc = serve(STREAM_SLOTS="1")
    browser = agent_browser(svc)
    first = open_stream(browser)
    refused = SseStream(browser, "/workspace/stream").open()
    assert refused.ended.wait(10)
    assert refused.retry_ms == BUSY_RETRY_MS
    assert "busy" in refused.comments
    first.close()
    wait_until(lambda: svc.app.extensions[HUB].open_count == 0, what="the slot to be given back")
    open_stream(browser).close()


def test_stream_needs_a_logged_in_session(serve):
    svc = serve()
    resp = Browser(f"http://127.0.0.1:{svc.port}").http.get(
        f"http://127.0.0.1:{svc.port}/workspace/stream", headers={"Accept": "text/event-stream"}, timeout=10)
    assert resp.status_code == 401


def test_stream_is_refused_to_roles_that_take_no_calls(serve):
    svc = serve()
    browser = Browser(f"http://127.0.0.1:{svc.port}").login("dispatcher1")
    resp = browser.http.get(browser.url("/workspace/stream"), headers={"Accept": "text/event-stream"}, timeout=10)
    assert resp.status_code == 403


def test_stopping_the_server_ends_open_streams(serve):
    svc = serve()
    stream = open_stream(agent_browser(svc))
    svc.stop()
    assert stream.ended.wait(10), "an open stream survived the server's stop"


def test_the_stream_opens_no_database_session_while_it_waits(serve):
    svc = serve()
    streams = [open_stream(agent_browser(svc)) for _ in range(3)]
    # Every pooled connection is back in the pool: waiting streams hold none.
    wait_until(lambda: svc.hl.engine.pool.checkedout() == 0, what="connections back in the pool")
    event_id = offer_to(svc.hl, "agent1", external_id="pool")
    for st in streams:
        assert st.next_of("offer").data["id"] == event_id
        st.close()



def test_event_committed_out_of_id_order_is_still_delivered_once(serve):
    svc = serve()
    stream = open_stream(agent_browser(svc))
    with svc.hl.session() as s:
        agent_id = s.scalar(select(User.id).where(User.username == "agent1"))
    # Two transactions whose ids commit the other way round (PostgreSQL sequences allow it).
    later = {"id": 1_000_002, "kind": "notice", "payload": {}}
    earlier = {"id": 1_000_001, "kind": "notice", "payload": {}}
    for data in (later, earlier, later):
        svc.hl.bus.publish(f"agent.{agent_id}", data)
    first, second = stream.next(), stream.next()
    assert [first.data["id"], second.data["id"]] == [1_000_002, 1_000_001]
    assert second.id == "1000002"          # a reconnect resumes after the highest id sent
    with pytest.raises(AssertionError):
        stream.next(timeout=1)             # the repeated copy is not sent again
    stream.close()
