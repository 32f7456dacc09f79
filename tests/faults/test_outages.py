"""Redis and PostgreSQL going away under booking load, on the production shape (tests/cluster.py).

Each test prints one FAULT line with its figures: acknowledged, present, duplicated, errors in the
logs and the recovery time.
"""
from __future__ import annotations

import os
import re
import signal
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import select

from agi_scripts.fake_asterisk import Caller, FakeAsterisk, ScriptedKeys, Sounds
from tests.cluster import Cluster
from tests.console.live import Browser, SseStream, agents_answer_now
from tests.servers import pg_bindir
from tickets import calls
from tickets.actors import SYSTEM
from tickets.catalog import SERVICE_FIELDS, save_service
from tickets.config import load_settings
from tickets.context import Hotline
from tickets.models import Service, User

from .load import AGI_CALLER, HOTLINE_NUMBER, SMS_BODY, VOICE_CALLER, Ledger, Webhooks, check_ledger, run_load
from .test_kills import wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.faults]

REDIS_OUTAGE_S = 60
PG_OUTAGE_S = 10
BACK_WITHIN_S = 5
# A log line that is an error: the logging module's level, or a traceback.
ERROR_LINE = re.compile(r"\bERROR\b|Traceback \(most recent call last\)")
# honcho's prefix: "12:00:01 web.1        | ..."
PROCESS = re.compile(r"^\S+ (\S+)\s+\|")


@pytest.fixture
def shape(tmp_path):
    """The production shape with agents answering now (the failure paths queue rather than say goodbye)."""
    if pg_bindir() is None:
        pytest.skip("PostgreSQL is not installed (scripts/test.sh installs it)")
    cluster = Cluster(tmp_path, **agents_answer_now()).start()
    yield cluster
    cluster.stop()


@contextmanager
def side_hotline(cluster: Cluster):
    """A Hotline of the test's own on the shape's database and Redis, publishing as any process does."""
    hl = Hotline(load_settings(cluster.env))
    try:
        yield hl
    finally:
        hl.close()


class LogWindow:
    """The lines the shape's processes wrote to the honcho log between `open` and `close`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.start = self.end = 0

    def open(self) -> None:
        self.start = self.path.stat().st_size

    def close(self) -> None:
        self.end = self.path.stat().st_size

    def errors_by_process(self) -> Counter:
        with open(self.path, "rb") as f:
            f.seek(self.start)
            text = f.read(self.end - self.start).decode(errors="replace")
        counts: Counter = Counter()
        for line in text.splitlines():
            found = PROCESS.match(line)
            if found and ERROR_LINE.search(line):
                counts[found.group(1)] += 1
        return counts


def by_channel(ledger: Ledger) -> dict[str, int]:
    with ledger.lock:
        return {"sms": len(ledger.sms), "voice": len(ledger.voice), "agi": len(ledger.agi)}


def screen_pop_seconds(hl: Hotline, stream: SseStream, agent_id: int, since: float, limit: float) -> float:
    """Offer events to the agent (stored and published as tickets.calls does) every half second until
    the agent's stream shows one; the seconds from `since`."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        with hl.session() as s, s.begin():
            calls.push_agent_event(s, s.get(User, agent_id), "probe", {"sent": time.time()})
        try:
            while True:
                if stream.events.get(timeout=0.5).data.get("kind") == "probe":
                    return time.monotonic() - since
        except Exception:  # noqa: BLE001 - queue.Empty: nothing yet, offer again
            continue
    raise AssertionError(f"no screen-pop reached the agent's stream within {limit}s")


def sms_code_books(hooks: Webhooks, code: str) -> bool:
    """Whether the web tier books service `code` by SMS (a fresh customer each time): the
    confirming "Y" finds the code in the process's cached catalog (tickets.orders)."""
    phone = f"+86136{uuid.uuid4().int % 100_000_000:08d}"
    body = ""
    for text in (SMS_BODY.replace("BJ", code, 1), "Y"):
        status, body = hooks.post("/twilio/sms", {"AccountSid": "ACcluster", "MessageSid": "SM" + uuid.uuid4().hex,
                                                  "From": phone, "To": HOTLINE_NUMBER, "Body": text, "NumMedia": "0"})
        if status != 200:
            return False
    return "预约成功" in body


def catalog_seconds(hl: Hotline, hooks: Webhooks, code: str, since: float, limit: float) -> float:
    """Add service `code` (a copy of BJ) as an admin would, then book it by SMS until a web process
    takes it: its cached catalog was dropped by the catalog.changed broadcast (without it, the copy
    lives on for up to tickets.cache.MAX_AGE_SECONDS, 30 s). The broadcast is repeated every half second, as
    an event published before a process has subscribed again is gone. The seconds from `since`."""
    with hl.session() as s, s.begin():
        bj = s.scalar(select(Service).where(Service.code == "BJ"))
        save_service(s, SYSTEM, code, **{**{f: getattr(bj, f) for f in SERVICE_FIELDS},
                                         "name_zh": "故障测试", "name_en": "fault probe"})
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if sms_code_books(hooks, code):
            return time.monotonic() - since
        time.sleep(0.5)
        with hl.session() as s, s.begin():
            save_service(s, SYSTEM, code, name_en=f"fault probe {time.monotonic():.1f}")
    raise AssertionError(f"no web process took service {code} within {limit}s")


def test_redis_stopped_for_60_s_under_load_loses_no_booking_and_the_bus_is_back_within_5_s(shape):
    """Also: one web worker killed during the outage is replaced (its successor boots without Redis)."""
    agent = Browser(shape.base_url).login("agent1")
    stream = SseStream(agent, "/workspace/stream").open()
    assert stream.status == 200
    hooks = Webhooks(shape.base_url, shape.env["TWILIO_AUTH_TOKEN"])
    ledger = Ledger()
    load = threading.Thread(target=run_load, args=(shape, REDIS_OUTAGE_S + 40), kwargs={"ledger": ledger})
    window = LogWindow(shape.log_path)
    with side_hotline(shape) as hl:
        with hl.session() as s:
            agent_id = s.scalar(select(User.id).where(User.username == "agent1"))
        # Before the fault: the stream and the broadcast work (a probe that needs no 5 s proves little).
        assert screen_pop_seconds(hl, stream, agent_id, time.monotonic(), 10) < BACK_WITHIN_S
        load.start()
        wait_for(lambda: ledger.acknowledged >= 10, 60, "10 acknowledged bookings")
        window.open()
        shape.redis.down()
        down = time.monotonic()
        at_down = by_channel(ledger)
        time.sleep(REDIS_OUTAGE_S / 3)
        # A web worker replaced during the outage boots (gunicorn stops altogether when one
        # cannot); not the one serving the agent's stream, which this test reads on.
        streaming = int(next(c for c in stream.comments if c.startswith("hello")).rpartition(":")[2])
        victim = next(pid for pid in shape.web_workers() if pid != streaming)
        os.kill(victim, signal.SIGKILL)
        wait_for(lambda: len(set(shape.web_workers()) - {victim}) == 2, 30, "gunicorn's new worker")
        time.sleep(max(0.0, REDIS_OUTAGE_S - (time.monotonic() - down)))
        at_up = by_channel(ledger)
        shape.redis.up()
        back = time.monotonic()
        pop_s = screen_pop_seconds(hl, stream, agent_id, back, 30)
        catalog_s = catalog_seconds(hl, hooks, "GZCS", time.monotonic(), 30)
        time.sleep(2)                       # the processes' "Redis back" lines
        window.close()
    load.join(120)
    stream.close()
    assert not load.is_alive()
    figures = check_ledger(shape.postgres.url, ledger)
    errors = window.errors_by_process()
    during = {k: at_up[k] - at_down[k] for k in at_up}
    print(f"FAULT redis outage_s={REDIS_OUTAGE_S} acknowledged={figures['acknowledged']} "
          f"present={figures['acknowledged'] - figures['lost']} duplicated={figures['duplicated']} "
          f"acknowledged_during={sum(during.values())} ({' '.join(f'{k}={v}' for k, v in during.items())}) "
          f"errors={sum(errors.values())} ({' '.join(f'{k}={v}' for k, v in sorted(errors.items())) or 'none'}) "
          f"refused={figures['refused']} agi_fell_back={figures['agi_fell_back']} "
          f"screenpop_back_s={pop_s:.2f} catalog_back_s={catalog_s:.2f}")
    assert figures["lost"] == 0 and figures["duplicated"] == 0
    assert shape.honcho.poll() is None and len(shape.web_workers()) == 2     # the new worker booted
    assert all(n > 0 for n in during.values()), f"a channel stopped booking while Redis was down: {during}"
    assert pop_s <= BACK_WITHIN_S and catalog_s <= BACK_WITHIN_S
    # No storm: at most a few lines per process for the whole outage, not one per request.
    assert all(n <= 3 for n in errors.values()), errors


def twiml(status: int, body: str) -> ET.Element:
    """The parsed TwiML of a 200 answer (AssertionError for anything else)."""
    assert status == 200, f"HTTP {status}: {body[:200]}"
    doc = ET.fromstring(body)
    assert doc.tag == "Response", body
    return doc


def test_postgresql_restarted_under_load_answers_every_channel_clearly_and_loses_no_booking(shape):
    processes = sorted(shape.web_workers() + [shape.fastagi_pid(p) for p in shape.agi_ports])
    hooks = Webhooks(shape.base_url, shape.env["TWILIO_AUTH_TOKEN"])
    ledger = Ledger()
    load = threading.Thread(target=run_load, args=(shape, PG_OUTAGE_S + 40), kwargs={"ledger": ledger})
    window = LogWindow(shape.log_path)
    load.start()
    wait_for(lambda: ledger.acknowledged >= 10, 60, "10 acknowledged bookings")
    window.open()
    shape.postgres.down()
    down = time.monotonic()
    # A FastAGI caller hears the apology and is put through to the agents (agents answer now).
    call = FakeAsterisk(Caller(AGI_CALLER, keys=ScriptedKeys.parse("1")), Sounds(everything=True),
                        timeout=30).call_fastagi("127.0.0.1", shape.agi_ports[0])
    assert call.prompts()[:2] == ["hotline/zh/error.system", "hotline/zh/retry.transfer"], call.prompts()
    assert call.variables.get("HOTLINE_RESULT") == "transfer"
    # A Twilio caller: valid TwiML with 200, the same apology, then the queue.
    doc = twiml(*hooks.post("/twilio/voice", {"AccountSid": "ACcluster", "CallSid": "CA" + uuid.uuid4().hex,
                                               "CallStatus": "ringing", "Direction": "inbound",
                                               "From": VOICE_CALLER, "To": HOTLINE_NUMBER}))
    assert [child.tag for child in doc][-1] == "Enqueue", ET.tostring(doc, encoding="unicode")
    # An SMS sender: told in TwiML to send again (Twilio does not retry a messaging webhook).
    doc = twiml(*hooks.post("/twilio/sms", {"AccountSid": "ACcluster", "MessageSid": "SM" + uuid.uuid4().hex,
                                             "From": "+8613712345678", "To": HOTLINE_NUMBER, "Body": SMS_BODY,
                                             "NumMedia": "0"}))
    assert "请几分钟后重新发送" in doc.find("Message").text
    time.sleep(max(0.0, PG_OUTAGE_S - (time.monotonic() - down)))
    at_up = by_channel(ledger)
    shape.postgres.up()
    up = time.monotonic()
    # The pools recover by themselves: every channel books again, no process restarted.
    wait_for(lambda: all(n > at_up[k] for k, n in by_channel(ledger).items()), 30, "bookings on every channel")
    recovery_s = time.monotonic() - up
    window.close()
    load.join(120)
    assert not load.is_alive()
    figures = check_ledger(shape.postgres.url, ledger)
    errors = window.errors_by_process()
    print(f"FAULT postgresql outage_s={PG_OUTAGE_S} acknowledged={figures['acknowledged']} "
          f"present={figures['acknowledged'] - figures['lost']} duplicated={figures['duplicated']} "
          f"errors={sum(errors.values())} ({' '.join(f'{k}={v}' for k, v in sorted(errors.items())) or 'none'}) "
          f"refused={figures['refused']} agi_fell_back={figures['agi_fell_back']} hung={len(ledger.hung)} "
          f"recovery_s={recovery_s:.2f}")
    assert figures["lost"] == 0 and figures["duplicated"] == 0
    assert ledger.hung == []
    # The outage is logged once per process (a warning), not per refused request or job run.
    assert all(n <= 3 for n in errors.values()), errors
    assert sorted(shape.web_workers() + [shape.fastagi_pid(p) for p in shape.agi_ports]) == processes
