"""Twilio Voice webhooks: the voice menu over TwiML (the logic is in ivr.twilio).

Configure the number's "A call comes in" webhook as `POST <base>/twilio/voice` and its status
callback as `POST <base>/twilio/voice/status`. Every other URL is named by the TwiML itself:
`/twilio/voice/step?step=N` (the caller's keys or recording, or `&event=timeout` when nothing
came), `/twilio/voice/queue` (how the caller left the agents' queue) and
`/twilio/voice/prompts/<lang>/<key>.wav` (the generated prompt files `<Play>` fetches).
Calls the platform places (ivr/twilio_calls.py) come back to `/twilio/voice/survey?outbound=ID`
(the survey menu, then `/twilio/voice/survey/step`) and `/twilio/voice/outbound/status?outbound=ID`.

Each request is checked by `twilio_signed`, and each step runs exactly once per
(CallSid, step number): a replay gets the stored TwiML and does not advance the call twice.
"""
from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, request, send_file, url_for

from typing import Callable

from ivr import twilio_calls
from ivr.survey import survey_ivr
from ivr.runtime import unavailable_actions
from ivr.twilio import TWIML_TYPE, Links, TwilioVoice, document, event_from, render
from ivr.twilio_calls import TwilioDialer
from tickets.inputs import whole_number
from tickets.outbound import DIALER

from .app import db, hotline
from .webhooks import answer_errors, exactly_once, twilio_signed

bp = Blueprint("voice_hooks", __name__)

PROVIDER = "twilio-voice"
_VOICE = "ivr.twilio"
_SURVEY = "ivr.twilio.survey"
# Generated prompts change only when `hotline prompts build` runs again.
PROMPT_MAX_AGE = 3600


@bp.record_once
def _install(state) -> None:
    # One engine per app, built at start-up rather than on the first call (it loads the catalog).
    hl = state.app.extensions["hotline"]
    state.app.extensions[_VOICE] = TwilioVoice(hl)
    state.app.extensions[_SURVEY] = TwilioVoice(hl, ivr=survey_ivr(hl))
    if hl.settings.outbound_voice == "twilio":
        # The scheduler's outbound-calls job places survey calls and callbacks with it.
        hl.extensions.setdefault(DIALER, TwilioDialer(hl))


def voice() -> TwilioVoice:
    return current_app.extensions[_VOICE]


def survey_voice() -> TwilioVoice:
    """The survey menu (ivr/survey.py) over the same webhooks."""
    return current_app.extensions[_SURVEY]


def _links_to(endpoint: str) -> Callable[[int, str], Links]:
    def links(step: int, token: str) -> Links:
        # One url_for per endpoint, the queries by hand: this runs on every key press.
        answer = f"{url_for(endpoint)}?step={step}" + (f"&t={token}" if token else "")
        return Links(answer=answer, no_input=f"{answer}&event=timeout", queue_result=url_for(".queue_result"),
                     prompt=_prompt_url, queue_wait=url_for(".queue_wait"))
    return links


def _prompt_url(lang: str, key: str) -> str:
    return url_for(".prompt", lang=lang, key=key)


def _queue_links() -> Links:
    """The links of the hold's callback offer: its key goes to the callback endpoint."""
    callback = url_for(".queue_callback")
    return Links(answer=callback, no_input=callback, queue_result=url_for(".queue_result"), prompt=_prompt_url)


_links = _links_to(".step")
_survey_links = _links_to(".survey_step")


def _database_down() -> Response:
    """With the database out of reach, a caller in the menu hears an apology and goes to the
    agents' queue (a goodbye after hours: ivr.runtime.unavailable_actions), always as valid TwiML
    with 200; Twilio's other requests (status, queue events) get an empty document."""
    if request.endpoint in (f"{bp.name}.incoming", f"{bp.name}.step"):
        return Response(render(unavailable_actions(hotline()), _links(1, ""), voice().files),
                        content_type=TWIML_TYPE)
    return Response(document(""), content_type=TWIML_TYPE)


answer_errors(bp, twiml=True, database_down=_database_down)


def _call_sid() -> str:
    sid = request.form.get("CallSid", "")
    if not sid:
        abort(400, "CallSid is missing")
    return sid


@bp.post("/twilio/voice")
@twilio_signed
def incoming():
    """A new call: the first step of the menu."""
    sid = _call_sid()
    params = request.form.to_dict()
    return exactly_once(db(), PROVIDER, f"{sid}:0", lambda s: voice().incoming(s, params, _links))


@bp.post("/twilio/voice/step")
@twilio_signed
def step():
    """The caller's answer to a gather or record (or its absence): one step of the menu."""
    sid = _call_sid()
    number = whole_number(request.args.get("step"), "step (a step number from our own TwiML)", minimum=1)
    if number is None:
        abort(400, "step must be a step number from our own TwiML")
    token = request.args.get("t", "")
    event = event_from(request.args.get("event"), request.form)
    return exactly_once(db(), PROVIDER, f"{sid}:{number}",
                        lambda s: voice().step(s, sid, number, token, event, _links))


def _outbound_id() -> int:
    number = whole_number(request.args.get("outbound"), "outbound (a call id from our own URL)", minimum=1)
    if number is None:
        abort(400, "outbound must be the id of a call we placed")
    return number


@bp.post("/twilio/voice/survey")
@twilio_signed
def survey():
    """A survey call we placed (ivr/twilio_calls.py) was answered: the survey menu's first step."""
    sid = _call_sid()
    outbound_id = _outbound_id()
    params = request.form.to_dict()
    return exactly_once(db(), PROVIDER, f"{sid}:0",
                        lambda s: survey_voice().outbound(s, params, outbound_id, _survey_links))


@bp.post("/twilio/voice/survey/step")
@twilio_signed
def survey_step():
    """The customer's key in the survey menu (or its absence)."""
    sid = _call_sid()
    number = whole_number(request.args.get("step"), "step (a step number from our own TwiML)", minimum=1)
    if number is None:
        abort(400, "step must be a step number from our own TwiML")
    event = event_from(request.args.get("event"), request.form)
    return exactly_once(db(), PROVIDER, f"{sid}:{number}",
                        lambda s: survey_voice().step(s, sid, number, request.args.get("t", ""), event, _survey_links))


@bp.post("/twilio/voice/outbound/status")
@twilio_signed
def outbound_status():
    """The status callback of a call we placed: no answer, busy, failed, machine, or its end."""
    sid = _call_sid()
    outbound_id = _outbound_id()
    params = request.form.to_dict()
    return exactly_once(db(), PROVIDER, f"{sid}:outbound:{params.get('CallStatus', '')}"[:128],
                        lambda s: (twilio_calls.outbound_status(s, survey_voice(), params, outbound_id), "text/plain"))


@bp.post("/twilio/voice/queue/wait")
@twilio_signed
def queue_wait():
    """<Enqueue waitUrl>: the hold, offering key 1 for a callback in the caller's place. Not kept
    exactly-once: Twilio asks again and again while the caller holds, and it changes nothing."""
    params = request.form.to_dict()
    s = db()
    with s.begin():
        return Response(voice().queue_wait(s, params, _queue_links()), content_type=TWIML_TYPE)


@bp.post("/twilio/voice/queue/callback")
@twilio_signed
def queue_callback():
    """The holding caller's key: 1 puts them on the callback worklist and out of the queue."""
    sid = _call_sid()
    position = whole_number(request.args.get("position"), "position (from our own TwiML)", default=None)
    params = request.form.to_dict()
    return exactly_once(db(), PROVIDER, f"{sid}:queue-callback:{params.get('Digits', '')}"[:128],
                        lambda s: voice().queue_callback(s, params, position, _queue_links()))


@bp.post("/twilio/voice/queue")
@twilio_signed
def queue_result():
    """<Enqueue action>: the caller left the agents' queue."""
    sid = _call_sid()
    result, seconds = request.form.get("QueueResult", ""), request.form.get("QueueTime", "")
    return exactly_once(db(), PROVIDER, f"{sid}:queue",
                        lambda s: voice().queue_result(s, sid, result, seconds))


@bp.post("/twilio/voice/status")
@twilio_signed
def status():
    """The call's status callback: completes the call record."""
    sid = _call_sid()
    params = request.form.to_dict()
    return exactly_once(db(), PROVIDER, f"{sid}:status:{params.get('CallStatus', '')}"[:128],
                        lambda s: (voice().status(s, params), "text/plain"))


@bp.get("/twilio/voice/prompts/<lang>/<key>.wav")
def prompt(lang: str, key: str):
    """A generated prompt file for <Play>; public like any hold music, they hold no caller data."""
    path = voice().files.path(lang, key)
    if path is None:
        abort(404)
    return send_file(path, mimetype="audio/wav", max_age=PROMPT_MAX_AGE, conditional=True)
