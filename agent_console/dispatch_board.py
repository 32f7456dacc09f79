"""The dispatch board (dispatchers, district managers): waiting orders by district, the engine's
suggestion with its reasons, manual choice, batch dispatch and reassignment; the late orders
escalated to the district managers (tickets.followup) on top, and the overdue list.

Single moves (dispatch to one franchisee, reassign) post to `orders.act`, the one place every
order move goes through; this blueprint shows the board and runs the batch.
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for

from tickets import board, dispatch, followup
from tickets import search as order_search
from tickets.errors import HotlineError, NotFound

from .app import db
from .i18n import t
from .pages import show_error
from .policy import AREAS
from .security import role_required

bp = Blueprint("dispatch", __name__, url_prefix="/dispatch")


def _render_board(code: int = 200):
    s = db()
    with s.begin():
        groups = board.board(s, g.actor)
        return render_template("dispatch/board.html", groups=groups, summary=board.summary(groups),
                               districts=board.district_choices(s, g.actor),
                               escalated=followup.escalated_rows(s, g.actor)), code


@bp.get("/", endpoint="board")
@role_required(AREAS["dispatch"])
def board_page():
    return _render_board()


@bp.get("/overdue", endpoint="overdue")
@role_required(AREAS["dispatch"])
def overdue_page():
    """Every order past one of its deadlines that the user may see: why, since when, what was done."""
    s = db()
    with s.begin():
        return render_template("dispatch/overdue.html", rows=followup.overdue_orders(s, g.actor))


@bp.post("/batch")
@role_required(AREAS["dispatch"])
def batch():
    numbers = request.form.getlist("numbers")
    if not numbers:
        flash(t("dispatch.batch_none"), "error")
        return _render_board(400)
    s = db()
    try:
        with s.begin():
            chosen = [order_search.visible_order(s, n, g.actor) for n in numbers]
            result = dispatch.batch_dispatch(s, chosen, g.actor)
    except NotFound:
        abort(404)
    except HotlineError as exc:
        return _render_board(show_error(exc))
    done = [n for n, fr in result.items() if fr]
    left = [n for n, fr in result.items() if not fr]
    flash(t("dispatch.batch_done", n=len(done)), "success")
    if left:
        flash(t("dispatch.batch_left", numbers=", ".join(left)), "warning")
    return redirect(url_for("dispatch.board"))
