"""Member card spends per second on PostgreSQL: 50 clients on one card, and on 1,000 cards.

Each client is a thread with its own Session and connection (as the web server's threads are),
the 50 spread over two processes (as over the Procfile shape's two gunicorn workers: one Python
process runs its Python on one core);
each spend is one transaction
through tickets.cards.spend exactly as the console makes it (row lock, idempotency key, ledger
row, cached balance, audit row, and the customer's SMS notice through the sms plugin). Every
tenth request replays the previous key on purpose: it must get the first row back and pay
nothing. The baseline, in the same run and database with the same 50 threads, is one plain
`UPDATE ... SET balance = balance - 1` per transaction on a bare table (no ledger, no lock
taken first, no key, no audit, no SMS). At the end: every card's balance must equal the sum of
its ledger, and no key may have paid twice.

PostgreSQL is a throwaway instance started for the run, as the tests start theirs.

    python bench/cards.py [--clients 50] [--spends 40] [--cards 1000]
"""
from __future__ import annotations

import argparse
import logging
import multiprocessing
import random
import sys
import threading
import time
from pathlib import Path

from sqlalchemy import func, select, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.servers import start_postgres  # noqa: E402
from tickets import cards  # noqa: E402
from tickets.actors import Actor  # noqa: E402
from tickets.config import load_settings  # noqa: E402
from tickets.context import Hotline  # noqa: E402
from tickets.db import make_engine  # noqa: E402
from tickets.migrate import upgrade  # noqa: E402
from tickets.models import CardLedgerEntry, Customer, CustomerPhone  # noqa: E402
from tickets.seed import load_demo, load_reference  # noqa: E402

CASHIER = Actor(role="supervisor", label="bench")
AGENT = Actor(role="agent", label="bench")
REPLAY_EVERY = 10
PROCESSES = 2       # the clients' processes: the Procfile shape's two web workers
FUNDS_FEN = 10_000_000 // 100 * 100      # more than every spend of the run together


def make(url: str, clients: int) -> Hotline:
    hl = make_hotline(url, clients)
    upgrade(hl.engine)
    with hl.session() as s, s.begin():
        load_reference(s)
        load_demo(s)
    return hl


def open_cards(hl: Hotline, n: int) -> list[str]:
    """`n` members with a card each, funded in one transaction."""
    numbers = []
    with hl.session() as s, s.begin():
        for i in range(n):
            cust = Customer(name=f"会员{i:04d}", language="zh", member_level="standard")
            cust.phones.append(CustomerPhone(e164=f"+86135{i:08d}"))
            s.add(cust)
            s.flush()
            card = cards.open_card(s, cust, CASHIER, number=f"77{i:010d}")
            cards.top_up(s, card, FUNDS_FEN, CASHIER, reason="bench funds")
            numbers.append(card.number)
    return numbers


def _spend_client(hl: Hotline, numbers: list[str], spends: int, phase: str, c: int, barrier, out: list) -> None:
    """One client: reports (paid {key: row id}, replays answered by another row, refused)."""
    rng = random.Random(f"{phase}-{c}")
    paid: dict[str, int] = {}
    double = refused = 0
    last_key = None
    key_card: dict[str, str] = {}
    barrier.wait()
    for i in range(spends):
        replay = last_key is not None and i % REPLAY_EVERY == 0
        key = last_key if replay else f"{phase}-{c}-{i}"
        number = key_card[key] if replay else rng.choice(numbers)
        key_card[key] = number
        try:
            with hl.session() as s, s.begin():
                entry_id = cards.spend(s, cards.get(s, number), 1, AGENT, key=key).id
        except cards.CardRefused:
            refused += 1
            continue
        if replay:
            double += paid[key] != entry_id
        else:
            paid[key] = entry_id
        last_key = key
    out.append((paid, double, refused))


def _update_client(hl: Hotline, ids: list[int], updates: int, c: int, barrier, out: list) -> None:
    rng = random.Random(f"plain-{c}")
    sql = text("UPDATE bench_plain SET balance = balance - 1 WHERE id = :id")
    barrier.wait()
    for _ in range(updates):
        with hl.session() as s, s.begin():
            s.execute(sql, {"id": rng.choice(ids)})
    out.append(({}, 0, 0))


def make_hotline(url: str, clients: int = 1) -> Hotline:
    hl = Hotline(load_settings({"DATABASE_URL": url, "SMS_PROVIDER": "console", "CARD_MAX_AMOUNT_FEN": str(FUNDS_FEN)}),
                 engine=make_engine(url, pool_size=clients + 2, max_overflow=0))
    return hl.load_plugins()


def _client_process(target_name: str, url: str, first: int, count: int, args: tuple, barrier, results) -> None:
    """One web-worker-like process: `count` client threads with their own Hotline (pool), numbered from `first`."""
    logging.basicConfig(level=logging.WARNING)
    hl = make_hotline(url, count)
    out: list = []
    target = globals()[target_name]
    threads = [threading.Thread(target=target, args=(hl, *args, c, barrier, out)) for c in range(first, first + count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    hl.close()
    results.put(out)


def run_clients(target, url: str, clients: int, args: tuple) -> tuple[float, dict[str, int], int, int]:
    """`clients` threads running `target`, spread over PROCESSES processes as over the web tier's
    workers, released together; (seconds, paid keys, doubles, refused)."""
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(clients + 1), ctx.Queue()
    shares = [clients // PROCESSES + (i < clients % PROCESSES) for i in range(PROCESSES)]
    procs = [ctx.Process(target=_client_process, args=(target.__name__, url, sum(shares[:i]), n, args, barrier, results))
             for i, n in enumerate(shares) if n]
    for p in procs:
        p.start()
    barrier.wait()
    t0 = time.perf_counter()
    out = [r for _ in procs for r in results.get()]
    elapsed = time.perf_counter() - t0
    for p in procs:
        p.join()
    paid: dict[str, int] = {}
    for r in out:
        paid.update(r[0])
    return elapsed, paid, sum(r[1] for r in out), sum(r[2] for r in out)


def baseline(hl: Hotline, url: str, ids: list[int], clients: int, updates: int) -> float:
    """The same number of transactions as plain UPDATEs of a bare balance table; seconds taken."""
    with hl.engine.begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS bench_plain (id integer PRIMARY KEY, balance integer)"))
        conn.execute(text("DELETE FROM bench_plain"))
        conn.execute(text("INSERT INTO bench_plain SELECT g, :f FROM generate_series(1, :n) g"),
                     {"f": FUNDS_FEN, "n": max(ids)})
    return run_clients(_update_client, url, clients, (ids, updates))[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--spends", type=int, default=40, help="requests per client and phase")
    ap.add_argument("--cards", type=int, default=1000)
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    server = start_postgres()
    try:
        hl = make(server.url, args.clients)
        try:
            numbers = open_cards(hl, args.cards)
            with hl.session() as s:
                ids = list(s.scalars(select(cards.MemberCard.id).where(cards.MemberCard.number.in_(numbers))))
            one, one_keys, one_double, one_refused = run_clients(
                _spend_client, server.url, args.clients, (numbers[:1], args.spends, "one"))
            many, many_keys, many_double, many_refused = run_clients(
                _spend_client, server.url, args.clients, (numbers, args.spends, "many"))
            one_paid, many_paid = len(one_keys), len(many_keys)
            one_base = baseline(hl, server.url, ids[:1], args.clients, args.spends)
            many_base = baseline(hl, server.url, ids, args.clients, args.spends)
            requests = args.clients * args.spends
            with hl.session() as s:
                mismatches = len(cards.check_balances(s))
                rows = s.scalar(select(func.count()).select_from(CardLedgerEntry).where(
                    CardLedgerEntry.kind == "spend",
                    CardLedgerEntry.idempotency_key.like("one-%") | CardLedgerEntry.idempotency_key.like("many-%")))
            # A key that paid twice would be a replay answered by another row, or more spend rows
            # than keys the clients saw pay.
            double = one_double + many_double + (rows - one_paid - many_paid)
        finally:
            hl.close()
    finally:
        server.stop()
    print(f"one card:    {args.clients} clients, {requests} requests ({one_paid} spends, the rest replays): "
          f"{one_paid / one:.0f} spends/s; plain UPDATE of one row {requests / one_base:.0f}/s")
    print(f"{args.cards} cards: {args.clients} clients, {requests} requests ({many_paid} spends): "
          f"{many_paid / many:.0f} spends/s; plain UPDATE of {args.cards} rows {requests / many_base:.0f}/s")
    print(f"refused: {one_refused + many_refused}; ledger spend rows {rows}; balances not equal to their ledger: {mismatches}")
    print(f"ratio to the plain UPDATE baseline: one card {one_paid / one / (requests / one_base):.3f}, "
          f"{args.cards} cards {many_paid / many / (requests / many_base):.3f}")
    print(f"BENCH cards spends_per_s={many_paid / many:.0f} one_card_spends_per_s={one_paid / one:.0f} "
          f"double_spends={double} mismatches={mismatches}")


if __name__ == "__main__":
    main()
