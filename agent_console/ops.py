"""Endpoints for the operators' tools, not for people: /metrics (Prometheus), /healthz and
/readyz (a load balancer). Open only to METRICS_ALLOW (default: loopback), with no log-in: a
scraper has no console session, and a refused address learns nothing (403, no body).
"""
from __future__ import annotations

import time

from flask import Blueprint, Flask, abort, g, request

from tickets.config import in_networks
from tickets.monitoring import WEBHOOK_SECONDS, readiness, render, watch_pool

from .app import hotline
from .security import WEBHOOK_BLUEPRINTS

bp = Blueprint("ops", __name__)


@bp.before_request
def _allowed_only() -> None:
    if not in_networks(request.remote_addr or "", hotline().settings.metrics_allow):
        abort(403)


@bp.get("/metrics")
def metrics():
    body, content_type = render(hotline())
    return body, 200, {"Content-Type": content_type}


@bp.get("/healthz")
def healthz():
    """The process answers: nothing else is checked (a restart is what a failure here calls for)."""
    return {"status": "ok"}


@bp.get("/readyz")
def readyz():
    """Database reachable and migrated, Redis reachable when configured: 200, else 503 with the reasons."""
    checks = readiness(hotline())
    ready = all(v == "ok" for v in checks.values())
    return {"status": "ready" if ready else "not ready", "checks": checks}, 200 if ready else 503


def _start_timer() -> None:
    if request.blueprint in WEBHOOK_BLUEPRINTS:
        g.webhook_started = time.perf_counter()


def _observe(response):
    started = g.pop("webhook_started", None)
    if started is not None:
        WEBHOOK_SECONDS.labels(request.endpoint or "unknown").observe(time.perf_counter() - started)
    return response


def init_app(app: Flask) -> None:
    """The ops endpoints, the webhooks' latency histogram and this process's pool gauge."""
    app.register_blueprint(bp)
    app.before_request(_start_timer)
    app.after_request(_observe)
    watch_pool(app.extensions["hotline"].engine)
