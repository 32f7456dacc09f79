"""Log-in, log-out, log-out everywhere, the language switch and the landing page."""
from __future__ import annotations

import logging

from flask import Blueprint, flash, g, redirect, render_template, request, session, url_for

from tickets import accounts
from tickets.timeutil import to_local

from .app import db, hotline
from .i18n import LANGUAGES, t
from .pages import home_url, nav_items, safe_path
from .security import login_user, logout_user

log = logging.getLogger(__name__)
bp = Blueprint("auth", __name__)


@bp.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "GET":
        if g.user is not None:
            return redirect(home_url())
        return render_template("login.html", next=safe_path(request.args.get("next")))
    username = request.form.get("username", "")
    s = db()
    with s.begin():
        # The attempt row must commit even when the log-in is refused, so it is caught in here.
        try:
            user = accounts.authenticate(s, username, request.form.get("password", ""),
                                         request.remote_addr or "")
            refused = None
            login_user(s, user)
        except accounts.LoginRefused as exc:
            user, refused = None, exc
    if refused is not None:
        log.info("log-in refused for %r from %s: %s", username, request.remote_addr, refused.reason)
        if refused.reason == "locked":
            until = to_local(refused.until, hotline().tz).strftime("%H:%M:%S")
            flash(t("login.locked", until=until), "error")
            code = 429
        else:
            flash(t(f"login.{refused.reason}"), "error")
            code = 401 if refused.reason == "invalid" else 403
        return render_template("login.html", next=safe_path(request.form.get("next")), username=username), code
    log.info("log-in %s (%s) from %s", user.username, user.role, request.remote_addr)
    g.user = user
    flash(t("login.welcome", name=user.display_name or user.username), "info")
    return redirect(safe_path(request.form.get("next")) or home_url())


@bp.post("/logout")
def logout():
    s = db()
    with s.begin():
        logout_user(s)
    flash(t("login.logged_out"), "info")
    return redirect(url_for("auth.login"))


@bp.post("/logout/everywhere")
def logout_everywhere():
    s = db()
    with s.begin():
        accounts.logout_everywhere(s, g.user, g.actor)
        logout_user(s)
    flash(t("login.logged_out_everywhere"), "info")
    return redirect(url_for("auth.login"))


@bp.post("/language")
def set_language():
    lang = request.form.get("lang", "")
    if lang in LANGUAGES:
        session["lang"] = lang
    return redirect(safe_path(request.form.get("next")) or url_for("auth.home"))


@bp.get("/")
def home():
    target = home_url()
    if target != url_for("auth.home"):
        return redirect(target)
    return render_template("home.html", items=nav_items())
