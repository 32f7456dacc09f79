"""Complaint pages: take a complaint, read one with its history, file it by category, the platform's
decision (with compensation) and reopening, the list of closed complaints; and in the franchisee
portal, the franchisee's complaints and its account of each.

Every rule (who may decide, the franchisee concerned, the compensation's limits, which complaint
a user may see) is in tickets.complaints; these views read the form, call one function, and show
its refusal as a message.
"""
from __future__ import annotations

from typing import Callable

from flask import Blueprint, flash, g, redirect, render_template, request, url_for

from tickets import complaints
from tickets import search as order_search
from tickets.errors import HotlineError, ValidationError
from tickets.franchisees import franchisees
from tickets.inputs import whole_number
from tickets.phones import normalize

from .app import db, hotline
from .forms import (ComplaintAccountForm, ComplaintCategoryForm, ComplaintDecisionForm, ComplaintReopenForm,
                    NewComplaintForm, PostedForm)
from .i18n import t
from .orders import _date     # the search pages' reading of a typed date
from .pages import show_error
from .policy import AREAS
from .security import role_required

bp = Blueprint("complaints", __name__, url_prefix="/complaints")
portal = Blueprint("portal_complaints", __name__, url_prefix="/portal/complaints")

PER_PAGE = 25
PORTAL_LIST = "portal_complaints.list"
CLOSED_FIELDS = ("category", "franchisee", "date_from", "date_to", "compensated", "page")


# ---------------------------------------------------------------- take a complaint

def _render_new(values: dict, code: int = 200):
    return render_template("complaints/new.html", values=values, categories=complaints.CATEGORIES), code


@bp.get("/new")
@role_required(AREAS["complaints.open"])
def new():
    return _render_new({k: request.args.get(k, "").strip() for k in ("number", "phone")})


@bp.post("/new")
@role_required(AREAS["complaints.open"])
def create():
    form = NewComplaintForm()
    s = db()
    try:
        with s.begin():
            form.checked()
            order = order_search.visible_order(s, form.number.data, g.actor) if form.number.data else None
            if order is None and not form.phone.data:
                raise ValidationError("give the order number the complaint is about, or the complainant's phone number")
            phone = normalize(form.phone.data) if form.phone.data else order.phone
            c = complaints.open_complaint(s, actor=g.actor, source="agent", phone=phone, order=order,
                                          text=form.text.data, category_code=form.category.data)
            s.flush()
            cid = c.id
    except HotlineError as exc:
        return _render_new(form.typed(), show_error(exc))
    flash(t("complaint.opened", id=cid), "success")
    return redirect(url_for("complaints.detail", complaint_id=cid))


# ---------------------------------------------------------------- one complaint

def _render_detail(complaint_id: int, code: int = 200):
    s = db()
    with s.begin():
        c = complaints.get(s, complaint_id, g.actor)
        return render_template("complaints/detail.html", c=c, history=complaints.history(s, c),
                               categories=complaints.CATEGORIES, kinds=complaints.COMPENSATION_KINDS,
                               may_file=g.actor.role in AREAS["complaints.open"],
                               may_decide=g.actor.role in AREAS["complaints.decide"], now=hotline().now()), code


@bp.get("/<int:complaint_id>")
@role_required(AREAS["complaints.read"])
def detail(complaint_id: int):
    return _render_detail(complaint_id)


def _change(complaint_id: int, form: PostedForm, change: Callable, done: str):
    """Read `form`, apply `change(session, complaint, form)` to the complaint, and show the page again."""
    s = db()
    try:
        with s.begin():
            form.checked()
            change(s, complaints.get(s, complaint_id, g.actor), form)
    except HotlineError as exc:
        return _render_detail(complaint_id, show_error(exc))
    flash(t(done, id=complaint_id), "success")
    return redirect(url_for("complaints.detail", complaint_id=complaint_id))


@bp.post("/<int:complaint_id>/category")
@role_required(AREAS["complaints.open"])
def set_category(complaint_id: int):
    return _change(complaint_id, ComplaintCategoryForm(),
                   lambda s, c, f: complaints.set_category(s, c, f.category.data, g.actor), "complaint.saved")


@bp.post("/<int:complaint_id>/decide")
@role_required(AREAS["complaints.decide"])
def decide(complaint_id: int):
    return _change(complaint_id, ComplaintDecisionForm(),
                   lambda s, c, f: complaints.decide(s, c, f.answer.data, g.actor,
                                                     compensation_kind=f.compensation_kind.data,
                                                     compensation_fen=f.compensation.data),
                   "complaint.decided")


@bp.post("/<int:complaint_id>/reopen")
@role_required(AREAS["complaints.decide"])
def reopen(complaint_id: int):
    return _change(complaint_id, ComplaintReopenForm(),
                   lambda s, c, f: complaints.reopen(s, c, f.reason.data, g.actor), "complaint.reopened")


# ---------------------------------------------------------------- closed complaints

def _closed_page(template: str, endpoint: str):
    """The closed complaints `template` shows, filtered and paged by the query; `endpoint`: the page's own."""
    args = {k: request.args.get(k, "").strip() for k in CLOSED_FIELDS}
    s = db()
    with s.begin():
        code, found = 200, complaints.Page([], 0, 1, 1)
        try:
            flt = complaints.ClosedFilter(category=args["category"],
                                          franchisee_id=whole_number(args["franchisee"], "franchisee"),
                                          resolved_from=_date(args["date_from"], "from"),
                                          resolved_to=_date(args["date_to"], "to"),
                                          compensated=bool(args["compensated"]))
            found = complaints.closed(s, flt, g.actor, page=whole_number(args["page"], "page", minimum=1, default=1),
                                      per_page=PER_PAGE)
        except HotlineError as exc:
            code = show_error(exc)
        return render_template(template, args=args, found=found, categories=complaints.CATEGORIES, endpoint=endpoint,
                               franchisees=franchisees(s) if g.actor.role != "franchisee" else [],
                               unresolved=complaints.open_complaints(s, g.actor) if endpoint == PORTAL_LIST
                               else [], now=hotline().now()), code


@bp.get("/closed")
@role_required(AREAS["complaints.read"])
def closed():
    return _closed_page("complaints/closed.html", "complaints.closed")


# ---------------------------------------------------------------- the franchisee's side

@portal.get("/", endpoint="list")
@role_required(AREAS["portal"])
def portal_list():
    """The franchisee's unresolved complaints with a form for its account, then its closed ones."""
    return _closed_page("portal/complaints.html", PORTAL_LIST)


@portal.post("/<int:complaint_id>/account")
@role_required(AREAS["portal"])
def account(complaint_id: int):
    form = ComplaintAccountForm()
    s = db()
    try:
        with s.begin():
            form.checked()
            complaints.give_account(s, complaints.get(s, complaint_id, g.actor), form.account.data, g.actor)
    except HotlineError as exc:
        code = show_error(exc)
        return _closed_page("portal/complaints.html", PORTAL_LIST)[0], code
    flash(t("complaint.account_saved", id=complaint_id), "success")
    return redirect(url_for("portal_complaints.list"))
