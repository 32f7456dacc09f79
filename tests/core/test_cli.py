"""The `hotline` command as an operator uses it, run as a real subprocess."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, timedelta

import pytest

# The CLI runs on the real clock: a week ahead is always inside the bookable window.
SOON = f"{date.today() + timedelta(days=7):%Y-%m-%d} 09:00"

HOTLINE = [sys.executable, "-m", "tickets.cli"]


def run(args, db, **env):
    e = {**os.environ, "DATABASE_URL": f"sqlite:///{db}", "LOG_LEVEL": "WARNING", **env}
    e.pop("HOTLINE_DEMO", None)
    e.update(env)
    return subprocess.run(HOTLINE + args, capture_output=True, text=True, env=e, timeout=120)


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory):
    db = tmp_path_factory.mktemp("cli") / "hotline.db"
    r = run(["init", "--demo"], db)
    assert r.returncode == 0, r.stderr
    return db


def test_init_demo_is_idempotent(demo_db):
    import sqlite3
    def count():
        with sqlite3.connect(demo_db) as c:
            return [c.execute(f"select count(*) from {t}").fetchone()[0]
                    for t in ("users", "franchisees", "workers", "customers", "work_orders", "services", "districts")]
    before = count()
    assert run(["init", "--demo"], demo_db).returncode == 0
    assert count() == before
    assert before[6] == 8
    assert before[5] >= 20


def test_order_create_prints_the_dispatched_order_as_json(demo_db):
    r = run(["order", "create", "--phone", "13800138000", "--service", "BJ", "--when", SOON], demo_db)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["number"].isdigit()
    assert len(out["number"]) == 10
    assert (out["status"], out["district"], out["franchisee"]) == ("dispatched", "天山区", "天山家政服务有限公司")
    assert out["price_lines"][0]["amount_fen"] == 12000

    shown = json.loads(run(["order", "show", out["number"]], demo_db).stdout)
    assert [h["action"] for h in shown["history"]] == ["create", "confirm", "dispatch"]
    assert shown["history"][0]["by"] == "cli"


def test_order_create_with_bad_input_says_what_is_right(demo_db):
    r = run(["order", "create", "--phone", "13800138000", "--service", "ZZ", "--when", SOON], demo_db)
    assert r.returncode == 1
    assert "unknown service code 'ZZ'; codes are:" in r.stderr
    r = run(["order", "create", "--phone", "13800138000", "--service", "BJ", "--when", "next tuesday"], demo_db)
    assert r.returncode == 1
    assert "YYYY-MM-DD HH:MM" in r.stderr


def test_order_create_of_the_same_booking_again_names_the_order_and_the_option(demo_db):
    later = f"{date.today() + timedelta(days=8):%Y-%m-%d} 10:00"
    args = ["order", "create", "--phone", "13900139000", "--service", "BJ", "--when", later]
    first = json.loads(run(args, demo_db).stdout)["number"]
    again = run(args, demo_db)
    assert again.returncode == 1
    assert f"already has order {first}" in again.stderr and "(--allow-duplicate)" in again.stderr
    second = run(args + ["--allow-duplicate"], demo_db)
    assert second.returncode == 0, second.stderr
    assert json.loads(second.stdout)["number"] != first


def test_production_start_with_demo_passwords_refuses_to_run(demo_db):
    r = run(["run"], demo_db, SECRET_KEY="x" * 40)
    assert r.returncode == 1
    assert "demo password" in r.stderr
    assert "refuses to start" in r.stderr


def test_production_start_without_secret_key_refuses(demo_db):
    r = run(["run"], demo_db, SECRET_KEY="")
    assert r.returncode == 1
    assert "SECRET_KEY is not set" in r.stderr


def test_bad_configuration_value_names_the_variable(demo_db):
    r = run(["order", "show", "2632700001"], demo_db, TIMEZONE="Mars/Olympus")
    assert r.returncode == 1
    assert "TIMEZONE='Mars/Olympus'" in r.stderr
    assert "Asia/Shanghai" in r.stderr


def test_help_lists_the_subcommands():
    r = subprocess.run(HOTLINE + ["--help"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0
    for cmd in ("init", "run", "order", "dispatch", "user"):
        assert cmd in r.stdout


def test_a_settled_heap_leaves_a_full_collection_nothing_of_it_to_walk():
    import gc

    from tickets.cli import settle_heap
    settle_heap()
    try:
        # What survived the collection is out of the collector's generations: a full collection
        # now walks only what was allocated since (a handful), not the frozen heap.
        frozen = gc.get_freeze_count()
        assert frozen > 10_000
        assert len(gc.get_objects()) < frozen * 0.01
    finally:
        gc.unfreeze()


# A process that sets up logging like `hotline run`, then logs what the scheduler logs for one
# job run and one line of our own.
_LOG_A_JOB_RUN = """
import logging, sys
from tickets.cli import setup_logging
setup_logging(sys.argv[1])
logging.getLogger("apscheduler.executors.default").info('Running job "sla_watchdog"')
logging.getLogger("apscheduler.scheduler").warning("Run time of job sla_watchdog was missed")
logging.getLogger("tickets.jobs").info("our own line")
"""


def test_scheduler_job_runs_are_not_logged_at_the_default_level():
    r = subprocess.run([sys.executable, "-c", _LOG_A_JOB_RUN, "INFO"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "Running job" not in r.stderr
    assert "was missed" in r.stderr
    assert "our own line" in r.stderr


def test_scheduler_job_runs_are_logged_at_debug():
    r = subprocess.run([sys.executable, "-c", _LOG_A_JOB_RUN, "DEBUG"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "Running job" in r.stderr


def test_config_warns_when_the_holiday_calendar_does_not_cover_the_next_60_days(demo_db):
    r = run(["config"], demo_db, HOTLINE_FIXED_NOW="2026-11-23T02:00:00")
    assert r.returncode == 0, r.stderr
    assert "WARNING: The holiday calendar does not cover 2027-01-01" in r.stdout


@pytest.mark.parametrize("only, variable", [("web", "WEB_BIND"), ("fastagi", "FASTAGI_BIND")])
def test_a_taken_port_stops_the_start_with_one_line_naming_the_variable(demo_db, only, variable):
    import socket
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        r = run(["run", "--demo", "--only", only], demo_db, **{variable: f"127.0.0.1:{port}"})
    assert r.returncode == 1
    assert "Traceback" not in r.stderr
    line = r.stderr.strip().splitlines()[-1]
    assert line.startswith(f"hotline: {variable}=127.0.0.1:{port} is already in use")
    assert f"{variable}=127.0.0.1:{port + 1}" in line
