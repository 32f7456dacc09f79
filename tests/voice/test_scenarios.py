"""The transport-neutral scenario table (ivr/scenarios.py) over the real AGI wire protocol.

Each scenario is a call placed by the fake Asterisk, once into the FastAGI server (TCP) and
once into a spawned `hotline-agi` (stdin/stdout); the table's hang-up scenarios hang up at
every node that waits for the caller. The caller must hear what the table says (prompt files
played, and the sentences the script logs with VERBOSE), the call must leave the record the
table says, every prompt played must exist as a file in both languages, and a hang-up must
end the call cleanly.
"""
from __future__ import annotations

import pytest

from agi_scripts.fake_asterisk import Caller, FakeAsterisk, ScriptedKeys
from ivr.scenarios import SCENARIOS, inputs, prepare, set_clock, verify

from .conftest import agi_environment, catalog_sounds, heard_keys_and_texts, hotline_agi


def scripted_caller(scenario, placeholders) -> Caller:
    return Caller(number=scenario.caller, keys=ScriptedKeys.parse(" ".join(inputs(scenario, placeholders))))


def check(hl, scenario, result) -> None:
    problems = verify(hl, scenario, heard_keys_and_texts(result), result.uniqueid)
    missing = [h.value for h in result.heard if h.kind == "missing"]
    assert problems == [] and missing == [], "\n".join(problems + [f"missing sound {m}" for m in missing]) + \
        "\n--- wire\n" + "\n".join(f"{d} {line}" for _, d, line in result.transcript[-40:])
    if scenario.abandoned_at:
        assert result.variables.get("HOTLINE_RESULT") == "abandoned"
        assert result.variables.get("HOTLINE_ABANDONED_AT") == scenario.abandoned_at


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_scenario_over_fastagi(hl, clock, fastagi, scenario):
    set_clock(hl, clock, scenario)
    placeholders = prepare(hl, scenario)
    host, port = fastagi.address
    args = [scenario.language] if scenario.language else []
    result = FakeAsterisk(scripted_caller(scenario, placeholders), catalog_sounds()).call_fastagi(host, port, args=args)
    check(hl, scenario, result)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_scenario_over_process_agi(hl, clock, scenario):
    set_clock(hl, clock, scenario)
    placeholders = prepare(hl, scenario)
    args = [scenario.language] if scenario.language else []
    result = FakeAsterisk(scripted_caller(scenario, placeholders), catalog_sounds(), timeout=60).call_process(
        hotline_agi(), env=agi_environment(hl, clock), args=args)
    check(hl, scenario, result)
    assert result.exit_code == 0, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
