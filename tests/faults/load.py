"""Booking load on the running shape (tests/cluster.py), by every channel at once, and the ledger
of what the hotline acknowledged: SMS (a signed Twilio webhook, then "Y"), Twilio voice (signed
gather steps) and FastAGI calls through the fake Asterisk. Used by the fault suite and
bench/cluster.py.

A booking counts as acknowledged when the caller was told: the SMS reply names the order
number, the voice menu's last answer (TwiML or AGI) came after the confirming key and the call
ended in the menu's goodbye. Each acknowledged booking is later looked up in the database.
"""
from __future__ import annotations

import itertools
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from html import unescape
from zoneinfo import ZoneInfo

import requests
from twilio.request_validator import RequestValidator

from agi_scripts.fake_asterisk import Caller, FakeAsterisk, ScriptedKeys, Sounds

HOTLINE_NUMBER = "+8699196156"
ORDER_NUMBER = re.compile(r"\d{10}")
VOICE_BOOKED = re.compile(r"预约成功，您的订单号是([\d ]+)。")
GATHER_ACTION = re.compile(r'<Gather action="([^"]+)"')
SMS_BODY = "BJ 后天上午 天山区解放南路88号"
# Known demo callers (default address on file): one for FastAGI, one for Twilio voice.
AGI_CALLER, VOICE_CALLER = "13800138000", "+8613900139000"


@dataclass
class Ledger:
    """What the load was told, per channel; thread-safe."""
    sms: list[str] = field(default_factory=list)          # order numbers
    voice: list[str] = field(default_factory=list)        # order numbers read out to Twilio callers
    agi: list[str] = field(default_factory=list)          # Asterisk uniqueids of calls that heard "booked"
    refused: list[str] = field(default_factory=list)      # clear refusals (an error status, a fallback)
    agi_fell_back: list[str] = field(default_factory=list)
    hung: list[str] = field(default_factory=list)         # FastAGI calls that got no answer within 30 s
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, kind: str, value: str) -> None:
        with self.lock:
            getattr(self, kind).append(value)

    @property
    def acknowledged(self) -> int:
        return len(self.sms) + len(self.voice) + len(self.agi)


class Slots:
    """(day, slot) pairs for one caller, never the same twice: a caller's two bookings of one
    service at one time would be refused as a duplicate. A pair whose call was turned away
    before it could book is handed out again, so that refused attempts (an outage refuses
    thousands in seconds) do not push the dates past BOOKING_HORIZON_DAYS."""

    def __init__(self) -> None:
        self._n = itertools.count()
        self._free: list[int] = []
        self._lock = threading.Lock()

    def take(self) -> tuple[int, str]:
        """A pair and the menu keys that book it; give_back(pair) when nothing was booked."""
        with self._lock:
            n = self._free.pop() if self._free else next(self._n)
        day = datetime.now(ZoneInfo("Asia/Shanghai")).date() + timedelta(days=1 + n // 3)
        return n, f"1 1 1 4 {day:%m%d} {n % 3 + 1} 1 1"

    def give_back(self, n: int) -> None:
        with self._lock:
            self._free.append(n)


class Webhooks:
    """Signed Twilio requests to the shape's web tier, over HTTP (keep-alive per thread)."""

    def __init__(self, base_url: str, token: str) -> None:
        self.base = base_url
        self.validator = RequestValidator(token)
        self.local = threading.local()

    def post(self, path: str, params: dict[str, str]) -> tuple[int, str]:
        session = getattr(self.local, "session", None) or requests.Session()
        self.local.session = session
        headers = {"X-Twilio-Signature": self.validator.compute_signature(self.base + path, params)}
        resp = session.post(self.base + path, data=params, headers=headers, timeout=30)
        return resp.status_code, resp.text


_phones = itertools.count(int(time.time()) % 1000 * 10_000)


def sms_booking(hooks: Webhooks, ledger: Ledger) -> None:
    phone = f"+86137{next(_phones) % 100_000_000:08d}"

    def text(body: str) -> tuple[int, str]:
        return hooks.post("/twilio/sms", {"AccountSid": "ACcluster", "MessageSid": "SM" + uuid.uuid4().hex,
                                          "From": phone, "To": HOTLINE_NUMBER, "Body": body, "NumMedia": "0"})

    status, body = text(SMS_BODY)
    if status != 200:
        ledger.add("refused", f"sms {status}")
        return
    status, body = text("Y")
    found = ORDER_NUMBER.search(body) if status == 200 else None
    if found:
        ledger.add("sms", found.group(0))
    else:
        ledger.add("refused", f"sms Y {status}")


def voice_booking(hooks: Webhooks, slots: Slots, ledger: Ledger) -> None:
    sid = "CA" + uuid.uuid4().hex
    params = {"AccountSid": "ACcluster", "ApiVersion": "2010-04-01", "CallSid": sid, "CallStatus": "in-progress",
              "Direction": "inbound", "From": VOICE_CALLER, "To": HOTLINE_NUMBER}
    pair, keys = slots.take()
    status, body = hooks.post("/twilio/voice", {**params, "CallStatus": "ringing"})
    for i, key in enumerate(keys.split()):
        action = GATHER_ACTION.search(body) if status == 200 else None
        if action is None:
            ledger.add("refused", f"voice {status} before key {i}")
            slots.give_back(pair)         # not confirmed: nothing was booked
            return
        status, body = hooks.post(unescape(action.group(1)), {**params, "Digits": key})
    done = VOICE_BOOKED.search(body) if status == 200 else None
    if done:                              # the caller heard "booked, your order number is ..."
        ledger.add("voice", done.group(1).replace(" ", ""))
    else:
        ledger.add("refused", f"voice {status} after confirm")
    hooks.post("/twilio/voice/status", {**params, "CallStatus": "completed", "CallDuration": "60"})


def agi_booking(port: int, slots: Slots, ledger: Ledger, sounds: Sounds) -> None:
    pair, keys = slots.take()
    asterisk = FakeAsterisk(Caller(AGI_CALLER, keys=ScriptedKeys.parse(keys)), sounds, timeout=30)
    try:
        result = asterisk.call_fastagi("127.0.0.1", port)
    except TimeoutError:
        ledger.add("hung", str(port))
        return
    except OSError as exc:                # refused: the dialplan's failure path takes the call
        ledger.add("agi_fell_back", f"{port} {type(exc).__name__}")
        slots.give_back(pair)
        time.sleep(0.5)                   # the next caller; not a tight loop against a closed port
        return
    if "hotline/zh/book.done" in result.prompts() and result.variables.get("HOTLINE_RESULT") == "hangup":
        ledger.add("agi", result.uniqueid)
    else:                                 # AGISTATUS FAILURE / no result: the dialplan sends it to the queue
        ledger.add("agi_fell_back", f"{port} {result.agi_status} {result.variables.get('HOTLINE_RESULT')}")
        if result.prompts()[:1] == ["hotline/zh/error.system"]:
            slots.give_back(pair)         # turned away at the start (the database out of reach)


def run_load(cluster, seconds: float, *, threads_per_channel: int = 2, ledger: Ledger | None = None,
             stop: threading.Event | None = None) -> Ledger:
    """Book by SMS, Twilio voice and FastAGI (both ports) from several threads for `seconds`."""
    ledger = ledger or Ledger()
    stop = stop or threading.Event()
    hooks = Webhooks(cluster.base_url, cluster.env["TWILIO_AUTH_TOKEN"])
    agi_slots, voice_slots, sounds = Slots(), Slots(), Sounds(everything=True)
    deadline = time.monotonic() + seconds

    def loop(work) -> None:
        while not stop.is_set() and time.monotonic() < deadline:
            try:
                work()
            except (requests.RequestException, OSError) as exc:   # a killed worker's connection
                ledger.add("refused", f"{type(exc).__name__}")

    work = [lambda: sms_booking(hooks, ledger), lambda: voice_booking(hooks, voice_slots, ledger)]
    work += [lambda p=p: agi_booking(p, agi_slots, ledger, sounds) for p in cluster.agi_ports]
    threads = [threading.Thread(target=loop, args=(w,), daemon=True) for w in work for _ in range(threads_per_channel)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + 60)
    return ledger


def check_ledger(database_url: str, ledger: Ledger) -> dict[str, int]:
    """Every acknowledged booking in the database, once: the figures, or AssertionError."""
    from sqlalchemy import create_engine, func, select
    from tickets.models import Call, WorkOrder

    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            numbers = set(conn.scalars(select(WorkOrder.number).where(WorkOrder.number.in_(ledger.sms + ledger.voice))))
            calls = dict(conn.execute(select(Call.external_id, Call.order_id)
                                      .where(Call.external_id.in_(ledger.agi))).all())
            duplicated = conn.execute(select(func.count()).select_from(
                select(WorkOrder.customer_id, WorkOrder.service_id, WorkOrder.scheduled_start)
                .where(WorkOrder.status != "cancelled")
                .group_by(WorkOrder.customer_id, WorkOrder.service_id, WorkOrder.scheduled_start)
                .having(func.count() > 1).subquery())).scalar_one()
            orders = conn.execute(select(func.count(WorkOrder.id))).scalar_one()
    finally:
        engine.dispose()
    lost = {"sms": len(set(ledger.sms) - numbers),
            "voice": len(set(ledger.voice) - numbers),
            "agi": sum(1 for key in ledger.agi if calls.get(key) is None)}
    return {"acknowledged": ledger.acknowledged, "lost": sum(lost.values()),
            **{f"lost_{k}": v for k, v in lost.items()}, "duplicated": duplicated, "orders": orders,
            "refused": len(ledger.refused), "agi_fell_back": len(ledger.agi_fell_back)}
