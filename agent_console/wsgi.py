"""The console for gunicorn: several web processes sharing the database and the Redis bus.

    hotline init                      # once: schema and reference data
    REDIS_URL=redis://127.0.0.1:6379/0 SECRET_KEY=... DATABASE_URL=... \\
        gunicorn -c python:agent_console.wsgi --workers 4

This module is both the gunicorn configuration (the lower-case names below, read by
`-c python:agent_console.wsgi`) and the application factory (`create()`, called once in each
worker, so every worker has its own database pool and Redis connection). Without REDIS_URL the
workers still reach each other through the agent_events table, with up to half a second more
delay.

Threads: each open agent stream holds a thread of its worker, so workers use the `gthread`
class with WEB_THREADS + STREAM_SLOTS threads each, the same sizing as `hotline run`.
"""
from __future__ import annotations

import logging

from flask import Flask

from tickets.config import load_settings

log = logging.getLogger(__name__)


def create() -> Flask:
    """One worker's app: settings from the environment. It needs no database to boot (see on_starting)."""
    from tickets.cli import settle_heap, setup_logging
    from tickets.context import create_hotline

    from .app import create_app

    settings = load_settings()
    setup_logging(settings.log_level)
    hl = create_hotline(settings)
    if not settings.redis_url:
        log.warning("REDIS_URL is not set: screen-pops reach the other workers through the database, "
                    "up to half a second later")
    app = create_app(hl)
    settle_heap()
    return app


# ---- gunicorn settings (read by `gunicorn -c python:agent_console.wsgi`); flags on the command line win.
_settings = load_settings()
wsgi_app = "agent_console.wsgi:create()"
bind = [f"{_settings.web_bind[0]}:{_settings.web_bind[1]}"]
worker_class = "gthread"
threads = _settings.web_threads + _settings.stream_slots
# Agent streams end on their own within STREAM_MAX_SECONDS; on a restart, do not wait for that:
# the browsers reconnect to the new workers and resume from their last event id.
graceful_timeout = 10


def on_starting(server) -> None:
    """gunicorn hook, in the master before any worker: the schema is current and no demo password
    is left outside demo mode, else gunicorn does not start. Checked here once rather than in each
    worker, so that a worker replaced while the database is out of reach (a restart) still boots:
    gunicorn stops altogether when a worker cannot."""
    from tickets.cli import refuse_demo_passwords_in_production
    from tickets.context import create_hotline

    from .commands import require_schema

    hl = create_hotline(_settings)
    try:
        require_schema(hl)
        refuse_demo_passwords_in_production(hl)
    finally:
        hl.close()


def child_exit(server, worker) -> None:
    """gunicorn hook: a dead worker's live gauges (its pool) leave the multiprocess sum."""
    if _settings.prometheus_multiproc_dir:
        from prometheus_client import multiprocess
        multiprocess.mark_process_dead(worker.pid, _settings.prometheus_multiproc_dir)
