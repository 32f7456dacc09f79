"""Helpers for the live-console tests: the app served for real, a logged-in HTTP browser, and an
SSE client that reads an agent's stream the way EventSource does."""
from __future__ import annotations

import http.client
import json
import os
import queue
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Callable
from urllib.parse import urlsplit

import pytest
import requests

from tests.conftest import Clock, make_test_hotline
from tickets import calls
from tickets.config import load_settings
from tickets.context import Hotline
from tickets.models import User, utcnow
from tickets.holidays import HOLIDAY, package_day
from tickets.timeutil import to_local

_TOKEN = re.compile(r'name="csrf-token" content="([^"]+)"')


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory) -> Path:
    """A migrated SQLite file with the demo city, built once per session (argon2-hashing the demo
    users is the slow part); tests copy it instead of building their own."""
    path = tmp_path_factory.mktemp("demo-template") / "hotline.db"
    hl = make_test_hotline(f"sqlite:///{path}")
    hl.close()          # closing copies the WAL into the file (tickets.db.close_engine): tests copy the file alone
    return path


def hotline_from(template: Path, path: Path, *, clock=None, **env) -> Hotline:
    """A Hotline on a copy of the demo template at `path` (settings as in tests.conftest)."""
    shutil.copyfile(template, path)
    settings = load_settings({"DATABASE_URL": f"sqlite:///{path}", "HOTLINE_DEMO": "1", "SECRET_KEY": "test-secret",
                              "TWILIO_AUTH_TOKEN": "test-twilio-token", "TWILIO_ACCOUNT_SID": "ACtest",
                              "SMS_PROVIDER": "console", **env})
    hl = Hotline(settings, clock=clock or Clock())
    hl.load_plugins()
    return hl


def wait_until(predicate: Callable[[], object], timeout: float = 10.0, what: str = "condition",
               interval: float = 0.02):
    """Poll `predicate` until it returns something truthy, or fail naming `what`."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


class Browser:
    """A requests session used like a browser tab: logs in with the page's CSRF token."""

    def __init__(self, base: str) -> None:
        self.base = base.rstrip("/")
        self.http = requests.Session()
        self.token = ""

    def url(self, path: str) -> str:
        return self.base + path

    def get(self, path: str, **kw) -> requests.Response:
        resp = self.http.get(self.url(path), timeout=kw.pop("timeout", 20), **kw)
        found = _TOKEN.search(resp.text) if "text/html" in resp.headers.get("Content-Type", "") else None
        if found:
            self.token = found.group(1)
        return resp

    def login(self, username: str, password: str = "demo") -> "Browser":
        self.get("/login")
        resp = self.http.post(self.url("/login"), data={"username": username, "password": password,
                                                         "csrf_token": self.token},
                              allow_redirects=False, timeout=20)
        assert resp.status_code == 302, f"log-in of {username} refused: {resp.status_code}"
        self.get("/workspace/" if username.startswith("agent") else "/")
        return self

    def post_json(self, path: str, data: dict) -> requests.Response:
        return self.http.post(self.url(path), json=data, headers={"X-CSRFToken": self.token,
                                                                 "Accept": "application/json"}, timeout=20)

    def set_presence(self, presence: str, extension: str | None = None) -> dict:
        body = {"presence": presence}
        if extension is not None:
            body["extension"] = extension
        resp = self.post_json("/workspace/presence", body)
        assert resp.status_code == 200, resp.text
        return resp.json()


@dataclass
class SseEvent:
    id: str
    data: dict


@dataclass
class SseStream:
    """One open event stream, read in a thread the way EventSource reads it: events, comment lines
    and the retry field are recorded as they come. close() hangs up at once (socket shutdown)."""
    browser: Browser
    path: str
    last_event_id: str = ""
    events: "queue.Queue[SseEvent]" = field(default_factory=queue.Queue)
    comments: list[str] = field(default_factory=list)
    retry_ms: int | None = None
    status: int | None = None
    ended: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self._conn: http.client.HTTPConnection | None = None
        self._thread = threading.Thread(target=self._read, daemon=True)

    def open(self) -> "SseStream":
        parts = urlsplit(self.browser.base)
        self._conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        headers = {"Accept": "text/event-stream",
                   "Cookie": "; ".join(f"{c.name}={c.value}" for c in self.browser.http.cookies)}
        if self.last_event_id:
            headers["Last-Event-ID"] = self.last_event_id
        self._conn.request("GET", self.path, headers=headers)
        self._sock = self._conn.sock      # http.client may drop its own reference once the response starts
        self._resp = self._conn.getresponse()
        self.status = self._resp.status
        self._thread.start()
        return self

    def _read(self) -> None:
        ev_id, data = "", []
        try:
            while True:
                raw = self._resp.readline()
                if not raw:
                    return
                line = raw.decode().rstrip("\r\n")
                if line == "":
                    if data:
                        self.last_event_id = ev_id or self.last_event_id
                        self.events.put(SseEvent(ev_id, json.loads("\n".join(data))))
                    ev_id, data = "", []
                elif line.startswith(":"):
                    self.comments.append(line[1:].strip())
                elif line.startswith("id:"):
                    ev_id = line[3:].strip()
                elif line.startswith("data:"):
                    data.append(line[5:].lstrip())
                elif line.startswith("retry:"):
                    self.retry_ms = int(line[6:].strip())
        except (OSError, ValueError, AttributeError, http.client.HTTPException):
            # Hung up by close() (http.client may trip over its own closed file then), or the
            # server went away.
            return
        finally:
            self.ended.set()

    def next(self, timeout: float = 10.0, what: str = "an event") -> SseEvent:
        try:
            return self.events.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no {what} on {self.path} within {timeout}s") from None

    def next_of(self, kind: str, timeout: float = 10.0) -> SseEvent:
        """The next event of `kind`, skipping others (presence changes and the like)."""
        deadline = time.monotonic() + timeout
        while True:
            ev = self.next(max(0.0, deadline - time.monotonic()), f"{kind!r} event")
            if ev.data.get("kind") == kind:
                return ev

    def close(self) -> None:
        """Hang up like a closed browser tab; returns once the reader has stopped."""
        if self._conn is not None:
            try:
                self._sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._conn.close()
        assert self.ended.wait(5), "the stream reader did not stop"
        if self._conn is not None:
            self._resp.close()
            self._sock.close()


def offer_to(hl: Hotline, username: str, caller: str = "13800138000", external_id: str = "call-1",
             ivr: dict | None = None) -> int:
    """Offer a new call from `caller` to `username` as a queue event would; the AgentEvent id."""
    from sqlalchemy import select
    with hl.session() as s, s.begin():
        call = calls.start_call(s, external_id, "simulator", caller)
        agent = s.scalar(select(User).where(User.username == username))
        return calls.offer_call(s, call, agent, ivr).id


def agents_answer_now() -> dict[str, str]:
    """Environment under which agents answer at this real moment, for processes on the real clock.

    BUSINESS_HOURS becomes a window around the present local time (the default 08:00-20:00 would
    send an evening test run to the after-hours callback). Statutory holidays are closed all day
    whatever the hours say, so on one of those the test is skipped, saying why.
    """
    local = to_local(utcnow(), load_settings({}).timezone)
    if getattr(package_day(local.date()), "kind", None) == HOLIDAY:
        pytest.skip(f"{local.date()} is a statutory holiday: agents never answer on the real clock today")
    return {"BUSINESS_HOURS": f"{(local - timedelta(hours=2)):%H:%M}-{(local + timedelta(hours=2)):%H:%M}"}


def simulate_call(database_url: str, cwd: Path, phone: str = "13800138000", keys: str = "0",
                  **env: str) -> subprocess.CompletedProcess:
    """Run `hotline simulate-call` in its own process against `database_url`; with nothing on its
    FASTAGI_BIND it serves the call itself and offers it to an available agent (no PBX). Agents
    answer (see agents_answer_now) unless `env` says otherwise."""
    from tests.servers import free_port

    full = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
    full.update(agents_answer_now())
    full.update({"DATABASE_URL": database_url, "FASTAGI_BIND": f"127.0.0.1:{free_port()}",
                 "PROMPTS_DIR": str(cwd / "sounds"), "RECORDINGS_DIR": str(cwd / "recordings"), **env})
    done = subprocess.run([str(Path(sys.executable).parent / "hotline"), "simulate-call", phone, "--keys", keys],
                          env=full, cwd=cwd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return done
