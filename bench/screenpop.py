"""Screen-pop delivery latency: 200 agent consoles streaming from the served console, Redis bus.

What runs, as in production:
- a throwaway redis-server on a free port, and a temp SQLite database with the demo city plus
  one agent user per client;
- the console in its own process (`hotline web`: waitress, WEB_THREADS + STREAM_SLOTS threads,
  REDIS_URL set);
- N clients that log in over HTTP and hold `/workspace/stream` open (real HTTP, Server-Sent
  Events, one connection each), read in one asyncio loop;
- a publisher that makes offers for random agents the way tickets.calls does (an AgentEvent row
  committed, then published on `agent.<id>`), at a steady rate.

Latency is from the moment the offer is made (its row inserted and committed, which publishes it)
to the moment the client has read the event off its stream. In the same run, the baseline: the same number of messages of
the same size through raw Redis pub/sub (redis-py publish -> a subscriber thread).

    python bench/screenpop.py [--clients 200] [--events 2000] [--rate 100]

The last line: BENCH screenpop p50_ms=<n> p95_ms=<n> p99_ms=<n> baseline_p95_ms=<n> clients=<n>
"""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import redis
import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.servers import free_port, start_redis  # noqa: E402  (the test suite's throwaway servers)
from tickets.calls import push_agent_event  # noqa: E402
from tickets.config import load_settings  # noqa: E402
from tickets.context import Hotline  # noqa: E402
from tickets.migrate import upgrade  # noqa: E402
from tickets.models import User  # noqa: E402
from tickets.passwords import hash_password  # noqa: E402
from tickets.seed import load_demo, load_reference  # noqa: E402

log = logging.getLogger("bench.screenpop")
PASSWORD = "bench-password-0123"
TOKEN = re.compile(r'name="csrf-token" content="([^"]+)"')
# About the size of a real offer: the caller's card with a few orders and addresses.
CARD = {"caller": "+8613800138000", "caller_display": "13800138000", "known": True, "name": "王女士",
        "member_level": "vip", "balance_fen": 120000,
        "addresses": [{"id": 1, "text": "天山区解放南路88号3单元502", "district": "天山区", "default": True}],
        "recent_orders": [{"number": f"26313{n:05d}", "status": "closed", "service": "家庭保洁",
                           "when": "2026-11-11 10:00", "franchisee": "天山家政服务有限公司"} for n in range(3)]}


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


# ---------------------------------------------------------------- setup

def make_database(dirpath: Path, clients: int, redis_url: str) -> tuple[Hotline, list[tuple[int, str]]]:
    """The demo city plus `clients` agents sharing one password hash (hashing is not what we measure)."""
    hl = Hotline(load_settings({"DATABASE_URL": f"sqlite:///{dirpath / 'hotline.db'}", "HOTLINE_DEMO": "1",
                                "REDIS_URL": redis_url}))
    upgrade(hl.engine)
    digest = hash_password(PASSWORD)
    with hl.session() as s, s.begin():
        load_reference(s)
        load_demo(s)
        users = [User(username=f"bench{n:04d}", display_name=f"坐席 {n}", role="agent", password_hash=digest,
                      presence="available") for n in range(clients)]
        s.add_all(users)
        s.flush()
        agents = [(u.id, u.username) for u in users]
    return hl, agents


def start_console(env: dict[str, str], port: int) -> subprocess.Popen:
    proc = subprocess.Popen([str(Path(sys.executable).parent / "hotline"), "web"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the console exited: {proc.stderr.read()}")
        try:
            if requests.get(f"http://127.0.0.1:{port}/login", timeout=2).status_code == 200:
                return proc
        except requests.RequestException:
            pass
        time.sleep(0.2)
    proc.kill()
    raise SystemExit("the console did not answer within 120 s")


def login(base: str, username: str) -> str:
    """Log in over HTTP like a browser; the session cookie header."""
    http = requests.Session()
    token = TOKEN.search(http.get(base + "/login", timeout=30).text).group(1)
    resp = http.post(base + "/login", data={"username": username, "password": PASSWORD, "csrf_token": token},
                     allow_redirects=False, timeout=60)
    if resp.status_code != 302:
        raise SystemExit(f"log-in of {username} refused: {resp.status_code}")
    return "; ".join(f"{c.name}={c.value}" for c in http.cookies)


# ---------------------------------------------------------------- clients

class Clients:
    """N SSE readers in one asyncio loop; records (event id, latency) as events are read."""

    def __init__(self, port: int, cookies: dict[int, str]) -> None:
        self.port = port
        self.cookies = cookies
        self.connected = 0
        self.latencies: dict[int, float] = {}
        self.ready = threading.Event()
        self.loop: asyncio.AbstractEventLoop | None = None
        self._tasks: list[asyncio.Task] = []

    async def _one(self, user_id: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        # HTTP/1.0: waitress streams the body as it comes and closes at the end (no chunking to undo).
        writer.write((f"GET /workspace/stream HTTP/1.0\r\nHost: 127.0.0.1:{self.port}\r\n"
                      f"Accept: text/event-stream\r\nCookie: {self.cookies[user_id]}\r\n\r\n").encode())
        await writer.drain()
        status = await reader.readline()
        if b" 200 " not in status:
            raise RuntimeError(f"stream of user {user_id}: {status!r}")
        while (await reader.readline()).strip():
            pass                                   # headers
        hello = False
        while True:
            line = await reader.readline()
            if not line:
                return
            if line.startswith(b": hello") and not hello:
                hello = True
                self.connected += 1
                if self.connected == len(self.cookies):
                    self.ready.set()
            elif line.startswith(b"data:"):
                received = time.time()
                data = json.loads(line[5:])
                sent = data["payload"].get("sent")
                if sent is not None:
                    self.latencies[data["id"]] = (received - sent) * 1000

    async def _main(self) -> None:
        self._tasks = [asyncio.create_task(self._one(uid)) for uid in self.cookies]
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def run(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.loop.run_until_complete(self._main())

    def stop(self) -> None:
        if self.loop is not None:
            self.loop.call_soon_threadsafe(lambda: [t.cancel() for t in self._tasks])


# ---------------------------------------------------------------- publishing

def publish_offers(hl: Hotline, agents: list[tuple[int, str]], events: int, rate: float) -> list[int]:
    """Offers to random agents at `rate` per second; each payload carries the time it was made."""
    with hl.session() as s:
        users = {uid: s.get(User, uid) for uid, _ in agents}
    sent_ids = []
    interval = 1.0 / rate
    next_at = time.monotonic()
    for _ in range(events):
        next_at += interval
        with hl.session() as s, s.begin():
            payload = {"call_id": None, "card": CARD, "ivr": {"language": "zh", "path": ["main", "agent"]},
                       "sent": time.time()}
            # Stored, committed, then published on agent.<id>: the clock runs from before the insert.
            sent_ids.append(push_agent_event(s, users[random.choice(agents)[0]], "offer", payload).id)
        delay = next_at - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    return sent_ids


def redis_baseline(url: str, events: int, rate: float) -> list[float]:
    """The same messages through raw Redis pub/sub: publish -> a subscriber thread."""
    body = json.dumps({"payload": {"card": CARD}}, ensure_ascii=False)
    sub = redis.Redis.from_url(url).pubsub(ignore_subscribe_messages=True)
    sub.subscribe("bench:baseline")
    latencies: list[float] = []
    done = threading.Event()

    def listen():
        while len(latencies) < events:
            msg = sub.get_message(timeout=1.0)
            if msg is not None:
                sent = float(msg["data"].split(b"|", 1)[0])
                latencies.append((time.time() - sent) * 1000)
        done.set()

    threading.Thread(target=listen, daemon=True).start()
    pub = redis.Redis.from_url(url)
    time.sleep(0.2)     # let the SUBSCRIBE reach the server before the first message
    interval = 1.0 / rate
    next_at = time.monotonic()
    for _ in range(events):
        next_at += interval
        pub.publish("bench:baseline", f"{time.time()}|{body}".encode())
        delay = next_at - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    done.wait(30)
    sub.close()
    pub.close()
    return latencies


# ---------------------------------------------------------------- main

def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--clients", type=int, default=200, help="agent streams held open (default 200)")
    p.add_argument("--events", type=int, default=2000, help="offers published (default 2000)")
    p.add_argument("--rate", type=float, default=100.0, help="offers per second (default 100)")
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    server = start_redis()
    tmp = Path(tempfile.mkdtemp(prefix="hotline-bench-"))
    console = clients = None
    try:
        hl, agents = make_database(tmp, args.clients, server.url)
        port = free_port()
        env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp / 'hotline.db'}", "REDIS_URL": server.url,
               "SECRET_KEY": "bench-secret", "HOTLINE_DEMO": "1", "WEB_BIND": f"127.0.0.1:{port}",
               "STREAM_SLOTS": str(args.clients + 10), "WEB_THREADS": "16", "LOG_LEVEL": "WARNING"}
        console = start_console(env, port)
        base = f"http://127.0.0.1:{port}"
        t0 = time.monotonic()
        with ThreadPoolExecutor(8) as pool:
            cookies = dict(zip([uid for uid, _ in agents], pool.map(lambda a: login(base, a[1]), agents)))
        log.info("%d agents logged in over HTTP in %.1f s", len(cookies), time.monotonic() - t0)

        clients = Clients(port, cookies)
        threading.Thread(target=clients.run, daemon=True).start()
        if not clients.ready.wait(120):
            raise SystemExit(f"only {clients.connected} of {args.clients} streams connected")
        log.info("%d streams open; publishing %d offers at %.0f/s to random agents", clients.connected,
                 args.events, args.rate)
        sent = publish_offers(hl, agents, args.events, args.rate)
        deadline = time.monotonic() + 30
        while len(clients.latencies) < len(sent) and time.monotonic() < deadline:
            time.sleep(0.1)
        got = [clients.latencies[i] for i in sent if i in clients.latencies]
        lost = len(sent) - len(got)
        hl.close()

        base_lat = redis_baseline(server.url, args.events, args.rate)
        p50, p95, p99 = (percentile(got, q) for q in (50, 95, 99))
        log.info("screen-pop: %d offers, %d received, %d missing; ms p50 %.1f p95 %.1f p99 %.1f max %.1f mean %.1f",
                 len(sent), len(got), lost, p50, p95, p99, max(got), statistics.fmean(got))
        log.info("raw Redis pub/sub: %d messages; ms p50 %.2f p95 %.2f p99 %.2f", len(base_lat),
                 percentile(base_lat, 50), percentile(base_lat, 95), percentile(base_lat, 99))
        print(f"BENCH screenpop p50_ms={p50:.1f} p95_ms={p95:.1f} p99_ms={p99:.1f} "
              f"baseline_p95_ms={percentile(base_lat, 95):.2f} clients={clients.connected}")
        if lost:
            raise SystemExit(f"{lost} offers never reached their stream")
    finally:
        if clients is not None:
            clients.stop()
        if console is not None:
            console.terminate()
            console.wait(30)
        server.stop()


if __name__ == "__main__":
    main()
