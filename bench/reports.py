"""Call reports over a year of a city hotline: the roll-ups against a plain GROUP BY of the raw calls.

A throwaway PostgreSQL (as bench/orders.py starts one) is filled with `--calls` calls (default
10 million, one year) and the queue_log of their Asterisk half, with COPY (psycopg's
`cursor.copy`); the year is rolled up (tickets.metrics.refresh, the job's own code); then, over
repeated runs, the month-by-hour call-volume report (tickets.metrics.call_volume, which reads
the roll-ups) is timed against a plain GROUP BY by hour over the month's raw calls, in the same
run on the same database. queue_log import is timed on a file of `--log-lines` new lines
(tickets.queue_log.import_file, into the full table). A smaller SQLite run (`--sqlite-calls`,
default 1 million, bulk inserts) shows the same reports work there.

    python bench/reports.py [--calls 10000000] [--sqlite-calls 1000000] [--runs 20] [--no-postgres]
                            [--order-scale 10]

The 90-day franchisee report (`franchisee_90d_ms`): the same database also gets a year of work
orders made by tickets.demo_history at `--order-scale` times the demo's daily volume (default
10: about 140,000 orders, 380 a day), with their events, price lines, surveys and complaints
(PostgreSQL: COPY; SQLite: bulk inserts); the year is rolled up (tickets.order_rollups, the
job's own code), then the franchisees report (every figure of the page, from the roll-ups) is
timed over the last 90 days, beside a plain GROUP BY franchisee over the same raw orders.
"""
from __future__ import annotations

import argparse
import json
import logging
import multiprocessing
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, func, insert, select, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tickets import order_rollups, reports  # noqa: E402
from tickets.config import load_settings  # noqa: E402
from tickets.context import Hotline  # noqa: E402
from tickets.demo_history import build_history  # noqa: E402
from tickets.metrics import call_volume, mark_range, refresh  # noqa: E402
from tickets.migrate import upgrade  # noqa: E402
from tickets.models import Call, OrderCounter, QueueLogLine, WorkOrder  # noqa: E402
from tickets.queue_log import import_file, parse_line  # noqa: E402
from tickets.seed import load_demo, load_reference  # noqa: E402
from tickets.timeutil import to_local  # noqa: E402

YEAR_START = datetime(2025, 12, 31, 16, 0)        # 2026-01-01 00:00 Asia/Shanghai, in UTC
MONTH = (date(2026, 6, 1), date(2026, 6, 30))
AGENTS = [f"PJSIP/bench{i:02d}" for i in range(30)]
QUEUE = "hotline-agents"
CALL_COLUMNS = ("external_id", "transport", "caller", "language", "ivr_path", "outcome", "abandoned_at", "queue",
                "agent_user_id", "agent_member", "hold_seconds", "talk_seconds", "queue_result", "disposition",
                "notes", "started_at", "ended_at", "wrap_seconds", "updated_at")
LINE_COLUMNS = ("line_key", "at", "entered_at", "callid", "queue", "agent", "event", "data1", "data2", "data3",
                "data4", "data5")
PATHS = {"agent": ["start", "greet", "main", "agent", "agent.transfer"],
         "booked": ["start", "greet", "main", "book.category", "book.create", "bye"],
         "status": ["start", "greet", "main", "status", "status.menu"],
         "abandoned": ["start", "greet", "main"]}
# Hour of day (local) weights: a hotline's day, quiet at night.
HOURS = [1, 1, 1, 1, 1, 2, 4, 10, 24, 34, 36, 32, 22, 24, 30, 32, 28, 24, 18, 14, 10, 6, 3, 2]


def _line(at: datetime, callid: str, agent: str, event: str, *data: str) -> tuple:
    raw = "|".join([str(int((at - datetime(1970, 1, 1)).total_seconds())), callid, QUEUE, agent, event, *data])
    row = parse_line(raw.encode())
    return tuple(row[c] for c in LINE_COLUMNS)


def generate(n: int, seed: int = 15):
    """`n` calls spread over the year with a day's profile, and their queue_log lines: yields
    (call row, [line rows]) tuples in the column orders above."""
    rnd = random.Random(seed)
    hours = rnd.choices(range(24), HOURS, k=min(n, 1_000_000))
    step = 365 * 86400 / n
    for i in range(n):
        day_start = YEAR_START + timedelta(days=int(i * step // 86400))
        started = day_start + timedelta(hours=hours[i % len(hours)], seconds=int(i * 7919 % 3600))
        transport = "fastagi" if i % 2 else "twilio"
        r = rnd.random()
        outcome = "agent" if r < 0.6 else "booked" if r < 0.8 else "status" if r < 0.9 else "abandoned"
        ext = f"b{i}"
        row = {"external_id": ext, "transport": transport, "caller": f"+86138{i % 10**8:08d}", "language": "zh",
               "ivr_path": json.dumps(PATHS[outcome]), "outcome": outcome,
               "abandoned_at": "main" if outcome == "abandoned" else "", "queue": "", "agent_user_id": None,
               "agent_member": "", "hold_seconds": None, "talk_seconds": None, "queue_result": "", "disposition": "",
               "notes": "", "started_at": started, "ended_at": started + timedelta(seconds=60), "wrap_seconds": None,
               "updated_at": started}
        lines: list[tuple] = []
        if outcome == "agent":
            joined = started + timedelta(seconds=40)
            wait, talk = int(rnd.expovariate(1 / 18)), 60 + int(rnd.expovariate(1 / 120))
            member = AGENTS[i % len(AGENTS)]
            abandoned = rnd.random() < 0.12
            row.update(queue=QUEUE, hold_seconds=wait, queue_result="abandoned" if abandoned else "answered",
                       talk_seconds=None if abandoned else talk, wrap_seconds=None if abandoned else 10,
                       agent_member="" if abandoned else member,
                       ended_at=joined + timedelta(seconds=wait + (0 if abandoned else talk)))
            if abandoned:
                row.update(outcome="abandoned", abandoned_at="queue")
            if transport == "fastagi":
                lines.append(_line(joined, ext, "NONE", "ENTERQUEUE", "", row["caller"], "1"))
                if abandoned:
                    lines.append(_line(joined + timedelta(seconds=wait), ext, "NONE", "ABANDON", "1", "1", str(wait)))
                else:
                    lines.append(_line(joined + timedelta(seconds=wait), ext, member, "CONNECT", str(wait), ext + ".2", "1"))
                    lines.append(_line(joined + timedelta(seconds=wait + talk), ext, member, "COMPLETECALLER",
                                       str(wait), str(talk), "1"))
        yield tuple(row[c] for c in CALL_COLUMNS), lines


def make(url: str) -> Hotline:
    hl = Hotline(load_settings({"DATABASE_URL": url, "HOTLINE_DEMO": "1"}))
    upgrade(hl.engine)
    with hl.session() as s, s.begin():
        load_reference(s)
        load_demo(s)
    return hl


def fill_postgres(hl: Hotline, n: int) -> tuple[float, int]:
    """COPY the calls and their queue_log lines, two COPYs on two connections fed from one pass of
    the generator (nothing held in memory); (seconds, lines)."""
    t0 = time.perf_counter()
    lines = 0
    calls_conn, log_conn = hl.engine.raw_connection(), hl.engine.raw_connection()
    try:
        with calls_conn.cursor() as calls_cur, log_conn.cursor() as log_cur, \
                calls_cur.copy(f"COPY calls ({', '.join(CALL_COLUMNS)}) FROM STDIN") as calls_copy, \
                log_cur.copy(f"COPY queue_log ({', '.join(LINE_COLUMNS)}) FROM STDIN") as log_copy:
            for call, call_lines in generate(n):
                calls_copy.write_row(call)
                for line in call_lines:
                    log_copy.write_row(line)
                lines += len(call_lines)
        calls_conn.commit()
        log_conn.commit()
        with calls_conn.cursor() as cur:
            cur.execute("ANALYZE")
        calls_conn.commit()
    finally:
        calls_conn.close()
        log_conn.close()
    return time.perf_counter() - t0, lines


def fill_sqlite(hl: Hotline, n: int) -> tuple[float, int]:
    """Bulk inserts (SQLite has no COPY) through the session; (seconds, lines)."""
    t0 = time.perf_counter()
    lines = 0
    calls: list[dict] = []
    log_rows: list[dict] = []
    with hl.session() as s, s.begin():
        for call, call_lines in generate(n):
            calls.append(dict(zip(CALL_COLUMNS, call)) | {"ivr_path": json.loads(call[4])})
            log_rows.extend(dict(zip(LINE_COLUMNS, line)) for line in call_lines)
            if len(calls) == 20_000:
                s.execute(insert(Call), calls)
                s.execute(insert(QueueLogLine), log_rows)
                lines += len(log_rows)
                calls, log_rows = [], []
        if calls:
            s.execute(insert(Call), calls)
            s.execute(insert(QueueLogLine), log_rows)
            lines += len(log_rows)
    return time.perf_counter() - t0, lines


def _refresh_until_done(url: str) -> None:
    """One roll-up worker: recompute marked intervals, ten days per transaction, until none is left."""
    hl = Hotline(load_settings({"DATABASE_URL": url, "HOTLINE_DEMO": "1"}))
    try:
        while True:
            with hl.session() as s, s.begin():
                if not refresh(s, limit=960):
                    return
    finally:
        hl.close()


def roll_up_year(hl: Hotline) -> float:
    """Mark the year and roll it up. On PostgreSQL one worker per core, as several scheduler runs
    would (each takes the marks it locks and skips the others'); SQLite has one writer."""
    t0 = time.perf_counter()
    with hl.session() as s, s.begin():
        mark_range(s, YEAR_START, YEAR_START + timedelta(days=366))
    url = hl.engine.url.render_as_string(hide_password=False)
    workers = (os.cpu_count() or 1) if hl.engine.dialect.name == "postgresql" else 1
    procs = [multiprocessing.get_context("spawn").Process(target=_refresh_until_done, args=(url,))
             for _ in range(workers)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
        if p.exitcode:
            raise RuntimeError(f"a roll-up worker failed (exit code {p.exitcode})")
    return time.perf_counter() - t0


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[-1] if len(samples) >= 2 else samples[0]


def time_reports(hl: Hotline, runs: int) -> tuple[float, float, int]:
    """(month-by-hour p95 ms from the roll-ups, raw GROUP BY p95 ms, hours reported)."""
    dialect = hl.engine.dialect.name
    hour = (func.date_trunc("hour", Call.started_at) if dialect == "postgresql"
            else func.strftime("%Y-%m-%d %H", Call.started_at))
    answered = func.sum(func.cast(Call.queue_result == "answered", type_=Call.hold_seconds.type))
    raw_sql = (select(hour.label("h"), func.count(), answered, func.sum(Call.hold_seconds))
               .where(Call.started_at >= text(":lo"), Call.started_at < text(":hi")).group_by(text("h")))
    lo, hi = datetime(2026, 5, 31, 16), datetime(2026, 6, 30, 16)
    rollup_ms, raw_ms = [], []
    rows = 0
    for _ in range(runs):
        with hl.session() as s:
            t0 = time.perf_counter()
            rows = len(call_volume(s, *MONTH, "hour"))
            rollup_ms.append((time.perf_counter() - t0) * 1000)
        with hl.session() as s:
            t0 = time.perf_counter()
            s.execute(raw_sql, {"lo": lo, "hi": hi}).all()
            raw_ms.append((time.perf_counter() - t0) * 1000)
    return p95(rollup_ms), p95(raw_ms), rows


def time_import(hl: Hotline, lines: int, tmp: str) -> float:
    """queue_log import of a file of `lines` new lines into the filled table; lines per second."""
    path = Path(tmp) / "queue_log"
    at = datetime(2026, 12, 31, 1)
    with open(path, "w", encoding="utf-8") as f:
        for i in range(0, lines, 3):
            epoch = int((at - datetime(1970, 1, 1)).total_seconds()) + i
            f.write(f"{epoch}|imp{i}|{QUEUE}|NONE|ENTERQUEUE||13800138000|1\n"
                    f"{epoch + 9}|imp{i}|{QUEUE}|{AGENTS[i % 30]}|CONNECT|9|imp{i}.2|3\n"
                    f"{epoch + 99}|imp{i}|{QUEUE}|{AGENTS[i % 30]}|COMPLETEAGENT|9|90|1\n")
    t0 = time.perf_counter()
    with hl.session() as s:
        result = import_file(s, str(path))
    elapsed = time.perf_counter() - t0
    assert result.imported == result.lines, result
    return result.lines / elapsed


def fill_orders(hl: Hotline, scale: float) -> tuple[float, int]:
    """A year of work orders with their events, price lines, surveys and complaints (COPY on
    PostgreSQL, bulk inserts on SQLite), then their roll-ups built; (seconds to roll up, orders)."""
    with hl.session() as s, s.begin():
        orders, out, counters = build_history(s, 365, scale)
        for key, last in counters.items():
            s.merge(OrderCounter(day=key, last=last))
    tables = [(WorkOrder, orders)] + out.tables()
    if hl.engine.dialect.name == "postgresql":
        raw = hl.engine.raw_connection()
        try:
            cur = raw.cursor()
            for table, rows in tables:
                # COPY skips the ORM's Python-side defaults (urgent=False, notes=''...): fill them in.
                defaults = {c.name: c.default.arg for c in table.__table__.columns
                            if c.default is not None and c.default.is_scalar}
                columns = sorted({k for row in rows for k in row} | set(defaults))
                with cur.copy(f"COPY {table.__tablename__} ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row([json.dumps(row[c]) if c == "data" else row.get(c, defaults.get(c))
                                        for c in columns])
                cur.execute(f"SELECT setval(pg_get_serial_sequence('{table.__tablename__}', 'id'), "
                            f"(SELECT max(id) FROM {table.__tablename__}))")
            cur.execute("ANALYZE")
            raw.commit()
        finally:
            raw.close()
    else:
        with hl.session() as s, s.begin():
            for table, rows in tables:
                for i in range(0, len(rows), 20_000):
                    s.execute(insert(table), rows[i:i + 20_000])
    t0 = time.perf_counter()
    today = to_local(hl.now(), hl.tz).date()
    with hl.session() as s, s.begin():
        order_rollups.mark_range(s, today - timedelta(days=366), today)
        order_rollups.mark_changed_orders(s)
    order_rollups.roll_up(hl)
    return time.perf_counter() - t0, len(orders)


def time_franchisee_90d(hl: Hotline, runs: int) -> tuple[float, float, int]:
    """(90-day franchisees report p95 ms from the roll-ups, plain GROUP BY franchisee p95 ms over
    the raw orders, franchisees reported)."""
    report = reports.get("franchisees")
    today = to_local(hl.now(), hl.tz).date()
    params = {"from": (today - timedelta(days=90)).isoformat(), "to": (today - timedelta(days=1)).isoformat()}
    full, raw = [], []
    rows = 0
    for _ in range(runs + 2):                  # the first two warm caches and plans
        with hl.session() as s, s.begin():
            t0 = time.perf_counter()
            q = reports.parse_query(s, report, params, today=today, tz=hl.tz, scope=reports.Scope())
            rows = len(reports.run(s, report, q))
            full.append((time.perf_counter() - t0) * 1000)
            lo, hi = q.utc_range()
            t0 = time.perf_counter()
            s.execute(select(WorkOrder.franchisee_id, func.count(), func.sum(WorkOrder.final_price_fen))
                      .where(WorkOrder.created_at >= lo, WorkOrder.created_at < hi)
                      .group_by(WorkOrder.franchisee_id)).all()
            raw.append((time.perf_counter() - t0) * 1000)
    return p95(full[2:]), p95(raw[2:]), rows


def run_orders(name: str, hl: Hotline, scale: float, runs: int) -> float:
    """Fill, roll up and time the 90-day franchisee report; its p95 ms."""
    seconds, n = fill_orders(hl, scale)
    with hl.session() as s:
        stats_rows = s.scalar(text("SELECT count(*) FROM order_stats"))
    print(f"{name}: {n:,} work orders in a year ({n / 365:.0f} a day) rolled up in {seconds:.0f} s "
          f"({stats_rows:,} roll-up rows)", flush=True)
    full, raw, rows = time_franchisee_90d(hl, runs)
    print(f"{name}: 90-day franchisee report ({rows} franchisees) p95 {full:.1f} ms from the roll-ups; "
          f"a plain GROUP BY franchisee over the raw orders p95 {raw:.1f} ms ({runs} runs each)", flush=True)
    return full


def run(name: str, hl: Hotline, n: int, runs: int, log_lines: int, tmp: str) -> dict[str, float]:
    fill = fill_postgres if hl.engine.dialect.name == "postgresql" else fill_sqlite
    seconds, lines = fill(hl, n)
    print(f"{name}: {n:,} calls and {lines:,} queue_log lines loaded in {seconds:.0f} s", flush=True)
    seconds = roll_up_year(hl)
    with hl.session() as s:
        stats_rows = s.scalar(text("SELECT count(*) FROM call_stats"))
    print(f"{name}: rolled up in {seconds:.0f} s ({stats_rows:,} roll-up rows)", flush=True)
    rollup, raw, hours = time_reports(hl, runs)
    print(f"{name}: month-by-hour call volume ({hours} hours) p95 {rollup:.1f} ms from the roll-ups, "
          f"{raw:.1f} ms as a GROUP BY of the raw calls ({runs} runs each)", flush=True)
    per_s = time_import(hl, log_lines, tmp)
    print(f"{name}: queue_log import {per_s:,.0f} lines/s ({log_lines:,} lines)", flush=True)
    return {"rollup": rollup, "raw": raw, "import": per_s}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=10_000_000)
    ap.add_argument("--sqlite-calls", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--log-lines", type=int, default=300_000)
    ap.add_argument("--no-postgres", action="store_true", help="SQLite only")
    ap.add_argument("--order-scale", type=float, default=10.0, help="work orders: times the demo's daily volume")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    started = time.perf_counter()
    figures: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        hl = make(f"sqlite:///{tmp}/reports.db")
        try:
            figures["sqlite"] = run("sqlite", hl, args.sqlite_calls, args.runs, args.log_lines // 3, tmp)
            figures["sqlite"]["franchisee_90d"] = run_orders("sqlite", hl, args.order_scale, args.runs)
        finally:
            hl.close()
        if not args.no_postgres:
            from tests.servers import start_postgres
            server = start_postgres()
            admin = create_engine(server.url, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text("CREATE DATABASE bench_reports"))
            admin.dispose()
            hl = make(server.url.rsplit("/", 1)[0] + "/bench_reports")
            try:
                figures["postgres"] = run("postgres", hl, args.calls, args.runs, args.log_lines, tmp)
                figures["postgres"]["franchisee_90d"] = run_orders("postgres", hl, args.order_scale, args.runs)
            finally:
                hl.close()
                server.stop()
    print(f"run time {time.perf_counter() - started:.0f} s")
    main_figures = figures.get("postgres", figures["sqlite"])
    print(f"BENCH reports month_by_hour_ms={main_figures['rollup']:.1f} raw_group_by_ms={main_figures['raw']:.1f} "
          f"franchisee_90d_ms={main_figures['franchisee_90d']:.1f} "
          f"queue_log_lines_per_s={main_figures['import']:.0f} ratio={main_figures['raw'] / main_figures['rollup']:.1f}")


if __name__ == "__main__":
    main()
