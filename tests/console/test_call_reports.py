"""The call pages of 统计报表 (calls, service, agents, menu): the figures of tickets.metrics,
scoped to the reader, charted and exported."""
from __future__ import annotations

import json
import re

from sqlalchemy import select

from tests.console.conftest import text
from tests.stats.fixture import add_calls, queue_log_text
from tickets.metrics import roll_up
from tickets.models import User
from tickets.queue_log import import_file

DAY = "from=2026-11-22&to=2026-11-22"


def _fill(hl, tmp_path):
    with hl.session() as s, s.begin():
        add_calls(s)
    (tmp_path / "ql").write_text(queue_log_text(), encoding="utf-8")
    with hl.session() as s:
        import_file(s, str(tmp_path / "ql"))
    roll_up(hl)


def test_the_service_page_charts_the_days_service_level(login, hl, tmp_path):
    _fill(hl, tmp_path)
    page = text(login("supervisor1").get(f"/reports/service?{DAY}&by=day"))
    chart = json.loads(re.search(r'id="report-chart-data">(.*?)</script>', page, re.S).group(1))
    assert chart["rows"] == [{"period": "2026-11-22", "service_level": 0.6}]
    assert "60.0%" in page


def test_an_agent_sees_only_their_own_row_and_may_not_ask_for_another(login, hl, tmp_path):
    _fill(hl, tmp_path)
    with hl.session() as s:
        agent1 = s.scalar(select(User.id).where(User.username == "agent1"))
    page = text(login("agent2").get(f"/reports/agents?{DAY}"))
    assert "agent2" in page and "agent1" not in page.split('id="report-table"', 1)[-1]
    assert login("agent2").get(f"/reports/agents?{DAY}&agent={agent1}").status_code == 403


def test_the_menu_export_is_a_csv_with_every_branch(login, hl, tmp_path):
    _fill(hl, tmp_path)
    resp = login("supervisor1").get(f"/reports/menu.csv?{DAY}&lang=en")
    assert resp.status_code == 200
    body = resp.get_data(as_text=True)
    assert body.startswith("\ufeff")
    assert "book · booked" in body and "main · abandoned · main" in body
