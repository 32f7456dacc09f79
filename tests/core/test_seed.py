"""The demo city reads like a real one whatever the hour it is loaded at."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from tests.conftest import Clock, make_test_hotline
from tickets.models import Survey, WorkOrder, WorkOrderEvent
from tickets.timeutil import to_local


def test_demo_history_happens_in_working_hours_when_loaded_late_at_night(tmp_path):
    # 15:28 UTC is 23:28 in Shanghai: the demo used to book services at 23:28 and complete at 02:28.
    hl = make_test_hotline(f"sqlite:///{tmp_path / 'late.db'}", clock=Clock(datetime(2026, 12, 4, 15, 28)))
    try:
        with hl.session() as s:
            starts = list(s.scalars(select(WorkOrder.scheduled_start)))
            moments = starts + list(s.scalars(select(WorkOrderEvent.created_at))) \
                + [t for t in s.scalars(select(Survey.answered_at)) if t is not None]
        assert starts
        hours = sorted({to_local(t, hl.tz).hour for t in moments})
        assert 8 <= hours[0] and hours[-1] < 20, f"demo history at local hours {hours}"
    finally:
        hl.close()
