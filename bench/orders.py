"""Work orders created and dispatched per second on SQLite and PostgreSQL, against bare Core inserts.

Each order is booked the way every channel books it (tickets.orders.book: customer lookup,
district, pricing, number, confirm, dispatch, event rows), one transaction per order as in
production, with the plugins installed (so each booking also writes its two SMS notices). The
baseline, in the same run on a twin database, inserts the same rows (order, price line, three
events, two notices) with bare SQLAlchemy Core, statements built once and one transaction per
order. PostgreSQL is a throwaway instance started for the run, as the tests start theirs
(Debian's postgresql package; `--no-postgres` skips it).

    python bench/orders.py [--orders 2000] [--no-postgres]
"""
from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, insert, select, text

from tickets.actors import Actor
from tickets.config import load_settings
from tickets.context import Hotline, create_hotline
from tickets.migrate import upgrade
from tickets.models import Franchisee, PriceLine, SmsMessage, WorkOrder, WorkOrderEvent, utcnow
from tickets.orders import book
from tickets.seed import load_demo, load_reference

AGENT = Actor(role="agent", label="bench")
PHONES = ["13800138000", "13900139000", "13700137000", "13600136000"]
SERVICES = ["BJ", "YYJ", "SD", "XSG", "KT", "GD"]


def make(url: str) -> Hotline:
    # With the plugins, as every channel runs: each booking also writes its SMS notices.
    hl = create_hotline(load_settings({"DATABASE_URL": url, "HOTLINE_DEMO": "1"}))
    upgrade(hl.engine)
    with hl.session() as s, s.begin():
        load_reference(s)
        load_demo(s)
        for f in s.scalars(select(Franchisee)):
            f.daily_capacity = 100_000          # measure the engine, not the capacity rule
    return hl


def run_orders(hl: Hotline, n: int) -> tuple[float, int]:
    start_at = utcnow() + timedelta(days=3)
    dispatched = 0
    t0 = time.perf_counter()
    for i in range(n):
        with hl.session() as s, s.begin():
            o = book(s, phone=PHONES[i % 4], service=SERVICES[i % 6], start=start_at + timedelta(minutes=i),
                     actor=AGENT, channel="agent")
            dispatched += o.status == "dispatched"
    return time.perf_counter() - t0, dispatched


def run_baseline(hl: Hotline, n: int, offset: int = 0) -> float:
    """The rows one booking writes (order, price line, three events, two SMS notices), inserted
    with bare Core: statements built once, parameters per row, one transaction per order."""
    now = utcnow()
    order_sql = insert(WorkOrder.__table__).returning(WorkOrder.__table__.c.id)
    line_sql, event_sql, sms_sql = (insert(m.__table__) for m in (PriceLine, WorkOrderEvent, SmsMessage))
    t0 = time.perf_counter()
    for i in range(n):
        with hl.engine.begin() as conn:
            oid = conn.execute(order_sql, dict(
                number=f"9{offset + i:09d}", status="dispatched", channel="agent", customer_id=1,
                phone="+8613800138000", service_id=1, quantity=3, scheduled_start=now + timedelta(days=3),
                address_text="天山区解放南路88号", district_id=1, franchisee_id=1, price_total_fen=12000,
                created_at=now, updated_at=now)).scalar_one()
            conn.execute(line_sql, dict(order_id=oid, kind="base", description="家庭保洁 3小时", quantity=3,
                                        unit_price_fen=4000, amount_fen=12000))
            for action, before, after in (("create", None, "new"), ("confirm", "new", "confirmed"),
                                          ("dispatch", "confirmed", "dispatched")):
                conn.execute(event_sql, dict(order_id=oid, action=action, from_status=before, to_status=after,
                                             actor_role="agent", actor_label="bench", data={}, created_at=now))
            for kind in ("booked", "dispatched"):
                conn.execute(sms_sql, dict(direction="out", provider="console", phone="+8613800138000",
                                           body="订单已受理：家庭保洁，11月26日(周四)10:00。", segments=1, kind=kind,
                                           dedupe_key=f"bench-{offset + i}:{kind}", order_id=oid, status="sent",
                                           created_at=now, updated_at=now))
    return time.perf_counter() - t0


def measure(urls: tuple[str, str], n: int) -> tuple[float, float, int]:
    """(bookings/s, baseline rows/s, dispatched) on the two databases `urls` (product, baseline)."""
    hl, base = make(urls[0]), make(urls[1])
    try:
        run_orders(hl, 50)                      # warm-up: caches, first-of-day counter row
        elapsed, dispatched = run_orders(hl, n)
        run_baseline(base, 50)
        b_elapsed = run_baseline(base, n, offset=50)
    finally:
        hl.close()
        base.close()
    return n / elapsed, n / b_elapsed, dispatched


def postgres_urls():
    """A throwaway PostgreSQL server with two empty databases; (urls, stop)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.servers import start_postgres
    server = start_postgres()
    admin = create_engine(server.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for name in ("bench_orders", "bench_baseline"):
            conn.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    root = server.url.rsplit("/", 1)[0]
    return (f"{root}/bench_orders", f"{root}/bench_baseline"), server.stop


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--orders", type=int, default=2000)
    ap.add_argument("--no-postgres", action="store_true", help="SQLite only")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    figures: dict[str, tuple[float, float, int]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        figures["sqlite"] = measure((f"sqlite:///{tmp}/orders.db", f"sqlite:///{tmp}/baseline.db"), args.orders)
    if not args.no_postgres:
        urls, stop = postgres_urls()
        try:
            figures["postgres"] = measure(urls, args.orders)
        finally:
            stop()
    for name, (ops, bops, dispatched) in figures.items():
        print(f"{name}: orders booked+priced+dispatched {ops:.0f}/s ({dispatched} of {args.orders} dispatched); "
              f"bare Core insert of the same rows {bops:.0f}/s; ratio {ops / bops:.3f}")
    line = " ".join(f"{name}_per_s={ops:.0f} {name}_baseline_per_s={bops:.0f}"
                    for name, (ops, bops, _d) in figures.items())
    ratio = min(ops / bops for ops, bops, _d in figures.values())
    print(f"BENCH orders {line} ratio={ratio:.3f}")


if __name__ == "__main__":
    main()
