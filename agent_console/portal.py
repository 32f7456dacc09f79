"""The franchisee portal: the franchisee's own orders, its workload and ratings, platform notices.

Orders are found through tickets.search, which limits a franchisee to the orders dispatched
to it; their moves (accept, reject, assign, start, complete) post to `orders.act`.
"""
from __future__ import annotations

from flask import Blueprint, g, render_template, request

from tickets import franchisees, notices, scorecard
from tickets.reports import display
from tickets import search as order_search
from tickets.errors import ValidationError

from .app import db, hotline
from .pages import show_error
from .policy import AREAS
from .security import role_required

bp = Blueprint("portal", __name__, url_prefix="/portal")

# The portal's list, in the order a franchisee works through it.
SECTIONS = ("dispatched", "accepted", "rework", "in_service", "completed", "closed", "cancelled")


@bp.get("/", endpoint="orders")
@role_required(AREAS["portal"])
def orders_page():
    status = request.args.get("status", "open")
    s = db()
    with s.begin():
        code, found = 200, []
        try:
            found = order_search.find_orders(s, order_search.OrderFilter(status=status), g.actor)
        except ValidationError as exc:
            code = show_error(exc)
        # Each order offers only the workers whose skills cover its service.
        workers = {o.id: franchisees.workers_for(s, o) for o in found if o.status in ("accepted", "rework")}
        by_status = {st: [o for o in found if o.status == st] for st in SECTIONS}
        return render_template("portal/orders.html", by_status=by_status, sections=SECTIONS, status=status,
                               workers=workers, today=hotline().now().date()), code


@bp.get("/figures")
@role_required(AREAS["portal"])
def figures():
    s = db()
    with s.begin():
        return render_template("portal/figures.html", card=scorecard.scorecard(s, g.actor.franchisee_id),
                               today=hotline().now().date(), display=display)


@bp.get("/notices", endpoint="notices")
@role_required(AREAS["portal"])
def notices_page():
    s = db()
    with s.begin():
        return render_template("portal/notices.html", notices=notices.recent(s, 50))
