"""Every statement goes through SQLAlchemy's execution: SQL logging and engine events see all of it."""
from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import event

from tests.core.helpers import book


def _tables_written(statements: list[str]) -> Counter:
    out: Counter = Counter()
    for sql in statements:
        words = sql.split()
        if words[:2] == ["INSERT", "INTO"]:
            out["insert " + words[2]] += 1
        elif words[:1] == ["UPDATE"]:
            out["update " + words[1]] += 1
    return out


def test_the_engine_sees_each_write_of_a_booking(hl):
    seen: list[str] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(hl.engine, "before_cursor_execute", before)
    try:
        with hl.session() as s, s.begin():
            order = book(s, hl)
    finally:
        event.remove(hl.engine, "before_cursor_execute", before)
    assert order.status == "dispatched"
    written = _tables_written(seen)
    assert written["insert work_orders"] == 1
    assert written["insert work_order_events"] == 3          # create, confirm, dispatch
    assert written["insert price_lines"] >= 1
    assert written["update order_counters"] == 1
    assert written["update work_orders"] == 2                # confirmed, then dispatched: each move as made
    assert written["insert sms_messages"] == 2                # booked and dispatched notices


def test_sqlite_runs_no_statement_the_engine_did_not_see(hl):
    if hl.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's own trace of what it runs")
    seen: list[str] = []
    ran: list[str] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    def traced(dbapi_connection, _record):
        dbapi_connection.set_trace_callback(ran.append)

    hl.engine.dispose()                      # new connections, each traced from its start
    event.listen(hl.engine, "connect", traced)
    event.listen(hl.engine, "before_cursor_execute", before)
    with hl.session() as s, s.begin():
        book(s, hl)
    driver_only = [sql for sql in ran if sql.split()[0].upper() not in ("COMMIT", "ROLLBACK", "PRAGMA")]
    # Every statement SQLite ran (less the driver's own COMMIT and the connection's PRAGMAs) was
    # one the engine's events saw: as many, of the same kinds.
    assert len(driver_only) == len(seen)
    assert [sql.split()[0].upper() for sql in driver_only] == [sql.split()[0].upper() for sql in seen]
