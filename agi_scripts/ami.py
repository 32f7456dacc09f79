"""The AMI listener: Asterisk's queue events become screen-pops and call-record updates.

Connects with pyst2's `asterisk.manager` to AMI_URL (`ami://user:secret@127.0.0.1:5038`),
asks for the `agent` event class, and handles, each in its own transaction:

| AMI event            | what happens                                                              |
|----------------------|---------------------------------------------------------------------------|
| AgentCalled          | the member's agent gets an `offer` (the customer card pops on screen)     |
| AgentConnect         | `connect` to that agent; the call record gets the agent and hold time     |
| AgentComplete        | `complete`; talk time; the call is finished (outcome agent)              |
| AgentRingNoAnswer    | `missed` to that agent (the pop goes away, the queue rings someone else)   |
| QueueCallerAbandon   | `abandon` to every agent offered the call; the record says abandoned      |
| UserEvent            | `HotlineMenuFailed` (extensions.conf's hotline-failed): the menu could    |
|                      | not handle the call; it gets a record, outcome failed (the wallboard)     |

Events carry the caller channel's `Uniqueid`, which is the IVR's `agi_uniqueid`, so the call
record the voice menu wrote is found and completed; a call that reached the queue without the
menu (the dialplan's failure path) gets a record here. The listener reconnects on its own.
"""
from __future__ import annotations

import logging
import socket
import threading
from typing import Any, Callable
from urllib.parse import unquote, urlsplit

from asterisk import manager as pyst_manager
from sqlalchemy.orm import Session

from tickets import calls
from tickets.bus import publish_after_commit
from tickets.context import Hotline
from tickets.models import Call, User

log = logging.getLogger(__name__)

DEFAULT_PORT = 5038
RECONNECT_MIN_S = 1.0
RECONNECT_MAX_S = 30.0
EVENT_CLASSES = "agent,user"      # queue events; the dialplan's UserEvent on its failure path
MENU_FAILED_EVENT = "HotlineMenuFailed"
NO_IVR_TRANSPORT = "asterisk"     # a call that reached the queue without the voice menu


def parse_ami_url(url: str) -> tuple[str, int, str, str]:
    """ami://user:secret@host:port -> (host, port, user, secret); errors name AMI_URL."""
    parts = urlsplit(url)
    if parts.scheme != "ami" or not parts.hostname or not parts.username:
        raise ValueError(f"AMI_URL={url!r} is not ami://USER:SECRET@HOST:PORT, "
                         "e.g. ami://hotline:secret@127.0.0.1:5038")
    return parts.hostname, parts.port or DEFAULT_PORT, unquote(parts.username), unquote(parts.password or "")


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class QueueEvents:
    """What each queue event does to the database; one transaction per event."""

    def __init__(self, hl: Hotline) -> None:
        self.hl = hl
        self.handlers: dict[str, Callable[[Session, dict[str, str]], None]] = {
            "AgentCalled": self.agent_called,
            "AgentConnect": self.agent_connect,
            "AgentComplete": self.agent_complete,
            "AgentRingNoAnswer": self.agent_ring_no_answer,
            "QueueCallerAbandon": self.caller_abandon,
            "UserEvent": self.user_event,
        }

    def handle(self, name: str, headers: dict[str, str]) -> bool:
        """Apply one event; True when it was one of ours."""
        handler = self.handlers.get(name)
        if handler is None or (name == "UserEvent" and headers.get("UserEvent") != MENU_FAILED_EVENT):
            return False
        with self.hl.session() as s, s.begin():
            handler(s, headers)
        return True

    # -- lookups ---------------------------------------------------------------------------

    def _call(self, s: Session, h: dict[str, str]) -> Call:
        uniqueid = h.get("Uniqueid") or h.get("Linkedid") or ""
        call = calls.get_call(s, uniqueid)
        if call is None:
            caller = h.get("CallerIDNum", "")
            call = calls.start_call(s, uniqueid, NO_IVR_TRANSPORT, caller if caller != "<unknown>" else "")
        if h.get("Queue"):
            call.queue = h["Queue"]
        return call

    def _agent(self, s: Session, h: dict[str, str]) -> User | None:
        member = h.get("Interface") or h.get("MemberName") or ""
        agent = calls.agent_for_member(s, member)
        if agent is None:
            log.warning("AMI %s: no active agent for queue member %r (%s); set that user's extension to %r",
                        h.get("Event"), member, h.get("MemberName", ""), member)
        return agent

    def _summary(self, call: Call, h: dict[str, str], **extra: Any) -> dict[str, Any]:
        return {"call_id": call.id, "external_id": call.external_id, "queue": h.get("Queue", ""),
                "member": h.get("Interface", ""), **extra}

    # -- events ----------------------------------------------------------------------------

    def agent_called(self, s: Session, h: dict[str, str]) -> None:
        call = self._call(s, h)
        agent = self._agent(s, h)
        if agent is None:
            return
        call.agent_member = h.get("Interface", "")
        calls.offer_call(s, call, agent, ivr={"queue": h.get("Queue", "")})

    def agent_connect(self, s: Session, h: dict[str, str]) -> None:
        call = self._call(s, h)
        agent = self._agent(s, h)
        call.hold_seconds = _int(h.get("HoldTime"))
        call.queue_result = "answered"
        call.agent_member = h.get("Interface", "")
        if agent is None:
            return
        call.agent_user_id = agent.id
        calls.push_agent_event(s, agent, "connect", self._summary(
            call, h, hold_seconds=call.hold_seconds, ring_seconds=_int(h.get("RingTime"))), call)
        publish_after_commit(s, "call.answered", self._summary(call, h, agent_user_id=agent.id))

    def agent_complete(self, s: Session, h: dict[str, str]) -> None:
        call = self._call(s, h)
        agent = self._agent(s, h)
        call.talk_seconds = _int(h.get("TalkTime"))
        if call.hold_seconds is None:
            call.hold_seconds = _int(h.get("HoldTime"))
        call.queue_result = "answered"
        calls.finish_call(s, call, "agent")
        if agent is not None:
            calls.push_agent_event(s, agent, "complete", self._summary(
                call, h, talk_seconds=call.talk_seconds, ended_by=h.get("Reason", "")), call)
        publish_after_commit(s, "call.completed", self._summary(call, h, talk_seconds=call.talk_seconds))

    def agent_ring_no_answer(self, s: Session, h: dict[str, str]) -> None:
        call = self._call(s, h)
        agent = self._agent(s, h)
        if agent is not None:
            calls.push_agent_event(s, agent, "missed", self._summary(call, h), call)

    def caller_abandon(self, s: Session, h: dict[str, str]) -> None:
        call = self._call(s, h)
        call.hold_seconds = _int(h.get("HoldTime"))
        calls.caller_left_queue(s, call, self._summary(call, h, hold_seconds=call.hold_seconds,
                                                       position=_int(h.get("Position"))))


    def user_event(self, s: Session, h: dict[str, str]) -> None:
        uniqueid = h.get("Uniqueid") or h.get("Linkedid") or ""
        caller = h.get("CallerIDNum", "")
        why = f"HOTLINE_RESULT={h.get('Result', '')} AGISTATUS={h.get('AGIStatus', '')}"
        call = calls.menu_failed(s, uniqueid, NO_IVR_TRANSPORT, caller if caller != "<unknown>" else "", why)
        log.warning("call %s from %s: the voice menu could not handle it (%s); the dialplan's failure path took it",
                    uniqueid, call.caller, why)


class _Manager(pyst_manager.Manager):
    """pyst2's Manager, telling us when its connection is gone (its dispatch thread ends)."""

    def __init__(self, on_closed: Callable[[], None]) -> None:
        super().__init__()
        self._on_closed = on_closed

    def event_dispatch(self) -> None:
        try:
            super().event_dispatch()
        finally:
            self._on_closed()

    def disconnect(self) -> None:
        """Drop the connection without a Logoff round trip (which could wait on a dead peer)."""
        self._connected.clear()
        raw = getattr(self._sock, "_sock", None)
        if raw is not None:
            try:
                raw.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.close()


class AmiListener:
    """Keeps an AMI connection, feeds queue events to `QueueEvents`, reconnects with back-off."""

    def __init__(self, hl: Hotline, url: str) -> None:
        self.host, self.port, self.user, self.secret = parse_ami_url(url)
        self.events = QueueEvents(hl)
        self.processed = 0
        self.connected = threading.Event()
        self._changed = threading.Condition()
        self._stop = threading.Event()
        self._closed = threading.Event()
        self._manager: _Manager | None = None
        self._thread: threading.Thread | None = None

    def describe(self) -> str:
        return f"ami://{self.user}@{self.host}:{self.port}"

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="ami-listener", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._closed.set()
        manager = self._manager
        if manager is not None:
            _close_quietly(manager)
        if self._thread is not None:
            self._thread.join()

    def wait_processed(self, count: int, timeout: float) -> bool:
        """Block until `count` queue events were handled (tests, readiness checks)."""
        with self._changed:
            return self._changed.wait_for(lambda: self.processed >= count, timeout)

    # -- connection ------------------------------------------------------------------------

    def _run(self) -> None:
        delay = RECONNECT_MIN_S
        while not self._stop.is_set():
            self._closed.clear()
            manager = _Manager(self._closed.set)
            # Registered before login: events flow as soon as Asterisk accepts it.
            manager.register_event("*", self._on_event)
            try:
                manager.connect(self.host, self.port)
                # pyst2's login() cannot ask for event classes; Asterisk's Login action can.
                reply = manager.send_action({"Action": "Login", "Username": self.user, "Secret": self.secret,
                                             "Events": EVENT_CLASSES})
                if reply.get_header("Response") != "Success":
                    raise pyst_manager.ManagerAuthException(reply.get_header("Message"))
            except pyst_manager.ManagerAuthException as exc:
                log.error("AMI login to %s refused (%s); check the user and secret in AMI_URL and manager.conf",
                          self.describe(), exc)
                _close_quietly(manager)
                self._stop.wait(RECONNECT_MAX_S)
                continue
            except (pyst_manager.ManagerException, OSError) as exc:
                log.warning("AMI %s not reachable (%s); retrying in %.0f s", self.describe(), exc, delay)
                _close_quietly(manager)
                self._stop.wait(delay)
                delay = min(delay * 2, RECONNECT_MAX_S)
                continue
            delay = RECONNECT_MIN_S
            self._manager = manager
            self.connected.set()
            log.info("AMI connected to %s (%s)", self.describe(), getattr(manager, "title", "Asterisk"))
            self._closed.wait()
            self.connected.clear()
            self._manager = None
            _close_quietly(manager)
            if not self._stop.is_set():
                log.warning("AMI connection to %s lost; reconnecting", self.describe())

    def _on_event(self, event, manager) -> None:
        try:
            handled = self.events.handle(event.name, dict(event.headers))
        except Exception:  # noqa: BLE001 - one bad event must not stop the listener
            log.exception("AMI %s for call %s could not be applied", event.name, event.get_header("Uniqueid"))
            handled = True
        if handled:
            with self._changed:
                self.processed += 1
                self._changed.notify_all()


def _close_quietly(manager: _Manager) -> None:
    try:
        manager.disconnect()
    except Exception:  # noqa: BLE001 - a connection that is half gone cannot be closed cleanly
        pass
