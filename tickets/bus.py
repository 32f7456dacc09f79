"""The event bus: in-process by default, Redis pub/sub when REDIS_URL is set; one interface.

Domain code never publishes directly: it calls `publish_after_commit(session, ...)`, and the
event leaves only once the transaction has committed (a rollback drops it).
"""
from __future__ import annotations

import fnmatch
import json
import logging
import queue
import threading
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from .outage import Outage
from .transactions import after_commit

log = logging.getLogger(__name__)


@dataclass
class Event:
    topic: str
    payload: dict[str, Any]
    row: Any = None       # a database row whose id goes into payload["event_id"] once committed


@dataclass
class Subscription:
    """Events matching `pattern` (glob, e.g. `agent.*`) arrive in a queue; close() to stop."""
    pattern: str
    _queue: "queue.Queue[Event]" = field(default_factory=queue.Queue)
    _close: Any = None

    def get(self, timeout: float | None = None) -> Event | None:
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def close(self) -> None:
        if self._close:
            self._close(self)
            self._close = None


class InProcessBus:
    """Delivers to subscribers in this process only."""

    def __init__(self) -> None:
        self._subs: list[Subscription] = []
        self._lock = threading.Lock()

    def publish(self, topic: str, payload: dict[str, Any]) -> None:
        with self._lock:
            subs = list(self._subs)
        for sub in subs:
            if fnmatch.fnmatchcase(topic, sub.pattern):
                sub._queue.put(Event(topic, payload))

    def subscribe(self, pattern: str) -> Subscription:
        sub = Subscription(pattern, _close=self._unsubscribe)
        with self._lock:
            self._subs.append(sub)
        return sub

    def _unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            if sub in self._subs:
                self._subs.remove(sub)

    def close(self) -> None:
        with self._lock:
            self._subs.clear()


class RedisBus:
    """Redis pub/sub: every process subscribed to the same Redis sees every event.

    One listener thread per process fans messages out to local subscriptions, so 200 console
    streams cost one Redis connection, not 200.

    Redis going away is an outage to ride out, not an error per event: the listener keeps
    trying to reconnect (every RECONNECT_SECONDS) and re-subscribes when Redis is back (or
    subscribes for the first time, when the process started during the outage), and a
    publish meanwhile is dropped with one warning per outage (other processes miss it; the
    booking that caused it stands). redis-py's own `run_in_thread` listener dies on the first
    connection error and never returns, leaving the process deaf until restarted.
    """

    RECONNECT_SECONDS = 0.5

    def __init__(self, url: str, channel_prefix: str = "hotline:") -> None:
        import redis  # imported here: the default, in-process setup never needs it

        self._errors = (redis.ConnectionError, redis.TimeoutError)
        self._redis = redis.Redis.from_url(url)
        self._prefix = channel_prefix
        self._local = InProcessBus()
        self._outage = Outage(log, "bus", "events between processes are dropped until it is back")
        self._stopping = threading.Event()
        self._pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        # A process started during an outage (a web worker replaced, a restart) starts all the
        # same, deaf until Redis answers: gunicorn stops altogether when a worker cannot boot.
        self._subscribed = False
        self._subscribe()
        self._thread = threading.Thread(target=self._listen, name="redis-bus", daemon=True)
        self._thread.start()

    def _subscribe(self) -> bool:
        try:
            self._pubsub.psubscribe(**{self._prefix + "*": self._on_message})
        except self._errors as exc:
            self._outage.failed(exc)
            return False
        self._subscribed = True
        return True

    def _listen(self) -> None:
        while not self._stopping.is_set():
            if not self._subscribed and not self._subscribe():
                self._stopping.wait(self.RECONNECT_SECONDS)
                continue
            # Only a PING that began during the outage says Redis is back: a read that began
            # before a publisher met the outage may still end quietly.
            was_down = self._outage.down
            try:
                if was_down:
                    self._redis.ping()
                self._pubsub.get_message(timeout=0.2)
                if was_down:
                    self._outage.answered()
            except self._errors as exc:
                self._outage.failed(exc)
                self._stopping.wait(self.RECONNECT_SECONDS)

    def _on_message(self, message: dict) -> None:
        try:
            channel = message["channel"].decode() if isinstance(message["channel"], bytes) else message["channel"]
            payload = json.loads(message["data"])
        except (ValueError, KeyError, TypeError):
            log.warning("bus: dropped malformed message %r", message)
            return
        self._local.publish(channel[len(self._prefix):], payload)

    def publish(self, topic: str, payload: dict[str, Any]) -> None:
        try:
            self._redis.publish(self._prefix + topic, json.dumps(payload, ensure_ascii=False, default=str))
        except self._errors as exc:
            self._outage.failed(exc)

    def subscribe(self, pattern: str) -> Subscription:
        return self._local.subscribe(pattern)

    def ping(self) -> None:
        """Raise when Redis does not answer (the readiness check)."""
        self._redis.ping()

    def close(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=5)   # the listener must be out of its read before the socket closes
        self._pubsub.close()
        self._redis.close()


def make_bus(redis_url: str = ""):
    return RedisBus(redis_url) if redis_url else InProcessBus()


def publish_after_commit(session: Session, topic: str, payload: dict[str, Any], row: Any = None) -> None:
    """Publish an event once the outermost transaction commits (dropped if it, or the savepoint
    it was queued in, rolls back).

    With `row`, the payload gets `event_id` = row.id at publish time, once the row has its key.
    """
    def publish() -> None:
        bus = session.info.get("bus")
        if bus is None:
            log.debug("bus: session without a bus, %s not published", topic)
            return
        if row is not None:
            payload["event_id"] = row.id
        bus.publish(topic, payload)

    after_commit(session, publish)
