"""An AGI script that replays the commands of a capture file and reports Asterisk's replies.

Run by the capture tests as a spawned AGI process (stdin/stdout, like Asterisk runs a script):
`python replay_agi.py <capture.json>`; prints a JSON report on stderr at the end: every line
received after the environment, the environment, and whether SIGHUP arrived.
"""
from __future__ import annotations

import json
import signal
import sys


def read_reply(rfile) -> list[str]:
    """One reply: a `200`/`5xx` line, or a whole `520-` block; a HANGUP line before it is kept."""
    lines, in_usage = [], False
    while True:
        line = rfile.readline().decode("utf-8").rstrip("\n")
        lines.append(line)
        if line == "HANGUP":
            continue
        if line.startswith("520-"):
            in_usage = True
            continue
        if in_usage and not line.startswith("520 "):
            continue
        return lines


def replay(rfile, wfile, commands: list[str]) -> list[str]:
    received = []
    for command in commands:
        wfile.write(command.encode("utf-8"))
        wfile.flush()
        received.extend(read_reply(rfile))
    return received


def read_env(rfile) -> dict[str, str]:
    env = {}
    while True:
        line = rfile.readline().decode("utf-8").rstrip("\n")
        if not line:
            return env
        key, _, value = line.partition(": ")
        env[key] = value


def main() -> int:
    sighup: list[int] = []
    signal.signal(signal.SIGHUP, lambda *_: sighup.append(1))
    capture = json.load(open(sys.argv[1], encoding="utf-8"))
    commands = [e["line"] for e in capture["log"] if e["dir"] == "agi>"]
    env = read_env(sys.stdin.buffer)
    received = replay(sys.stdin.buffer, sys.stdout.buffer, commands)
    sys.stderr.write(json.dumps({"env": list(env), "received": received, "sighup": bool(sighup)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
