"""A fake Asterisk Manager Interface that replays recorded events, for tests and demos.

Speaks AMI as Asterisk 22 does: the `Asterisk Call Manager/<version>` greeting, `Login` with
`Response: Success` / `Message: Authentication accepted` (or an error and a closed connection),
`Events` to choose event classes (an event is sent when its `Privilege` names one of them),
`Ping`, `Logoff` with `Response: Goodbye`. After a successful login it sends `FullyBooted`
and then replays the events it was given (e.g. ../shared/asterisk-captures/ami-queue-events.json)
in order, optionally keeping their recorded spacing.

`Originate` (Async, as Hotline's dialer sends it) is answered as Asterisk does: `Response:
Success` / `Message: Originate successfully queued` at once, then, once the called party has
answered or not, the `OriginateResponse` event (class call) with the same ActionID, Response
Success or Failure and the Reason code (4 answered, 3 no answer, 5 busy, 8 congestion, 1 hung up,
0 failed). Who answers is the test's `callee(action) -> outcome`; an answered call then runs the
dialplan the test gives (`on_answer(action, uniqueid, channel)`, e.g. `DialplanRunner`: the FastAGI
session of extensions.conf's hotline-survey context), as Asterisk runs the context after answer.
Several Originates may be in flight at once, from one connection or several; like any manager
event, the OriginateResponse goes to every logged-in connection whose event mask takes class
`call` (a client tells its own by the ActionID). `in_flight` counts the Originates queued and not
yet answered by their OriginateResponse, `max_in_flight` the most at any moment.
"""
from __future__ import annotations

import json
import logging
import socket
import threading
import time
from pathlib import Path
from itertools import count
from typing import Callable, Iterable

from .fake_asterisk import Caller, FakeAsterisk, ScriptedKeys, Sounds, new_uniqueid

log = logging.getLogger(__name__)

GREETING = "Asterisk Call Manager/11.0.0"
EOL = "\r\n"
_CHANNEL_SEQ = count(1)


def load_events(path: Path | str) -> list[dict[str, str]]:
    """The events of a capture file (its login response is the server's own, so it is left out)."""
    return [e for e in json.loads(Path(path).read_text(encoding="utf-8")) if "Event" in e]


def format_message(headers: dict[str, str]) -> bytes:
    """One AMI message: `Key: value` lines ending in a blank line (recorded `_t` left out)."""
    return ("".join(f"{k}: {v}{EOL}" for k, v in headers.items() if not k.startswith("_")) + EOL).encode("utf-8")


# How a called party answers an Originate -> the OriginateResponse's Response and Reason.
ORIGINATE_OUTCOMES = {"answer": ("Success", "4"), "no-answer": ("Failure", "3"), "busy": ("Failure", "5"),
                      "congestion": ("Failure", "8"), "reject": ("Failure", "1"), "fail": ("Failure", "0")}


def answer_all(action: dict[str, str]) -> str:
    """A callee that picks up every call."""
    return "answer"


class FakeAmiServer:
    """Accepts AMI clients on a loopback port and replays `events` to each logged-in client."""

    def __init__(self, events: Iterable[dict[str, str]] = (), *, username: str = "hotline", secret: str = "secret",
                 host: str = "127.0.0.1", port: int = 0, realtime: float = 0.0,
                 callee: Callable[[dict[str, str]], str] = answer_all,
                 on_answer: Callable[[dict[str, str], str, str], None] | None = None) -> None:
        self.events = list(events)
        self.callee = callee
        self.on_answer = on_answer
        self.originated: list[dict[str, str]] = []     # every Originate action received, in order
        self.dialplan_runs = 0
        self.username = username
        self.secret = secret
        self.realtime = realtime          # 1.0 keeps the recorded spacing, 0 sends at once
        self.sent = 0
        self.logins = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.responded = 0
        self._listeners: dict[int, tuple] = {}     # logged-in connection -> (send, its event mask)
        self.refused_logins = 0
        self._changed = threading.Condition()
        self._sock = socket.create_server((host, port))
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._clients: list[socket.socket] = []
        self._lock = threading.Lock()

    @property
    def address(self) -> tuple[str, int]:
        return self._sock.getsockname()[:2]

    @property
    def url(self) -> str:
        host, port = self.address
        return f"ami://{self.username}:{self.secret}@{host}:{port}"

    def start(self) -> "FakeAmiServer":
        t = threading.Thread(target=self._accept, name="fake-ami", daemon=True)
        t.start()
        self._threads.append(t)
        return self

    def stop(self) -> None:
        self._stop.set()
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._sock.close()
        with self._lock:
            clients = list(self._clients)
        for c in clients:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for t in self._threads:
            t.join()

    def drop_clients(self) -> None:
        """Cut every connection, as an Asterisk restart would."""
        with self._lock:
            clients = list(self._clients)
        for c in clients:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    # ------------------------------------------------------------------ per client

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            with self._lock:
                self._clients.append(conn)
            t = threading.Thread(target=self._client, args=(conn,), name="fake-ami-client", daemon=True)
            t.start()
            self._threads.append(t)

    def _client(self, conn: socket.socket) -> None:
        rfile = conn.makefile("rb")
        send_lock = threading.Lock()

        def send(headers: dict[str, str]) -> None:
            with send_lock:
                conn.sendall(format_message(headers))

        try:
            conn.sendall((GREETING + EOL).encode())
            mask: set[str] | None = None
            replay: threading.Thread | None = None
            while True:
                action = _read_message(rfile)
                if action is None:
                    return
                name = action.get("Action", "").lower()
                reply = {"ActionID": action["ActionID"]} if "ActionID" in action else {}
                if name == "login":
                    if action.get("Username") != self.username or action.get("Secret") != self.secret:
                        send({"Response": "Error", **reply, "Message": "Authentication failed"})
                        self._count("refused_logins")
                        return
                    self._count("logins")
                    if action.get("Events"):
                        mask = _classes(action["Events"])
                    send({"Response": "Success", **reply, "Message": "Authentication accepted"})
                    with self._lock:
                        self._listeners[id(conn)] = (send, lambda: mask)
                    send({"Event": "FullyBooted", "Privilege": "system,all", "Uptime": "10", "LastReload": "10",
                          "Status": "Fully Booted"})
                    replay = threading.Thread(target=self._replay, args=(send, lambda: mask), daemon=True)
                    replay.start()
                elif name == "events":
                    mask = _classes(action.get("EventMask", "on"))
                    send({"Response": "Success", **reply, "Events": "On" if mask is None or mask else "Off"})
                elif name == "ping":
                    send({"Response": "Success", **reply, "Ping": "Pong", "Timestamp": f"{time.time():.6f}"})
                elif name == "originate":
                    self._originate(action, reply, send)
                elif name == "logoff":
                    send({"Response": "Goodbye", **reply, "Message": "Thanks for all the fish."})
                    return
                else:
                    send({"Response": "Error", **reply, "Message": "Invalid/unknown command"})
        except OSError:
            return
        finally:
            with self._lock:
                if conn in self._clients:
                    self._clients.remove(conn)
                self._listeners.pop(id(conn), None)
            rfile.close()
            conn.close()

    def _originate(self, action: dict[str, str], reply: dict[str, str], send) -> None:
        if not action.get("Channel"):
            send({"Response": "Error", **reply, "Message": "Channel not specified"})
            return
        if not action.get("Application") and not (action.get("Context") and action.get("Exten")
                                                  and action.get("Priority")):
            send({"Response": "Error", **reply, "Message": "Exten not specified"})
            return
        self.originated.append(action)
        if action.get("Async", "").lower() not in ("true", "yes", "1"):
            outcome = self.callee(action)
            ok = ORIGINATE_OUTCOMES.get(outcome, ("Failure", "0"))[0] == "Success"
            send({"Response": "Success" if ok else "Error", **reply,
                  "Message": "Originate successfully queued" if ok else "Originate failed"})
            if ok:
                self._answered(action, action.get("ChannelId") or new_uniqueid(), channel_name(action["Channel"]))
            return
        send({"Response": "Success", **reply, "Message": "Originate successfully queued"})
        with self._changed:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            self._changed.notify_all()
        threading.Thread(target=self._dial, args=(action,), name="fake-ami-originate", daemon=True).start()

    def _broadcast(self, event: dict[str, str]) -> None:
        """A manager event to every logged-in connection whose event mask takes its class."""
        classes = _classes(event.get("Privilege", ""))
        with self._lock:
            listeners = list(self._listeners.values())
        for send, mask in listeners:
            wanted = mask()
            if wanted is None or classes is None or classes & wanted:
                try:
                    send(event)
                except OSError:
                    pass

    def _dial(self, action: dict[str, str]) -> None:
        response, reason = ORIGINATE_OUTCOMES.get(self.callee(action), ("Failure", "0"))
        answered = response == "Success"
        uniqueid = (action.get("ChannelId") or new_uniqueid()) if answered else "<null>"
        channel = channel_name(action["Channel"]) if answered else action["Channel"]
        event = {"Event": "OriginateResponse", "Privilege": "call,all"}
        if "ActionID" in action:
            event["ActionID"] = action["ActionID"]
        event.update({"Response": response, "Channel": channel, "Context": action.get("Context", ""),
                      "Exten": action.get("Exten", ""), "Application": action.get("Application", ""),
                      "Data": action.get("Data", ""), "Reason": reason, "Uniqueid": uniqueid,
                      "CallerIDNum": _caller_number(action.get("CallerID", "")) or "<unknown>",
                      "CallerIDName": "<unknown>"})
        with self._changed:
            self.in_flight -= 1
            self.responded += 1
            self._changed.notify_all()
        self._broadcast(event)
        if answered:
            self._answered(action, uniqueid, channel)

    def _answered(self, action: dict[str, str], uniqueid: str, channel: str) -> None:
        try:
            if self.on_answer is not None:
                self.on_answer(action, uniqueid, channel)
        finally:
            self._count("dialplan_runs")

    def _replay(self, send, mask) -> None:
        last_t = 0.0
        for event in self.events:
            if self._stop.is_set():
                return
            if self.realtime:
                gap = float(event.get("_t", last_t)) - last_t
                if gap > 0:
                    self._stop.wait(gap * self.realtime)
                last_t = float(event.get("_t", last_t))
            wanted = mask()
            if wanted is not None and not (_classes(event.get("Privilege", "")) & wanted):
                continue
            try:
                send(event)
            except OSError:
                return
            self._count("sent")

    def _count(self, what: str) -> None:
        with self._changed:
            setattr(self, what, getattr(self, what) + 1)
            self._changed.notify_all()

    def wait_for(self, what: str, count: int, timeout: float) -> bool:
        """Block until counter `what` (logins, refused_logins, sent, in_flight, responded) reaches `count`."""
        with self._changed:
            return self._changed.wait_for(lambda: getattr(self, what) >= count, timeout)


def channel_name(dialled: str) -> str:
    """The name Asterisk gives a channel it originates: `PJSIP/13800138000@trunk` -> `PJSIP/trunk-00000003`
    (the endpoint's name and a sequence), `PJSIP/agent1` -> `PJSIP/agent1-00000004`."""
    tech, _, rest = dialled.partition("/")
    endpoint = rest.split("@", 1)[1] if "@" in rest else rest
    return f"{tech}/{endpoint}-{next(_CHANNEL_SEQ):08x}"


def _caller_number(caller_id: str) -> str:
    """`"Name" <96156>` or `96156` -> 96156."""
    if "<" in caller_id and caller_id.endswith(">"):
        return caller_id.rsplit("<", 1)[1][:-1]
    return caller_id.strip()


def variables_of(action: dict[str, str]) -> dict[str, str]:
    """An Originate's `Variable` header(s) (`A=1` or `A=1,B=2`) as a dict."""
    out: dict[str, str] = {}
    for part in action.get("Variable", "").split(","):
        name, sep, value = part.partition("=")
        if sep:
            out[name.strip()] = value
    return out


class DialplanRunner:
    """What Asterisk does on an answered Originate into Hotline's contexts (extensions.conf),
    as far as the platform can see it: `hotline-survey` runs AMD and then
    `AGI(${HOTLINE_SURVEY_AGI},<lang>,${HOTLINE_OUTBOUND},${AMDSTATUS})`, here over real FastAGI
    with `FakeAsterisk`, the answered party pressing `keys`. `amd` is what AMD() concludes;
    `sounds` the sound files this Asterisk has."""

    def __init__(self, fastagi: tuple[str, int], keys_for: Callable[[dict[str, str]], Iterable[str]],
                 *, amd: Callable[[dict[str, str]], str] = lambda action: "HUMAN", lang: str = "zh",
                 sounds: Sounds | None = None) -> None:
        self.fastagi = fastagi
        self.sounds = sounds
        self.keys_for = keys_for
        self.amd = amd
        self.lang = lang
        self.results: list = []

    def __call__(self, action: dict[str, str], uniqueid: str, channel: str) -> None:
        if action.get("Context") != "hotline-survey":
            return
        variables = variables_of(action)
        keys = ScriptedKeys(self.keys_for(action))
        fake = FakeAsterisk(Caller(number=_caller_number(action.get("CallerID", "")), keys=keys),
                            self.sounds, dnid=action["Exten"], uniqueid=uniqueid)
        host, port = self.fastagi
        self.results.append(fake.call_fastagi(host, port, "survey", context="hotline-survey", channel=channel, args=(
            self.lang, variables.get("HOTLINE_OUTBOUND", ""), self.amd(action))))


def _classes(value: str) -> set[str] | None:
    """An event mask ('agent,call', 'on', 'off') -> the classes, or None for all."""
    v = value.strip().lower()
    if v in ("on", "all", "yes", "true"):
        return None
    if v in ("off", "no", "false", ""):
        return set()
    return {c.strip() for c in v.split(",") if c.strip()} - {"all"}


def _read_message(rfile) -> dict[str, str] | None:
    headers: dict[str, str] = {}
    while True:
        raw = rfile.readline()
        if not raw:
            return None
        line = raw.decode("utf-8", "replace").rstrip("\r\n")
        if not line:
            if headers:
                return headers
            continue
        key, _, value = line.partition(":")
        key, value = key.strip(), value.strip()
        # A repeated header (Originate's `Variable: A=1` / `Variable: B=2`) adds to the first,
        # comma-separated as Asterisk also accepts it in one header.
        headers[key] = f"{headers[key]},{value}" if key in headers else value
