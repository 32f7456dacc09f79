"""统计报表 in a real browser: the chart is drawn by the pinned ECharts copy under the page's CSP
(no console error), and the table exports as a file named for its range. The README's report
screenshots are taken here (./scripts/screenshots.sh)."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from agent_console.commands import WebService
from tests.browser.pages import open_as
from tests.console.live import hotline_from
from tests.servers import free_port
from tickets.demo_calls import load_demo_calls
from tickets.demo_history import load_demo_history
from tickets.models import utcnow


@pytest.fixture
def console_with_history(demo_template, tmp_path):
    """The console on the demo city with its 90 days of orders and calls (what `hotline run --demo` loads)."""
    hl = hotline_from(demo_template, tmp_path / "hotline.db", clock=utcnow,
                      WEB_BIND=f"127.0.0.1:{free_port()}", FASTAGI_BIND=f"127.0.0.1:{free_port()}")
    with hl.session() as s, s.begin():
        load_demo_history(s)
    with hl.session() as s, s.begin():
        load_demo_calls(s)
    svc = WebService(hl)
    svc.start()
    yield svc
    svc.stop()
    hl.close()


def _watch_errors(page) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return errors


def test_report_page_draws_its_chart_and_exports_csv(chromium, console_with_history, screenshot):
    page = open_as(chromium, console_with_history, "supervisor1")
    errors = _watch_errors(page)
    page.goto("/reports/orders?by=week")
    expect(page.locator("#report-chart canvas")).to_have_count(1)
    expect(page.locator("#report-chart")).to_have_class("report-chart drawn")
    expect(page.locator("#report-table tbody tr").first).to_be_visible()
    expect(page.locator("#report-chart")).to_have_attribute("data-settled", "1")
    screenshot(page, "30-report-orders")
    with page.expect_download() as info:
        page.click("#export-csv")
    download = info.value
    assert download.suggested_filename.startswith("orders_") and download.suggested_filename.endswith("_week.csv")
    with open(download.path(), encoding="utf-8") as f:
        assert f.read(3) == "\ufeff时段"
    assert errors == []


def test_franchisee_and_satisfaction_reports_draw_for_their_readers(chromium, console_with_history, screenshot):
    supervisor = open_as(chromium, console_with_history, "supervisor1")
    errors = _watch_errors(supervisor)
    supervisor.goto("/reports/franchisees")
    expect(supervisor.locator("#report-chart")).to_have_attribute("data-settled", "1")
    screenshot(supervisor, "31-report-franchisees")
    franchisee = open_as(chromium, console_with_history, "franchisee1")
    errors += _watch_errors(franchisee)
    franchisee.goto("/reports/satisfaction?by=week")
    expect(franchisee.locator("#report-chart canvas")).to_have_count(1)
    expect(franchisee.locator("#report-scope")).to_be_visible()
    expect(franchisee.locator("#report-chart")).to_have_attribute("data-settled", "1")
    screenshot(franchisee, "32-report-satisfaction-franchisee")
    assert errors == []


def _drawn(page, path: str) -> None:
    page.goto(path)
    expect(page.locator("#report-chart canvas")).to_have_count(1)
    expect(page.locator("#report-chart")).to_have_class("report-chart drawn")
    expect(page.locator("#report-table tbody tr").first).to_be_visible()
    expect(page.locator("#report-chart")).to_have_attribute("data-settled", "1")


def test_complaints_report_by_category_lists_every_category(chromium, console_with_history, screenshot):
    page = open_as(chromium, console_with_history, "supervisor1")
    errors = _watch_errors(page)
    _drawn(page, "/reports/complaints?group=category")
    expect(page.locator("#report-table tbody tr")).to_have_count(6)
    expect(page.locator("#report-table tbody tr").first).to_contain_text("服务质量")
    screenshot(page, "37-report-complaints-category")
    assert errors == []


@pytest.mark.parametrize("path, shot", [
    ("/reports/calls?by=day", "33-report-calls"), ("/reports/service?by=hod", "34-report-service"),
    ("/reports/agents", "35-report-agents"), ("/reports/menu", "36-report-menu"),
])
def test_call_report_pages_draw_from_the_demo_calls(chromium, console_with_history, screenshot, path, shot):
    page = open_as(chromium, console_with_history, "supervisor1")
    errors = _watch_errors(page)
    _drawn(page, path)
    screenshot(page, shot)
    assert errors == []
