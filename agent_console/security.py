"""Sessions, the log-in gate, roles and CSRF for every console request.

The session is Flask's signed cookie holding a random token of a server-side session
(tickets.console_sessions), looked up on every request: once that session has ended (log-out,
log-out everywhere, an admin ended it, password reset, deactivation, role change) a copy of
the cookie is worth nothing. Every endpoint needs a logged-in user
except the log-in page, static files, the language switch and the provider webhooks (which
are signed by the provider instead). Every state-changing request carries a CSRF token: the
form field `csrf_token`, or the `X-CSRFToken` header for fetch/XHR.
"""
from __future__ import annotations

import functools
import logging
from typing import Callable
from urllib.parse import urlsplit

from flask import Flask, abort, current_app, flash, g, redirect, request, session, url_for
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

from ivr.twilio_agents import missing_settings
from tickets import console_sessions
from tickets.actors import Actor
from tickets.config import in_networks
from tickets.models import User

from .app import db
from .i18n import t
from .pages import wants_json

log = logging.getLogger(__name__)

csrf = CSRFProtect()

# Provider webhooks (Twilio, Aliyun): authenticated by the provider's signature, not by a
# console session, and posted by servers that have no CSRF token.
WEBHOOK_BLUEPRINTS = frozenset({"sms_hooks", "voice_hooks", "agent_hooks"})
# Operators' tools (agent_console/ops.py): guarded by an address allow-list, not by a session.
NO_SESSION_BLUEPRINTS = WEBHOOK_BLUEPRINTS | {"ops"}
# Endpoints open without a log-in.
PUBLIC_ENDPOINTS = frozenset({"auth.login", "auth.set_language", "static"})
# Blueprints of residents' public pages (order lookup, online booking): no log-in, CSRF still checked.
PUBLIC_BLUEPRINTS = frozenset({"selfservice"})


class FromTrustedProxies:
    """Werkzeug's ProxyFix (client address and scheme from X-Forwarded-For/-Proto), applied only to
    requests whose peer is one of TRUSTED_PROXIES: anyone else could name any address in that
    header and so escape the log-in throttle or forge the audit trail's source address."""

    def __init__(self, wsgi_app, networks: tuple) -> None:
        self.wsgi_app = wsgi_app
        self.fixed = ProxyFix(wsgi_app, x_for=1, x_proto=1)
        self.networks = networks

    def __call__(self, environ, start_response):
        if in_networks(environ.get("REMOTE_ADDR", ""), self.networks):
            return self.fixed(environ, start_response)
        return self.wsgi_app(environ, start_response)


def init_app(app: Flask) -> None:
    trusted = app.extensions["hotline"].settings.trusted_proxies
    if trusted:
        app.wsgi_app = FromTrustedProxies(app.wsgi_app, trusted)
    app.config.setdefault("WTF_CSRF_ENABLED", True)
    # We call csrf.protect() ourselves so the webhook blueprints can be skipped by name.
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False
    # A console tab stays open for a whole shift: the token lives as long as the session.
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)
    csrf.init_app(app)
    app.before_request(_load_user)
    app.before_request(_gate)
    app.config["CONTENT_SECURITY_POLICY"] = content_security_policy(app.extensions["hotline"].settings)
    app.after_request(_protective_headers)


# Sent with every response: no framing of the console by other sites (clickjacking), no MIME
# sniffing, and no full URLs (which carry order numbers and phone searches) in Referer headers.
PROTECTIVE_HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
# A year; sent only over https (browsers ignore it on http, and a proxy may be testing plain http).
HSTS = "max-age=31536000"
# Where the softphone's Twilio Voice SDK connects (signalling over WebSocket, its sounds).
TWILIO_CONNECT = ("https://*.twilio.com", "wss://*.twilio.com")
TWILIO_MEDIA = ("https://*.twilio.com", "https://*.twiliocdn.com")


def content_security_policy(settings) -> str:
    """No script but our own files (and the Twilio Voice SDK when the softphone is configured):
    an injected <script> or onclick= does not run. No inline styles either."""
    script, connect, media = ["'self'"], ["'self'"], ["'self'"]
    if not missing_settings(settings):
        sdk = urlsplit(settings.twilio_voice_sdk_url)
        if sdk.netloc:
            script.append(f"{sdk.scheme}://{sdk.netloc}")
        connect += TWILIO_CONNECT
        media += TWILIO_MEDIA
    return "; ".join((
        "default-src 'self'", f"script-src {' '.join(script)}", "style-src 'self'", "img-src 'self' data:",
        f"connect-src {' '.join(connect)}", f"media-src {' '.join(media)}", "object-src 'none'",
        "base-uri 'none'", "form-action 'self'", "frame-ancestors 'none'"))


def _protective_headers(response):
    for name, value in PROTECTIVE_HEADERS.items():
        response.headers.setdefault(name, value)
    response.headers.setdefault("Content-Security-Policy", current_app.config["CONTENT_SECURITY_POLICY"])
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    if (g.get("user") is not None or request.blueprint in PUBLIC_BLUEPRINTS) and request.endpoint != "static":
        # Nearly every console page and fragment shows customer names, numbers or addresses:
        # none of it may stay in the browser's cache or a shared proxy after the shift (nor an
        # order a resident looked up on a shared phone).
        response.headers["Cache-Control"] = "no-store"
    return response


def _load_user() -> None:
    g.user = None
    g.actor = None
    if request.blueprint in NO_SESSION_BLUEPRINTS or request.endpoint == "static":
        return
    token = session.get("sid")
    if token is None:
        return
    s = db()
    # A short transaction of its own: on SQLite every transaction takes the write lock, and
    # the view opens its own.
    with s.begin():
        found = console_sessions.user_of(s, token)
        if found is None:
            session.pop("sid", None)
            g.session_ended = True
            return
        g.user = found[0]
        g.actor = Actor.from_user(g.user, request.remote_addr or "")


def _gate():
    if request.blueprint in NO_SESSION_BLUEPRINTS:
        return None
    if request.endpoint is None:
        return None        # 404 / 405 follow
    if request.endpoint not in PUBLIC_ENDPOINTS and request.blueprint not in PUBLIC_BLUEPRINTS and g.user is None:
        if wants_json():
            return {"error": t("error.login_needed"), "login": url_for("auth.login")}, 401
        flash(t("error.session_ended") if g.get("session_ended") else t("error.login_needed"), "info")
        return redirect(url_for("auth.login", next=request.full_path.removesuffix("?") if request.method == "GET" else None))
    if current_app.config.get("WTF_CSRF_ENABLED", True):
        csrf.protect()
    return None


def login_user(s, user: User) -> None:
    """Start a fresh session for `user` in the transaction of `s` (the old cookie, and anything
    in it but the language, is dropped)."""
    token = console_sessions.start(s, user, request.remote_addr or "", request.user_agent.string)
    lang = session.get("lang")
    session.clear()
    session.permanent = True
    session["sid"] = token
    if lang:
        session["lang"] = lang


def logout_user(s) -> None:
    """End this browser's session in the transaction of `s` (a copied cookie stops working) and
    forget it in the cookie."""
    console_sessions.logout(s, g.actor, session.get("sid"))
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang


def current_user() -> User:
    return g.user


def current_actor() -> Actor:
    """The logged-in user as tickets sees them (role, franchisee, districts)."""
    return g.actor


def role_required(*roles: str | frozenset[str]) -> Callable:
    """Allow the view only to these roles (403 for the others); pass role names or policy.AREAS sets."""
    allowed: set[str] = set()
    for r in roles:
        allowed |= {r} if isinstance(r, str) else set(r)

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            if g.user is None:
                abort(401)
            if g.user.role not in allowed:
                log.info("refused %s %s to %s (%s)", request.method, request.path, g.user.username, g.user.role)
                abort(403)
            return view(*args, **kwargs)
        wrapper.allowed_roles = frozenset(allowed)
        return wrapper
    return decorator
