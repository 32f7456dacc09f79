"""The sample Asterisk configuration parses (pyst2's asterisk.config) and agrees with the code:
the AGI URL, the script name, the variables the menu sets, the queue, the agents' endpoints."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from asterisk.config import Config

from agi_scripts import driver
from agi_scripts.service import MENU_SCRIPTS
from tickets.config import VARIABLES

CONF = Path(__file__).resolve().parents[2] / "asterisk_conf"
DEMO = Path(__file__).resolve().parents[2] / "sql" / "seed" / "demo.json"


def parse(name: str) -> dict[str, list[tuple[str, str]]]:
    """Category -> [(name, value)]; categories may repeat (pjsip.conf), their items are merged."""
    out: dict[str, list[tuple[str, str]]] = {}
    for cat in Config(str(CONF / name)).categories:
        out.setdefault(cat.name, []).extend((i.name, i.value.strip()) for i in cat.items)
    return out


def values(items, key: str) -> list[str]:
    return [v for k, v in items if k == key]


def dialplan() -> dict[str, dict[str, list[str]]]:
    """Context -> extension -> its steps ('1,NoOp(...)', 'n(label),AGI(...)')."""
    plan: dict[str, dict[str, list[str]]] = {}
    for ctx, items in parse("extensions.conf").items():
        if ctx == "globals":
            continue
        exts: dict[str, list[str]] = {}
        current = None
        for key, value in items:
            if key == "exten":
                current, _, step = value.partition(",")
                exts.setdefault(current, []).append(step)
            elif key == "same":
                exts[current].append(value)
        plan[ctx] = exts
    return plan


@pytest.mark.parametrize("name", ["extensions.conf", "queues.conf", "pjsip.conf", "manager.conf", "musiconhold.conf"])
def test_each_configuration_file_parses(name):
    assert Config(str(CONF / name)).categories


def test_the_fastagi_url_reaches_the_default_server_and_a_script_it_answers():
    g = dict(parse("extensions.conf")["globals"])
    host, port, script = re.fullmatch(r"agi://([^:/]+):(\d+)/(\w+)", g["HOTLINE_FASTAGI"]).groups()
    assert f"{host}:{port}" == VARIABLES["FASTAGI_BIND"][0]
    assert script in MENU_SCRIPTS
    assert g["HOTLINE_AGI"] == "hotline-agi"


def test_one_global_variable_chooses_fastagi_or_a_process_per_call():
    g = dict(parse("extensions.conf")["globals"])
    steps = " ".join(dialplan()["hotline-in"]["s"])
    assert g["HOTLINE_MODE"] in ("fastagi", "agi")
    assert 'GotoIf($["${HOTLINE_MODE}" = "agi"]?process)' in steps
    assert "AGI(${HOTLINE_FASTAGI})" in steps
    assert "n(process),AGI(${HOTLINE_AGI})" in steps


@pytest.mark.parametrize("number", ["96156", "099196156", "+8699196156"])
def test_the_short_number_and_the_full_did_go_into_the_menu(number):
    assert dialplan()["from-carrier"][number] == ["1,Goto(hotline-in,s,1)"]


def test_every_result_the_menu_sets_is_routed():
    steps = " ".join(dialplan()["hotline-in"]["s"])
    for result in ("transfer", "hangup", "abandoned"):
        assert f'"${{{driver.RESULT_VAR}}}" = "{result}"' in steps
    # failed, or nothing set at all, falls through to the failure extension
    assert dialplan()["hotline-in"]["s"][-2] == "n,Goto(hotline-failed,s,1)"


def test_a_broken_call_goes_to_the_queue_in_opening_hours_not_to_dead_air():
    failed = " ".join(dialplan()["hotline-failed"]["s"])
    assert "GotoIfTime(${HOTLINE_OPEN},*,*,*,${HOTLINE_TZ}?open)" in failed
    assert "n(open),Goto(hotline-queue,s,1)" in failed
    g = dict(parse("extensions.conf")["globals"])
    assert g["HOTLINE_OPEN"] == VARIABLES["BUSINESS_HOURS"][0]
    assert dialplan()["hotline-in"]["e"] == ["1,Goto(hotline-failed,s,1)"]


def test_the_queue_the_menu_names_is_the_configured_queue():
    queue_steps = " ".join(dialplan()["hotline-queue"]["s"])
    assert "Queue(hotline-${HOTLINE_QUEUE}" in queue_steps
    assert "?agents:" in queue_steps        # the driver's default queue name
    assert "hotline-agents" in parse("queues.conf")


def test_every_goto_target_exists():
    plan = dialplan()
    for ctx, exts in plan.items():
        labels = {m for steps in exts.values() for s in steps for m in re.findall(r"^n\((\w+)\)", s)}
        for steps in exts.values():
            for step in steps:
                for target in re.findall(r"Goto(?:If|IfTime)?\([^?]*\?([^)]+)\)|Goto\(([^)]+)\)", step):
                    dest = [t for t in target if t][0]
                    parts = dest.split(",")
                    if len(parts) == 3:
                        assert parts[0] in plan, f"{ctx}: {step}"
                        assert parts[1] in plan[parts[0]], f"{ctx}: {step}"
                    else:
                        assert parts[0] in labels, f"{ctx}: {step}"


def test_queue_members_and_softphones_are_the_demo_agents_extensions():
    agents = [u["extension"] for u in json.loads(DEMO.read_text(encoding="utf-8"))["users"] if u["role"] == "agent"]
    members = [v.split(",")[0] for v in values(parse("queues.conf")["hotline-agents"], "member")]
    assert members == agents
    pjsip = parse("pjsip.conf")
    for ext in agents:
        endpoint = pjsip[ext.split("/", 1)[1]]
        assert ("type", "endpoint") in endpoint
        assert ("context", "from-agents") in endpoint
    assert "from-agents" in dialplan()


def test_the_carrier_trunk_lands_in_the_carriers_context():
    carrier = parse("pjsip.conf")["carrier"]
    assert ("type", "endpoint") in carrier
    assert ("context", "from-carrier") in carrier
    assert "from-carrier" in dialplan()


def test_the_manager_interface_listens_on_loopback_only_and_gives_queue_events():
    manager = parse("manager.conf")
    assert dict(manager["general"])["bindaddr"] == "127.0.0.1"
    user = dict(manager["hotline"])
    assert "agent" in user["read"].split(",")
    assert user["permit"].startswith("127.0.0.1/")
    assert VARIABLES["AMI_URL"][1].startswith("ami://hotline:")


def test_the_agents_queue_plays_a_music_on_hold_class_that_is_defined():
    queue = dict(parse("queues.conf")["hotline-agents"])
    classes = parse("musiconhold.conf")
    assert queue["musicclass"] in classes
    moh = dict(classes[queue["musicclass"]])
    assert moh["mode"] == "files" and moh["directory"].startswith("/")


def test_the_failure_path_tells_the_ami_listener_before_anything_else():
    steps = dialplan()["hotline-failed"]["s"]
    assert steps[1].startswith("n,UserEvent(HotlineMenuFailed,")
    from agi_scripts.ami import EVENT_CLASSES, MENU_FAILED_EVENT
    assert f"UserEvent({MENU_FAILED_EVENT}," in steps[1] and "user" in EVENT_CLASSES.split(",")
