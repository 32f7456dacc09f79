"""Prometheus metrics (prometheus-client) and the readiness check, for /metrics, /healthz, /readyz.

Two kinds of figures. Those a process observes (webhook and AGI step latency, scheduler job runs
and failures, the connections its pool lends) are prometheus-client metrics in this module;
under gunicorn with PROMETHEUS_MULTIPROC_DIR set, every process writes them to files in that
folder and the scraping worker adds them up (prometheus-client's multiprocess mode). Those the
database knows (calls in the menu and in the queue, bookings by channel, the SMS outbox) are read
from it at scrape time by `DatabaseCollector`, once, whichever worker answers.
"""
from __future__ import annotations

import logging
from datetime import timedelta

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, \
    generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import event, func, select, text
from sqlalchemy.engine import Engine

from . import migrate
from .models import Call, SmsMessage, WorkOrder
from .stats import calls_waiting

log = logging.getLogger(__name__)

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
WEBHOOK_SECONDS = Histogram("hotline_webhook_seconds", "Time to answer a provider webhook (Twilio, SMS callbacks)",
                            ["endpoint"], buckets=LATENCY_BUCKETS)
AGI_STEP_SECONDS = Histogram("hotline_agi_step_seconds", "Time the voice menu takes for one step of an AGI call "
                             "(database included, caller's key presses excluded)", buckets=LATENCY_BUCKETS)
JOB_RUNS = Counter("hotline_scheduler_job_runs", "Scheduler job runs on the leader", ["job"])
JOB_FAILURES = Counter("hotline_scheduler_job_failures", "Scheduler job runs that raised", ["job"])
POOL_IN_USE = Gauge("hotline_db_pool_connections_in_use", "Database connections lent out by the pools",
                    multiprocess_mode="livesum")
# A call still in the menu after this long lost its end (a crashed process): not counted as in the menu.
IN_MENU_HORIZON = timedelta(hours=1)
SMS_BACKLOG_STATES = ("queued", "sending")


def watch_pool(engine: Engine) -> None:
    """Count the connections `engine`'s pool lends out in POOL_IN_USE (this process's share)."""
    event.listen(engine, "checkout", lambda *_: POOL_IN_USE.inc())
    event.listen(engine, "checkin", lambda *_: POOL_IN_USE.dec())


class DatabaseCollector:
    """Figures read from the database at scrape time (one query each)."""

    def __init__(self, hl) -> None:
        self.hl = hl

    def collect(self):
        with self.hl.session() as s:
            now = self.hl.now()
            in_menu = s.scalar(select(func.count(Call.id)).where(
                Call.outcome == "", Call.ended_at.is_(None), Call.started_at >= now - IN_MENU_HORIZON))
            yield GaugeMetricFamily("hotline_calls_in_menu", "Calls in the voice menu now", value=in_menu)
            yield GaugeMetricFamily("hotline_calls_in_queue", "Calls waiting in the agents' queue now",
                                    value=calls_waiting(s).count)
            bookings = CounterMetricFamily("hotline_bookings", "Work orders booked, by channel", labels=["channel"])
            for channel, count in s.execute(select(WorkOrder.channel, func.count(WorkOrder.id))
                                            .group_by(WorkOrder.channel)):
                bookings.add_metric([channel], count)
            yield bookings
            backlog = GaugeMetricFamily("hotline_sms_outbox_backlog", "Outbound SMS not yet handed to their "
                                        "provider (queued or sending)", labels=["provider"])
            failed = CounterMetricFamily("hotline_sms_failures", "Outbound SMS that failed, by provider",
                                         labels=["provider"])
            rows = s.execute(select(SmsMessage.provider, SmsMessage.status, func.count(SmsMessage.id))
                             .where(SmsMessage.direction == "out",
                                    SmsMessage.status.in_(SMS_BACKLOG_STATES + ("failed",)))
                             .group_by(SmsMessage.provider, SmsMessage.status))
            backlogs: dict[str, int] = {}
            for provider, status, count in rows:
                if status == "failed":
                    failed.add_metric([provider], count)
                else:
                    backlogs[provider] = backlogs.get(provider, 0) + count
            for provider, count in sorted(backlogs.items()):
                backlog.add_metric([provider], count)
            yield backlog
            yield failed


def render(hl) -> tuple[bytes, str]:
    """The /metrics document: this process's (or, in multiprocess mode, every process's) metrics
    and the database's figures."""
    if hl.settings.prometheus_multiproc_dir:
        observed = CollectorRegistry()
        MultiProcessCollector(observed, path=hl.settings.prometheus_multiproc_dir)
    else:
        observed = REGISTRY
    database = CollectorRegistry(auto_describe=False)
    database.register(DatabaseCollector(hl))
    return generate_latest(observed) + generate_latest(database), CONTENT_TYPE_LATEST


def readiness(hl) -> dict[str, str]:
    """What a load balancer needs before sending traffic: each check -> "ok" or why not."""
    checks: dict[str, str] = {}
    try:
        with hl.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        revision, head = migrate.current(hl.engine), migrate.head()
        checks["database"] = "ok"
        checks["migrations"] = "ok" if revision == head else f"schema at {revision}, code expects {head}: run hotline init"
    except Exception as exc:  # noqa: BLE001 - any failure means not ready; the reason is reported
        checks["database"] = f"unreachable: {type(exc).__name__}"
        checks["migrations"] = "unknown"
    if hl.settings.redis_url:
        try:
            hl.bus.ping()
            checks["redis"] = "ok"
        except Exception as exc:  # noqa: BLE001
            checks["redis"] = f"unreachable: {type(exc).__name__}"
    return checks
