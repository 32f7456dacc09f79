"""Work-order numbers: 10 digits, date-sortable, unique across concurrent creators."""
from __future__ import annotations

import multiprocessing
import threading
from datetime import datetime, timedelta

import pytest

from tests.core.helpers import AGENT
from tickets import orders
from tickets.errors import ValidationError
from tickets.numbers import next_number, parse_number


def test_number_is_ten_digits_starting_with_the_local_day(session, hl):
    n = next_number(session, datetime(2026, 11, 23, 2, 0), hl.tz)
    assert n == "2632700001"
    # 23:30 UTC on Nov 23 is already Nov 24 in Shanghai: day 328.
    assert next_number(session, datetime(2026, 11, 23, 17, 0), hl.tz).startswith("26328")


def test_numbers_sort_by_creation_day(session, hl):
    a = next_number(session, datetime(2026, 12, 31, 3, 0), hl.tz)
    b = next_number(session, datetime(2027, 1, 1, 3, 0), hl.tz)
    c = next_number(session, datetime(2027, 1, 1, 4, 0), hl.tz)
    assert a < b < c


@pytest.mark.parametrize("text", ["12345", "26327000011", "abc", ""])
def test_malformed_number_is_refused_with_the_format(text):
    with pytest.raises(ValidationError, match="10 digits"):
        parse_number(text)


def test_spaced_number_typed_by_a_person_is_accepted():
    assert parse_number("26327 00001") == "2632700001"


def _create_many(hl, n, out, errors):
    try:
        for _ in range(n):
            with hl.session() as s, s.begin():
                o = orders.book(s, phone="13800138000", service="BJ", start=hl.now() + timedelta(days=3), actor=AGENT,
                                allow_duplicate=True)      # the same booking each time: numbers are what is raced
                out.append(o.number)
    except Exception as exc:  # noqa: BLE001 - reported by the test
        errors.append(exc)


def test_concurrent_threads_never_share_a_number(hl):
    out, errors = [], []
    threads = [threading.Thread(target=_create_many, args=(hl, 15, out, errors)) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(out) == 90
    assert len(set(out)) == 90


def _process_worker(url, n, queue):
    from tests.conftest import Clock
    from tickets.config import load_settings
    from tickets.context import Hotline
    hl = Hotline(load_settings({"DATABASE_URL": url}), clock=Clock())
    out, errors = [], []
    _create_many(hl, n, out, errors)
    queue.put((out, [repr(e) for e in errors]))
    hl.close()


@pytest.mark.postgres
def test_two_processes_on_postgresql_never_share_a_number(pg_hl):
    url = pg_hl.settings.database_url
    ctx = multiprocessing.get_context("spawn")
    q = ctx.Queue()
    procs = [ctx.Process(target=_process_worker, args=(url, 25, q)) for _ in range(2)]
    for p in procs:
        p.start()
    results = [q.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(30)
    numbers = [n for out, _ in results for n in out]
    assert [e for _, errs in results for e in errs] == []
    assert len(numbers) == 50
    assert len(set(numbers)) == 50
