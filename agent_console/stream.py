"""The agent's event stream: Server-Sent Events fed by the bus, backed by the agent_events table.

Every event an agent's console must see is an `AgentEvent` row (tickets.calls.push_agent_event),
published on `agent.<user_id>` after commit. A stream:

1. subscribes to the bus first, then replays the rows after the client's Last-Event-ID, so an
   event committed in between is not lost (it may arrive twice; each id goes out once);
2. forwards bus events as `id: <AgentEvent.id>` + `data: <json>`, and sends a comment line as a
   heartbeat, which also tells a WSGI server that a vanished client is gone;
3. checks the table at every heartbeat, so an event whose publish was lost (Redis down for a
   moment) still arrives;
4. ends after `STREAM_MAX_SECONDS` (with some jitter, so 200 consoles opened together do not
   all reconnect together). EventSource reconnects by itself with Last-Event-ID, so nothing is
   lost, and a session ended by "log out everywhere" stops receiving within that bound.

Threads: a WSGI server gives each open stream a thread for its whole life. One web process
serves at most `STREAM_SLOTS` streams at once; one more is answered with a `retry:` and closed
at once, so streams can never take the threads page requests need. `hotline run` / `hotline web`
start waitress with WEB_THREADS + STREAM_SLOTS threads.

One process without Redis (the in-process bus) cannot hear events written by another process
(the `hotline simulate-call` command, a FastAGI server of its own). There an `EventRelay`
watches the table, one small query every half second per process while any stream is open,
and wakes the streams that have something new.
"""
from __future__ import annotations

import json
import logging
import os
import random
import socket
import threading
import time
from collections import deque
from typing import Callable, Iterator

from sqlalchemy import func, select

from tickets.bus import InProcessBus
from tickets.context import Hotline
from tickets.models import AgentEvent

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 15.0
RELAY_SECONDS = 0.5
# A console that was away for long gets the newest events only: older offers are calls long over.
REPLAY_LIMIT = 50
# Tell EventSource to reconnect quickly after a stream ends (its default is about 3 s).
RECONNECT_MS = 1000
# When every slot is taken, come back later rather than at once.
BUSY_RETRY_MS = 15000
# How often a waiting stream looks up from its queue: bounds how long a server stop, or a client
# that hung up, keeps its thread.
WAKE_SECONDS = 1.0


def sse_event(event_id: int, data: dict) -> bytes:
    """One SSE message; JSON on one line, so a single `data:` field carries it."""
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str)
    return f"id: {event_id}\ndata: {body}\n\n".encode()


def event_data(ev: AgentEvent) -> dict:
    """What the browser receives for a stored event: the same shape the bus carries."""
    return {"id": ev.id, "kind": ev.kind, "payload": ev.payload}


def stored_events(hl: Hotline, user_id: int, after: int, limit: int = REPLAY_LIMIT) -> list[dict]:
    """The user's events with an id above `after`, oldest first; at most the newest `limit`."""
    with hl.session() as s:
        rows = s.scalars(select(AgentEvent).where(AgentEvent.user_id == user_id, AgentEvent.id > after)
                         .order_by(AgentEvent.id.desc()).limit(limit)).all()
        return [event_data(ev) for ev in reversed(rows)]


def latest_event_id(hl: Hotline, user_id: int | None = None) -> int:
    """The newest event id (of one user, or of anyone); 0 when there is none."""
    with hl.session() as s:
        q = select(func.max(AgentEvent.id))
        if user_id is not None:
            q = q.where(AgentEvent.user_id == user_id)
        return s.scalar(q) or 0


class EventRelay:
    """Watches agent_events for rows written by other processes, for the in-process bus only.

    Reference-counted by the open streams: the watcher thread runs while at least one stream is
    open and stops with the last one. It keeps the newest id per user; a stream fetches its own
    rows only when its user's newest id passes what it has sent.
    """

    def __init__(self, hl: Hotline, interval: float = RELAY_SECONDS) -> None:
        self.hl = hl
        self.interval = interval
        self._seen = 0
        self._latest: dict[int, int] = {}
        self._users = 0
        self._lock = threading.Lock()
        self._stop: threading.Event | None = None

    def latest_for(self, user_id: int) -> int:
        return self._latest.get(user_id, 0)

    def acquire(self) -> None:
        with self._lock:
            self._users += 1
            if self._stop is None:
                self._seen = latest_event_id(self.hl)
                self._stop = threading.Event()
                threading.Thread(target=self._run, args=(self._stop,), name="agent-event-relay",
                                 daemon=True).start()

    def release(self) -> None:
        with self._lock:
            self._users -= 1
            if self._users == 0 and self._stop is not None:
                self._stop.set()
                self._stop = None

    def poll(self) -> None:
        """Note the newest id of every user with events since the last poll."""
        with self.hl.session() as s:
            rows = s.execute(select(AgentEvent.user_id, func.max(AgentEvent.id))
                             .where(AgentEvent.id > self._seen).group_by(AgentEvent.user_id)).all()
        for user_id, newest in rows:
            self._latest[user_id] = max(self._latest.get(user_id, 0), newest)
            self._seen = max(self._seen, newest)

    def _run(self, stop: threading.Event) -> None:
        while not stop.wait(self.interval):
            try:
                self.poll()
            except Exception:  # noqa: BLE001 - a database hiccup must not end the watcher
                log.exception("stream relay: could not read agent_events; trying again")


class StreamHub:
    """The streams of one app: their slots, the relay (in-process bus only) and the stop signal."""

    def __init__(self, hl: Hotline, *, slots: int, max_seconds: float, heartbeat: float = HEARTBEAT_SECONDS,
                 relay_interval: float = RELAY_SECONDS) -> None:
        self.hl = hl
        self.size = slots
        self.max_seconds = max_seconds
        self.heartbeat = heartbeat
        # The bus reaches other processes only through Redis; without it, watch the table.
        self.relay = EventRelay(hl, relay_interval) if isinstance(hl.bus, InProcessBus) else None
        self.stopping = threading.Event()
        self._open = 0
        self._lock = threading.Condition()

    @property
    def open_count(self) -> int:
        return self._open

    def _take(self) -> bool:
        with self._lock:
            if self._open >= self.size or self.stopping.is_set():
                return False
            self._open += 1
            return True

    def _give_back(self) -> None:
        with self._lock:
            self._open -= 1
            self._lock.notify_all()

    def stop(self, timeout: float = 5.0) -> bool:
        """End every stream (each notices within WAKE_SECONDS); True when all have ended in time."""
        self.stopping.set()
        with self._lock:
            return self._lock.wait_for(lambda: self._open == 0, timeout)

    def stream(self, user_id: int, after: int, gone: Callable[[], bool] | None = None) -> Iterator[bytes]:
        """The SSE body for one agent's console: replay after `after`, then live events until the bound.

        `gone()` tells whether the client has hung up (waitress offers it); without it a vanished
        client is noticed when the next heartbeat cannot be written. Everything happens on first
        iteration (not when the generator is made), so a response never sent takes no slot.
        """
        if not self._take():
            log.warning("stream: %s; user %s told to retry in %d s",
                        "shutting down" if self.stopping.is_set() else f"all {self.size} stream slots are taken",
                        user_id, BUSY_RETRY_MS // 1000)
            yield f"retry: {BUSY_RETRY_MS}\n: busy\n\n".encode()
            return
        sub = self.hl.bus.subscribe(f"agent.{user_id}")
        if self.relay is not None:
            self.relay.acquire()
        try:
            yield from self._events(sub, user_id, after, gone or (lambda: False))
        finally:
            sub.close()
            if self.relay is not None:
                self.relay.release()
            self._give_back()

    def _events(self, sub, user_id: int, after: int, gone: Callable[[], bool]) -> Iterator[bytes]:
        # The hello names the process serving this stream: which worker an agent is on, for operators.
        yield f"retry: {RECONNECT_MS}\n: hello {socket.gethostname()}:{os.getpid()}\n\n".encode()
        cursor = _Cursor(after)
        for data in stored_events(self.hl, user_id, cursor.last):
            yield from cursor.emit(data)
        # Bound the stream's life, with jitter so consoles opened together spread their reconnects.
        end = time.monotonic() + self.max_seconds * random.uniform(0.85, 1.0)
        next_beat = time.monotonic() + self.heartbeat
        wake = min(WAKE_SECONDS, self.relay.interval) if self.relay is not None else WAKE_SECONDS
        while not self.stopping.is_set() and not gone():
            now = time.monotonic()
            if now >= end:
                return
            ev = sub.get(timeout=max(0.0, min(wake, next_beat - now, end - now)))
            if ev is not None:
                yield from cursor.emit(ev.payload)
                continue
            beat_due = time.monotonic() >= next_beat
            if beat_due or (self.relay is not None and self.relay.latest_for(user_id) > cursor.last):
                # At each heartbeat too: an event whose publish was lost still arrives.
                for data in stored_events(self.hl, user_id, cursor.last):
                    yield from cursor.emit(data)
            if beat_due:
                yield b": keepalive\n\n"
                next_beat = time.monotonic() + self.heartbeat


class _Cursor:
    """Where a stream is: it started after `start`, has sent up to `last`, and each event once.

    Ids are not always committed in order (two transactions on PostgreSQL can commit their
    sequence values the other way round), so a live event below `last` that this stream has not
    sent yet still goes out, with `id:` set to `last`: the SSE id is where a reconnect resumes.
    """

    RECENT = 512

    def __init__(self, after: int) -> None:
        self.start = after
        self.last = after
        self._sent: deque[int] = deque(maxlen=self.RECENT)

    def emit(self, data: dict) -> Iterator[bytes]:
        event_id = int(data.get("id") or 0)
        if event_id <= self.start or event_id in self._sent:
            return
        self._sent.append(event_id)
        self.last = max(self.last, event_id)
        yield sse_event(self.last, data)
