"""The transport-neutral scenario table (ivr/scenarios.py), run through the engine directly."""
from __future__ import annotations

import json

import pytest

from ivr.menus import GATHERS, RECORD
from ivr.prompts import all_prompts
from ivr.runtime import Ivr
from ivr.scenarios import HANGUP_POINTS, SCENARIOS, prepare, run_scenario, set_clock, verify


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_scenario(hl, clock, scenario):
    set_clock(hl, clock, scenario)
    placeholders = prepare(hl, scenario)
    ivr = Ivr(hl)

    def step(state, event):
        # Every state crosses a JSON boundary, as it does between Twilio webhooks.
        state, actions = ivr.step(state, event)
        return json.loads(json.dumps(state)), actions

    result = run_scenario(step, scenario, placeholders)
    problems = verify(hl, scenario, result.heard, result.call_id)
    assert problems == [], "\n".join(problems) + "\n--- transcript\n" + result.transcript


def test_every_node_that_waits_for_the_caller_has_a_hang_up_scenario(hl):
    waiting = {n.name for n in Ivr(hl).menus.values() if n.kind in GATHERS or n.kind == RECORD}
    assert waiting - {node for node, *_ in HANGUP_POINTS} == set()


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_every_prompt_a_scenario_plays_is_in_the_catalog(hl, clock, scenario):
    set_clock(hl, clock, scenario)
    result = run_scenario(Ivr(hl).step, scenario, prepare(hl, scenario))
    played = {seg["prompt"] for a in result.actions for seg in a.get("segments", ()) if "prompt" in seg}
    assert played - set(all_prompts()) == set()
