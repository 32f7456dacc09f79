"""`hotline queue-log import` and `hotline report service` as an operator runs them."""
from __future__ import annotations

import csv
import io
import os
import subprocess
import sys

import pytest

from tests.stats.test_queue_log import CAPTURE

HOTLINE = [sys.executable, "-m", "tickets.cli"]


def run(args, db):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{db}", "LOG_LEVEL": "WARNING"}
    return subprocess.run(HOTLINE + args, capture_output=True, text=True, env=env, timeout=120)


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    db = tmp_path_factory.mktemp("calls") / "hotline.db"
    assert run(["init"], db).returncode == 0
    return db


def test_queue_log_import_says_what_it_stored_and_a_second_run_stores_nothing(db, tmp_path):
    (tmp_path / "queue_log").write_bytes(CAPTURE + b"garbage\n")
    first = run(["queue-log", "import", str(tmp_path / "queue_log")], db)
    assert first.returncode == 0, first.stderr
    assert "8 lines, 7 new, 0 already imported, 1 skipped" in first.stdout
    assert "0 lines, 0 new" in run(["queue-log", "import", str(tmp_path / "queue_log")], db).stdout


def test_report_service_as_csv_has_one_row_per_hour_with_the_samples_figures(db, tmp_path):
    (tmp_path / "queue_log").write_bytes(CAPTURE)
    run(["queue-log", "import", str(tmp_path / "queue_log")], db)
    out = run(["report", "service", "--from", "2026-11-23", "--to", "2026-11-23", "--by", "hour", "--format", "csv",
               "--lang", "en"], db)
    assert out.returncode == 0, out.stderr
    rows = {r["Period"]: r for r in csv.DictReader(io.StringIO(out.stdout))}
    assert len(rows) == 24
    # The sample: 2 entries at 2026-11-23 16:58 Asia/Shanghai (08:58 UTC), one answered after 2 s,
    # one abandoned after 4 s (a short abandon, left out of the service level).
    row = rows["2026-11-23 16:00"]
    assert (row["Offered"], row["Answered"], row["ASA"], row["Service level"]) == ("2", "1", "0:02", "100.0%")
    assert rows["2026-11-23 15:00"]["Offered"] == "0"


def test_report_calls_over_years_is_refused_with_a_clear_message(db):
    out = run(["report", "calls", "--from", "2020-01-01", "--to", "2026-01-01"], db)
    assert out.returncode == 1
    assert "too long for interval day" in out.stderr
