"""Work orders: search, create (also prefilled by the screen-pop), detail with timeline, and moves.

Every move goes to tickets (workflow.transition, dispatch.*, board.*), which checks the role
and the state again; the page only offers what `workflow.allowed_actions` allows the user.
Rescheduling and cancelling show the 72-hour penalty on a confirmation step first.
"""
from __future__ import annotations

from datetime import date, timedelta
from typing import Callable

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for

from tickets import board, cards, customers, dispatch, franchisees, orders, workflow
from tickets import search as order_search
from tickets.errors import DuplicateBooking, HotlineError, NotFound, ValidationError
from tickets.inputs import must_exist, whole_number
from tickets.models import Call, District, Franchisee, Worker
from tickets.money import parse_yuan
from tickets.pricing import late_change_penalty
from tickets.timeutil import to_local

from .app import db, hotline
from .choices import form_choices
from .forms import NewOrderForm
from .i18n import t
from .pages import home_url, safe_path, show_error
from .policy import AREAS
from .security import role_required

bp = Blueprint("orders", __name__, url_prefix="/orders")

# Moves that show the late-change penalty before they are applied.
CONFIRM_FIRST = ("reschedule", "cancel")
# Moves made elsewhere: closing needs the survey answer (callback desk); expiry is the watchdog's.
NOT_HERE = ("close", "expire")
# The form fields each move asks for (the page renders them; the view reads them).
ACTION_FIELDS: dict[str, tuple[str, ...]] = {
    "confirm": (), "dispatch": ("franchisee_id",), "accept": (), "reject": ("reason",),
    "recall": ("reason", "franchisee_id"), "assign_worker": ("worker_id",), "start": ("reason",),
    "complete": ("final_price", "notes"), "reschedule": ("when",), "cancel": ("reason",),
    "rework": ("reason",), "note": ("text",),
}
SEARCH_FIELDS = ("number", "phone", "name", "status", "district", "service", "date_from", "date_to")
PREFILL_FIELDS = ("phone", "name", "address", "service", "call_id", "when", "quantity", "notes", "district")


def _date(value: str, name: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationError("{name} {value!r} is not a date; write YYYY-MM-DD, e.g. 2026-12-01", name=name, value=value) from None


# ---------------------------------------------------------------- search

@bp.get("/")
@role_required(AREAS["orders.read"])
def search():
    args = {k: request.args.get(k, "").strip() for k in SEARCH_FIELDS}
    s = db()
    with s.begin():
        code, results = 200, []
        try:
            f = order_search.OrderFilter(number=args["number"], phone=args["phone"], name=args["name"],
                                         status=args["status"], district_id=whole_number(args["district"], "district"),
                                         service=args["service"], date_from=_date(args["date_from"], "from"),
                                         date_to=_date(args["date_to"], "to"))
            results = order_search.find_orders(s, f, g.actor)
        except (ValidationError, NotFound) as exc:
            code = show_error(exc)
        return render_template("orders/search.html", args=args, results=results, limit=order_search.LIMIT,
                               # A district manager filters among their own districts only.
                               choices={**form_choices(s), "districts": board.district_choices(s, g.actor)}), code


# ---------------------------------------------------------------- create

@bp.get("/new")
@role_required(AREAS["orders.create"])
def new():
    values = {k: request.args.get(k, "").strip() for k in PREFILL_FIELDS}
    if not values["when"]:
        # Most bookings are for a coming morning: offer tomorrow 09:00 local time.
        tomorrow = to_local(hotline().now(), hotline().tz).date() + timedelta(days=1)
        values["when"] = f"{tomorrow.isoformat()}T09:00"
    return _render_new(values)


def _render_new(values: dict, code: int = 200):
    s = db()
    with s.begin():
        known = None
        if values.get("phone"):
            try:
                known = customers.find_by_phone(s, values["phone"])
            except ValidationError:
                known = None       # the number is checked (with its message) when the form is sent
        if known is not None and not values.get("name"):
            values["name"] = known.name
        if known is not None and not values.get("address") and known.default_address:
            values["address"] = known.default_address.text
        return render_template("orders/new.html", values=values, known=known,
                               choices=form_choices(s)), code


@bp.post("/new")
@role_required(AREAS["orders.create"])
def create():
    form = NewOrderForm()
    s = db()
    try:
        with s.begin():
            form.checked()
            call = None
            if form.call_id.data is not None:
                call = s.get(Call, form.call_id.data)
                if call is None:
                    raise NotFound("no call {data} to link; open the form from the call's card again", data=form.call_id.data)
            order = orders.book(
                s, phone=form.phone.data, service=form.service.data,
                start=orders.parse_when(form.when.data.replace("T", " "), hotline().tz), actor=g.actor,
                channel="agent", address=form.address.data or None, district_id=must_exist(s, District, form.district.data, "district"),
                quantity=form.quantity.data, urgent=True if form.urgent.data else None,
                name=form.name.data, notes=form.notes.data, call=call, auto_dispatch=form.dispatch_now.data,
                allow_duplicate=form.allow_duplicate.data)
            number = order.number
    except DuplicateBooking as exc:
        flash(t("order.duplicate", number=exc.number), "error")
        return _render_new({**form.typed(), "duplicate_of": exc.number}, 409)
    except HotlineError as exc:
        return _render_new(form.typed(), show_error(exc))
    flash(t("order.created", number=number), "success")
    return redirect(url_for("orders.detail", number=number))


# ---------------------------------------------------------------- detail

def _render_detail(number: str, code: int = 200):
    s = db()
    with s.begin():
        file = order_search.order_file(s, number, g.actor)
        order = file.order
        actions = [a for a in workflow.allowed_actions(order, g.actor) if a not in NOT_HERE]
        ranked, why_none = dispatch.candidates(s, order) if "dispatch" in actions or "recall" in actions else ([], "")
        # Reassigning offers the others: the current holder is excluded once it is recalled.
        ranked = [c for c in ranked if c.franchisee.id != order.franchisee_id]
        workers = franchisees.workers_for(s, order) if "assign_worker" in actions else []
        may_set_district = order.status == "new" and "confirm" in actions
        return render_template("orders/detail.html", order=order, actions=actions, fields=ACTION_FIELDS,
                               candidates=ranked, why_none=why_none, workers=workers,
                               districts=board.district_choices(s, g.actor) if may_set_district else [],
                               may_set_district=may_set_district, survey=file.survey, complaints=file.complaints,
                               call=file.call, today=hotline().now().date()), code


@bp.get("/<number>")
@role_required(AREAS["orders.read"])
def detail(number: str):
    return _render_detail(number)


# ---------------------------------------------------------------- moves

def _franchisee(s, value: str | None) -> Franchisee | None:
    fid = whole_number(value, "franchisee")
    if fid is None:
        return None
    fr = s.get(Franchisee, fid)
    if fr is None:
        raise ValidationError("no franchisee {fid}; choose one from the list", fid=fid)
    return fr


def _worker(s, value: str | None) -> Worker:
    wid = whole_number(value, "worker")
    w = s.get(Worker, wid) if wid is not None else None
    if w is None:
        raise ValidationError("choose the worker to assign")
    return w


def _when(value: str):
    return orders.parse_when((value or "").replace("T", " "), hotline().tz)


def _complete(s, order, actor, form):
    final = parse_yuan(form.get("final_price", ""), "final price")
    if form.get("pay_by_card"):
        # The order's version names this completion: a second submit of the same form pays nothing.
        return cards.complete_and_pay(s, order, actor, final_price_fen=final, notes=form.get("notes", ""),
                                      key=f"complete-{order.id}-{order.version}")
    return workflow.transition(s, order, "complete", actor, final_price_fen=final, notes=form.get("notes", ""))


# action -> what applying it means in tickets, given the session, order, actor and form.
APPLY: dict[str, Callable] = {
    "dispatch": lambda s, o, a, f: dispatch.dispatch(s, o, a, _franchisee(s, f.get("franchisee_id"))),
    "reject": lambda s, o, a, f: dispatch.release_and_redispatch(s, o, "reject", a, reason=f.get("reason", "")),
    "recall": lambda s, o, a, f: board.reassign(s, o, a, f.get("reason", ""), _franchisee(s, f.get("franchisee_id"))),
    "assign_worker": lambda s, o, a, f: workflow.transition(s, o, "assign_worker", a, worker=_worker(s, f.get("worker_id"))),
    "complete": lambda s, o, a, f: _complete(s, o, a, f),
    "reschedule": lambda s, o, a, f: workflow.transition(s, o, "reschedule", a, when=_when(f.get("when", ""))),
}


# Moves after which the order may be left without a franchisee (nobody could take it).
REDISPATCHING = ("dispatch", "reject", "recall")


def _apply(s, order, action: str, form):
    if action in APPLY:
        return APPLY[action](s, order, g.actor, form)
    params = {k: form.get(k, "") for k in ACTION_FIELDS.get(action, ()) if k in ("reason", "text")}
    return workflow.transition(s, order, action, g.actor, **params)


@bp.post("/<number>/act")
@role_required(AREAS["orders.act"])
def act(number: str):
    action = request.form.get("action", "")
    if action not in ACTION_FIELDS:
        flash(t("order.unknown_action", action=action), "error")
        return _render_detail(number, 400)
    s = db()
    try:
        if action in CONFIRM_FIRST and not request.form.get("confirmed"):
            with s.begin():
                order = order_search.visible_order(s, number, g.actor)
                if action in workflow.allowed_actions(order, g.actor):
                    # Check the input now so the confirmation step does not hide a mistake.
                    new_when = _when(request.form.get("when", "")) if action == "reschedule" else None
                    if action == "cancel" and not request.form.get("reason", "").strip():
                        raise ValidationError("cancel of order {number} needs a reason", number=order.number)
                    penalty = late_change_penalty(order.price_total_fen, order.scheduled_start, hotline().now())
                    return render_template("orders/confirm.html", order=order, action=action, penalty=penalty,
                                           form=request.form, new_when=new_when)
        with s.begin():
            order = order_search.visible_order(s, number, g.actor)
            result = _apply(s, order, action, request.form)
            unassigned = order.unassigned_reason if action in REDISPATCHING and result is None else None
            # A franchisee that rejected the order no longer sees it: do not send it to a 404.
            still_visible = order_search.may_see(g.actor, order)
    except NotFound:
        abort(404)
    except HotlineError as exc:
        return _render_detail(number, show_error(exc))
    flash(t("order.done", action=t(f"action.{action}"), number=number), "success")
    if unassigned is not None:
        flash(t("order.unassigned", reason=unassigned or t("common.none")), "warning")
    return redirect(safe_path(request.form.get("back"))
                    or (url_for("orders.detail", number=number) if still_visible else home_url()))


@bp.post("/<number>/district")
@role_required(AREAS["orders.act"])
def set_district(number: str):
    s = db()
    try:
        with s.begin():
            order = order_search.visible_order(s, number, g.actor)
            district_id = whole_number(request.form.get("district_id"), "district")
            district = s.get(District, district_id) if district_id is not None else None
            if district is None:
                raise ValidationError("choose the district the address is in")
            fr = board.set_district(s, order, district, g.actor)
            unassigned = order.unassigned_reason if fr is None else None
    except NotFound:
        abort(404)
    except HotlineError as exc:
        return _render_detail(number, show_error(exc))
    flash(t("order.district_set", number=number), "success")
    if unassigned is not None:
        flash(t("order.unassigned", reason=unassigned or t("common.none")), "warning")
    return redirect(safe_path(request.form.get("back")) or url_for("orders.detail", number=number))
