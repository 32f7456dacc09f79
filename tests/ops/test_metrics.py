"""/metrics, /healthz and /readyz: Prometheus figures from the processes and the database, for
the allowed addresses only."""
from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from agent_console.app import create_app
from tests.core.helpers import book
from tests.twilio.phone import Twilio
from tickets.context import Job
from tickets.monitoring import render
from tickets.models import Call, SmsMessage
from tickets.scheduler import Scheduler


def scrape(client) -> dict[tuple[str, tuple], float]:
    resp = client.get("/metrics")
    assert resp.status_code == 200, resp.data[:300]
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(resp.get_data(as_text=True)) for sample in family.samples}


@pytest.fixture
def app(hl):
    return create_app(hl, {"TESTING": True})


def test_metrics_count_bookings_by_channel(hl, app):
    before = scrape(app.test_client()).get(("hotline_bookings_total", (("channel", "sms"),)), 0)
    with hl.session() as s, s.begin():
        book(s, hl, channel="sms")
        book(s, hl, channel="sms", days=6)
    after = scrape(app.test_client())
    assert after[("hotline_bookings_total", (("channel", "sms"),))] == before + 2


def test_metrics_show_calls_in_the_menu_and_in_the_queue(hl, app):
    with hl.session() as s, s.begin():
        s.add_all([Call(external_id="menu-1", transport="fastagi", started_at=hl.now()),
                   Call(external_id="queue-1", transport="fastagi", outcome="agent", started_at=hl.now())])
    figures = scrape(app.test_client())
    assert figures[("hotline_calls_in_menu", ())] == 1
    assert figures[("hotline_calls_in_queue", ())] == 1


def test_metrics_show_the_sms_backlog_and_failures_by_provider(hl, app):
    with hl.session() as s, s.begin():
        s.add_all([SmsMessage(direction="out", provider="twilio", phone="+8613800138000", body="a", status="queued"),
                   SmsMessage(direction="out", provider="twilio", phone="+8613800138000", body="b", status="sending"),
                   SmsMessage(direction="out", provider="aliyun", phone="+8613800138000", body="c", status="failed")])
    figures = scrape(app.test_client())
    assert figures[("hotline_sms_outbox_backlog", (("provider", "twilio"),))] == 2
    assert figures[("hotline_sms_failures_total", (("provider", "aliyun"),))] == 1


def test_a_signed_twilio_webhook_is_timed_in_the_latency_histogram(app):
    key = ("hotline_webhook_seconds_count", (("endpoint", "voice_hooks.incoming"),))
    before = scrape(app.test_client()).get(key, 0)
    Twilio(app).post("/twilio/voice", {"CallSid": "CA" + "1" * 32, "From": "+8613800138000", "To": "+8610962156"})
    assert scrape(app.test_client())[key] == before + 1


def test_scheduler_counts_job_runs_and_failures(hl, app):
    def broken(_hl):
        raise RuntimeError("boom")

    job = Job("test-broken-job", broken, 60)
    Scheduler(hl).run_job(job)
    figures = scrape(app.test_client())
    assert figures[("hotline_scheduler_job_runs_total", (("job", "test-broken-job"),))] >= 1
    assert figures[("hotline_scheduler_job_failures_total", (("job", "test-broken-job"),))] >= 1


def test_metrics_health_and_readiness_are_refused_outside_the_allow_list(app):
    client = app.test_client()
    for path in ("/metrics", "/healthz", "/readyz"):
        assert client.get(path, environ_base={"REMOTE_ADDR": "203.0.113.9"}).status_code == 403
        assert client.get(path).status_code == 200        # the test client comes from 127.0.0.1


def test_allow_list_admits_the_configured_network(new_hotline):
    app = create_app(new_hotline(METRICS_ALLOW="10.0.0.0/24"), {"TESTING": True})
    assert app.test_client().get("/healthz", environ_base={"REMOTE_ADDR": "10.0.0.7"}).status_code == 200
    assert app.test_client().get("/healthz").status_code == 403


def test_readyz_says_not_ready_while_migrations_are_behind(hl, app):
    assert app.test_client().get("/readyz").json["checks"] == {"database": "ok", "migrations": "ok"}
    with hl.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0007'"))
    resp = app.test_client().get("/readyz")
    assert resp.status_code == 503
    assert "run hotline init" in resp.json["checks"]["migrations"]


@pytest.mark.redis
def test_readyz_checks_redis_when_configured(new_hotline, redis_server):
    app = create_app(new_hotline(REDIS_URL=redis_server.url), {"TESTING": True})
    assert app.test_client().get("/readyz").json["checks"]["redis"] == "ok"


def test_multiprocess_mode_adds_up_the_workers_metrics(hl, tmp_path):
    folder = tmp_path / "metrics"          # of its own: prometheus-client reads every *.db file in it
    folder.mkdir()
    worker = ("from tickets.monitoring import JOB_RUNS; JOB_RUNS.labels('shared-job').inc()")
    for _ in range(2):
        subprocess.run([sys.executable, "-c", worker], check=True,
                       env={"PROMETHEUS_MULTIPROC_DIR": str(folder), "PATH": "/usr/bin:/bin"})
    hl.settings = dataclasses.replace(hl.settings, prometheus_multiproc_dir=str(folder))
    body, _ = render(hl)
    assert 'hotline_scheduler_job_runs_total{job="shared-job"} 2.0' in body.decode()
