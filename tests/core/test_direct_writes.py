"""Rows written at once (tickets.db.insert_now / update_now): same results as the unit of work,
nothing left for the commit's flush, and rollbacks (whole or savepoint) forget them."""
from __future__ import annotations

import logging
from datetime import date, datetime

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.exc import IntegrityError

from tests.core.helpers import AGENT, book
from tickets.db import insert_now
from tickets.models import SmsMessage, WorkOrder, WorkOrderEvent, utcnow
from tickets.workflow import transition


def statements_of(hl):
    seen: list[str] = []

    @event.listens_for(hl.engine, "before_cursor_execute")
    def _record(_conn, _cursor, statement, _params, _context, _many):
        seen.append(statement.split()[0].upper())
    return seen


def test_a_booking_is_written_as_it_happens_and_the_commit_has_nothing_left_to_flush(any_hl):
    hl = any_hl
    with hl.session() as s, s.begin():
        order = book(s, hl)
        assert (list(s.dirty), list(s.new)) == ([], []), "a booking must leave nothing for the flush"
        seen = statements_of(hl)
    assert [x for x in seen if x in ("INSERT", "UPDATE")] == []
    with hl.session() as s:
        stored = s.get(WorkOrder, order.id)
        assert (stored.status, stored.franchisee_id) == ("dispatched", order.franchisee_id)
        assert stored.accept_deadline == order.accept_deadline
        assert [e.action for e in stored.events] == ["create", "confirm", "dispatch"]
        assert [(e.from_status, e.to_status) for e in stored.events] == \
            [(None, "new"), ("new", "confirmed"), ("confirmed", "dispatched")]
        assert [p.amount_fen for p in stored.price_lines] == [l.amount_fen for l in order.price_lines]
        kinds = s.scalars(select(SmsMessage.kind).where(SmsMessage.order_id == order.id).order_by(SmsMessage.id)).all()
        assert kinds == ["booked", "dispatched"]


def test_the_in_memory_history_matches_the_stored_one(hl):
    with hl.session() as s, s.begin():
        order = book(s, hl)
        in_memory = [(e.id, e.action) for e in order.events]
    with hl.session() as s:
        stored = s.scalars(select(WorkOrderEvent.id).where(WorkOrderEvent.order_id == order.id)
                           .order_by(WorkOrderEvent.id)).all()
    assert [i for i, _ in in_memory] == stored


def test_a_savepoint_rolled_back_forgets_its_event_and_its_change(hl):
    with hl.session() as s, s.begin():
        order = book(s, hl)
        events_before = len(order.events)
        sp = s.begin_nested()
        transition(s, order, "cancel", AGENT, reason="客户改主意")
        assert order.status == "cancelled"
        sp.rollback()
        assert order.status == "dispatched", "the rolled-back change must not stay in memory"
        assert len(order.events) == events_before
        # The id the database hands out again must not clash with the forgotten event object.
        transition(s, order, "note", AGENT, text="客户来电确认")
    with hl.session() as s:
        actions = s.scalars(select(WorkOrderEvent.action).where(WorkOrderEvent.order_id == order.id)
                            .order_by(WorkOrderEvent.id)).all()
        assert actions == ["create", "confirm", "dispatch", "note"]
        assert s.get(WorkOrder, order.id).status == "dispatched"


def test_a_rolled_back_transaction_leaves_no_row_and_no_stale_object(hl):
    def stored_events():
        with hl.session() as other:
            return other.scalar(select(func.count()).select_from(WorkOrderEvent))

    with hl.session() as s:
        with s.begin():
            order = book(s, hl)
        count = stored_events()
        transition(s, order, "note", AGENT, text="会被回滚")     # begins a transaction by itself
        s.rollback()
        assert stored_events() == count
        with s.begin():
            # Reuses the rolled-back id on SQLite: the session must not still hold the old object.
            ev = transition(s, order, "note", AGENT, text="这条留下")
        assert s.get(WorkOrderEvent, ev.id).data["text"] == "这条留下"
        assert stored_events() == count + 1


def test_a_duplicate_written_at_once_raises_sqlalchemys_integrity_error(any_hl):
    """Callers guard unique keys with sqlalchemy.exc.IntegrityError (webhook receipts, leases):
    the driver's own exception would slip past them."""
    def message():
        now = utcnow()
        return dict(direction="out", provider="console", provider_sid=None, phone="+8613800138000",
                    body="x", segments=1, kind="reply", dedupe_key="same-key", order_id=None,
                    status="sent", error="", created_at=now, updated_at=now)

    with any_hl.session() as s, s.begin():
        insert_now(s, SmsMessage, message())
    with any_hl.session() as s:
        with pytest.raises(IntegrityError):
            with s.begin():
                insert_now(s, SmsMessage, message())
    with any_hl.session() as s:
        assert s.scalar(select(func.count()).select_from(SmsMessage).where(SmsMessage.dedupe_key == "same-key")) == 1


def test_attach_gives_the_identity_maps_object_and_loads_what_it_was_not_given(hl):
    from tickets.db import attach
    from tickets.models import Service
    with hl.session() as s, s.begin():
        loaded = s.scalars(select(Service).order_by(Service.id)).first()
        assert attach(s, Service, {"id": loaded.id, "code": "XX"}) is loaded, "one object per row per session"
        assert loaded.code != "XX"
    with hl.session() as s, s.begin():
        svc = attach(s, Service, {"id": loaded.id, "code": loaded.code})
        assert s.get(Service, loaded.id) is svc and svc not in s.dirty
        # Not given: loaded from the row on first access, not None.
        assert (svc.name_zh, svc.guide_price_fen) == (loaded.name_zh, loaded.guide_price_fen)


def test_an_order_nobody_can_take_is_written_at_once_too(hl):
    """The unassigned reason is the last change of such a booking; it must not wait for the commit's flush."""
    from tickets.models import Franchisee
    with hl.session() as s, s.begin():
        for fr in s.scalars(select(Franchisee)):
            fr.status = "suspended"
    with hl.session() as s, s.begin():
        order = book(s, hl)
        assert order.status == "confirmed" and "suspended" in order.unassigned_reason
        assert (list(s.dirty), list(s.new)) == ([], [])
    with hl.session() as s:
        assert s.get(WorkOrder, order.id).unassigned_reason == order.unassigned_reason


def test_a_prepared_read_sees_the_sessions_pending_changes(hl):
    from tickets.models import Service
    from tickets.prepared import Prepared
    name_of = Prepared(select(Service.name_zh).where(Service.code == "BJ"))
    with hl.session() as s, s.begin():
        s.scalar(select(Service).where(Service.code == "BJ")).name_zh = "改过的名字"
        assert name_of.scalar(s) == "改过的名字"
        with s.no_autoflush:
            s.scalar(select(Service).where(Service.code == "BJ")).name_zh = "再改"
            assert name_of.scalar(s) == "改过的名字"


@pytest.mark.parametrize("value", [datetime(2026, 11, 23, 1, 2, 3), datetime(2026, 11, 23, 1, 2, 3, 45),
                                   datetime(9999, 12, 31, 23, 59, 59, 999999), datetime(1, 1, 1), None,
                                   date(2026, 1, 2)])
def test_the_fast_sqlite_datetime_text_is_sqlalchemys_text(value):
    """Rows written by the prepared statements must compare and sort with rows SQLAlchemy wrote."""
    from sqlalchemy import DateTime
    from sqlalchemy.dialects import sqlite

    from tickets.db import bind_processor
    dialect = sqlite.dialect()
    assert bind_processor(DateTime(), dialect)(value) == DateTime().dialect_impl(dialect).bind_processor(dialect)(value)


def test_a_booking_writes_its_order_once_in_its_final_state(hl):
    # Created, confirmed and dispatched in memory (workflow.FirstMoves): one INSERT of the order,
    # no UPDATE of it, and each move's event and bus message still say what that move did.
    from tickets.db import driver_connection
    sub = hl.bus.subscribe("order.*")
    sql: list[str] = []
    with hl.session() as s, s.begin():
        driver_connection(s)[0].set_trace_callback(sql.append)
        try:
            order = book(s, hl)
        finally:
            driver_connection(s)[0].set_trace_callback(None)
    on_orders = [q.split("(")[0].split(" SET")[0].strip() for q in sql if " work_orders" in q and
                 q.startswith(("INSERT", "UPDATE"))]
    assert on_orders == ["INSERT INTO work_orders"]
    messages = [sub.get(timeout=1) for _ in range(3)]
    sub.close()
    assert [(m.payload["action"], m.payload["from"], m.payload["to"], m.payload["franchisee_id"])
            for m in messages] == [("create", None, "new", None), ("confirm", "new", "confirmed", None),
                                   ("dispatch", "confirmed", "dispatched", order.franchisee_id)]
    assert [m.payload["event_id"] for m in messages] == [e.id for e in order.events]


def test_rows_inserted_together_get_their_own_keys(any_hl):
    # insert_many_now: one multi-row INSERT; each object must carry the key of its own row.
    from tickets.db import insert_many_now
    hl = any_hl
    with hl.session() as s, s.begin():
        order = book(s, hl)
        rows = [dict(order_id=order.id, action="note", from_status="dispatched", to_status="dispatched",
                     actor_role="agent", actor_user_id=None, actor_label=f"第{i}条", data={"i": i},
                     created_at=utcnow()) for i in range(4)]
        made = insert_many_now(s, WorkOrderEvent, rows, order=order)
        assert [e.order is order for e in made] == [True] * 4
        mine = {e.id: e.actor_label for e in made}
    with hl.session() as s:
        stored = dict(s.execute(select(WorkOrderEvent.id, WorkOrderEvent.actor_label)
                                .where(WorkOrderEvent.id.in_(list(mine)))).all())
    assert stored == mine and len(mine) == 4


def test_a_booking_in_a_savepoint_rolled_back_leaves_nothing_behind(hl, caplog):
    # The order written by persist_now, its events by insert_many_now and its SMS notices are
    # forgotten with the savepoint; the booking kept after it gets its own notices (on SQLite its
    # events reuse the rolled-back ids, so the notices' dedupe keys too).
    def counts():
        with hl.session() as other:
            return tuple(other.scalar(select(func.count()).select_from(m))
                         for m in (WorkOrder, WorkOrderEvent, SmsMessage))

    orders_before, events_before, sms_before = counts()
    caplog.set_level(logging.INFO, logger="sms.providers")
    with hl.session() as s, s.begin():
        sp = s.begin_nested()
        order = book(s, hl)
        doomed = (order, *order.events, *order.price_lines)
        sp.rollback()
        assert not any(obj in s for obj in doomed)
        kept = book(s, hl)
        assert kept.id is not None and kept.status == "dispatched"
        caplog.clear()
    assert counts() == (orders_before + 1, events_before + 3, sms_before + 2)
    with hl.session() as s:
        assert s.scalars(select(WorkOrderEvent.action).where(WorkOrderEvent.order_id == kept.id)
                         .order_by(WorkOrderEvent.id)).all() == ["create", "confirm", "dispatch"]
        assert s.scalars(select(SmsMessage.kind).where(SmsMessage.order_id == kept.id)
                         .order_by(SmsMessage.id)).all() == ["booked", "dispatched"]
    # Only the kept booking's two notices went out (the console provider logs what it sends).
    sent = [r.getMessage() for r in caplog.records if r.name == "sms.providers"]
    assert len(sent) == 2 and all(kept.number in text for text in sent)


def test_a_move_refused_while_booking_leaves_the_session_as_it_was(hl):
    # FirstMoves must not stay installed (nor keep autoflush off) after a move inside it fails.
    from tickets.db import transient
    from tickets.errors import TransitionError
    from tickets.workflow import FirstMoves
    with hl.session() as s, s.begin():
        order = book(s, hl)
        draft = transient(WorkOrder, {"number": "0", "status": "new", "district_id": None, "franchisee_id": None})
        with pytest.raises(TransitionError, match="cannot accept"):
            with FirstMoves(s, draft):
                transition(s, draft, "accept", AGENT)
        assert "tickets.workflow.first_moves" not in s.info and s.autoflush
        ev = transition(s, order, "note", AGENT, text="之后照常记录")
        assert ev is not None and ev.id is not None
        assert book(s, hl).status == "dispatched"          # a FirstMoves left installed would refuse to nest
