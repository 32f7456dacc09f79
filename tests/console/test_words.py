"""What people read in the console: the workspace says when no call can pop, refusals in Chinese
in the Chinese view, catalog names instead of keys, readable audit data, quantities in words."""
from __future__ import annotations

from datetime import datetime

import pytest

from contextlib import contextmanager

from flask import Flask, session

from tests.console.conftest import text
from tests.console.test_admin import SERVICE_FORM
from tests.console.helpers import make_order
from tickets.concurrency import conflict_message
from tickets.errors import ConcurrentChange
from tickets.timeutil import to_utc


def at(hl, clock, local: str) -> None:
    clock.now = to_utc(datetime.strptime(local, "%Y-%m-%d %H:%M"), hl.tz)


def english(console) -> None:
    console.post("/language", {"lang": "en"})


@contextmanager
def app_context_in(lang: str):
    """A request whose session has chosen `lang`, for the words functions outside a page."""
    app = Flask(__name__)
    app.secret_key = "test"
    with app.test_request_context():
        session["lang"] = lang
        yield


# ---------------------------------------------------------------- the workspace outside business hours

def test_the_workspace_says_in_hours_nothing_about_closing(login):
    page = text(login("agent1").get("/workspace/"))
    assert 'data-testid="closed-notice"' not in page


def test_the_workspace_says_at_night_that_key_0_books_a_callback_and_pops_nothing(login, hl, clock):
    at(hl, clock, "2026-11-23 21:30")
    page = text(login("agent1").get("/workspace/"))
    assert "现在是非服务时间（服务时间 08:00–20:00），来电按 0 会预约回电，不会弹屏。" in page


def test_the_workspace_names_the_configured_hours_in_english(login, new_hotline, clock):
    from agent_console.app import create_app
    from tests.console.conftest import Console
    h = new_hotline(BUSINESS_HOURS="09:00-18:00")
    at(h, clock, "2026-11-23 18:30")
    c = Console(create_app(h, {"TESTING": True}))
    c.login("agent1")
    english(c)
    page = text(c.get("/workspace/"))
    assert "Outside service hours now (service hours 09:00–18:00): a caller who presses 0 is offered a " \
           "callback instead of the queue, so no call pops here." in page


def test_the_workspace_names_the_statutory_holiday(login, hl, clock):
    at(hl, clock, "2026-10-01 10:00")
    page = text(login("agent1").get("/workspace/"))
    assert "今天是法定节假日（国庆节），人工服务暂停：来电按 0 会预约回电，不会弹屏。" in page


# ---------------------------------------------------------------- tickets' refusals in the Chinese view

def test_a_missing_order_is_refused_in_chinese(login):
    page = text(login("agent1").get("/orders/2632799999"))
    assert "没有工单 2632799999（或您无权查看）。" in page
    assert "no work order" not in page


def test_a_malformed_order_number_is_refused_in_chinese_with_an_example(login):
    page = text(login("agent1").get("/orders/abc"))
    assert "没有工单“abc”：工单号是10位数字，例如 2632700001。" in page


def test_a_refused_move_names_the_state_and_the_allowed_moves_by_their_chinese_names(login, hl):
    number = make_order(hl, "completed")
    resp = login("franchisee1").post(f"/orders/{number}/act", {"action": "accept"})
    assert resp.status_code == 409
    assert f"工单 {number} 当前状态为“已完工”，不能执行“接单”（此状态下可执行：" in text(resp)
    assert "返工" in text(resp)         # rework: allowed from completed, by its name


def test_a_concurrent_change_is_told_in_chinese():
    from agent_console.refusals import message
    with app_context_in("zh"):
        assert message(ConcurrentChange(conflict_message("order 2632700001"))) == \
            "工单 2632700001 刚刚被其他人修改，请刷新后重试。"
        assert message(ConcurrentChange(conflict_message("the survey of order 2632700001"))) == \
            "工单 2632700001 的回访刚刚被其他人修改，请刷新后重试。"


def test_the_english_view_shows_tickets_own_words(login, hl):
    number = make_order(hl, "completed")
    c = login("franchisee1")
    english(c)
    resp = c.post(f"/orders/{number}/act", {"action": "accept"})
    assert f"order {number} is completed; it cannot accept" in text(resp)


# ---------------------------------------------------------------- catalog names, audit data, quantities

def test_the_service_table_shows_the_category_by_its_chinese_name(login):
    page = text(login("admin").get("/admin/services"))
    assert '<td id="service-BJ-category">清洁服务</td>' in page


def test_the_audit_trail_shows_its_data_as_labelled_lines_not_json(login):
    admin = login("admin")
    assert admin.post("/admin/services", {**SERVICE_FORM, "price": "45.50"}).status_code == 302
    page = text(admin.get("/admin/"))
    assert "<div>指导价: 40.00 元；45.50 元</div>" in page      # was; is
    assert "guide_price_fen" not in page


def test_an_order_in_the_english_view_counts_hours_in_the_plural(login, hl):
    number = make_order(hl, "dispatched")       # home cleaning, 3 hours
    c = login("agent1")
    english(c)
    page = text(c.get(f"/orders/{number}"))
    assert "× 3 hours" in page


def test_an_order_in_the_chinese_view_counts_hours_in_chinese(login, hl):
    number = make_order(hl, "dispatched")
    assert "× 3 小时" in text(login("agent1").get(f"/orders/{number}"))
