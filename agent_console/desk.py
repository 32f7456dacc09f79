"""The callback and complaint desk: satisfaction calls after completion, and complaints to answer.

Recording a survey answer (tickets.surveys.record) closes the order; a score of 3 or less opens
a complaint there, not here. Complaints are listed overdue first, each linking to its page
(complaint_pages.py), where the franchisee's account and the platform's decision are.
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, send_file, url_for

from tickets import complaints, outbound, surveys
from tickets import search as order_search
from tickets.errors import HotlineError, NotFound, ValidationError
from tickets.models import Complaint

from .app import db, hotline
from .i18n import t
from .pages import show_error
from .policy import AREAS
from .security import role_required

bp = Blueprint("desk", __name__, url_prefix="/desk")


def _score(value: str | None) -> int:
    try:
        return int(value or "")
    except ValueError:
        raise ValidationError("choose a satisfaction score from 1 (very unhappy) to 5 (very happy); got {value!r}", value=value) from None


def _render_surveys(code: int = 200):
    s = db()
    with s.begin():
        waiting = surveys.waiting(s)
        return render_template("desk/surveys.html", waiting=waiting,
                               survey_calls=outbound.survey_calls_by_order(s, [o.id for o in waiting])), code


@bp.get("/", endpoint="surveys")
@role_required(AREAS["desk"])
def surveys_page():
    return _render_surveys()


def _render_survey(number: str, code: int = 200):
    s = db()
    with s.begin():
        order = order_search.visible_order(s, number, g.actor)
        return render_template("desk/survey.html", order=order), code


@bp.get("/survey/<number>")
@role_required(AREAS["desk"])
def survey_form(number: str):
    return _render_survey(number)


@bp.post("/survey/<number>")
@role_required(AREAS["desk"])
def record_survey(number: str):
    s = db()
    try:
        with s.begin():
            order = order_search.visible_order(s, number, g.actor)
            score = _score(request.form.get("score"))
            surveys.record(s, order, score, g.actor, comment=request.form.get("comment", ""), channel="phone")
    except NotFound:
        abort(404)
    except HotlineError as exc:
        code = show_error(exc)
        if request.form.get("back") == "list":
            return _render_surveys(code)
        return _render_survey(number, code)
    flash(t("desk.recorded", number=number), "success")
    if score <= surveys.COMPLAINT_AT_OR_BELOW:
        flash(t("desk.complaint_opened"), "warning")
    return redirect(url_for("desk.surveys"))


@bp.get("/complaints", endpoint="complaints")
@role_required(AREAS["complaints.read"])
def complaints_page():
    s = db()
    with s.begin():
        return render_template("desk/complaints.html", complaints=complaints.open_complaints(s, g.actor),
                               now=hotline().now())


@bp.get("/complaints/<int:complaint_id>/recording")
@role_required(AREAS["recordings"])
def recording(complaint_id: int):
    """The caller's voice complaint, for the page's audio player."""
    s = db()
    with s.begin():
        complaint = s.get(Complaint, complaint_id)
        if complaint is None:
            raise NotFound("no complaint {complaint_id}", complaint_id=complaint_id)
        source = complaints.recording_source(hotline().settings, complaint)
    if isinstance(source, str):
        return redirect(source)
    return send_file(source, mimetype="audio/wav", conditional=True)
