"""Prepared statements (tickets.prepared): the driver's cursor, with what SQLAlchemy's execution
would have written and read."""
from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError

from tickets.models import IvrSession, SmsOptOut
from tickets.prepared import Prepared

WHEN = datetime(2026, 11, 23, 2, 0, 0, 123456)
STATE = {"node": "main", "path": ["start", "main"], "vars": {"name": "张三", "lang": None}}

INSERT_STATE = Prepared(insert(IvrSession).values(call_key=bindparam("sid"), state=bindparam("state"),
                                                  step=bindparam("step"), updated_at=bindparam("now")))
STATE_OF = Prepared(select(IvrSession.state, IvrSession.step, IvrSession.updated_at)
                    .where(IvrSession.call_key == bindparam("sid")))


def test_rows_written_prepared_read_back_the_same_through_the_orm_and_prepared(any_hl):
    with any_hl.session() as s, s.begin():
        assert INSERT_STATE.run(s, {"sid": "CA1", "state": STATE, "step": 3, "now": WHEN}) == 1
        assert STATE_OF.first(s, {"sid": "CA1"}) == (STATE, 3, WHEN)
    with any_hl.session() as s:
        row = s.get(IvrSession, "CA1")
        assert (row.state, row.step, row.updated_at) == (STATE, 3, WHEN)


def test_a_missing_row_reads_as_none(any_hl):
    with any_hl.session() as s, s.begin():
        assert STATE_OF.first(s, {"sid": "nobody"}) is None
        assert STATE_OF.scalar(s, {"sid": "nobody"}) is None
        assert STATE_OF.rows(s, {"sid": "nobody"}) == []


def test_booleans_read_as_booleans(any_hl):
    with any_hl.session() as s, s.begin():
        s.add(SmsOptOut(phone="+8613800138000", opted_out=True, updated_at=WHEN))
        s.flush()
        opted_out = Prepared(select(SmsOptOut.opted_out).where(SmsOptOut.phone == bindparam("phone")))
        assert opted_out.scalar(s, {"phone": "+8613800138000"}) is True


def test_updates_report_the_rows_they_matched(any_hl):
    step_to = Prepared(update(IvrSession).where(IvrSession.call_key == bindparam("sid"))
                       .values(step=bindparam("step"), updated_at=bindparam("now")))
    with any_hl.session() as s, s.begin():
        INSERT_STATE.run(s, {"sid": "CA1", "state": STATE, "step": 1, "now": WHEN})
        assert step_to.run(s, {"sid": "CA1", "step": 2, "now": WHEN}) == 1
        assert step_to.run(s, {"sid": "CA2", "step": 2, "now": WHEN}) == 0


def test_a_broken_constraint_raises_sqlalchemys_integrity_error(any_hl):
    with any_hl.session() as s:
        with pytest.raises(IntegrityError), s.begin():
            INSERT_STATE.run(s, {"sid": "CA1", "state": STATE, "step": 1, "now": WHEN})
            INSERT_STATE.run(s, {"sid": "CA1", "state": STATE, "step": 1, "now": WHEN})


def test_a_column_left_to_a_python_default_is_refused_by_name(hl):
    without_time = Prepared(insert(IvrSession).values(call_key=bindparam("sid"), state=bindparam("state"),
                                                      step=bindparam("step")))
    with hl.session() as s, s.begin():
        with pytest.raises(ValueError, match="updated_at"):
            without_time.run(s, {"sid": "CA1", "state": STATE, "step": 1})


def test_a_missing_value_is_refused_by_name(hl):
    with hl.session() as s, s.begin():
        with pytest.raises(ValueError, match="'now'"):
            INSERT_STATE.run(s, {"sid": "CA1", "state": STATE, "step": 1})
