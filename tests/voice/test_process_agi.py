"""`hotline-agi`, the process-per-call script: fast first command, and no dead air when it
cannot run the menu. (The whole scenario table, hang-ups by SIGHUP included, runs through it
in test_scenarios.py.)"""
from __future__ import annotations

import sys

from agi_scripts.fake_asterisk import Caller, FakeAsterisk, ScriptedKeys
from ivr.scenarios import WANG

from .conftest import agi_environment, catalog_sounds, hotline_agi

# hotline-agi's main(), with a spy on its stdout: for each command written, whether SQLAlchemy
# (the first of the heavy imports) was loaded yet.
SPY = """
import sys
class Spy:
    def __init__(self, raw):
        self.raw = raw
    def write(self, data):
        sys.stderr.write(f"SENT {data.decode().strip()} sqlalchemy={'sqlalchemy' in sys.modules}\\n")
        return self.raw.write(data)
    def flush(self):
        self.raw.flush()
class Stdout:
    buffer = Spy(sys.stdout.buffer)
sys.stdout = Stdout()
from agi_scripts.agi import main
sys.exit(main())
"""


def test_answer_goes_out_before_the_database_layer_is_loaded(hl, clock):
    result = FakeAsterisk(Caller(WANG, keys=ScriptedKeys.parse("0")), catalog_sounds()).call_process(
        [sys.executable, "-c", SPY], env=agi_environment(hl, clock))
    sent = [line for line in result.stderr.splitlines() if line.startswith("SENT ")]
    assert sent[0] == "SENT ANSWER sqlalchemy=False"
    assert result.commands_sent()[0] == "ANSWER"
    assert result.variables["HOTLINE_RESULT"] == "transfer"


def test_without_its_database_the_script_sends_the_caller_to_the_queue(hl, clock, tmp_path):
    env = agi_environment(hl, clock)
    env["DATABASE_URL"] = f"sqlite:///{tmp_path}/no/such/dir/hotline.db"
    result = FakeAsterisk(Caller(WANG, keys=ScriptedKeys.parse("1")), catalog_sounds()).call_process(
        hotline_agi(), env=env)
    assert result.commands_sent()[0] == "ANSWER"
    played = [c for c in result.commands_sent() if c.startswith("STREAM FILE")]
    assert any("error.system" in c for c in played) and any("retry.transfer" in c for c in played)
    assert result.variables["HOTLINE_RESULT"] == "transfer"
    assert "Traceback" not in result.stderr


def test_a_caller_who_hangs_up_at_the_first_prompt_is_recorded_as_abandoned(hl, clock):
    result = FakeAsterisk(Caller(WANG, hangup_after=0), catalog_sounds()).call_process(
        hotline_agi(), env=agi_environment(hl, clock))
    assert ("signal", "SIGHUP") in [(d, line) for _, d, line in result.transcript]
    assert result.variables["HOTLINE_RESULT"] == "abandoned"
    assert result.exit_code == 0
    assert "Traceback" not in result.stderr
