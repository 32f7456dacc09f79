"""The 统计报表 pages: range, interval and filters checked with a message, figures scoped to the
reader whatever the query string says, chart data for the static script, CSV and Excel exports."""
from __future__ import annotations

import io
from datetime import timedelta
import json
import re

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from tests.console.conftest import text
from tests.core import report_fixture as fixture
from tickets.models import District, Franchisee

RANGE = "from=2026-12-10&to=2026-12-13"


@pytest.fixture
def built(hl, clock):
    return fixture.build(hl, clock)


def _id(hl, model, column, value):
    with hl.session() as s:
        return s.scalar(select(model.id).where(column == value))


@pytest.mark.parametrize("query, says", [
    ("from=2026-12-13&to=2026-12-10", "早于开始日期"),
    ("from=2019-01-01&to=2026-12-10", "范围最多 366 天"),
    ("colour=red", "未知的筛选条件"),
    ("by=fortnight", "统计周期必须是"),
    ("from=yesterday", "YYYY-MM-DD"),
])
def test_bad_parameters_keep_the_page_and_say_what_is_wrong(login, hl, query, says):
    resp = login("supervisor1").get(f"/reports/orders?{query}")
    assert resp.status_code == 400
    assert says in text(resp)
    assert 'id="report-form"' in text(resp)


def test_an_export_of_a_bad_range_is_a_message_not_a_500(login, hl):
    resp = login("supervisor1").get("/reports/orders.csv?from=2019-01-01&to=2026-12-10")
    assert resp.status_code == 400 and "范围最多 366 天" in text(resp)


def test_an_empty_range_shows_zero_rows(login, hl):
    resp = login("supervisor1").get("/reports/orders?from=2027-03-01&to=2027-03-02")
    assert resp.status_code == 200
    assert text(resp).count('data-key="booked">0<') == 2


def test_the_chart_data_is_a_json_block_for_the_static_script(login, hl, built):
    page = text(login("supervisor1").get(f"/reports/orders?{RANGE}"))
    block = re.search(r'<script type="application/json" id="report-chart-data">(.*?)</script>', page, re.S)
    chart = json.loads(block.group(1))
    assert chart["rows"][0] == {"period": "2026-12-10", "booked": 4, "completed": 2, "cancelled": 1}
    assert "vendor/echarts/echarts.min.js" in page
    assert not re.search(r"<script(?![^>]*(src=|application/json))", page)


def test_district_manager_asking_for_another_district_is_refused(login, hl, built):
    other = _id(hl, District, District.name_zh, "沙依巴克区")
    resp = login("manager1").get(f"/reports/orders?{RANGE}&district={other}")
    assert resp.status_code == 403


def test_district_manager_reads_only_their_districts(login, hl, built):
    page = text(login("manager1").get(f"/reports/orders?{RANGE}&by=month"))
    assert 'data-key="booked">3<' in page          # B is in 沙依巴克区


def test_franchisee_asking_for_another_franchisee_is_refused(login, hl, built):
    other = _id(hl, Franchisee, Franchisee.name, "天山家政服务有限公司")
    assert login("franchisee2").get(f"/reports/satisfaction?{RANGE}&franchisee={other}").status_code == 403


def test_franchisee_grouping_by_franchisee_sees_only_itself(login, hl, built):
    page = text(login("franchisee1").get(f"/reports/orders?{RANGE}&group=franchisee"))
    assert "天山家政服务有限公司" in page and "沙依巴克洁家服务中心" not in page


def test_csv_export_has_a_bom_and_names_range_and_filters(login, hl, built):
    resp = login("supervisor1").get(f"/reports/orders.csv?{RANGE}&by=month&channel=sms")
    assert resp.headers["Content-Disposition"] == \
        "attachment; filename=orders_2026-12-10_2026-12-13_month_channel-sms.csv"
    body = resp.get_data().decode("utf-8")
    assert body.startswith("\ufeff时段,下单,")
    assert body.splitlines()[1].startswith("2026-12,1,1,1,0,0,1,1,")


def test_xlsx_export_opens_with_numbers_as_numbers(login, hl, built):
    resp = login("supervisor1").get(f"/reports/franchisees.xlsx?{RANGE}")
    assert resp.headers["Content-Disposition"].startswith("attachment; filename=franchisees_2026-12-10_2026-12-13_day")
    sheet = load_workbook(io.BytesIO(resp.get_data())).active
    table = [[c.value for c in row] for row in sheet.iter_rows()]
    header = table[0]
    row = next(r for r in table if r[0] == "天山家政服务有限公司")
    assert row[header.index("营业额(元)")] == 150.0
    assert row[header.index("平均分")] == 5.0


def test_english_page_has_english_headings(login, hl):
    c = login("supervisor1")
    c.post("/language", {"lang": "en", "next": "/reports/satisfaction"})
    assert "Response rate" in text(c.get("/reports/satisfaction"))


def test_portal_scorecard_shows_the_franchisees_own_order_figures(login, hl, built, clock):
    clock.now = fixture.T0 + timedelta(days=5)
    page = text(login("franchisee1").get("/portal/figures"))
    # 天山家政 holds A (accepted on time, started on time, 150.00); it let D expire (a refusal, and
    # an acceptance not on time), so D went back to dispatch.
    assert 'id="orders-booked">1<' in page
    assert 'id="orders-accept-on-time">50.0%<' in page
    assert 'id="orders-refusals">1<' in page
    assert 'id="orders-revenue">¥150.00<' in page
