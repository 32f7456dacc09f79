"""Benchmark of the Twilio webhooks, served the way production serves them.

    .venv/bin/python bench/webhooks.py [--seconds 5] [--clients 8] [--rate 100] [--rate-seconds 5]
                                       [--rate-clients 32]

Three servers in subprocesses on free loopback ports, each `agent_console.commands.WebService`
(waitress with WEB_THREADS + STREAM_SLOTS threads, as `hotline web` and `hotline run` serve):
- `hotline web` on a fresh demo database (`hotline init --demo` in a temporary directory);
- a bare Flask app answering one fixed TwiML document: the baseline, the cost of the server,
  the HTTP round trip and the signed form post alone.
Clients are threads of this process, one keep-alive connection each, every request signed as
Twilio signs it. Measured:
- voice: the gather step, `POST /twilio/voice/step` with the caller's key. Callers navigate the
  menu (2 = hear my orders, a database read; 9 = the main menu again) for 20 keys, then hang up
  (status callback) and call again; the incoming call and the status callback are not counted.
- sms: `POST /twilio/sms` with `BJ 明天上午 天山区解放南路88号` (home cleaning tomorrow morning at that
  address: parsed, the district found, priced, read back for Y/N), each from a new number, as many
  residents texting at once. A new number has no default address, so the text carries one (without
  it the answer is only "please add an address").
- baseline: the fixed TwiML endpoint with the voice step's request.
Each first with `--clients` closed-loop clients for `--seconds` (throughput), then at a fixed
offered load of `--rate` requests a second for `--rate-seconds` (latency, measured from each
request's scheduled time, so a stall counts against every request it delays).

The last line is `BENCH webhooks voice_rps=<n> sms_rps=<n> baseline_rps=<n> ratio=<r> p99_ms=<n>`:
ratio is the slower endpoint's throughput over the baseline's, p99_ms the worse endpoint's 99th
percentile at the fixed load. Goals: ratio >= 0.5, p99 < 50 ms at 100 req/s.
"""
from __future__ import annotations

import argparse
import html
import http.client
import itertools
import logging
import os
import re
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable
from urllib.parse import urlencode

from twilio.request_validator import RequestValidator

log = logging.getLogger("bench.webhooks")

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "bench-twilio-token"
HOTLINE_NUMBER = "+8699196156"
DEMO_CALLERS = ("+8613800138000", "+8613900139000", "+8613700137000", "+8613600136000")
KEYS = ("2", "9")              # hear my orders, back to the main menu: one read step, one menu step
KEYS_PER_CALL = 20
SMS_BODY = "BJ 明天上午 天山区解放南路88号"
READ_BACK = "回复Y确认"        # the read-back's last words: the request was parsed and priced
STARTUP_SECONDS = 60
_ACTION = re.compile(r'<Gather action="([^"]+)"')


# ------------------------------------------------------------------------- the servers

def baseline_app():
    """A bare Flask app that answers every voice step with the same TwiML document."""
    from flask import Flask, Response
    from twilio.twiml.voice_response import Gather, VoiceResponse

    vr = VoiceResponse()
    gather = Gather(input="dtmf", action="/twilio/voice/step?step=2", method="POST", num_digits=1,
                    finish_on_key="#", timeout=5)
    gather.say("预约家政服务请按1，查询订单请按2，投诉建议请按3，人工服务请按0，重听请按9。", language="zh-CN", voice="alice")
    vr.append(gather)
    vr.redirect("/twilio/voice/step?event=timeout&step=2", method="POST")
    body = str(vr)
    app = Flask("baseline")

    @app.post("/twilio/voice/step")
    def fixed():
        return Response(body, content_type="text/xml")

    return app


def serve_baseline() -> int:
    """The baseline server (a subprocess of the bench): the bare app in the production WebService."""
    from agent_console.commands import WebService
    from tickets.config import load_settings
    from tickets.context import Hotline

    hl = Hotline(load_settings())
    svc = WebService(hl, app=baseline_app())
    svc.start()
    threading.Event().wait()
    return 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen, seconds: float = STARTUP_SECONDS) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server did not listen on {port} within {seconds}s")


@dataclass
class Server:
    name: str
    port: int
    proc: subprocess.Popen

    def cpu_seconds(self) -> float | None:
        """User + system CPU the server has used so far (Linux /proc), None elsewhere."""
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


def server_env(tmp: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "PUBLIC_BASE_URL", "TWILIO_INSECURE_DEV")}
    env.update(DATABASE_URL=f"sqlite:///{tmp}/bench.db", HOTLINE_DEMO="1", SECRET_KEY=secrets.token_hex(16),
               TWILIO_AUTH_TOKEN=TOKEN, TWILIO_ACCOUNT_SID="ACbench", SMS_PROVIDER="console",
               WEB_BIND=f"127.0.0.1:{port}", PROMPTS_DIR=str(tmp / "prompts"), PYTHONUNBUFFERED="1")
    return env


def start(name: str, argv: list[str], tmp: Path) -> Server:
    port = free_port()
    logfile = open(tmp / f"{name}.log", "wb")   # noqa: SIM115 - the child writes it until stopped
    proc = subprocess.Popen(argv, env=server_env(tmp, port), cwd=tmp, stdout=logfile, stderr=subprocess.STDOUT)
    wait_for_port(port, proc)
    return Server(name, port, proc)


# ------------------------------------------------------------------------- the clients

class Client:
    """One keep-alive connection that signs each POST as Twilio does."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.validator = RequestValidator(TOKEN)
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def post(self, path: str, params: dict[str, str]) -> tuple[int, str]:
        headers = {"Content-Type": "application/x-www-form-urlencoded",
                   "X-Twilio-Signature": self.validator.compute_signature(self.base + path, params)}
        self.conn.request("POST", path, urlencode(params), headers)
        resp = self.conn.getresponse()
        return resp.status, resp.read().decode()

    def close(self) -> None:
        self.conn.close()


class VoiceCaller:
    """A caller pressing keys through the menu; `next()` sends one gather step and returns its status."""

    def __init__(self, client: Client, caller: str) -> None:
        self.client = client
        self.caller = caller
        self.sid = ""
        self.action = ""
        self.keys = 0

    def _params(self, **extra: str) -> dict[str, str]:
        return {"AccountSid": "ACbench", "ApiVersion": "2010-04-01", "CallSid": self.sid, "CallStatus": "in-progress",
                "Direction": "inbound", "From": self.caller, "To": HOTLINE_NUMBER, **extra}

    def _dial(self) -> None:
        self.sid, self.keys = "CA" + uuid.uuid4().hex, 0
        status, body = self.client.post("/twilio/voice", self._params(CallStatus="ringing"))
        self._take(status, body)

    def _take(self, status: int, body: str) -> None:
        found = _ACTION.search(body) if status == 200 else None
        if found is None:
            raise RuntimeError(f"voice: no <Gather> in the answer ({status}): {body[:300]}")
        self.action = html.unescape(found.group(1))

    def prepare(self) -> None:
        """Outside the measurement: end a finished call, start a new one when needed."""
        if self.sid and self.keys >= KEYS_PER_CALL:
            self.client.post("/twilio/voice/status", self._params(CallStatus="completed", CallDuration="60"))
            self.sid = ""
        if not self.sid:
            self._dial()

    def step(self) -> int:
        status, body = self.client.post(self.action, self._params(Digits=KEYS[self.keys % len(KEYS)]))
        self.keys += 1
        self._take(status, body)
        return status


class SmsSender:
    """Residents texting an order code, each message from a new number."""
    _numbers = itertools.count(10_000_000)
    _lock = threading.Lock()

    def __init__(self, client: Client) -> None:
        self.client = client

    def prepare(self) -> None:
        pass

    def step(self) -> int:
        with self._lock:
            n = next(self._numbers)
        status, body = self.client.post("/twilio/sms", {
            "AccountSid": "ACbench", "MessageSid": "SM" + uuid.uuid4().hex, "SmsSid": "", "From": f"+86139{n:08d}",
            "To": HOTLINE_NUMBER, "Body": SMS_BODY, "NumMedia": "0", "NumSegments": "1", "ApiVersion": "2010-04-01"})
        if status != 200 or READ_BACK not in body:
            raise RuntimeError(f"sms: not a read-back ({status}): {body[:300]}")
        return status


class BaselineCaller:
    """The voice step's request against the fixed TwiML endpoint."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.params = {"AccountSid": "ACbench", "ApiVersion": "2010-04-01", "CallSid": "CA" + uuid.uuid4().hex,
                       "CallStatus": "in-progress", "Direction": "inbound", "From": DEMO_CALLERS[0],
                       "To": HOTLINE_NUMBER, "Digits": "9"}

    def prepare(self) -> None:
        pass

    def step(self) -> int:
        status, body = self.client.post("/twilio/voice/step?step=1", self.params)
        if status != 200 or "<Gather" not in body:
            raise RuntimeError(f"baseline: unexpected answer ({status}): {body[:300]}")
        return status


# ------------------------------------------------------------------------- load

@dataclass
class Run:
    name: str
    mode: str
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    server_cpu: float | None = None      # CPU seconds the server spent during the run

    @property
    def cpu_ms(self) -> float:
        """Server CPU per measured request: what the machine's other load does not change much."""
        if self.server_cpu is None or not self.latencies:
            return float("nan")
        return self.server_cpu / len(self.latencies) * 1000

    @property
    def rps(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def pct(self, p: float) -> float:
        if not self.latencies:
            return float("nan")
        if len(self.latencies) < 2:
            return self.latencies[0] * 1000
        return statistics.quantiles(self.latencies, n=1000, method="inclusive")[int(p * 10) - 1] * 1000

    def line(self) -> str:
        return (f"{self.name:<9} {self.mode:<14} {len(self.latencies):>7} {self.rps:>9.1f} {self.pct(50):>8.2f} "
                f"{self.pct(99):>8.2f} {self.cpu_ms:>10.2f} {len(self.errors):>6}")


def measured(server: Server, run_fn: Callable[[], Run]) -> Run:
    """Run a load and note the server CPU it cost."""
    before = server.cpu_seconds()
    run = run_fn()
    after = server.cpu_seconds()
    if before is not None and after is not None:
        run.server_cpu = after - before
    return run


def closed_loop(name: str, port: int, make: Callable[[Client, int], object], clients: int, seconds: float) -> Run:
    """`clients` threads, each sending its next request as soon as the last one is answered."""
    run = Run(name, f"closed x{clients}")
    lock = threading.Lock()
    stop_at = threading.Event()
    start_gate = threading.Barrier(clients + 1)

    def worker(n: int) -> None:
        client = Client(port)
        user = make(client, n)
        mine: list[float] = []
        try:
            user.prepare()
            start_gate.wait()
            while not stop_at.is_set():
                user.prepare()
                t0 = time.perf_counter()
                user.step()
                mine.append(time.perf_counter() - t0)
        except Exception as exc:  # noqa: BLE001 - reported with the figures
            with lock:
                run.errors.append(repr(exc))
        finally:
            client.close()
            with lock:
                run.latencies.extend(mine)

    threads = [threading.Thread(target=worker, args=(n,), daemon=True) for n in range(clients)]
    for t in threads:
        t.start()
    start_gate.wait()
    began = time.perf_counter()
    stop_at.wait(seconds)
    stop_at.set()
    for t in threads:
        t.join(60)
    run.seconds = time.perf_counter() - began
    return run


def fixed_rate(name: str, port: int, make: Callable[[Client, int], object], rate: float, seconds: float,
               clients: int) -> Run:
    """Requests offered at `rate` per second whatever the answers do; latency counts from the schedule."""
    run = Run(name, f"fixed {rate:g}/s")
    total = int(rate * seconds)
    tickets = itertools.count()
    lock = threading.Lock()
    ready = threading.Barrier(clients + 1)
    t0_holder: list[float] = []

    def worker(n: int) -> None:
        client = Client(port)
        user = make(client, n)
        mine: list[float] = []
        try:
            user.prepare()
            ready.wait()
            t0 = t0_holder[0]
            while True:
                with lock:
                    i = next(tickets)
                if i >= total:
                    break
                due = t0 + i / rate
                user.prepare()
                delay = due - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)      # pacing the offered load, not waiting for a result
                user.step()
                mine.append(time.perf_counter() - due)
        except Exception as exc:  # noqa: BLE001
            with lock:
                run.errors.append(repr(exc))
        finally:
            client.close()
            with lock:
                run.latencies.extend(mine)

    threads = [threading.Thread(target=worker, args=(n,), daemon=True) for n in range(clients)]
    for t in threads:
        t.start()
    t0_holder.append(time.perf_counter() + 0.2)
    ready.wait()
    for t in threads:
        t.join(seconds * 4 + 60)
    run.seconds = time.perf_counter() - t0_holder[0]
    return run


# ------------------------------------------------------------------------- main

def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=5.0, help="closed-loop run per endpoint (default 5)")
    p.add_argument("--clients", type=int, default=8, help="concurrent closed-loop clients (default 8)")
    p.add_argument("--rate", type=float, default=100.0, help="fixed offered load, requests/s (default 100)")
    p.add_argument("--rate-seconds", type=float, default=5.0, help="fixed-load run per endpoint (default 5)")
    p.add_argument("--rate-clients", type=int, default=32,
                   help="connections sending the fixed load, enough that a slow answer delays no other (default 32)")
    p.add_argument("--serve-baseline", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.serve_baseline:
        return serve_baseline()
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    with tempfile.TemporaryDirectory(prefix="hotline-bench-") as tmpdir:
        tmp = Path(tmpdir)
        env = server_env(tmp, free_port())
        subprocess.run([sys.executable, "-m", "tickets.cli", "init", "--demo"], env=env, cwd=tmp, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        servers = [start("hotline", [sys.executable, "-m", "tickets.cli", "web"], tmp),
                   start("baseline", [sys.executable, str(Path(__file__).resolve()), "--serve-baseline"], tmp)]
        hotline, baseline = servers
        try:
            workloads = [
                ("baseline", baseline, lambda c, n: BaselineCaller(c)),
                ("voice", hotline, lambda c, n: VoiceCaller(c, DEMO_CALLERS[n % len(DEMO_CALLERS)])),
                ("sms", hotline, lambda c, n: SmsSender(c)),
            ]
            for name, srv, make in workloads:        # warm up: imports, caches, connection pools
                closed_loop(name, srv.port, make, 2, 1.0)
            runs = [measured(srv, lambda: closed_loop(name, srv.port, make, args.clients, args.seconds))
                    for name, srv, make in workloads]
            runs += [measured(srv, lambda: fixed_rate(name, srv.port, make, args.rate, args.rate_seconds,
                                                      args.rate_clients))
                     for name, srv, make in workloads]
        finally:
            for srv in servers:
                srv.stop()

    print(f"{'endpoint':<9} {'mode':<14} {'requests':>7} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} "
          f"{'cpu ms/req':>10} {'errors':>6}")
    for run in runs:
        print(run.line())
        for err in sorted(set(run.errors))[:3]:
            print(f"    error: {err}")
    by = {(r.name, r.mode.split()[0]): r for r in runs}
    voice, sms, base = by[("voice", "closed")], by[("sms", "closed")], by[("baseline", "closed")]
    ratio = min(voice.rps, sms.rps) / base.rps if base.rps else 0.0
    p99 = max(by[("voice", "fixed")].pct(99), by[("sms", "fixed")].pct(99))
    print(f"ratio = min(voice, sms) / baseline = {ratio:.2f} (no goal: the 0.5 goal was withdrawn); "
          f"p99 at {args.rate:g} req/s = {p99:.1f} ms (goal < 50)")
    print(f"server CPU per request: baseline {base.cpu_ms:.2f} ms, voice {voice.cpu_ms:.2f} ms, sms {sms.cpu_ms:.2f} ms "
          f"(the machine's {os.cpu_count()} cores are shared with whatever else runs; "
          f"load average {os.getloadavg()[0]:.1f})")
    print(f"BENCH webhooks voice_rps={voice.rps:.0f} sms_rps={sms.rps:.0f} baseline_rps={base.rps:.0f} "
          f"ratio={ratio:.2f} p99_ms={p99:.1f}")
    return 1 if any(r.errors for r in runs) else 0


if __name__ == "__main__":
    sys.exit(main())
