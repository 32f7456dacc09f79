"""Residents' public pages, no log-in (security.PUBLIC_BLUEPRINTS), mobile first, zh/en:
order lookup with a one-time code (/lookup), the customer's own change or cancellation, and
online booking (/book).

Thin views over tickets.selfservice; the SMS with the code goes through sms.notices.send_code.
Every refusal is its own message in the page's language (PUBLIC_REFUSALS, then refusals.py),
never a 500. A verified lookup is remembered in the signed session cookie for
SELF_SERVICE_MINUTES, for that one order.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta

from flask import Blueprint, flash, redirect, render_template, request, session, url_for

from sqlalchemy import select

from sms import notices
from tickets import selfservice
from tickets.bookable import SLOTS, last_bookable_day
from tickets.errors import DuplicateBooking, HotlineError, NotFound
from tickets.models import Service
from tickets.numbers import parse_number
from tickets.otp import TTL, Check, TooManyCodes
from tickets.pricing import late_change_penalty
from tickets.timeutil import to_local

from . import refusals
from .app import db, hotline
from .customer_forms import BookingForm, ChangeForm, CodeForm, LookupForm
from .i18n import t
from .pages import status_of

bp = Blueprint("selfservice", __name__)

VERIFIED = "lookup"        # session key: {"number": ..., "until": ISO naive UTC}

# tickets' wording of the public pages' refusals -> i18n key (groups as a, b).
PUBLIC_REFUSALS: tuple[tuple[re.Pattern, str], ...] = tuple((re.compile(p), k) for p, k in (
    (r"^'(.*)' is not a work-order number; they are 10 digits, like (\d+)$", "public.err.number"),
    (r"^choose the day of the service$", "public.err.no_day"),
    (r"^choose a time: .*$", "public.err.slot"),
    (r"^(\S+) \w+ has passed; .*$", "public.err.past"),
    (r"^bookings are taken up to (\d+) days ahead, until (\S+); .*$", "public.err.too_far"),
    (r"^unknown service '(.*)'; .*$", "public.err.service"),
    (r"^write the address .*$", "public.err.address"),
    (r"^write the mobile number .*$", "public.err.phone_missing"),
    (r"^day '(.*)' is not a date; .*$", "public.err.bad_day"),
    (r"^quantity .*$", "public.err.quantity"),
    (r"^a code was sent less than a minute ago; wait until (\S+) .*$", "public.err.wait"),
    (r"^too many codes .*$", "public.err.too_many"),
))


def message(exc: HotlineError | str) -> str:
    """A refusal in the page's language."""
    text = str(exc)
    if isinstance(exc, DuplicateBooking):
        return t("public.err.duplicate", number=exc.number)
    for pattern, key in PUBLIC_REFUSALS:
        m = pattern.match(text)
        if m:
            return t(key, **dict(zip("ab", m.groups())))
    return refusals.message(exc)


def refuse(exc: HotlineError) -> int:
    flash(message(exc), "error")
    if isinstance(exc, TooManyCodes):
        return 429
    return 409 if isinstance(exc, DuplicateBooking) else status_of(exc)


def refuse_code(check: Check) -> int:
    flash(t(f"public.code.{check.reason}", tries=check.tries_left, minutes=int(TTL.total_seconds() // 60)), "error")
    return 400


def _remote() -> str:
    return request.remote_addr or ""


@bp.after_request
def _no_store(response):
    # An order looked up on a shared phone must not stay in its cache.
    response.headers["Cache-Control"] = "no-store"
    return response


# ---------------------------------------------------------------- lookup

@bp.get("/lookup")
def lookup():
    return render_template("public/lookup.html", number=request.args.get("number", "").strip())


@bp.post("/lookup")
def lookup_code():
    form = LookupForm()
    s = db()
    try:
        with s.begin():
            form.checked()
            number = parse_number(form.number.data)
            issued = selfservice.request_lookup_code(s, number, _remote())
            notices.send_code(s, issued, "lookup", number)
    except HotlineError as exc:
        code = refuse(exc)      # flashed before the page is rendered, so it shows on it
        return render_template("public/lookup.html", number=form.number.data), code
    return render_template("public/code.html", number=number, minutes=int(TTL.total_seconds() // 60))


@bp.post("/lookup/verify")
def lookup_verify():
    form = CodeForm()
    s = db()
    try:
        with s.begin():
            form.checked()
            check = selfservice.verify_lookup_code(s, form.number.data, form.code.data)
            number = form.number.data
    except HotlineError as exc:
        code = refuse(exc)      # flashed before the page is rendered, so it shows on it
        return render_template("public/lookup.html", number=form.number.data), code
    if not check.ok:
        code = refuse_code(check)
        return render_template("public/code.html", number=number, minutes=int(TTL.total_seconds() // 60)), code
    until = hotline().now() + timedelta(minutes=hotline().settings.self_service_minutes)
    session[VERIFIED] = {"number": number, "until": until.isoformat()}
    return redirect(url_for("selfservice.order"))


def _verified_number() -> str | None:
    """The order this browser proved its phone for, while that lasts."""
    v = session.get(VERIFIED)
    if not isinstance(v, dict):
        return None
    try:
        until = datetime.fromisoformat(v.get("until", ""))
    except (TypeError, ValueError):
        return None
    return v.get("number") if until > hotline().now() else None


def _render_order(number: str, code: int = 200, **extra):
    s = db()
    with s.begin():
        p = selfservice.progress(s, number)
        return render_template("public/order.html", p=p, order=p.order, slots=SLOTS,
                               today=to_local(hotline().now(), hotline().tz).date(),
                               last_day=last_bookable_day(hotline()), **extra), code


@bp.get("/lookup/order")
def order():
    number = _verified_number()
    if number is None:
        flash(t("public.verify_first"), "info")
        return redirect(url_for("selfservice.lookup"))
    try:
        return _render_order(number)
    except NotFound:
        session.pop(VERIFIED, None)
        flash(t("public.verify_first"), "info")
        return redirect(url_for("selfservice.lookup"))


@bp.post("/lookup/order")
def change():
    number = _verified_number()
    if number is None:
        flash(t("public.verify_first"), "info")
        return redirect(url_for("selfservice.lookup"))
    form = ChangeForm()
    if form.action.data not in selfservice.CUSTOMER_MOVES:
        flash(t("public.err.action"), "error")
        return _render_order(number, 400)
    s = db()
    try:
        with s.begin():
            form.checked()
            start = selfservice.slot_start(s, form.day.data, form.slot.data) if form.action.data == "reschedule" else None
            if not form.confirmed.data:
                order = selfservice.progress(s, number).order
                penalty = late_change_penalty(order.price_total_fen, order.scheduled_start, hotline().now())
                return render_template("public/confirm.html", order=order, action=form.action.data, start=start,
                                       penalty=penalty, form=form)
            if start is not None:
                selfservice.reschedule(s, number, start)
            else:
                selfservice.cancel(s, number)
    except HotlineError as exc:
        return _render_order(number, refuse(exc))
    flash(t(f"public.done.{form.action.data}", number=number), "success")
    return redirect(url_for("selfservice.order"))


# ---------------------------------------------------------------- online booking

def _render_book(values: dict, code: int = 200):
    s = db()
    with s.begin():
        services = list(s.scalars(select(Service).where(Service.active)
                                  .order_by(Service.category_digit, Service.menu_digit)))
        return render_template("public/book.html", values=values, services=services, slots=SLOTS,
                               today=to_local(hotline().now(), hotline().tz).date(),
                               last_day=last_bookable_day(hotline())), code


@bp.get("/book")
def book():
    return _render_book({k: request.args.get(k, "").strip() for k in ("service", "day", "slot")})


@bp.post("/book")
def book_code():
    form = BookingForm()
    s = db()
    try:
        with s.begin():
            form.checked()
            back, issued = selfservice.request_booking_code(s, form.request(), _remote())
            notices.send_code(s, issued, "booking")
            return render_template("public/readback.html", back=back, values=form.typed(),
                                   minutes=int(TTL.total_seconds() // 60))
    except HotlineError as exc:
        return _render_book(form.typed(), refuse(exc))


@bp.post("/book/confirm")
def book_confirm():
    form = BookingForm()
    s = db()
    try:
        with s.begin():
            form.checked()
            result = selfservice.confirm_booking(s, form.request(), form.code.data)
            if isinstance(result, Check):
                code = refuse_code(result)
                back = selfservice.readback(s, form.request())
                return render_template("public/readback.html", back=back, values=form.typed(),
                                       minutes=int(TTL.total_seconds() // 60)), code
            return render_template("public/booked.html", order=result)
    except HotlineError as exc:
        return _render_book(form.typed(), refuse(exc))
