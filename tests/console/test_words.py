"""What people read in the console: the workspace says when no call can pop, refusals in Chinese
in the Chinese view, catalog names instead of keys, readable audit data, quantities in words."""
from __future__ import annotations

from datetime import datetime

import pytest

from tests.console.conftest import text
from tickets.timeutil import to_utc


def at(hl, clock, local: str) -> None:
    clock.now = to_utc(datetime.strptime(local, "%Y-%m-%d %H:%M"), hl.tz)


def english(console) -> None:
    console.post("/language", {"lang": "en"})


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
