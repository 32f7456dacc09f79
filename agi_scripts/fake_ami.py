"""A fake Asterisk Manager Interface that replays recorded events, for tests and demos.

Speaks AMI as Asterisk 22 does: the `Asterisk Call Manager/<version>` greeting, `Login` with
`Response: Success` / `Message: Authentication accepted` (or an error and a closed connection),
`Events` to choose event classes (an event is sent when its `Privilege` names one of them),
`Ping`, `Logoff` with `Response: Goodbye`. After a successful login it sends `FullyBooted`
and then replays the events it was given (e.g. ../shared/asterisk-captures/ami-queue-events.json)
in order, optionally keeping their recorded spacing.
"""
from __future__ import annotations

import json
import logging
import socket
import threading
import time
from pathlib import Path
from typing import Iterable

log = logging.getLogger(__name__)

GREETING = "Asterisk Call Manager/11.0.0"
EOL = "\r\n"


def load_events(path: Path | str) -> list[dict[str, str]]:
    """The events of a capture file (its login response is the server's own, so it is left out)."""
    return [e for e in json.loads(Path(path).read_text(encoding="utf-8")) if "Event" in e]


def format_message(headers: dict[str, str]) -> bytes:
    """One AMI message: `Key: value` lines ending in a blank line (recorded `_t` left out)."""
    return ("".join(f"{k}: {v}{EOL}" for k, v in headers.items() if not k.startswith("_")) + EOL).encode("utf-8")


class FakeAmiServer:
    """Accepts AMI clients on a loopback port and replays `events` to each logged-in client."""

    def __init__(self, events: Iterable[dict[str, str]], *, username: str = "hotline", secret: str = "secret",
                 host: str = "127.0.0.1", port: int = 0, realtime: float = 0.0) -> None:
        self.events = list(events)
        self.username = username
        self.secret = secret
        self.realtime = realtime          # 1.0 keeps the recorded spacing, 0 sends at once
        self.sent = 0
        self.logins = 0
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
                    send({"Event": "FullyBooted", "Privilege": "system,all", "Uptime": "10", "LastReload": "10",
                          "Status": "Fully Booted"})
                    replay = threading.Thread(target=self._replay, args=(send, lambda: mask), daemon=True)
                    replay.start()
                elif name == "events":
                    mask = _classes(action.get("EventMask", "on"))
                    send({"Response": "Success", **reply, "Events": "On" if mask is None or mask else "Off"})
                elif name == "ping":
                    send({"Response": "Success", **reply, "Ping": "Pong", "Timestamp": f"{time.time():.6f}"})
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
            rfile.close()
            conn.close()

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
        """Block until counter `what` (logins, refused_logins, sent) reaches `count`."""
        with self._changed:
            return self._changed.wait_for(lambda: getattr(self, what) >= count, timeout)


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
        headers[key.strip()] = value.strip()
