"""An order's history as people read it: local time, labels, names, yuan, who acted."""
from __future__ import annotations

from tests.console.conftest import text
from tests.console.helpers import make_order


def _timeline(page: str) -> str:
    return page.split('id="order-timeline"', 1)[1].split("</ol>", 1)[0]


def test_history_shows_local_times_names_and_yuan_in_chinese(hl, login):
    number = make_order(hl, "dispatched")
    timeline = _timeline(text(login("dispatcher1").get(f"/orders/{number}")))
    # Dispatched at the fixed clock, 02:00 UTC: the 30-minute deadline is 10:30 in Shanghai.
    assert "接单时限" in timeline and "2026-11-23 10:30" in timeline
    assert "accept_deadline" not in timeline and "02:30" not in timeline
    assert "franchisee_id" not in timeline and "天山家政服务有限公司" in timeline
    assert "price_total_fen" not in timeline and "报价合计" in timeline and " 元" in timeline
    assert "system (system)" not in timeline and "系统（自动）" in timeline
    assert "district priority" not in timeline and "片区优先级 1" in timeline


def test_history_in_the_english_view_uses_english_labels(hl, login):
    number = make_order(hl, "dispatched")
    c = login("dispatcher1")
    c.post("/language", {"lang": "en"})
    timeline = _timeline(text(c.get(f"/orders/{number}")))
    assert "Accept by" in timeline and "2026-11-23 10:30" in timeline
    assert "Quoted total" in timeline and "¥" in timeline
    assert "the system (automatic)" in timeline and "district priority 1" in timeline
    assert "接单时限" not in timeline
