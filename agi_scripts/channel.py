"""The AGI command layer: pyst2's commands over any byte stream (stdin/stdout or a socket).

pyst2's `asterisk.agi.AGI` is the command layer (`stream_file`, `get_data`, `say_digits`,
`record_file`, `set_variable`, ...), but its constructor installs a SIGHUP handler (Python
refuses that outside the main thread, so it cannot serve FastAGI threads), writes every line
to stderr, and its quoting and reply parsing miss what a real Asterisk 22 does (see
../shared/asterisk-captures/README.md). `AgiChannel` keeps pyst2's command methods and
replaces the transport underneath:

- reads and writes bytes (UTF-8) on any file pair: `sys.stdin.buffer`/`sys.stdout.buffer` for
  a spawned AGI process, `socket.makefile()` for FastAGI;
- never touches signals: the process-per-call script installs the SIGHUP handler itself in
  its main thread and points it at `mark_hungup`;
- takes the FastAGI `HANGUP` line that arrives before a reply, a `511` (dead channel) and an
  EOF as the hang-up they are, while still allowing the commands Asterisk allows on a dead
  channel (GET/SET VARIABLE...), so the abandon point can be recorded;
- quotes arguments the way Asterisk's `parse_args` unquotes them (backslash escapes), so
  Chinese text, quotes and backslashes arrive intact.
"""
from __future__ import annotations

import re
from typing import Any, BinaryIO, Callable

from asterisk import agi as pyst

from .environment import read_environment

# Re-exported so callers catch one family of errors from one place.
AGIError = pyst.AGIError
AGIAppError = pyst.AGIAppError
AGIHangup = pyst.AGIHangup
AGIResultHangup = pyst.AGIResultHangup
AGIUsageError = pyst.AGIUsageError
AGIInvalidCommand = pyst.AGIInvalidCommand
AGIUnknownError = pyst.AGIUnknownError


class ChannelHungUp(pyst.AGIHangup):
    """The caller is gone: a `HANGUP` line, SIGHUP, a `511` reply, or the connection closed."""


class CommandFailed(pyst.AGIAppError):
    """`200 result=-1`: the command failed or the caller hung up; `reason` is what Asterisk put
    in brackets (RECORD FILE: `writefile` when it cannot open the file, `randomerror` when the
    beep would not play), '' when it said nothing."""

    def __init__(self, message: str, reason: str = "") -> None:
        super().__init__(message)
        self.reason = reason


# Commands Asterisk still executes after the caller hung up (seen in the hang-up captures:
# GET VARIABLE and SET VARIABLE answer 200 on a dead channel, channel commands answer 511).
DEAD_CHANNEL_COMMANDS = frozenset({
    "GET VARIABLE", "GET FULL VARIABLE", "SET VARIABLE", "VERBOSE", "NOOP",
    "DATABASE GET", "DATABASE PUT", "DATABASE DEL", "DATABASE DELTREE",
})

DEAD_CHANNEL_REPLY = "Command Not Permitted on a dead channel or intercept routine"

# `200 result=<value> [(<data>)] [key=value ...]`; data may hold spaces, quotes and brackets
# (a variable's value), so it runs to the last ')' that only key=value pairs follow.
_RESULT = re.compile(r"result=(\S*)\s*(.*)\Z", re.S)
_DATA_THEN_PAIRS = re.compile(r"\((.*)\)((?:\s+\w+=\S*)*)\s*\Z", re.S)
_PAIR = re.compile(r"(\w+)=(\S*)")


def quote(value: Any) -> str:
    """One AGI argument in double quotes, escaped the way Asterisk's parse_args reads it back.

    A line break would end the command early, so it becomes a space.
    """
    text = str(value)
    if "\\" in text or '"' in text:
        text = text.replace("\\", "\\\\").replace('"', '\\"')
    if "\n" in text or "\r" in text:
        text = text.replace("\r\n", " ").replace("\n", " ").replace("\r", " ")
    return f'"{text}"'


def parse_reply(response: str) -> dict[str, tuple[str, str]]:
    """The part after `200 ` as pyst2's result dict: {'result': (value, data), 'endpos': (n, '')}.

    `result= (timeout)` (GET DATA with no input) gives ('', 'timeout'), which pyst2's own
    pattern cannot read.
    """
    out: dict[str, tuple[str, str]] = {"result": ("", "")}
    m = _RESULT.search(response)
    if not m:
        return out
    value, tail = m.groups()
    data = ""
    if tail.startswith("("):
        dm = _DATA_THEN_PAIRS.match(tail)
        if dm:
            data, tail = dm.groups()
    out["result"] = (value, data)
    for key, val in _PAIR.findall(tail):
        out[key] = (val, "")
    return out


Trace = Callable[[str, str], None]   # (direction 'agi>' or 'ast>', line)


class AgiChannel(pyst.AGI):
    """pyst2's AGI command layer on a pair of binary files, safe in any thread.

    `rfile.readline()` must return bytes; `wfile.write(bytes)` and `wfile.flush()` must work.
    Pass `env` when the environment was already read (the FastAGI server does it to log the
    uniqueid before anything else); otherwise it is read here.
    """

    def __init__(self, rfile: BinaryIO, wfile: BinaryIO, env: dict[str, str] | None = None, *,
                 trace: Trace | None = None) -> None:
        # Deliberately not calling pyst.AGI.__init__: it installs a SIGHUP handler (main
        # thread only) and copies every line to stderr.
        self.stdin = rfile
        self.stdout = wfile
        self.stderr = None
        self._trace = trace
        self._got_sighup = False
        self.hungup = False
        self.hangup_reason = ""
        self.commands_sent = 0
        if env is None:
            try:
                env = read_environment(rfile)
            except EOFError as exc:
                raise ChannelHungUp(str(exc)) from None
        self.env = env

    # -- hang-up state -------------------------------------------------------------------

    def mark_hungup(self, reason: str = "hangup") -> None:
        """Remember that the caller is gone; channel commands now raise ChannelHungUp."""
        if not self.hungup:
            self.hungup = True
            self.hangup_reason = reason

    def _handle_sighup(self, signum, frame) -> None:
        """Signal handler for the process-per-call script (installed by it, in the main thread)."""
        self._got_sighup = True
        self.mark_hungup("SIGHUP")

    def test_hangup(self) -> None:
        """pyst2 calls this before each command; `execute` decides per command instead."""

    # -- transport -------------------------------------------------------------------------

    def execute(self, command: str, *args) -> dict[str, tuple[str, str]]:
        if self.hungup and command.upper() not in DEAD_CHANNEL_COMMANDS:
            # Asterisk would answer 511; no need to ask.
            raise ChannelHungUp(f"{command}: the caller hung up ({self.hangup_reason})")
        self.send_command(command, *args)
        return self.get_result()

    def send_command(self, command: str, *args) -> None:
        """Send one command line; a closed pipe or socket means the call is over."""
        line = command.strip()
        if args:
            line = f"{line} {' '.join(map(str, args))}".rstrip()
        if self._trace is not None:
            self._trace("agi>", line)
        try:
            self.stdout.write(line.encode("utf-8") + b"\n")
            self.stdout.flush()
        except (BrokenPipeError, ConnectionError, ValueError) as exc:
            # ValueError: the file object was closed under us (server shutdown).
            self.mark_hungup("connection closed")
            raise ChannelHungUp(f"{line}: the connection to Asterisk closed ({exc})") from None
        self.commands_sent += 1

    def _readline(self) -> str:
        try:
            raw = self.stdin.readline()
        except (ConnectionError, OSError, ValueError) as exc:
            self.mark_hungup("connection closed")
            raise ChannelHungUp(f"the connection to Asterisk failed ({exc})") from None
        if not raw:
            self.mark_hungup("connection closed")
            raise ChannelHungUp("the connection to Asterisk closed")
        line = raw.decode("utf-8", "replace").rstrip("\r\n")
        if self._trace is not None:
            self._trace("ast>", line)
        return line

    def get_result(self, stdin=None) -> dict[str, tuple[str, str]]:
        """Read one reply. Raises like pyst2 (AGIAppError on -1, AGIUsageError on 520, ...)."""
        line = self._readline()
        while line == "HANGUP":
            # FastAGI: Asterisk announces the hang-up before the reply to the pending command.
            self.mark_hungup("HANGUP")
            line = self._readline()
        code, _, response = line.partition(" ")
        if code == "200":
            result = parse_reply(response)
            value, data = result["result"]
            if data == "hangup":
                self.mark_hungup("hangup result")
                raise pyst.AGIResultHangup("the caller hung up during the command")
            if value == "-1":
                raise CommandFailed("result=-1: error executing the application, or hang-up", data)
            return result
        if code == "511":
            self.mark_hungup("511 dead channel")
            raise ChannelHungUp(response or DEAD_CHANNEL_REPLY)
        if code == "510":
            raise pyst.AGIInvalidCommand(response)
        if code.startswith("520"):
            usage = [line]
            while not line.startswith("520 "):
                line = self._readline()
                usage.append(line)
            raise pyst.AGIUsageError("\n".join(usage) + "\n")
        raise pyst.AGIUnknownError(code, f"unexpected reply from Asterisk: {line!r}")

    # -- pyst2 methods whose quoting is unsafe for free text ------------------------------

    def _quote(self, string: Any) -> str:
        return quote(string)

    def get_data(self, filename: str, timeout: int = pyst.DEFAULT_TIMEOUT, max_digits: int = 255) -> str:
        """Keys typed (without the ending '#'); '' on no input."""
        return self.get_data_full(filename, timeout, max_digits)[0]

    def get_data_full(self, filename: str, timeout: int, max_digits: int) -> tuple[str, bool]:
        """(keys, timed_out): `result=12 (timeout)` is a partial entry then silence."""
        value, data = self.execute("GET DATA", quote(filename), int(timeout), int(max_digits))["result"]
        return value, data == "timeout"

    def stream_file_full(self, filename: str, escape_digits: str = "") -> tuple[str, int]:
        """(key pressed or '', endpos); AGIAppError on result=-1 (missing file or hang-up)."""
        reply = self.execute("STREAM FILE", quote(filename), quote(escape_digits))
        value = reply["result"][0]
        endpos = int(reply.get("endpos", ("0", ""))[0] or 0)
        return (chr(int(value)) if value not in ("", "0") else ""), endpos

    def record_file_full(self, filename: str, fmt: str, escape_digits: str, max_ms: int,
                         silence_s: int) -> tuple[str, str, int]:
        """(key or '', why it ended: 'dtmf'/'timeout'/..., endpos in samples). No beep: asked
        for, Asterisk plays its own `beep` sound and fails the command without it, so the caller
        plays the menu's own beep first."""
        reply = self.execute("RECORD FILE", quote(filename), fmt, quote(escape_digits), int(max_ms),
                             0, f"s={int(silence_s)}")
        value, why = reply["result"]
        endpos = int(reply.get("endpos", ("0", ""))[0] or 0)
        return (chr(int(value)) if value not in ("", "0") else ""), why, endpos
