"""The Twilio Voice transport: each webhook request is one engine step, its actions become TwiML.

Twilio asks for a document, plays it, and posts the caller's answer to the URL the document
names, so a call is a chain of requests that any web process may serve. Step `n` loads the
state that step `n - 1` saved (`ivr/callstate.py`), runs `Ivr.step` inside the webhook's own
transaction (the caller keeps it exactly-once: state, receipt and the engine's writes commit
together), saves the new state for step `n + 1`, and answers with TwiML whose URLs carry
`n + 1`. The web layer (`agent_console/voice_hooks.py`) supplies the URLs; nothing here knows
Flask.

Actions -> TwiML (docs/ivr-contract.md):
- `play`: `<Play>` of the generated prompt files when every prompt of the sentence has one and
  no segment carries its own text, else one `<Say>` of the sentence's text;
- `gather`: `<Gather>` around the prompt, then a `<Redirect>` that reports no input;
- `record`: the prompt, `<Record>`, then the same no-input `<Redirect>`;
- `transfer`: `<Enqueue>` into the agents' queue (a member with a queue priority into that
  priority's queue, `twilio_queue`), and the caller's card offered to an agent;
- `hangup`: `<Hangup/>`.
"""
from __future__ import annotations

import html
import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

from sqlalchemy.orm import Session

from tickets import calls, outbound
from tickets.bus import publish_after_commit
from tickets.context import Hotline
from tickets.errors import ValidationError
from tickets.inputs import whole_number

from . import hours, phrases, prompts
from .callstate import CallStates, call_states
from .menus import QUEUE
from .runtime import PRIORITY_VAR, Ivr

log = logging.getLogger(__name__)

TRANSPORT = "twilio"
PRIORITY_QUEUE = "-p"       # agents-p2: the Twilio queue of callers of queue priority 2

# How <Say> speaks each engine language. The default voices (man/woman) speak no Chinese;
# alice speaks zh-CN and en-US.
SAY = {"zh": {"language": "zh-CN", "voice": "alice"},
       "en": {"language": "en-US", "voice": "alice"}}

# What Twilio puts in `From` when the caller withheld their number ("266696687" spells ANONYMOUS
# on a keypad; it would otherwise parse as a real number in Lesotho).
WITHHELD = frozenset({"+266696687", "266696687"})

# CallStatus of the status callback -> how the call ended when the IVR had not finished it yet.
# Statuses not listed (queued, ringing, in-progress) are progress reports with nothing to record.
FINAL_STATUSES = {"completed": "ended", "canceled": "abandoned", "busy": "busy", "no-answer": "no-answer",
                  "failed": "failed"}

# Call.abandoned_at of a caller who hung up while waiting for an agent (as the AMI listener writes it).
ABANDONED_IN_QUEUE = "queue"

# A holding caller who pressed 1 to be called back (Call.queue_result; tickets.outbound).
CALLBACK_RESULT = "callback"
# Seconds of hold after each callback offer before it is made again.
CALLBACK_OFFER_EVERY_S = 30

# QueueResult of <Enqueue action> -> Call.queue_result.
QUEUE_RESULTS = {"bridged": "answered", "bridging-in-process": "answered", "hangup": "abandoned",
                 "leave": "left", "redirected": "redirected", "redirected-from-bridged": "answered",
                 "queue-full": "busy", "error": "failed", "system-error": "failed"}


@dataclass(frozen=True)
class Links:
    """The URLs one TwiML answer sends Twilio to (built by the web layer)."""
    answer: str                          # gather/record action: the caller's keys or recording
    no_input: str                        # <Redirect> after a gather or record that got nothing
    queue_result: str                    # <Enqueue action>: how the caller left the queue
    prompt: Callable[[str, str], str]    # (lang, key) -> URL of the generated prompt file
    queue_wait: str | None = None        # <Enqueue waitUrl>: what a holding caller hears (the callback offer)


class PromptFiles:
    """Which generated prompt files exist under PROMPTS_DIR; re-read when a language folder changes."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._folders = {lang: str(root / lang) for lang in prompts.LANGS}
        self._seen: dict[str, tuple[int, frozenset[str]]] = {}

    def built(self, lang: str) -> frozenset[str]:
        """The keys of the prompts built for `lang` (empty when there is no such folder)."""
        folder = self._folders.get(lang)
        if folder is None:
            return frozenset()
        try:
            mtime = os.stat(folder).st_mtime_ns
        except OSError:
            return frozenset()
        seen = self._seen.get(lang)
        if seen is None or seen[0] != mtime:
            # A folder's mtime moves when `hotline prompts build` adds, removes or renames files.
            seen = (mtime, frozenset(entry.name[:-4] for entry in os.scandir(folder) if entry.name.endswith(".wav")))
            self._seen[lang] = seen
        return seen[1]

    def path(self, lang: str, key: str) -> Path | None:
        """The file of a prompt, or None when it was never built (or the names are not ours)."""
        if lang not in prompts.LANGS or key not in self.built(lang):
            return None
        return self.root / lang / f"{key}.wav"


# ------------------------------------------------------------------------- actions -> TwiML
# Written as text: this runs on every key press, and twilio's TwiML objects serialised through
# ElementTree cost about four times as much for the same document.
# tests/twilio/test_twiml_library.py holds these documents equal to what twilio's VoiceResponse writes.

XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>'
# The Content-Type of every TwiML answer: text/xml without a charset means US-ASCII to a strict
# reader (RFC 7303), and the prompts are Chinese.
TWIML_TYPE = "text/xml; charset=utf-8"


def escape(text: str) -> str:
    """`text` as the content of an XML element."""
    return html.escape(text, quote=False)


def element(tag: str, attrs: Mapping[str, Any] | None = None, content: str = "") -> str:
    """One TwiML element; `content` is XML already (escaped text or elements), attributes are escaped here.

    Attributes are written in the order given; the verbs below give them in alphabetical order,
    so the documents read exactly as twilio's library writes them.
    """
    attributes = "".join(f' {name}="{html.escape(str(value))}"' for name, value in (attrs or {}).items()
                         if value is not None)
    return f"<{tag}{attributes}>{content}</{tag}>" if content else f"<{tag}{attributes} />"


def document(content: str) -> str:
    """The whole TwiML answer around `content`."""
    return XML_DECLARATION + element("Response", None, content)


def _say(text: str, lang: str) -> str:
    return element("Say", SAY[lang], escape(text))


def _speak(action: Mapping[str, Any], links: Links, files: PromptFiles) -> str:
    """What `action` says: prompt files when all exist, else the sentence as <Say>."""
    lang = action.get("lang") or "zh"
    segments = action.get("segments") or []
    text = action.get("text", "")
    if not segments and not text:
        return ""
    built = files.built(lang)
    # A segment with its own text (a caller's name) left it out of `segments`: only <Say> has it.
    if (segments and all(seg["prompt"] in built for seg in segments if "prompt" in seg)
            and phrases.render(segments, lang)[1] == text):
        return "".join(element("Play", None, escape(links.prompt(lang, seg["prompt"]))) if "prompt" in seg
                       else _say(phrases.segment_text(seg, lang), lang) for seg in segments)
    return _say(text, lang)


def _gather(action, links: Links, files: PromptFiles) -> str:
    gather = element("Gather", {"action": links.answer, "finishOnKey": action.get("finish_on_key", "#"),
                                "input": "dtmf", "method": "POST", "numDigits": action.get("max_digits") or None,
                                "timeout": max(1, math.ceil((action.get("timeout_ms") or 5000) / 1000))},
                     _speak(action, links, files))
    # <Gather> falls through to the next verb when the caller pressed nothing.
    return gather + _no_input(links)


def _record(action, links: Links, files: PromptFiles) -> str:
    record = element("Record", {"action": links.answer, "finishOnKey": "#",
                                "maxLength": action.get("max_seconds") or 60, "method": "POST", "playBeep": "true"})
    # Twilio skips the action and falls through when the recording is empty.
    return _speak(action, links, files) + record + _no_input(links)


def _no_input(links: Links) -> str:
    return element("Redirect", {"method": "POST"}, escape(links.no_input))


def twilio_queue(action: Mapping[str, Any]) -> str:
    """The Twilio queue a transfer enqueues into. <Enqueue> has no caller priority, so a caller
    whose member level gives one waits in a queue of that priority (`agents-p2`), and an agent's
    softphone takes the highest-priority queue that has someone waiting (twilio_agents.next_queue)."""
    queue = action.get("queue") or QUEUE
    priority = int((action.get("variables") or {}).get(PRIORITY_VAR) or 0)
    return f"{queue}{PRIORITY_QUEUE}{priority}" if priority > 0 else queue


def _transfer(action, links: Links, files: PromptFiles) -> str:
    return element("Enqueue", {"action": links.queue_result, "method": "POST", "waitUrl": links.queue_wait,
                               "waitUrlMethod": "POST" if links.queue_wait else None},
                   escape(twilio_queue(action)))


def _hangup(action, links: Links, files: PromptFiles) -> str:
    return element("Hangup")


VERBS: dict[str, Callable[[Mapping[str, Any], Links, PromptFiles], str]] = {
    "play": _speak, "gather": _gather, "record": _record, "transfer": _transfer, "hangup": _hangup,
}
HANGUP = document(element("Hangup"))


def render(actions: list[Mapping[str, Any]], links: Links, files: PromptFiles) -> str:
    """The TwiML document for one step's actions."""
    return document("".join(VERBS[action["type"]](action, links, files) for action in actions))


def event_from(query_event: str | None, form: Mapping[str, str]) -> dict[str, Any]:
    """The engine event a gather/record action or no-input redirect posted."""
    if query_event == "timeout":
        return {"type": "timeout"}
    if form.get("RecordingUrl"):
        try:
            duration_ms = 1000 * whole_number(form.get("RecordingDuration"), "RecordingDuration", default=0)
        except ValidationError as exc:
            log.warning("twilio: %s", exc)
            duration_ms = 0     # the engine asks again for a recording of no known length
        return {"type": "recorded", "file": form["RecordingUrl"], "duration_ms": duration_ms}
    keys = (form.get("Digits") or "").strip()
    return {"type": "digits", "digits": keys} if keys else {"type": "timeout"}


def caller_id(params: Mapping[str, str]) -> str:
    """The caller's number as Twilio gave it, empty when withheld."""
    caller = params.get("From", "")
    return "" if caller in WITHHELD else caller


# ------------------------------------------------------------------------- the call, step by step

class TwilioVoice:
    """The voice menu over Twilio webhooks; one per process, safe to share between threads."""

    def __init__(self, hl: Hotline, ivr: Ivr | None = None, states: CallStates | None = None) -> None:
        self.hl = hl
        self.ivr = ivr or Ivr(hl)
        self.states = states or call_states(hl)
        self.files = PromptFiles(Path(hl.settings.prompts_dir).resolve())

    def incoming(self, session: Session, params: Mapping[str, str],
                 links_for: Callable[[int, str], Links]) -> str:
        """Step 0: a new call (POST /twilio/voice). Answers the TwiML of the menu's first prompt."""
        event = {"type": "start", "call_id": params["CallSid"], "caller": caller_id(params),
                 "transport": TRANSPORT, "dnid": params.get("To", "")}
        state, actions = self.ivr.step(None, event, session)
        return self._answer(session, params["CallSid"], 0, state, actions, links_for)

    def outbound(self, session: Session, params: Mapping[str, str], outbound_id: int,
                 links_for: Callable[[int, str], Links]) -> str:
        """Step 0 of a call the platform placed (ivr/twilio_calls.py): the customer, `To`, answered;
        Twilio's AnsweredBy (machine detection) goes to the menu with the outbound call's id."""
        event = {"type": "start", "call_id": params["CallSid"], "caller": params.get("To", ""),
                 "transport": TRANSPORT, "outbound": outbound_id, "answered_by": params.get("AnsweredBy", "")}
        state, actions = self.ivr.step(None, event, session)
        return self._answer(session, params["CallSid"], 0, state, actions, links_for)

    def step(self, session: Session, call_sid: str, step: int, token: str, event: dict[str, Any],
             links_for: Callable[[int, str], Links]) -> str:
        """Step `step` >= 1: the caller's answer to the previous step's gather or record."""
        state = self.states.load(session, call_sid, step, token)
        if state is None:
            log.error("twilio call %s: no IVR state for step %s; handing the caller on without the menu",
                      call_sid, step)
            return self._lost(session, call_sid, step, links_for)
        state, actions = self.ivr.step(state, event, session)
        return self._answer(session, call_sid, step, state, actions, links_for)

    def queue_result(self, session: Session, call_sid: str, result: str, queue_seconds: str) -> str:
        """<Enqueue action>: the caller left the queue (served by an agent, hung up, an error...)."""
        call = calls.get_call(session, call_sid)
        if call is None:
            log.warning("twilio call %s: queue result %r for a call we have no record of", call_sid, result)
        else:
            if call.queue_result != CALLBACK_RESULT:    # left to be called back: the wait URL said so
                call.queue_result = QUEUE_RESULTS.get(result, result[:16])
            call.hold_seconds = whole_number(queue_seconds, "QueueTime", default=call.hold_seconds)
            summary = {"call_id": call.id, "external_id": call_sid, "queue": call.queue or QUEUE,
                       "hold_seconds": call.hold_seconds}
            if call.queue_result == "abandoned":
                calls.caller_left_queue(session, call, summary, abandoned_at=ABANDONED_IN_QUEUE)
            elif call.queue_result == "answered":
                calls.finish_call(session, call, "agent")
                publish_after_commit(session, "call.completed", summary)
        # Whoever is still on the line after leaving the queue has been served or failed: end cleanly.
        return HANGUP

    def queue_wait(self, session: Session, params: Mapping[str, str], links: Links) -> str:
        """<Enqueue waitUrl>: while holding, the caller hears that key 1 keeps their place and ends
        the call (asked again each time Twilio comes back for more, after the gather's silence);
        the key goes to `links.answer`."""
        lang = self._language(session, params.get("CallSid", ""))
        segments, text = phrases.render([phrases.prompt("queue.callback.offer")], lang)
        offer = {"segments": segments, "text": text, "lang": lang}
        position = whole_number(params.get("QueuePosition"), "QueuePosition", default=None)
        url = links.answer + (f"?position={position}" if position else "")
        return document(element("Gather", {"action": url, "input": "dtmf", "method": "POST", "numDigits": 1,
                                           "timeout": CALLBACK_OFFER_EVERY_S},
                                _speak(offer, links, self.files)))

    def queue_callback(self, session: Session, params: Mapping[str, str], position: int | None,
                       links: Links) -> str:
        """Key 1 while holding: the caller is put on the callback worklist in the place they held
        (tickets.outbound) and leaves the queue (`<Leave/>`); another key, or a withheld number,
        goes back to waiting."""
        lang = self._language(session, params.get("CallSid", ""))
        if (params.get("Digits") or "").strip() != "1":
            return document("")
        try:
            outbound.callback_from_queue(session, params["CallSid"], TRANSPORT, caller_id(params), position)
        except ValidationError as exc:
            log.info("twilio call %s: no callback: %s", params.get("CallSid"), exc)
            return document("")
        segments, text = phrases.render([phrases.prompt("callback.kept")], lang)
        return document(_speak({"segments": segments, "text": text, "lang": lang}, links, self.files) + element("Leave"))

    def _language(self, session: Session, call_sid: str) -> str:
        call = calls.get_call(session, call_sid)
        return call.language if call is not None and call.language in prompts.LANGS else "zh"

    def status(self, session: Session, params: Mapping[str, str]) -> str:
        """The call's status callback: record how it ended; a hang-up mid-menu is the engine's `hangup`."""
        call_sid, status = params["CallSid"], params.get("CallStatus", "")
        outcome = FINAL_STATUSES.get(status)
        if outcome is None:
            return ""
        state = self.states.latest(session, call_sid)
        if state is not None and not state.get("done"):
            self.ivr.step(state, {"type": "hangup"}, session)
        call = calls.get_call(session, call_sid)
        if call is None:
            # The call never reached the voice webhook (busy, failed before answer): still count it.
            call = calls.start_call(session, call_sid, TRANSPORT, caller_id(params))
        calls.finish_call(session, call, outcome)
        self.states.forget(session, call_sid)
        return ""

    # ------------------------------------------------------------------------- helpers
    def _answer(self, session: Session, call_sid: str, step: int, state: dict[str, Any],
                actions: list[dict[str, Any]], links_for: Callable[[int, str], Links]) -> str:
        token = self.states.save(session, call_sid, step + 1, state)
        for action in actions:
            if action["type"] == "transfer":
                self._offer(session, call_sid, action)
        return render(actions, links_for(step + 1, token), self.files)

    def _offer(self, session: Session, call_sid: str, action: Mapping[str, Any]) -> None:
        """The screen-pop: the caller's card on the screen of the agent who waited longest."""
        call = calls.get_call(session, call_sid)
        agent = calls.pick_available_agent(session)
        if call is None or agent is None:
            log.info("twilio call %s: queued with no agent available to offer it to", call_sid)
            return
        order = (action.get("variables") or {}).get("HOTLINE_ORDER")
        calls.offer_call(session, call, agent, ivr={"queue": action.get("queue") or QUEUE,
                                                    **({"order": order} if order else {})})

    def _lost(self, session: Session, call_sid: str, step: int, links_for: Callable[[int, str], Links]) -> str:
        """No state for this step (Redis restarted, a forged or stale URL): do what the menu's
        fallback does, an agent when agents answer, else a polite goodbye."""
        lang = "zh"
        if hours.agents_status(session) == hours.OPEN:
            said = ["error.system", "retry.transfer"]
            end: dict[str, Any] = {"type": "transfer", "queue": QUEUE, "variables": {}}
        else:
            said = ["error.system", "retry.goodbye"]
            end = {"type": "hangup"}
        segments, text = phrases.render([phrases.prompt(k) for k in said], lang)
        actions = [{"type": "play", "segments": segments, "text": text, "lang": lang}, end]
        call = calls.get_call(session, call_sid)
        if call is not None:
            if end["type"] == "transfer":
                call.queue = QUEUE
                self._offer(session, call_sid, end)
            else:
                calls.finish_call(session, call, "failed")
        return render(actions, links_for(step + 1, ""), self.files)
