"""One call through the voice menu over an AGI channel (process AGI or FastAGI alike).

The engine (`ivr.runtime.Ivr`, docs/ivr-contract.md) says what to do; this module turns each
action into AGI commands and each reply into the next event:

| engine action | AGI commands                                                             |
|---------------|--------------------------------------------------------------------------|
| play          | VERBOSE "<text>" 3, then per segment STREAM FILE hotline/<lang>/<key> "";|
|               | digits and numbers too, as the catalog's `num.*` prompts (ivr/spoken.py):|
|               | SAY DIGITS/NUMBER would need digit sounds Asterisk has not for Chinese   |
| gather        | the same with every key as escape digit, then GET DATA hotline/silence/1 |
|               | for the rest; a key that stopped the prompt comes back as its ASCII code |
|               | and is the first of the keys. The plays just before a gather take keys   |
|               | too (a caller who knows the menu types over the greeting): such a key    |
|               | skips the rest and is the gather's first key                             |
| record        | STREAM FILE hotline/beep, then RECORD FILE <RECORDINGS_DIR>/<name> wav   |
|               | "#" <ms> 0 s=3 (the folder is made first: Asterisk makes none)           |
| transfer      | SET VARIABLE for each variable, HOTLINE_QUEUE, HOTLINE_RESULT=transfer,  |
|               | then the script ends and the dialplan runs Queue(hotline-${HOTLINE_QUEUE})|
| hangup        | SET VARIABLE HOTLINE_RESULT hangup, HANGUP                               |

A hang-up at any point (HANGUP line, SIGHUP, 511, `result=-1` confirmed by CHANNEL STATUS,
closed connection) becomes the engine's `hangup` event, which records the abandon point on
the call record (the node whose words were playing, e.g. the greeting, else the node waiting); the script then sets HOTLINE_RESULT=abandoned on the dead channel (Asterisk
still allows SET VARIABLE there) and ends without a traceback. A prompt file that does not
exist answers `result=-1` too, but CHANNEL STATUS says the line is still up: it is skipped.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ivr.spoken import digit_keys, number_keys
from tickets.monitoring import AGI_STEP_SECONDS

from .channel import AGIAppError, AGIError, AGIHangup, AgiChannel, ChannelHungUp

log = logging.getLogger(__name__)

ANY_KEY = "0123456789*#"
PROMPT_FILE = "hotline/{lang}/{key}"
# GET DATA needs a file to play before it listens; the menu's own second of silence (made by
# `hotline prompts build`, agi_scripts/sounds.py TONES) adds one second, taken off the wait.
GATHER_SILENCE = "hotline/silence/1"
GATHER_SILENCE_MS = 1000
BEEP = "hotline/beep"
MIN_WAIT_MS = 1000
RECORD_FORMAT = "wav"
RECORD_END_KEY = "#"
RECORD_SILENCE_S = 3
SAMPLES_PER_MS = 8           # Asterisk reports endpos in 8 kHz samples
AST_STATE_UP = 6
VERBOSE_LEVEL = 3

# Channel variables the dialplan reads after the script (asterisk_conf/extensions.conf).
RESULT_VAR = "HOTLINE_RESULT"          # transfer, hangup, abandoned, failed
QUEUE_VAR = "HOTLINE_QUEUE"
ABANDONED_VAR = "HOTLINE_ABANDONED_AT"
LANGUAGE_VAR = "CHANNEL(language)"     # what Asterisk itself says (the queue) in the caller's language

_missing_logged: set[str] = set()


@dataclass
class CallSummary:
    """How one call went, for the server's one log line per call and for the simulator."""
    uniqueid: str
    caller: str
    ended: str = ""            # transfer, hangup, abandoned, failed
    outcome: str = ""          # the engine's outcome (booked, status, complaint, agent, ...)
    order: str = ""
    node: str = ""
    call_pk: int | None = None
    commands: int = 0
    missing_prompts: int = 0
    seconds: float = 0.0
    variables: dict[str, str] | None = None

    def log_fields(self) -> str:
        return (f"caller={self.caller or '-'} ended={self.ended} "
                f"outcome={self.outcome or '-'} order={self.order or '-'} node={self.node or '-'} "
                f"commands={self.commands} missing_prompts={self.missing_prompts} ms={self.seconds * 1000:.0f}")


def _leads_to_gather(actions: list[dict[str, Any]], i: int) -> bool:
    """Whether the words of action `i` come just before a gather (only more words between)."""
    for later in actions[i + 1:]:
        if later.get("type") != "play":
            return later.get("type") == "gather"
    return False


def ensure_recordings_dir(path: Path) -> bool:
    """Make RECORDINGS_DIR if it is missing (Asterisk's RECORD FILE creates no folder); False,
    with an error in the log, when it cannot be made."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        return True
    except OSError as exc:
        log.error("RECORDINGS_DIR %s cannot be created (%s): voice notes will fail until it exists and the user "
                  "Asterisk runs as may write to it", path, exc)
        return False


def start_event(env: dict[str, str], transport: str) -> dict[str, Any]:
    """The engine's `start` event from the AGI environment (`agi_arg_1` may name a language)."""
    event = {"type": "start", "call_id": env.get("agi_uniqueid", ""), "caller": env.get("agi_callerid", ""),
             "transport": transport, "dnid": env.get("agi_dnid") or env.get("agi_extension", "")}
    lang = env.get("agi_arg_1", "").strip().lower()
    if lang in ("zh", "en"):
        event["language"] = lang
    return event


def survey_start_event(env: dict[str, str], transport: str) -> dict[str, Any]:
    """The start event of an outbound survey call: extensions.conf's hotline-survey context runs
    `AGI(agi://.../survey,<lang>,${HOTLINE_OUTBOUND},${AMDSTATUS})` on the channel it originated
    to the customer, whose number is the extension dialled."""
    event = start_event(env, transport)
    event["caller"] = env.get("agi_extension", "")
    event["outbound"] = env.get("agi_arg_2", "").strip()
    event["answered_by"] = env.get("agi_arg_3", "").strip()
    return event


class CallDriver:
    """Runs the engine over one channel until the call is transferred, hung up or abandoned."""

    def __init__(self, ivr: Any, channel: AgiChannel, transport: str, recordings_dir: Path | str, *,
                 answered: bool = False, start: Callable[[dict[str, str], str], dict[str, Any]] | None = None) -> None:
        self.ivr = ivr
        self.channel = channel
        self.transport = transport
        self.recordings_dir = Path(recordings_dir)
        self.answered = answered        # hotline-agi sends ANSWER before its heavy imports
        self.start = start or start_event
        self.language = ""
        self.speaking_for = ""          # the node whose words are playing (the abandon point)
        self.state: dict[str, Any] | None = None
        self.summary = CallSummary(uniqueid=channel.env.get("agi_uniqueid", ""),
                                   caller=channel.env.get("agi_callerid", ""))

    # ------------------------------------------------------------------ the loop

    def run(self) -> CallSummary:
        """Drive the call to its end; never raises for a hang-up."""
        started = time.monotonic()
        try:
            if not self.answered:
                try:
                    self.channel.answer()
                except AGIHangup:
                    raise
                except AGIAppError:     # result=-1: the caller hung up while we answered
                    self.channel.mark_hungup("ANSWER failed")
            with AGI_STEP_SECONDS.time():
                self.state, actions = self.ivr.step(None, self.start(self.channel.env, self.transport))
            while True:
                event = self.perform(actions)
                if event is None:
                    break
                with AGI_STEP_SECONDS.time():
                    self.state, actions = self.ivr.step(self.state, event)
        except AGIHangup:
            try:
                self.abandoned()
            except Exception:  # noqa: BLE001 - the caller is gone; the log keeps what went wrong
                log.exception("call %s: recording the hang-up failed", self.summary.uniqueid)
        except Exception:  # noqa: BLE001 - a broken call goes to the queue, never to dead air
            log.exception("call %s: the voice menu failed at node %s; the dialplan sends the caller to the queue",
                          self.summary.uniqueid, (self.state or {}).get("node"))
            self.summary.ended = "failed"
            self._set_quietly(RESULT_VAR, "failed")
        self._summarise(started)
        return self.summary

    def perform(self, actions: list[dict[str, Any]]) -> dict[str, Any] | None:
        """Carry out one step's actions; the next event, or None when the call left the menu."""
        typed = ""      # a key pressed over the words that lead to a gather
        for i, action in enumerate(actions):
            kind = action.get("type")
            if kind == "play":
                if not typed:
                    escape = ANY_KEY if _leads_to_gather(actions, i) else ""
                    self.speaking_for = str(action.get("node") or "")
                    typed = self.play(action, escape)
                    self.speaking_for = ""
            elif kind == "gather":
                return self.gather(action, typed)
            elif kind == "record":
                return self.record(action)
            elif kind == "transfer":
                self.transfer(action)
                return None
            elif kind == "hangup":
                self.summary.ended = "hangup"
                self.channel.set_variable(RESULT_VAR, "hangup")
                self.channel.hangup()
                return None
            else:
                raise ValueError(f"the engine sent an action this adapter does not know: {action!r}")
        # The engine is done without a transfer or hang-up (a finished state): end the call.
        self.summary.ended = "hangup"
        self.channel.set_variable(RESULT_VAR, "hangup")
        self.channel.hangup()
        return None

    # ------------------------------------------------------------------ audio

    def _use_language(self, lang: str) -> None:
        if lang and lang != self.language:
            self.channel.set_variable(LANGUAGE_VAR, lang)
            self.language = lang

    def play(self, action: dict[str, Any], escape: str) -> str:
        """Play the action's segments; the key that interrupted them, or ''."""
        lang = action.get("lang") or "zh"
        self._use_language(lang)
        if action.get("text"):
            # The whole sentence (names and addresses included, which no prompt file says)
            # in Asterisk's verbose log, for whoever follows the call on the Asterisk console.
            self.channel.verbose(action["text"], VERBOSE_LEVEL)
        for seg in action.get("segments") or ():
            if "prompt" in seg:
                keys = [seg["prompt"]]
            elif "digits" in seg:
                keys = digit_keys(str(seg["digits"]))
            elif "number" in seg:
                keys = number_keys(int(seg["number"]), lang)
            else:
                raise ValueError(f"a segment this adapter cannot play: {seg!r}")
            for key in keys:
                pressed = self.stream(PROMPT_FILE.format(lang=lang, key=key), escape)
                if pressed:
                    return pressed
        return ""

    def stream(self, name: str, escape: str) -> str:
        try:
            return self.channel.stream_file_full(name, escape)[0]
        except AGIHangup:
            raise
        except AGIAppError:
            self._still_up_or_raise()
            self.summary.missing_prompts += 1
            if name not in _missing_logged:
                _missing_logged.add(name)
                log.warning("call %s: Asterisk has no sound file %s; skipped. Run `hotline prompts build` "
                            "and copy PROMPTS_DIR to the Asterisk sounds directory", self.summary.uniqueid, name)
            return ""

    def _still_up_or_raise(self) -> None:
        """After `result=-1`: a missing file leaves the line up; a hang-up does not."""
        status = self.channel.channel_status()      # raises ChannelHungUp on 511
        if status != AST_STATE_UP:
            self.channel.mark_hungup(f"channel status {status}")
            raise ChannelHungUp(f"channel status {status} after result=-1")

    # ------------------------------------------------------------------ input

    def gather(self, action: dict[str, Any], typed: str = "") -> dict[str, Any]:
        """Ask, and read the caller's keys; `typed`: a key already pressed over the words before."""
        max_digits = int(action.get("max_digits") or 1)
        finish = action.get("finish_on_key") or "#"
        wait_ms = max(int(action.get("timeout_ms") or 5000) - GATHER_SILENCE_MS, MIN_WAIT_MS)
        first = typed or self.play(action, ANY_KEY)
        if first == finish:
            return {"type": "timeout"}
        if first and max_digits <= 1:
            return {"type": "digits", "digits": first}
        try:
            rest, _timed_out = self.channel.get_data_full(GATHER_SILENCE, wait_ms, max_digits - len(first))
        except AGIHangup:
            raise
        except AGIAppError:
            self._still_up_or_raise()
            log.error("call %s: GET DATA could not play %s; run `hotline prompts build` and copy PROMPTS_DIR "
                      "to the Asterisk sounds directory", self.summary.uniqueid, GATHER_SILENCE)
            rest = ""
        keys = first + rest
        return {"type": "digits", "digits": keys} if keys else {"type": "timeout"}

    def record(self, action: dict[str, Any]) -> dict[str, Any]:
        self.play(action, "")
        path = self.recordings_dir / str(action["name"])
        max_ms = int(action.get("max_seconds") or 60) * 1000
        ensure_recordings_dir(self.recordings_dir)
        self.stream(BEEP, "")
        try:
            _key, _why, endpos = self.channel.record_file_full(str(path), RECORD_FORMAT, RECORD_END_KEY, max_ms,
                                                              RECORD_SILENCE_S)
        except AGIHangup:
            raise
        except AGIAppError as exc:
            self._still_up_or_raise()
            reason = getattr(exc, "reason", "")
            if reason == "writefile":
                log.error("call %s: Asterisk could not open the recording %s for writing: RECORDINGS_DIR (%s) must "
                          "exist and be writable by the user Asterisk runs as", self.summary.uniqueid, path,
                          self.recordings_dir)
            else:
                log.error("call %s: Asterisk's RECORD FILE failed (%s) before recording %s",
                          self.summary.uniqueid, reason or "no reason given", path)
            return {"type": "timeout"}
        return {"type": "recorded", "file": f"{path}.{RECORD_FORMAT}", "duration_ms": endpos // SAMPLES_PER_MS}

    # ------------------------------------------------------------------ leaving the menu

    def transfer(self, action: dict[str, Any]) -> None:
        variables = dict(action.get("variables") or {})
        for name, value in variables.items():
            self.channel.set_variable(name, value)
        self.channel.set_variable(QUEUE_VAR, action.get("queue") or "agents")
        self.channel.set_variable(RESULT_VAR, "transfer")
        self.summary.ended = "transfer"
        self.summary.variables = variables

    def abandoned(self) -> None:
        """The caller hung up: tell the engine (it records where), and leave a trace on the channel."""
        self.summary.ended = "abandoned"
        if self.state is None:
            # Hung up before the engine saw the call (during ANSWER): the call still gets its record.
            self.state, _ = self.ivr.step(None, start_event(self.channel.env, self.transport))
        event = {"type": "hangup"}
        if self.speaking_for:
            event["at"] = self.speaking_for
        self.state, _ = self.ivr.step(self.state, event)
        node = self.speaking_for or self.state.get("node") or ""
        self._set_quietly(RESULT_VAR, "abandoned")
        self._set_quietly(ABANDONED_VAR, node)

    def _set_quietly(self, name: str, value: str) -> None:
        """SET VARIABLE on a channel that may be dead or gone; losing it loses nothing stored."""
        try:
            self.channel.set_variable(name, value)
        except (AGIError, OSError):
            pass

    def _summarise(self, started: float) -> None:
        state = self.state or {}
        self.summary.outcome = state.get("outcome") or ""
        self.summary.order = str((state.get("vars") or {}).get("order") or "")
        self.summary.node = state.get("node") or ""
        self.summary.call_pk = state.get("call_pk")
        self.summary.commands = self.channel.commands_sent
        self.summary.seconds = time.monotonic() - started
