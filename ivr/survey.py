"""The outbound survey call (回访): a menu of the same engine as the inbound one, as data.

The platform places the call (tickets.outbound; AMI Originate into the dialplan's hotline-survey
context, whose FastAGI script is `survey`, or Twilio calls.create onto /twilio/voice/survey).
The start event names the outbound call (`outbound`) and, where the transport knows, who
answered (`answered_by`: Asterisk AMD's AMDSTATUS, Twilio's AnsweredBy). The customer hears their
order number and presses 1-5; the score is recorded by tickets.surveys.record (ratings, closing
the order, a complaint for a low score). A wrong key gets the choices again; no score after the
retries ends the call politely and the survey stays pending for the next attempt or the desk.
"""
from __future__ import annotations

from typing import Any, Callable

from tickets import actors, outbound, surveys
from tickets.errors import ConcurrentChange, HotlineError

from .menus import ENTRY, FALLBACK, HANGUP, MENU, Choice, Node
from .phrases import digits
from .runtime import Turn

ACTOR = actors.customer("survey call")
MACHINES = frozenset({"MACHINE", "machine_start", "machine_end_beep", "machine_end_silence", "machine_end_other",
                      "fax"})


def build_survey_menus() -> dict[str, Node]:
    """The survey call's nodes."""
    nodes = [
        Node(ENTRY, "action", action="survey_start"),
        Node("survey.score", MENU, ("survey.ask",),
             choices={str(n): Choice("survey.record", {"score": n}) for n in range(1, 6)},
             timeout_ms=8000, retries=2, on_fail=Choice("survey.noscore")),
        Node("survey.record", "action", action="survey_record"),
        Node("survey.noscore", HANGUP, ("survey.noscore", "bye"), outcome="ended"),
        Node("survey.done", HANGUP, ("survey.done", "bye"), outcome="ended"),
        Node("survey.machine", HANGUP, outcome="machine"),
        Node("survey.bye", HANGUP, ("bye",), outcome="survey"),
        Node(FALLBACK, HANGUP, ("bye",), outcome="failed"),
    ]
    return {n.name: n for n in nodes}


def survey_start(turn: Turn) -> str:
    """Find the survey, note that someone answered (or that a machine did), read the order number."""
    try:
        call, survey = outbound.survey_for_call(turn.session, int(turn.vars.get("outbound") or 0))
    except (HotlineError, ValueError):
        return FALLBACK
    if str(turn.vars.get("answered_by") or "") in MACHINES:
        outbound.answered_by_machine(turn.session, call, str(turn.vars["answered_by"]))
        return "survey.machine"
    outbound.mark_answered(turn.session, call, turn.state["call_id"])
    if survey.status != "pending":
        return "survey.done"
    turn.vars["order"] = survey.order.number
    turn.say("survey.intro", digits(survey.order.number))
    return "survey.score"


def survey_record(turn: Turn) -> str:
    """Record the score (tickets.surveys.record does the rest)."""
    _, survey = outbound.survey_for_call(turn.session, int(turn.vars["outbound"]))
    score = int(turn.vars["score"])
    if survey.status != "pending":
        return "survey.done"        # answered meanwhile (an SMS reply, the desk): that answer counts
    try:
        with turn.session.begin_nested():
            surveys.record(turn.session, survey.order, score, ACTOR, channel="phone")
    except ConcurrentChange:
        return "survey.done"        # answered at this very moment by the other channel
    turn.say("survey.thanks.low" if score <= surveys.COMPLAINT_AT_OR_BELOW else "survey.thanks")
    turn.vars["outcome"] = "survey"
    return "survey.bye"


SURVEY_ACTIONS: dict[str, Callable[..., Any]] = {f.__name__: f for f in (survey_start, survey_record)}


def survey_ivr(hl, **kw):
    """An `Ivr` running the survey menu."""
    from .runtime import Ivr
    return Ivr(hl, menus=build_survey_menus(), actions=SURVEY_ACTIONS, **kw)
