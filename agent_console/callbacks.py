"""The callback worklist: callers who asked to be called back (after hours, or instead of holding
in the queue), in the order they would have been answered (tickets.outbound.worklist).

"Call" is click-to-call: tickets.outbound.start_callback queues the call, and the scheduler's
outbound-calls job has the platform ring the agent's extension (Asterisk AMI Originate) or
softphone (Twilio) within seconds, then the customer. The agent then records the outcome;
an unanswered callback is due again CALLBACK_RETRY_MINUTES later, up to CALLBACK_ATTEMPTS; a
caller marked do-not-call is flagged on the list and called once: no retry is scheduled.
"""
from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, url_for

from tickets import outbound
from tickets.errors import HotlineError
from tickets.models import User

from .app import db, hotline
from .forms import CallbackCallForm, CallbackOutcomeForm
from .i18n import t
from .pages import show_error
from .policy import AREAS
from .security import role_required

bp = Blueprint("callbacks", __name__, url_prefix="/callbacks")


def _render(code: int = 200):
    s = db()
    with s.begin():
        requests = outbound.worklist(s)
        return render_template("callbacks/worklist.html", requests=requests, now=hotline().now(),
                               do_not_call=outbound.do_not_call_requests(s, requests),
                               outcomes=outbound.CALLBACK_OUTCOMES), code


@bp.get("/", endpoint="worklist")
@role_required(AREAS["callbacks"])
def worklist():
    return _render()


@bp.post("/<int:request_id>/call")
@role_required(AREAS["callbacks"])
def call(request_id: int):
    """Click-to-call: the platform rings this user's extension, then the customer."""
    s = db()
    try:
        CallbackCallForm().checked()
        with s.begin():
            request = outbound.get_request(s, request_id)
            outbound.start_callback(s, request, s.get(User, g.actor.user_id), g.actor)
    except HotlineError as exc:
        return _render(show_error(exc))
    flash(t("callbacks.placing", id=request_id), "success")
    return redirect(url_for("callbacks.worklist"))


@bp.post("/<int:request_id>/outcome")
@role_required(AREAS["callbacks"])
def outcome(request_id: int):
    """How the callback went; an unanswered one is scheduled again."""
    s = db()
    try:
        form = CallbackOutcomeForm().checked()
        with s.begin():
            request = outbound.record_callback_outcome(s, outbound.get_request(s, request_id), form.outcome.data,
                                                       g.actor, notes=form.notes.data)
            status = request.status
            if status == "given-up" and outbound.do_not_call(s, request):
                status = "given-up-dnc"
    except HotlineError as exc:
        return _render(show_error(exc))
    flash(t("callbacks.recorded", id=request_id, status=t(f"callbacks.status_{status}")), "success")
    return redirect(url_for("callbacks.worklist"))
