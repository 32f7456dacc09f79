"""The Flask application factory: the console, the franchisee portal and the webhooks."""
from __future__ import annotations

import logging
import secrets
from datetime import timedelta

from flask import Flask, g

from tickets.context import Hotline, create_hotline

log = logging.getLogger(__name__)


def create_app(hotline: Hotline | None = None, config: dict | None = None) -> Flask:
    """Build the app around a Hotline (settings, database, bus); nothing happens at import time."""
    # Imported here, as in Flask's tutorial: the blueprints import db() and hotline() from this module.
    from . import (admin, auth, desk, dispatch_board, orders, pages, portal, security, sms_hooks, twilio_agents,
                   voice_hooks, wallboard, workspace)

    hl = hotline or create_hotline()
    app = Flask(__name__)
    app.extensions["hotline"] = hl
    secret = hl.settings.secret_key
    if not secret and hl.settings.demo:
        # Demo without SECRET_KEY: sessions last as long as this process (set it for several processes).
        log.warning("SECRET_KEY is not set: using a random key; console sessions end when the process stops")
        secret = secrets.token_hex(32)
    app.config.update(
        SECRET_KEY=secret or None,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=hl.settings.public_base_url.startswith("https://"),
        SESSION_COOKIE_NAME="hotline_session",
        # One shift; "log out everywhere" ends a session sooner (its epoch no longer matches).
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
        MAX_CONTENT_LENGTH=2 * 1024 * 1024,
    )
    if config:
        app.config.update(config)
    security.init_app(app)
    pages.init_app(app)
    # One blueprint per area; the webhooks' (voice_hooks, agent hooks, sms_hooks) skip the log-in gate.
    for blueprint in (auth.bp, orders.bp, dispatch_board.bp, portal.bp, desk.bp, admin.bp, workspace.bp,
                      wallboard.bp, voice_hooks.bp, twilio_agents.bp, twilio_agents.hooks, sms_hooks.bp):
        app.register_blueprint(blueprint)

    @app.teardown_appcontext
    def _close_session(_exc):
        s = g.pop("db", None)
        if s is not None:
            s.close()

    return app


def hotline() -> Hotline:
    """The Hotline of the current app."""
    from flask import current_app
    return current_app.extensions["hotline"]


def db():
    """The request's Session (one per request, closed at teardown)."""
    if "db" not in g:
        g.db = hotline().session()
    return g.db
