"""The Flask application factory: the console, the franchisee portal and the webhooks."""
from __future__ import annotations

import logging
import secrets

from flask import Flask, g
from werkzeug.routing import IntegerConverter

from tickets import console_sessions
from tickets.context import Hotline, create_hotline
from tickets.inputs import MAX_INT

log = logging.getLogger(__name__)


class RowId(IntegerConverter):
    """`<int:...>` in every route: ASCII digits that fit an INTEGER column; anything else is a 404
    (Werkzeug's own takes any Unicode digit and any size, which overflows the database)."""
    regex = r"[0-9]{1,10}"

    def __init__(self, map, **kwargs) -> None:
        kwargs.setdefault("max", MAX_INT)
        super().__init__(map, **kwargs)


def create_app(hotline: Hotline | None = None, config: dict | None = None) -> Flask:
    """Build the app around a Hotline (settings, database, bus); nothing happens at import time."""
    # Imported here, as in Flask's tutorial: the blueprints import db() and hotline() from this module.
    from . import (admin, auth, callbacks, cards, complaint_pages, customers, desk, dispatch_board, ops, orders,
                   pages, portal, reports, security, selfservice, sms_hooks, twilio_agents, voice_hooks, wallboard,
                   workspace)

    hl = hotline or create_hotline()
    app = Flask(__name__)
    app.extensions["hotline"] = hl
    app.url_map.converters["int"] = RowId
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
        # The cookie lives as long as its server-side session (tickets.console_sessions), which
        # log-out, an admin or an account change end sooner.
        PERMANENT_SESSION_LIFETIME=console_sessions.SESSION_LIFETIME,
        MAX_CONTENT_LENGTH=2 * 1024 * 1024,
    )
    if config:
        app.config.update(config)
    security.init_app(app)
    pages.init_app(app)
    ops.init_app(app)
    # One blueprint per area; the webhooks' (voice_hooks, agent hooks, sms_hooks) skip the log-in gate.
    for blueprint in (auth.bp, orders.bp, dispatch_board.bp, portal.bp, desk.bp, callbacks.bp, complaint_pages.bp,
                      complaint_pages.portal, admin.bp, workspace.bp, wallboard.bp, reports.bp, voice_hooks.bp,
                      twilio_agents.bp, twilio_agents.hooks, sms_hooks.bp, customers.bp, selfservice.bp, cards.bp):
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
