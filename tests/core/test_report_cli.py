"""`hotline report` as an operator runs it: the console's reports as a table, CSV or Excel file."""
from __future__ import annotations

import pytest
from openpyxl import load_workbook

from tests.core.test_cli import run


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    path = tmp_path_factory.mktemp("report-cli") / "hotline.db"
    assert run(["init"], path).returncode == 0
    return path


def test_report_prints_a_table_with_a_row_per_bucket(db):
    r = run(["report", "orders", "--from", "2027-03-01", "--to", "2027-03-03", "--lang", "en"], db)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split()[:3] == ["Period", "Booked", "Dispatched"]
    assert [line.split()[0] for line in lines[1:]] == ["2027-03-01", "2027-03-02", "2027-03-03"]


def test_report_csv_to_a_file_starts_with_a_bom(db, tmp_path):
    out = tmp_path / "s.csv"
    r = run(["report", "satisfaction", "--from", "2027-03-01", "--to", "2027-03-31", "--by", "week",
             "--format", "csv", "--out", str(out), "--filter", "service=BJ"], db)
    assert r.returncode == 0, r.stderr
    assert out.read_text(encoding="utf-8").startswith("\ufeff时段,回访数,")


def test_report_xlsx_needs_an_output_file(db, tmp_path):
    r = run(["report", "franchisees", "--format", "xlsx"], db)
    assert r.returncode == 1 and "--out" in r.stderr
    out = tmp_path / "f.xlsx"
    assert run(["report", "franchisees", "--format", "xlsx", "--out", str(out)], db).returncode == 0
    assert load_workbook(out).active["A1"].value == "加盟商"


@pytest.mark.parametrize("args, says", [
    (["--from", "2027-03-10", "--to", "2027-03-01"], "before it starts"),
    (["--from", "2020-01-01", "--to", "2027-03-01"], "at most 366 days"),
    (["--filter", "colour=red"], "unknown filter 'colour'"),
    (["--filter", "service"], "KEY=VALUE"),
    (["--by", "15min"], "interval (by) must be one of"),
])
def test_report_bad_input_is_a_message_and_status_1(db, args, says):
    r = run(["report", "orders", *args], db)
    assert r.returncode == 1
    assert says in r.stderr and "Traceback" not in r.stderr


def test_unknown_report_names_the_reports(db):
    r = run(["report", "weather"], db)
    assert r.returncode == 1 and "orders" in r.stderr
