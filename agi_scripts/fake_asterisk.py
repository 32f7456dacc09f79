"""A fake Asterisk that speaks the real AGI wire protocol, for tests, the simulator and the bench.

It plays the Asterisk side of one call: sends the `agi_*` environment exactly as Asterisk 22
does, reads each command, and answers in the formats recorded from a real Asterisk 22 (see
../shared/asterisk-captures/): `200 result=0 endpos=16000`, `200 result=53 endpos=1440` for a
key pressed during STREAM FILE, `200 result= (timeout)`, `200 result=-1 endpos=0` for a prompt
file that does not exist, `510`, the `520-` usage block, and after a hang-up `511` for channel
commands while GET/SET VARIABLE still work. Where the captures are silent it follows res_agi.c:
RECORD FILE answers `200 result=-1 (writefile)` when the file cannot be opened (Asterisk
creates no folder) and `200 result=-1 (randomerror) endpos=0` when the beep it was asked for
is missing; SAY DIGITS / SAY NUMBER answer `200 result=0` and play nothing when the channel's
language has no digit sounds (Asterisk's sound packs have none for Chinese).

The caller is scripted: which keys to press for each input (a `KeySource`), whether to press
during prompts (barge-in), and when to hang up (after N prompts heard). On a hang-up a FastAGI
script gets a `HANGUP` line before its next reply; a spawned AGI process gets SIGHUP.

    fake = FakeAsterisk(Caller(keys=ScriptedKeys.parse("1 1 1 2 1 1 1")), sounds=Sounds.everything())
    result = fake.call_fastagi("127.0.0.1", 4573)          # or fake.call_process(["hotline-agi"])
    result.variables["HOTLINE_RESULT"], result.heard, result.transcript
"""
from __future__ import annotations

import itertools
import logging
import os
import signal
import socket
import subprocess
import threading
import time
import wave
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Protocol

log = logging.getLogger(__name__)

ASTERISK_VERSION = "22.10.1"
SAMPLE_RATE = 8000
DEFAULT_PROMPT_SAMPLES = 2 * SAMPLE_RATE   # a prompt file's length when it is not on disk
BARGE_IN_SAMPLES = 1440                     # where a key interrupts a prompt (as in the capture)
DEAD_CHANNEL = "511 Command Not Permitted on a dead channel or intercept routine"
INVALID = "510 Invalid or unknown command"

# Stock sounds of the asterisk-core-sounds packages, used by the captures; an Asterisk without
# them is `Sounds(stock=False)`.
STOCK_SOUNDS = frozenset({"beep", "silence/1", "silence/2", "silence/3", "silence/5", "silence/10",
                          "demo-congrats", "vm-goodbye", "pls-hold-while-try", "queue-thankyou"})
# The languages whose digit and number sounds the stock packages hold (SAY DIGITS / SAY NUMBER).
STOCK_SAY_LANGUAGES = frozenset({"en"})

_SEQUENCE = itertools.count((os.getpid() % 10000) * 100000)


# --------------------------------------------------------------------------- what the caller does

class KeySource(Protocol):
    """Where the caller's keys come from, one input (menu choice, number, ...) at a time."""

    def next_input(self, kind: str) -> str | None:
        """Keys for the next input ('' = the caller presses nothing); None when the caller has no more."""


NO_KEY = ""        # the caller presses nothing this time (the script's wait times out)
HANG_UP = "H"      # the caller hangs up instead of answering
SPEAK = "R"        # asked to speak after the tone: the caller talks, then presses #


class ScriptedKeys:
    """A fixed list of inputs, e.g. ["1", "1205", "", "R", "H"]: keys, NO_KEY, SPEAK, HANG_UP.

    The same key language as the scenario table (ivr/scenarios.py) and `simulate-call --keys`.
    """

    def __init__(self, inputs: Iterable[str]) -> None:
        self.inputs = list(inputs)
        self._next = 0

    @classmethod
    def parse(cls, text: str) -> "ScriptedKeys":
        """'1 1 1 2 1 1 1' -> one input per word; '-' no key, 'H' hang up, 'R' speak then #."""
        return cls(NO_KEY if word == "-" else word for word in text.split())

    def next_input(self, kind: str) -> str | None:
        if self._next >= len(self.inputs):
            return None
        self._next += 1
        return self.inputs[self._next - 1]


@dataclass
class Caller:
    """A scripted caller: number, name, keys, barge-in, and when to hang up."""
    number: str = "13800138000"
    name: str = ""
    keys: KeySource = field(default_factory=lambda: ScriptedKeys([]))
    barge_in: bool = False          # press the first key of an input while the prompt still plays
    hangup_after: int | None = None  # hang up during the prompt after this many prompts were heard
    hangup_before_answer: bool = False  # hang up while the script answers the call
    hangup_when_done: bool = True   # hang up once the inputs run out and the script still waits for one
    speech_seconds: int = 4         # how long the caller talks at a SPEAK input


# --------------------------------------------------------------------------- which sound files exist

class Sounds:
    """The sound files this Asterisk has: stock sounds, named ones, and a prompts directory.

    `hotline/<name>` maps to `<prompts_dir>/<name>.wav` (how PROMPTS_DIR is laid out).
    """

    def __init__(self, names: Iterable[str] = (), prompts_dir: Path | str | None = None, *,
                 everything: bool = False, missing: Iterable[str] = (), stock: bool = True) -> None:
        self.names = (set(STOCK_SOUNDS) if stock else set()) | set(names)
        self.say_languages = STOCK_SAY_LANGUAGES if stock else frozenset()
        self.prompts_dir = Path(prompts_dir) if prompts_dir else None
        self.everything = everything
        self.missing = set(missing)
        self._samples: dict[str, int] = {}

    def _file(self, name: str) -> Path | None:
        if self.prompts_dir is not None and name.startswith("hotline/"):
            return self.prompts_dir / (name[len("hotline/"):] + ".wav")
        return None

    def exists(self, name: str) -> bool:
        if name in self.missing:
            return False
        if self.everything or name in self.names:
            return True
        path = self._file(name)
        return path is not None and path.is_file()

    def samples(self, name: str) -> int:
        """The file's length in 8 kHz samples (what `endpos` reports after a full playback)."""
        if name not in self._samples:
            n = DEFAULT_PROMPT_SAMPLES
            path = self._file(name)
            if path is not None and path.is_file():
                try:
                    with wave.open(str(path), "rb") as w:
                        n = int(w.getnframes() * SAMPLE_RATE / w.getframerate())
                except (wave.Error, EOFError, OSError):
                    n = DEFAULT_PROMPT_SAMPLES
            self._samples[name] = n
        return self._samples[name]


# --------------------------------------------------------------------------- Asterisk's own parsing

def parse_args(line: str) -> list[str]:
    """Split a command line the way res_agi.c's parse_args does (quotes, backslash escapes)."""
    args: list[str] = []
    cur: list[str] | None = None        # None: between words
    quoted = escaped = False
    for ch in line:
        if ch == '"' and not escaped:
            quoted = not quoted
            if quoted and cur is None:
                cur = []                # an opening quote starts a word, even an empty one
            continue
        if ch in " \t" and not quoted and not escaped:
            if cur is not None:
                args.append("".join(cur))
                cur = None
            continue
        if ch == "\\" and not escaped:
            escaped = True
            continue
        if cur is None:
            cur = []
        cur.append(ch)
        escaped = False
    if cur is not None:
        args.append("".join(cur))
    return args


# Usage text Asterisk prints in a 520 block (GET DATA's is from the capture; the others follow
# the same shape: synopsis, then what the command returns).
USAGE = {
    "GET DATA": ["Stream the given <replaceable>file</replaceable>, and receive DTMF data.",
                 "Returns the digits received from the channel at the other end."],
}
_GENERIC_USAGE = ["Usage: see 'agi show commands' for the syntax of this command."]


def usage_block(command: str) -> list[str]:
    return (["520-Invalid command syntax.  Proper usage follows:"] + USAGE.get(command, _GENERIC_USAGE)
            + ["520 End of proper usage."])


# --------------------------------------------------------------------------- one call, Asterisk side

@dataclass
class Heard:
    """One thing the caller heard or did, in order (the simulator prints these)."""
    kind: str      # prompt, missing, digits, number, verbose, keys, nokey, record, hangup
    value: str


@dataclass
class CallResult:
    """What happened on the Asterisk side of one call."""
    uniqueid: str
    env: dict[str, str]
    transcript: list[tuple[float, str, str]]   # (seconds, 'ast>' | 'agi>' | 'signal', line)
    heard: list[Heard]
    variables: dict[str, str]
    agi_status: str            # SUCCESS, FAILURE, HANGUP (AGISTATUS as the dialplan would see it)
    hung_up_by: str            # '', 'caller', 'script'
    commands: int
    exit_code: int | None = None     # process AGI only
    stderr: str = ""                 # process AGI only
    command_latencies: list[float] = field(default_factory=list)  # seconds from each reply to the next command

    def commands_sent(self) -> list[str]:
        return [line for _, d, line in self.transcript if d == "agi>"]

    def prompts(self) -> list[str]:
        return [h.value for h in self.heard if h.kind == "prompt"]


class AsteriskChannel:
    """The state of one channel and the answer to each AGI command, as Asterisk 22 gives it."""

    # argv length checks, from res_agi.c's handlers (RESULT_SHOWUSAGE conditions)
    ARGC = {
        "ANSWER": (1, 1), "CHANNEL STATUS": (2, 3), "EXEC": (2, 99), "GET DATA": (3, 5),
        "GET VARIABLE": (3, 3), "GET FULL VARIABLE": (4, 5), "SET VARIABLE": (4, 4),
        "VERBOSE": (2, 3), "STREAM FILE": (4, 5), "SAY DIGITS": (4, 4), "SAY NUMBER": (4, 5),
        "WAIT FOR DIGIT": (4, 4), "RECORD FILE": (6, 9), "HANGUP": (1, 2), "NOOP": (1, 99),
        "SET CONTEXT": (3, 3), "SET EXTENSION": (3, 3), "SET PRIORITY": (3, 3),
    }
    # commands res_agi runs on a dead channel (its `dead` flag); the rest answer 511
    DEAD_OK = frozenset({"EXEC", "GET VARIABLE", "GET FULL VARIABLE", "SET VARIABLE", "VERBOSE", "NOOP"})

    def __init__(self, env: dict[str, str], caller: Caller, sounds: Sounds) -> None:
        self.env = env
        self.caller = caller
        self.sounds = sounds
        self.variables: dict[str, str] = {}
        self.heard: list[Heard] = []
        self.prompts_heard = 0
        self.hung_up = False
        self.hung_up_by = ""
        self.hangup_notice_due = False   # FastAGI HANGUP line / SIGHUP still to deliver
        self.failed = False              # a 510/520 was answered (AGISTATUS=FAILURE)
        self.commands = 0
        self.pending = ""                # keys of the current input not consumed yet
        self.input_open = False          # pending holds a started input
        self.barged = False              # the last command was stopped by a key of the current input

    # -- the caller --------------------------------------------------------------------------

    def _hangup_now(self) -> bool:
        """The caller hangs up during this audible command."""
        n = self.caller.hangup_after
        return n is not None and self.prompts_heard >= n

    def caller_hangs_up(self) -> None:
        self.hung_up = True
        self.hung_up_by = self.hung_up_by or "caller"
        self.hangup_notice_due = True
        self.heard.append(Heard("hangup", "caller hung up"))

    def _next_input(self, kind: str) -> bool:
        """Make the caller's next input current; False when the caller hangs up instead."""
        if self.input_open:
            return True
        keys = self.caller.keys.next_input(kind)
        if keys is None and not self.caller.hangup_when_done:
            keys = NO_KEY
        if keys is None or keys == HANG_UP:
            self.caller_hangs_up()
            return False
        self.pending = keys
        self.input_open = True
        self.heard.append(Heard("keys", keys) if keys else Heard("nokey", ""))
        return True

    def _take_key(self) -> str:
        key, self.pending = self.pending[:1], self.pending[1:]
        return key

    # -- commands ------------------------------------------------------------------------------

    def command_name(self, args: list[str]) -> str | None:
        words = [a.upper() for a in args[:3]]
        for n in (3, 2, 1):
            name = " ".join(words[:n])
            if len(words) >= n and name in self.ARGC:
                return name
        return None

    def handle(self, line: str) -> list[str]:
        """The reply lines to one command line."""
        self.commands += 1
        args = parse_args(line)
        name = self.command_name(args)
        if name is None:
            self.failed = True
            return [INVALID]
        lo, hi = self.ARGC[name]
        if not lo <= len(args) <= hi:
            self.failed = True
            return usage_block(name)
        if self.hung_up and name not in self.DEAD_OK:
            return [DEAD_CHANNEL]
        if self.barged and name != "GET DATA":
            # A key stopped the prompt and the script did not go on to read more keys: that
            # key was the whole input, whatever else the caller had in mind to type.
            self.input_open, self.pending = False, ""
        self.barged = False
        handler = getattr(self, "do_" + name.lower().replace(" ", "_"))
        return [handler(args)]

    def do_answer(self, args):
        if self.caller.hangup_before_answer:
            self.caller_hangs_up()
            return "200 result=-1"
        return "200 result=0"

    def do_noop(self, args):
        return "200 result=0"

    def do_verbose(self, args):
        self.heard.append(Heard("verbose", args[1]))
        return "200 result=1"

    def do_channel_status(self, args):
        return "200 result=6"   # AST_STATE_UP

    def do_set_context(self, args):
        self.variables["__CONTEXT"] = args[2]
        return "200 result=0"

    def do_set_extension(self, args):
        self.variables["__EXTEN"] = args[2]
        return "200 result=0"

    def do_set_priority(self, args):
        self.variables["__PRIORITY"] = args[2]
        return "200 result=0"

    def _lookup(self, name: str) -> str | None:
        builtins = {"CALLERID(num)": self.env.get("agi_callerid", ""),
                    "CALLERID(name)": self.env.get("agi_calleridname", ""),
                    "CHANNEL": self.env.get("agi_channel", ""), "UNIQUEID": self.env.get("agi_uniqueid", ""),
                    "CHANNEL(language)": self.variables.get("CHANNEL(language)", self.env.get("agi_language", "en"))}
        if name in self.variables:
            return self.variables[name]
        return builtins.get(name)

    def do_get_variable(self, args):
        value = self._lookup(args[2])
        return "200 result=0" if value is None else f"200 result=1 ({value})"

    def do_get_full_variable(self, args):
        text = args[3]
        out, i = [], 0
        while i < len(text):
            if text.startswith("${", i) and "}" in text[i:]:
                end = text.index("}", i)
                out.append(self._lookup(text[i + 2:end]) or "")
                i = end + 1
            else:
                out.append(text[i])
                i += 1
        return f"200 result=1 ({''.join(out)})"

    def do_set_variable(self, args):
        self.variables[args[2]] = args[3]
        return "200 result=1"

    def do_hangup(self, args):
        self.hung_up = True
        self.hung_up_by = self.hung_up_by or "script"
        return "200 result=1"

    def do_exec(self, args):
        app = args[1].lower()
        if app == "playback":
            name = args[2] if len(args) > 2 else ""
            if self.hung_up:
                return "200 result=-1"
            self.heard.append(Heard("prompt" if self.sounds.exists(name) else "missing", name))
            return "200 result=0"
        if app in ("wait", "noop", "set", "goto", "gosub"):
            return "200 result=0"
        return "200 result=-2"

    def _audible(self, kind: str, value: str) -> bool:
        """Count one thing played to the caller; False when the caller hangs up during it."""
        if self._hangup_now():
            self.caller_hangs_up()
            return False
        self.prompts_heard += 1
        self.heard.append(Heard(kind, value))
        return True

    def _barge_in(self, escape: str) -> str:
        """The key the caller presses during a prompt, if they barge in and it may interrupt."""
        if not self.caller.barge_in or not escape:
            return ""
        if not self._next_input("barge-in"):
            return ""
        if self.pending and self.pending[0] in escape and self.pending != SPEAK:
            self.barged = True
            return self._take_key()
        return ""

    def do_stream_file(self, args):
        name, escape = args[2], args[3]
        if not self.sounds.exists(name):
            self.heard.append(Heard("missing", name))
            return "200 result=-1 endpos=0"
        total = self.sounds.samples(name)
        if not self._audible("prompt", name):
            return f"200 result=-1 endpos={min(total, BARGE_IN_SAMPLES * 4)}"
        key = self._barge_in(escape)
        if self.hung_up:
            return f"200 result=-1 endpos={min(total, BARGE_IN_SAMPLES)}"
        if key:
            return f"200 result={ord(key)} endpos={min(total, BARGE_IN_SAMPLES)}"
        return f"200 result=0 endpos={total}"

    def _say(self, kind: str, value: str, escape: str) -> str:
        language = self._lookup("CHANNEL(language)") or ""
        if not self.sounds.everything and language not in self.sounds.say_languages:
            # Asterisk looks for <language>/digits/<n> files, finds none, and says so only in
            # its own log: the script gets success and the caller hears nothing.
            self.heard.append(Heard("missing", f"{language}/digits ({kind} {value})"))
            return "200 result=0"
        if not self._audible(kind, value):
            return "200 result=-1"
        key = self._barge_in(escape)
        if self.hung_up:
            return "200 result=-1"
        return f"200 result={ord(key)}" if key else "200 result=0"

    def do_say_digits(self, args):
        return self._say("digits", args[2], args[3])

    def do_say_number(self, args):
        return self._say("number", args[2], args[3] if len(args) > 3 else "")

    def do_wait_for_digit(self, args):
        if self._hangup_now() or not self._next_input("wait for digit"):
            if not self.hung_up:
                self.caller_hangs_up()
            return "200 result=-1"
        key = self._take_key()
        if not self.pending:
            self.input_open = False
        return f"200 result={ord(key)}" if key else "200 result=0"

    def do_get_data(self, args):
        prompt = args[2]
        max_digits = int(args[4]) if len(args) > 4 and args[4].lstrip("-").isdigit() else 1024
        if prompt and not self.sounds.exists(prompt):
            self.heard.append(Heard("missing", prompt))
            return "200 result=-1"
        if prompt and not prompt.startswith("silence/") and not self._audible("prompt", prompt):
            return "200 result=-1"
        if self._hangup_now():
            self.caller_hangs_up()
            return "200 result=-1"
        if not self._next_input("get data"):
            return "200 result=-1"
        typed = ""
        while self.pending and len(typed) < max_digits:
            key = self._take_key()
            if key == "#":
                self.input_open = bool(self.pending)
                return f"200 result={typed}"
            typed += key
        if len(typed) >= max_digits:
            self.input_open = bool(self.pending)
            return f"200 result={typed}"
        self.input_open = False
        return f"200 result={typed} (timeout)"

    def do_record_file(self, args):
        path, fmt = args[2], args[3]
        # res_agi.c: a 7th argument that is not a number, or an 8th without '=', asks for the beep.
        beep = ((len(args) > 6 and not args[6].lstrip("-").isdigit() and "=" not in args[6])
                or (len(args) > 7 and "=" not in args[7]))
        if beep and not self.sounds.exists("beep"):
            self.heard.append(Heard("missing", "beep"))
            return "200 result=-1 (randomerror) endpos=0"
        if not Path(path).parent.is_dir():
            # ast_writefile opens the file in place; it creates no folder.
            self.failed = True
            return "200 result=-1 (writefile)"
        if self._hangup_now():
            self.caller_hangs_up()
            return "200 result=-1 (hangup) endpos=0"
        if not self._next_input("record"):
            return "200 result=-1 (hangup) endpos=0"
        said, self.pending, self.input_open = self.pending, "", False
        # Silence: Asterisk stops at the silence limit and keeps nothing (endpos=0, as captured).
        samples = self.caller.speech_seconds * SAMPLE_RATE if said else 0
        if not write_silence(f"{path}.{fmt}", samples):
            self.failed = True
            return "200 result=-1 (writefile)"
        self.prompts_heard += 1
        if said:
            self.heard.append(Heard("record", f"{path}.{fmt}"))
            return f"200 result={ord('#')} (dtmf) endpos={samples}"
        return "200 result=0 (timeout) endpos=0"


def write_silence(path: str, samples: int) -> bool:
    """Write what Asterisk would record: an 8 kHz mono 16-bit wav. False when it cannot
    (like Asterisk, it creates no folder)."""
    try:
        with open(path, "wb") as f, wave.open(f, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(SAMPLE_RATE)
            w.writeframes(b"\x00\x00" * samples)
        return True
    except OSError as exc:
        log.warning("fake asterisk: cannot write the recording %s: %s", path, exc)
        return False


# --------------------------------------------------------------------------- the environment

def agi_environment(*, uniqueid: str, caller: Caller, dnid: str = "96156", fastagi_url: str | None = None,
                    script: str = "hotline", request: str = "/usr/share/asterisk/agi-bin/hotline-agi",
                    args: Iterable[str] = (), context: str = "hotline-in", language: str = "en",
                    channel: str | None = None) -> dict[str, str]:
    """The agi_* variables in the order Asterisk 22 sends them (see the capture files)."""
    seq = uniqueid.rsplit(".", 1)[-1]
    env: dict[str, str] = {}
    if fastagi_url is not None:
        env["agi_network"] = "yes"
        env["agi_network_script"] = script
        env["agi_request"] = fastagi_url
    else:
        env["agi_request"] = request
    env.update({
        "agi_channel": channel or f"PJSIP/trunk-{int(seq):08x}",
        "agi_language": language,
        "agi_type": "PJSIP",
        "agi_uniqueid": uniqueid,
        "agi_version": ASTERISK_VERSION,
        "agi_callerid": caller.number or "unknown",
        "agi_calleridname": caller.name or caller.number or "unknown",
        "agi_callingpres": "0",
        "agi_callingani2": "0",
        "agi_callington": "0",
        "agi_callingtns": "0",
        "agi_dnid": dnid,
        "agi_rdnis": "unknown",
        "agi_context": context,
        "agi_extension": dnid,
        "agi_priority": "2",
        "agi_enhanced": "0.0",
        "agi_accountcode": "",
        "agi_threadid": str(threading.get_ident()),
    })
    for i, arg in enumerate(args, 1):
        env[f"agi_arg_{i}"] = arg
    return env


def new_uniqueid() -> str:
    """`<epoch>.<sequence>` like Asterisk's, unique within this process."""
    return f"{int(time.time())}.{next(_SEQUENCE)}"


def _env_bytes(env: dict[str, str]) -> bytes:
    return "".join(f"{k}: {v}\n" for k, v in env.items()).encode("utf-8") + b"\n"


# --------------------------------------------------------------------------- the transports

class FakeAsterisk:
    """Places one scripted call into an AGI script, over TCP (FastAGI) or pipes (process AGI).

    `on_heard(Heard)` is called as the call goes (the simulator prints the conversation live).
    `pace` seconds pass before each reply, as while a prompt plays (the bench's load at a
    caller's pace); `measure` keeps the time from each reply to the next command.
    """

    def __init__(self, caller: Caller | None = None, sounds: Sounds | None = None, *, dnid: str = "96156",
                 uniqueid: str | None = None, on_heard: Callable[[Heard], None] | None = None,
                 max_commands: int = 2000, timeout: float = 60.0, measure: bool = False,
                 pace: float = 0.0) -> None:
        self.caller = caller or Caller()
        self.sounds = sounds or Sounds()
        self.dnid = dnid
        self.uniqueid = uniqueid or new_uniqueid()
        self.on_heard = on_heard
        self.max_commands = max_commands
        self.timeout = timeout
        self.measure = measure
        self.pace = pace

    # -- shared loop -------------------------------------------------------------------------

    def _converse(self, chan: AsteriskChannel, readline: Callable[[], bytes], write: Callable[[bytes], None],
                  notify_hangup: Callable[[], str], transcript: list, started: float,
                  latencies: list[float]) -> None:
        seen = 0
        last_reply = time.perf_counter()
        while True:
            raw = readline()
            if not raw:
                return                                   # the script ended the session
            if self.measure:
                latencies.append(time.perf_counter() - last_reply)
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            transcript.append((round(time.monotonic() - started, 3), "agi>", line))
            if chan.commands >= self.max_commands and not chan.hung_up:
                chan.caller_hangs_up()                   # a runaway script: the caller gives up
            if chan.hangup_notice_due:
                # As in the captures: the HANGUP line (FastAGI) or SIGHUP (process) comes after
                # the command that followed the hang-up, before Asterisk's 511 reply to it.
                chan.hangup_notice_due = False
                notice = notify_hangup()
                transcript.append((round(time.monotonic() - started, 3), "signal" if notice == "SIGHUP" else "ast>",
                                   notice))
            replies = chan.handle(line)
            out = "".join(r + "\n" for r in replies).encode("utf-8")
            for r in replies:
                transcript.append((round(time.monotonic() - started, 3), "ast>", r))
            if self.on_heard is not None:
                while seen < len(chan.heard):
                    self.on_heard(chan.heard[seen])
                    seen += 1
            if self.pace:
                time.sleep(self.pace)
            write(out)
            last_reply = time.perf_counter()

    def _result(self, chan: AsteriskChannel, env, transcript, latencies, **kw) -> CallResult:
        if chan.hung_up_by == "caller":
            status = "HANGUP"
        elif chan.failed:
            status = "FAILURE"
        else:
            status = "SUCCESS"
        return CallResult(uniqueid=self.uniqueid, env=env, transcript=transcript, heard=chan.heard,
                          variables=dict(chan.variables), agi_status=status, hung_up_by=chan.hung_up_by,
                          commands=chan.commands, command_latencies=latencies, **kw)

    # -- FastAGI -----------------------------------------------------------------------------

    def call_fastagi(self, host: str = "127.0.0.1", port: int = 4573, script: str = "hotline",
                     args: Iterable[str] = (), context: str = "hotline-in", channel: str | None = None) -> CallResult:
        """Connect like `AGI(agi://host:port/script)` from dialplan `context` on `channel` and run the
        call to its end."""
        url = f"agi://{host}:{port}/{script}"
        env = agi_environment(uniqueid=self.uniqueid, caller=self.caller, dnid=self.dnid, fastagi_url=url,
                              script=script, args=args, context=context, channel=channel)
        chan = AsteriskChannel(env, self.caller, self.sounds)
        transcript: list = []
        latencies: list[float] = []
        started = time.monotonic()
        with socket.create_connection((host, port), timeout=self.timeout) as sock:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            rfile = sock.makefile("rb")
            for k, v in env.items():
                transcript.append((0.0, "ast>", f"{k}: {v}"))
            transcript.append((0.0, "ast>", ""))
            try:
                sock.sendall(_env_bytes(env))

                def notify() -> str:
                    sock.sendall(b"HANGUP\n")
                    return "HANGUP"

                self._converse(chan, rfile.readline, sock.sendall, notify, transcript, started, latencies)
            except (ConnectionResetError, BrokenPipeError):
                pass    # the script closed the socket while we were answering: the session is over
            finally:
                rfile.close()
        return self._result(chan, env, transcript, latencies)

    # -- process AGI ---------------------------------------------------------------------------

    def call_process(self, argv: list[str], env: dict[str, str] | None = None, args: Iterable[str] = (),
                     cwd: str | None = None) -> CallResult:
        """Spawn `argv` like `AGI(hotline-agi)` with the agi_* lines on its stdin, and run the call."""
        agi_env = agi_environment(uniqueid=self.uniqueid, caller=self.caller, dnid=self.dnid, request=argv[0],
                                  args=args)
        chan = AsteriskChannel(agi_env, self.caller, self.sounds)
        transcript: list = [(0.0, "ast>", f"{k}: {v}") for k, v in agi_env.items()] + [(0.0, "ast>", "")]
        latencies: list[float] = []
        started = time.monotonic()
        proc = subprocess.Popen(argv + list(args), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=env, cwd=cwd)
        errors: list[bytes] = []
        drain = threading.Thread(target=lambda: errors.append(proc.stderr.read()), daemon=True)
        drain.start()

        def write(data: bytes) -> None:
            proc.stdin.write(data)
            proc.stdin.flush()

        def notify() -> str:
            proc.send_signal(signal.SIGHUP)
            return "SIGHUP"

        try:
            write(_env_bytes(agi_env))
            self._converse(chan, proc.stdout.readline, write, notify, transcript, started, latencies)
        except BrokenPipeError:
            pass     # the script exited while we were answering
        finally:
            try:
                proc.stdin.close()
            except BrokenPipeError:
                pass
            try:
                code = proc.wait(timeout=self.timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                code = proc.wait()
            drain.join(timeout=self.timeout)
            proc.stdout.close()
            proc.stderr.close()
        stderr = b"".join(errors).decode("utf-8", "replace")
        return self._result(chan, agi_env, transcript, latencies, exit_code=code, stderr=stderr)

