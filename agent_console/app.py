"""The Flask application factory: the console, the franchisee portal and the webhooks."""
from __future__ import annotations

import importlib

from flask import Flask, g

from tickets.context import Hotline, create_hotline

# One blueprint per area, "module:attribute"; registered in this order.
BLUEPRINTS: list[str] = [
]


def create_app(hotline: Hotline | None = None, config: dict | None = None) -> Flask:
    """Build the app around a Hotline (settings, database, bus); nothing happens at import time."""
    hl = hotline or create_hotline()
    app = Flask(__name__)
    app.extensions["hotline"] = hl
    app.config.update(
        SECRET_KEY=hl.settings.secret_key or None,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=hl.settings.public_base_url.startswith("https://"),
        MAX_CONTENT_LENGTH=2 * 1024 * 1024,
    )
    if config:
        app.config.update(config)
    for spec in BLUEPRINTS:
        module, _, attr = spec.partition(":")
        app.register_blueprint(getattr(importlib.import_module(module), attr))

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
