"""The fake Asterisk answers like the real Asterisk 22 of ../shared/asterisk-captures/.

For each capture the script's own commands are replayed against the fake, over the same
transport (TCP for FastAGI, pipes and SIGHUP for a spawned AGI), with a caller scripted to do
what the real caller did. The fake must send the same environment variables in the same
order, and answer every command with the same reply (sample positions `endpos=` aside: the
fake's sound files have other lengths), including the HANGUP line, SIGHUP, 511, 510 and the
520 usage block.
"""
from __future__ import annotations

import json
import re
import socket
import sys
import threading
from pathlib import Path

import pytest

from agi_scripts.fake_asterisk import Caller, FakeAsterisk, ScriptedKeys, Sounds

from .conftest import CAPTURES
from .replay_agi import read_env, replay

REPLAY_SCRIPT = Path(__file__).with_name("replay_agi.py")

# What the caller did in each recorded call (see the capture README).
CALLERS = {
    # keys 1 2 3 # in GET DATA, 9 at WAIT FOR DIGIT, nothing at the next GET DATA, silence at RECORD FILE
    "agi-fastagi-main.json": dict(keys=["123#", "9", "", ""]),
    "agi-stdin-main.json": dict(keys=["123#", "9", "", ""]),
    # 5 pressed while demo-congrats plays, then * and silence
    "agi-fastagi-interrupt.json": dict(keys=["5*"], barge_in=True),
    # hangs up during the first prompt
    "agi-fastagi-hangup.json": dict(keys=[], hangup_after=0),
    "agi-stdin-hangup.json": dict(keys=[], hangup_after=0),
}


def load(name: str) -> dict:
    path = CAPTURES / name
    if not path.exists():
        pytest.skip(f"capture {path} not present")
    return json.loads(path.read_text(encoding="utf-8"))


def recorded_replies(capture: dict) -> list[str]:
    """Asterisk's lines after the environment's blank line (signals are not lines)."""
    log = capture["log"]
    blank = next(i for i, e in enumerate(log) if e["dir"] == "ast>" and e["line"] == "\n")
    return [e["line"].rstrip("\n") for e in log[blank + 1:] if e["dir"] == "ast>"]


def shape(line: str) -> str:
    return re.sub(r"endpos=\d+", "endpos=N", line)


def fake_for(name: str, capture: dict) -> FakeAsterisk:
    spec = CALLERS[name]
    caller = Caller(number=capture["env"]["agi_callerid"], name=capture["env"]["agi_calleridname"],
                    keys=ScriptedKeys(spec["keys"]), barge_in=spec.get("barge_in", False),
                    hangup_after=spec.get("hangup_after"), hangup_when_done=False)
    return FakeAsterisk(caller, Sounds(), dnid=capture["env"]["agi_dnid"], timeout=30)


def replay_over_fastagi(capture: dict, fake: FakeAsterisk):
    commands = [e["line"] for e in capture["log"] if e["dir"] == "agi>"]
    report: dict = {}
    with socket.create_server(("127.0.0.1", 0)) as listener:
        def serve():
            conn, _ = listener.accept()
            with conn, conn.makefile("rb") as rfile, conn.makefile("wb", buffering=0) as wfile:
                report["env"] = list(read_env(rfile))
                report["received"] = replay(rfile, wfile, commands)
        t = threading.Thread(target=serve)
        t.start()
        result = fake.call_fastagi(*listener.getsockname()[:2], script=capture["script"])
        t.join()
    return result, report


def replay_over_process(name: str, capture: dict, fake: FakeAsterisk):
    result = fake.call_process([sys.executable, str(REPLAY_SCRIPT), str(CAPTURES / name)], args=[capture["script"]])
    assert result.exit_code == 0, result.stderr
    return result, json.loads(result.stderr)


@pytest.mark.parametrize("name", sorted(CALLERS))
def test_fake_asterisk_answers_the_recorded_commands_like_asterisk(name):
    capture = load(name)
    fake = fake_for(name, capture)
    if capture["transport"] == "fastagi":
        result, report = replay_over_fastagi(capture, fake)
    else:
        result, report = replay_over_process(name, capture, fake)
    assert report["env"] == list(capture["env"])
    assert [shape(x) for x in report["received"]] == [shape(x) for x in recorded_replies(capture)]
    if capture["transport"] != "fastagi" and "hangup" in name:
        assert report["sighup"], "a spawned script must get SIGHUP when the caller hangs up"


def test_fake_asterisk_sends_the_environment_values_of_a_real_call():
    capture = load("agi-fastagi-main.json")
    fake = fake_for("agi-fastagi-main.json", capture)
    result, _ = replay_over_fastagi(capture, fake)
    for key in ("agi_network", "agi_network_script", "agi_type", "agi_version", "agi_callerid", "agi_calleridname",
                "agi_callingpres", "agi_rdnis", "agi_enhanced", "agi_accountcode"):
        assert result.env[key] == capture["env"][key], key
    assert re.fullmatch(r"\d+\.\d+", result.env["agi_uniqueid"])
