"""Events leave after commit, never after rollback; in-process and over Redis."""
from __future__ import annotations

import pytest

from tests.core.helpers import book
from tickets.bus import InProcessBus, RedisBus, publish_after_commit


def _received(sub, timeout=5.0):
    out = []
    ev = sub.get(timeout=timeout)
    while ev is not None:
        out.append(ev)
        ev = sub.get(timeout=0.2)
    return out


def test_order_events_are_published_after_commit(hl):
    sub = hl.bus.subscribe("order.*")
    with hl.session() as s, s.begin():
        order = book(s, hl)
        assert sub.get(timeout=0.05) is None          # nothing before the commit
    topics = [e.topic for e in _received(sub)]
    assert topics == ["order.create", "order.confirm", "order.dispatch"]
    sub.close()


def test_rolled_back_transaction_publishes_nothing(hl):
    sub = hl.bus.subscribe("*")
    with hl.session() as s:
        with s.begin():
            book(s, hl)
            s.rollback()
    assert sub.get(timeout=0.3) is None
    sub.close()


def test_subscription_pattern_filters_topics():
    bus = InProcessBus()
    agent = bus.subscribe("agent.7")
    bus.publish("agent.8", {"x": 1})
    bus.publish("agent.7", {"x": 2})
    assert agent.get(timeout=1).payload == {"x": 2}
    assert agent.get(timeout=0.05) is None


def test_closed_subscription_receives_nothing():
    bus = InProcessBus()
    sub = bus.subscribe("*")
    sub.close()
    bus.publish("a", {})
    assert sub.get(timeout=0.05) is None


@pytest.mark.redis
def test_redis_bus_delivers_between_two_processes_worth_of_clients(redis_server):
    a, b = RedisBus(redis_server.url), RedisBus(redis_server.url)
    try:
        sub = b.subscribe("agent.*")
        # pub/sub subscription is asynchronous: publish until the subscriber is attached.
        got = None
        for _ in range(50):
            a.publish("agent.3", {"card": "王女士"})
            got = sub.get(timeout=0.1)
            if got:
                break
        assert got is not None
        assert got.topic == "agent.3"
        assert got.payload == {"card": "王女士"}
    finally:
        a.close()
        b.close()


@pytest.mark.redis
def test_redis_bus_publishes_after_commit_only(hl, redis_server):
    bus = RedisBus(redis_server.url)
    listener = RedisBus(redis_server.url)
    try:
        sub = listener.subscribe("probe.*")
        for _ in range(50):                      # wait until the listener is attached
            bus.publish("probe.ready", {})
            if sub.get(timeout=0.1):
                break
        while sub.get(timeout=0.2):
            pass
        with hl.session() as s:
            s.info["bus"] = bus
            with s.begin():
                publish_after_commit(s, "probe.rolled_back", {})
                s.rollback()
            with s.begin():
                publish_after_commit(s, "probe.committed", {"n": 1})
        ev = sub.get(timeout=5)
        assert ev.topic == "probe.committed"
        assert sub.get(timeout=0.3) is None
    finally:
        bus.close()
        listener.close()


def test_event_in_a_rolled_back_savepoint_is_dropped_and_the_rest_published(hl):
    sub = hl.bus.subscribe("probe.*")
    with hl.session() as s:
        with s.begin():
            publish_after_commit(s, "probe.outer", {})
            sp = s.begin_nested()
            publish_after_commit(s, "probe.inner", {})
            sp.rollback()
            with s.begin_nested():
                publish_after_commit(s, "probe.released", {})
            assert sub.get(timeout=0.05) is None      # a released savepoint publishes nothing yet
    assert [e.topic for e in _received(sub, 2)] == ["probe.outer", "probe.released"]
    sub.close()
