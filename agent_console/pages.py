"""What every page shares: template helpers, and errors shown as messages with the right status.

A refusal from tickets (a move not allowed now, a role that may not, bad input) is shown to the
user as tickets worded it (the common ones in Chinese in the Chinese view: refusals.py), in a flash message, with 400 (bad input), 403 (not your role),
404 (no such thing, or not yours) or 409 (not possible in the order's state, or changed by
someone else a moment ago).
"""
from __future__ import annotations

import logging
from datetime import datetime
from urllib.parse import urlsplit

from flask import Flask, current_app, flash, g, render_template, request, url_for
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from sqlalchemy.orm.exc import StaleDataError

from ivr.prompts import menu_path
from tickets.concurrency import CONFLICT
from tickets.errors import (ConcurrentChange, HotlineError, NotFound, PermissionDenied, TransitionError,
                            ValidationError)
from tickets.pricing import yuan
from tickets.timeutil import to_local

from . import history, refusals
from .app import db, hotline
from .i18n import LANGUAGES, current_language, label, quantity, t
from .navigation import HOME, NAV
from .policy import contact_of, phone_for

log = logging.getLogger(__name__)

STATUS_OF: dict[type[HotlineError], int] = {
    ValidationError: 400, PermissionDenied: 403, NotFound: 404, TransitionError: 409, ConcurrentChange: 409,
}


def status_of(exc: HotlineError) -> int:
    for cls, code in STATUS_OF.items():
        if isinstance(exc, cls):
            return code
    return 400


def show_error(exc: HotlineError) -> int:
    """Flash tickets' message for `exc` and return the HTTP status the page should carry."""
    code = status_of(exc)
    log.info("%s %s refused (%s): %s", request.method, request.path, code, exc)
    flash(refusals.message(exc), "error")
    return code


def safe_path(target: str | None) -> str | None:
    """`target` if it is a path on this site, else None: a link must not send the user elsewhere."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target


def wants_json() -> bool:
    """Whether the request comes from a script (fetch/XHR, an event stream) that wants JSON, not a page."""
    best = request.accept_mimetypes.best_match(["text/html", "application/json", "text/event-stream"])
    return best in ("application/json", "text/event-stream") or request.is_json \
        or request.headers.get("X-Requested-With") == "XMLHttpRequest"


def has_endpoint(endpoint: str) -> bool:
    return endpoint in current_app.view_functions


def nav_items() -> list:
    user = g.get("user")
    if user is None:
        return []
    return [item for item in NAV if user.role in item.roles and has_endpoint(item.endpoint)]


def home_url() -> str:
    user = g.get("user")
    for endpoint in HOME.get(user.role if user else "", ()):
        if has_endpoint(endpoint):
            return url_for(endpoint)
    return url_for("auth.home")


def localtime(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored naive-UTC time as the configured zone shows it."""
    if value is None:
        return ""
    return to_local(value, hotline().tz).strftime(fmt)


def minutes_until(value: datetime | None) -> int | None:
    if value is None:
        return None
    return int((value - hotline().now()).total_seconds() // 60)


def name_of(thing) -> str:
    """A catalog row's name (service, district, category dict) in the page's language."""
    if thing is None:
        return ""
    zh, en = (thing.get("name_zh"), thing.get("name_en")) if isinstance(thing, dict) else (thing.name_zh, thing.name_en)
    return en if current_language() == "en" and en else zh


def contact(order):
    """The order's phone and address as the current user may see them (policy.CONTACT_POLICY)."""
    return contact_of(g.actor, order)


def init_app(app: Flask) -> None:
    app.jinja_env.globals.update(t=t, label=label, has_endpoint=has_endpoint, nav_items=nav_items,
                                 home_url=home_url, languages=LANGUAGES, current_language=current_language,
                                 minutes_until=minutes_until, name_of=name_of, contact=contact,
                                 phone_for=lambda phone: phone_for(g.actor, phone),
                                 event_actor=history.actor_of, audit_details=history.audit_details,
                                 quantity=quantity,
                                 menu_path=lambda path: menu_path(path, current_language()),
                                 event_details=lambda event: history.event_details(db(), event, hotline().tz))
    app.jinja_env.filters.update(yuan=lambda fen: "" if fen is None else yuan(fen), localtime=localtime)

    @app.context_processor
    def _user():
        return {"user": g.get("user"), "actor": g.get("actor"), "lang": current_language()}

    def _error_page(message: str, code: int):
        if wants_json():
            return {"error": message}, code
        return render_template("error.html", message=message, code=code), code

    @app.errorhandler(CSRFError)
    def _csrf(exc):
        log.warning("CSRF refused %s %s from %s: %s", request.method, request.path, request.remote_addr,
                    exc.description)
        return _error_page(t("error.csrf"), 400)

    @app.errorhandler(403)
    def _forbidden(_exc):
        return _error_page(t("error.forbidden"), 403)

    @app.errorhandler(404)
    def _not_found(_exc):
        return _error_page(t("error.not_found"), 404)

    @app.errorhandler(HotlineError)
    def _hotline_error(exc: HotlineError):
        # A view that did not catch a refusal itself: show tickets' message on a plain page.
        code = status_of(exc)
        log.info("%s %s refused (%s): %s", request.method, request.path, code, exc)
        return _error_page(refusals.message(exc), code)

    @app.errorhandler(StaleDataError)
    def _stale(exc: StaleDataError):
        # A versioned row changed by another request between this one's read and its commit.
        log.info("%s %s: concurrent change: %s", request.method, request.path, exc)
        return _error_page(refusals.message(ConcurrentChange(CONFLICT, what="this record")), 409)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        return _error_page(exc.description or exc.name, exc.code or 500)
