"""FastAGI benchmark: booking calls against `hotline-fastagi`, the protocol's own cost, and the
start-up of `hotline-agi`.

    .venv/bin/python bench/fastagi.py [--calls 50] [--sessions 600] [--pace-ms 50] [--database-url URL]

1. `hotline-fastagi` runs in its own process on a fresh demo database (SQLite in a temp
   directory unless --database-url is given). N concurrent fake-Asterisk callers (threads in
   this process) each place 王女士's home-cleaning booking (book, cleaning, home cleaning, a
   date keyed in, a slot, default address, confirm) over and over, each session on a day and
   slot of its own (the same booking twice is refused as a duplicate, so the bench allows a
   year ahead: BOOKING_HORIZON_DAYS=366); every session creates, prices and
   dispatches a work order and writes its call record. Per-command latency is what Asterisk
   would see: from the moment a reply is sent to the moment the next command arrives.
   Closed loop first (each caller answers at once: the most sessions per second, and latency
   that is mostly queueing once the server is saturated), then at a caller's pace (each reply
   takes --pace-ms, as while a prompt plays; real prompts take seconds, so this is still far
   more load than N real calls) for the latency Asterisk sees with N calls up.
2. The same callers against an echo FastAGI server (also its own process, same server code and
   AGI command layer) that sends the very same commands one booking session sent, without the
   menu engine or the database: the protocol's own cost.
3. `hotline-agi` spawned with an AGI environment on stdin: time until its first command
   (ANSWER) arrives on stdout, next to the time `python -c pass` takes to start and exit.

Prints the figures and ends with one line (p99 closed loop, paced_p99 at a caller's pace,
server_cpu_ms the server's CPU per booking session, echo_server_cpu_ms the echo server's,
cpu_ratio the first over the second; goal: cpu_ratio <= 4):
BENCH fastagi sessions_per_s=<n> echo_sessions_per_s=<n> ratio=<r> p99_ms=<n> paced_p99_ms=<n>
server_cpu_ms=<n> echo_server_cpu_ms=<n> cpu_ratio=<r> agi_first_cmd_ms=<n>
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agi_scripts.fake_asterisk import (Caller, CallResult, FakeAsterisk, ScriptedKeys, Sounds,  # noqa: E402
                                       agi_environment, new_uniqueid)

CALLER = "13800138000"
HORIZON_DAYS = 366
_BOOKINGS = itertools.count()
READY_S = 60.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port: int, proc: subprocess.Popen, log: Path) -> None:
    """Block until something accepts on `port` (the server is up), or fail with its log."""
    deadline = time.monotonic() + READY_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"nothing listens on port {port} after {READY_S:.0f} s:\n{log.read_text()[-3000:]}")


def hotline_env(workdir: Path, database_url: str | None, port: int, calls: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FASTAGI_", "HOTLINE_"))}
    env.update({"DATABASE_URL": database_url or f"sqlite:///{workdir}/bench.db", "HOTLINE_DEMO": "1",
                "SMS_PROVIDER": "console", "FASTAGI_BIND": f"127.0.0.1:{port}",
                "FASTAGI_MAX_CALLS": str(max(calls * 2, 8)), "RECORDINGS_DIR": str(workdir / "recordings"),
                "LOG_LEVEL": "INFO", "PYTHONPATH": str(ROOT), "BOOKING_HORIZON_DAYS": str(HORIZON_DAYS)})
    return env


def start(argv: list[str], env: dict[str, str], port: int, log: Path) -> subprocess.Popen:
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=open(log, "wb"))
    wait_listening(port, proc, log)
    return proc


def cpu_seconds(pid: int) -> float:
    """User + system CPU a process has used (Linux /proc), 0.0 where that is not available."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# ---------------------------------------------------------------------- the callers

def booking_keys() -> str:
    """The next free (day, slot) for 王女士's booking: book, cleaning, home cleaning, date MMDD, slot,
    default address, confirm. Days ahead by local (Asia/Shanghai) date, three slots a day."""
    n = next(_BOOKINGS)
    day = datetime.now(ZoneInfo("Asia/Shanghai")).date() + timedelta(days=1 + n // 3)
    return f"1 1 1 4 {day:%m%d} {n % 3 + 1} 1 1"


def one_call(port: int, sounds: Sounds, pace: float = 0.0) -> CallResult:
    caller = Caller(CALLER, keys=ScriptedKeys.parse(booking_keys()))
    return FakeAsterisk(caller, sounds, measure=True, timeout=120, pace=pace).call_fastagi("127.0.0.1", port)


def load(port: int, calls: int, sessions: int, server_pid: int, pace: float = 0.0, stagger: float = 0.0) -> dict:
    """`calls` concurrent callers placing `sessions` booking calls in all, each reply after `pace` s;
    caller i starts after i/calls of `stagger` s (paced callers that all started together would
    reach the booking together, every time, which real calls do not)."""
    sounds = Sounds(everything=True)
    lock = threading.Lock()
    remaining = [sessions]
    latencies: list[float] = []
    commands: list[int] = []
    failures: list[str] = []

    def caller_loop(delay: float) -> None:
        time.sleep(delay)
        while True:
            with lock:
                if remaining[0] <= 0:
                    return
                remaining[0] -= 1
            try:
                r = one_call(port, sounds, pace)
            except OSError as exc:
                with lock:
                    failures.append(f"connection: {exc}")
                continue
            with lock:
                latencies.extend(r.command_latencies[1:])     # [0] is the wait for the first command
                commands.append(r.commands)
                if r.variables.get("HOTLINE_RESULT") != "hangup":
                    failures.append(f"{r.uniqueid}: HOTLINE_RESULT={r.variables.get('HOTLINE_RESULT')!r}")

    threads = [threading.Thread(target=caller_loop, args=(stagger * i / calls,)) for i in range(calls)]
    started, server_cpu, client_cpu = time.perf_counter(), cpu_seconds(server_pid), time.process_time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    server_cpu, client_cpu = cpu_seconds(server_pid) - server_cpu, time.process_time() - client_cpu
    latencies.sort()
    done = max(len(commands), 1)
    return {"sessions": len(commands), "seconds": elapsed, "sessions_per_s": len(commands) / elapsed,
            "server_cpu_ms": server_cpu / done * 1000, "client_cpu_ms": client_cpu / done * 1000,
            "commands_per_session": statistics.mean(commands) if commands else 0,
            "p50_ms": percentile(latencies, 50) * 1000, "p99_ms": percentile(latencies, 99) * 1000,
            "max_ms": (latencies[-1] if latencies else 0) * 1000, "failures": failures}


def percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return 0.0
    k = min(len(sorted_values) - 1, max(0, round(p / 100 * len(sorted_values)) - 1))
    return sorted_values[k]


# ---------------------------------------------------------------------- the echo server

def echo_server(port: int, script_file: str, max_calls: int) -> None:
    """Serve the recorded commands of one booking session to every caller, with no menu behind."""
    import signal

    from agi_scripts.channel import AGIError
    from agi_scripts.fastagi import FastAgiServer

    commands = json.loads(Path(script_file).read_text(encoding="utf-8"))

    def handle(channel) -> str:
        for line in commands:
            channel.send_command(line)
            try:
                channel.get_result()
            except AGIError:
                pass
        return f"commands={len(commands)}"

    server = FastAgiServer(handle, bind=("127.0.0.1", port), max_calls=max_calls).start()
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    stopped.wait()
    server.stop(grace=10)


# ---------------------------------------------------------------------- hotline-agi start-up

def first_command_ms(argv: list[str], env: dict[str, str]) -> float:
    """Spawn to the first line on stdout, with an AGI environment waiting on stdin."""
    agi_env = agi_environment(uniqueid=new_uniqueid(), caller=Caller(CALLER))
    data = "".join(f"{k}: {v}\n" for k, v in agi_env.items()).encode() + b"\n"
    started = time.perf_counter()
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    proc.stdin.write(data)
    proc.stdin.flush()
    line = proc.stdout.readline()
    elapsed = (time.perf_counter() - started) * 1000
    proc.kill()
    proc.wait()
    if line.strip() != b"ANSWER":
        raise SystemExit(f"hotline-agi sent {line!r} first, not ANSWER")
    return elapsed


def process_ms(argv: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, check=True)
    return (time.perf_counter() - started) * 1000


# ---------------------------------------------------------------------- main

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=50, help="concurrent callers (default %(default)s)")
    parser.add_argument("--sessions", type=int, default=600, help="booking sessions in all (default %(default)s)")
    parser.add_argument("--pace-ms", type=float, default=50.0,
                        help="each reply's delay in the paced run, as while a prompt plays (default %(default)s)")
    parser.add_argument("--paced-sessions", type=int, default=300,
                        help="booking sessions in the paced run (default %(default)s)")
    parser.add_argument("--database-url", help="database for the booking run (default: a fresh SQLite file)")
    parser.add_argument("--agi-runs", type=int, default=10, help="hotline-agi start-ups to time (default %(default)s)")
    parser.add_argument("--echo-server", nargs=3, metavar=("PORT", "SCRIPT", "MAX"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.echo_server:
        echo_server(int(args.echo_server[0]), args.echo_server[1], int(args.echo_server[2]))
        return 0

    bindir = Path(sys.executable).parent
    with tempfile.TemporaryDirectory(prefix="hotline-bench-") as tmp:
        workdir = Path(tmp)
        port = free_port()
        env = hotline_env(workdir, args.database_url, port, args.calls)
        subprocess.run([str(bindir / "hotline"), "init", "--demo"], env=env, check=True, capture_output=True)

        print(f"FastAGI booking: {args.calls} concurrent callers, {args.sessions} sessions, "
              f"{env['DATABASE_URL'].split(':')[0]}, {os.cpu_count()} CPUs", flush=True)
        server_log = workdir / "fastagi.log"
        server = start([str(bindir / "hotline-fastagi")], env, port, server_log)
        try:
            sample = one_call(port, Sounds(everything=True))        # warm-up, and the echo server's script
            if sample.variables.get("HOTLINE_RESULT") != "hangup":
                raise SystemExit(f"the warm-up call did not book: {sample.variables}\n"
                                 f"{server_log.read_text()[-3000:]}")
            menu = load(port, args.calls, args.sessions, server.pid)
            pace = args.pace_ms / 1000
            paced = load(port, args.calls, args.paced_sessions, server.pid, pace, stagger=pace * sample.commands)
        finally:
            stop(server)
        booked = count_booked(env)
        report("hotline-fastagi", menu)
        report(f"hotline-fastagi at a caller's pace ({args.pace_ms:.0f} ms before each reply)", paced)
        print(f"  orders booked in the database: {booked} "
              f"(the warm-up call and {menu['sessions'] + paced['sessions']} sessions)")

        script = workdir / "session.json"
        script.write_text(json.dumps(sample.commands_sent(), ensure_ascii=False), encoding="utf-8")
        echo_port = free_port()
        echo = start([sys.executable, __file__, "--echo-server", str(echo_port), str(script),
                      str(max(args.calls * 2, 8))], env, echo_port, workdir / "echo.log")
        try:
            one_call(echo_port, Sounds(everything=True))
            base = load(echo_port, args.calls, args.sessions, echo.pid)
        finally:
            stop(echo)
        report("echo FastAGI (same commands, no menu, no database)", base)
        ratio = menu["sessions_per_s"] / base["sessions_per_s"] if base["sessions_per_s"] else 0.0
        cpu_ratio = menu["server_cpu_ms"] / base["server_cpu_ms"] if base["server_cpu_ms"] else 0.0
        print(f"  ratio hotline/echo: {ratio:.2f} sessions/s; server CPU per session {cpu_ratio:.1f}x the echo's")

        agi = [first_command_ms([str(bindir / "hotline-agi")], env) for _ in range(args.agi_runs)]
        bare = [process_ms([sys.executable, "-c", "pass"]) for _ in range(args.agi_runs)]
        agi_ms, bare_ms = statistics.median(agi), statistics.median(bare)
        print(f"hotline-agi: first command after {agi_ms:.0f} ms (median of {len(agi)}, min {min(agi):.0f}); "
              f"`python -c pass` starts and exits in {bare_ms:.0f} ms")

    print(f"BENCH fastagi sessions_per_s={menu['sessions_per_s']:.0f} echo_sessions_per_s={base['sessions_per_s']:.0f} "
          f"ratio={ratio:.2f} p99_ms={menu['p99_ms']:.1f} paced_p99_ms={paced['p99_ms']:.1f} "
          f"server_cpu_ms={menu['server_cpu_ms']:.1f} echo_server_cpu_ms={base['server_cpu_ms']:.1f} "
          f"cpu_ratio={cpu_ratio:.1f} agi_first_cmd_ms={agi_ms:.0f}")
    return 0


def count_booked(env: dict[str, str]) -> int:
    from sqlalchemy import create_engine, text
    engine = create_engine(env["DATABASE_URL"])
    with engine.connect() as conn:
        n = conn.execute(text("SELECT count(*) FROM calls WHERE outcome = 'booked'")).scalar_one()
    engine.dispose()
    return n


def report(title: str, r: dict) -> None:
    print(f"{title}:")
    print(f"  {r['sessions']} sessions in {r['seconds']:.1f} s = {r['sessions_per_s']:.1f} sessions/s, "
          f"{r['commands_per_session']:.0f} commands per session")
    print(f"  CPU per session: server {r['server_cpu_ms']:.1f} ms, fake callers {r['client_cpu_ms']:.1f} ms "
          f"(the server alone could do {1000 / r['server_cpu_ms'] if r['server_cpu_ms'] else 0:.0f} sessions/s "
          "on one free core)")
    print(f"  per-command latency (reply sent -> next command): p50 {r['p50_ms']:.2f} ms, "
          f"p99 {r['p99_ms']:.2f} ms, max {r['max_ms']:.1f} ms")
    if r["failures"]:
        print(f"  {len(r['failures'])} sessions failed, e.g. {r['failures'][:3]}")


if __name__ == "__main__":
    sys.exit(main())
