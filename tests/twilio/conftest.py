"""Twilio webhook fixtures: the real app on the test Hotline, and Twilio's side of the calls."""
from __future__ import annotations

import dataclasses

import pytest

from agent_console.app import create_app
from ivr import prompts
from tickets.context import Hotline

from tests.sms.fake_twilio import FakeTwilio

from .phone import PhoneCall, Twilio


@pytest.fixture
def app(hl):
    return create_app(hl, {"TESTING": True})


@pytest.fixture
def api():
    """Twilio's REST API on a loopback port (calls.create lands here: tests/sms/fake_twilio.py)."""
    server = FakeTwilio()
    yield server
    server.close()


@pytest.fixture
def twilio(app) -> Twilio:
    return Twilio(app)


@pytest.fixture
def phone(twilio):
    """`phone(caller)`: a new call from `caller` (national or E.164; "" withholds the number)."""
    def make(caller: str = "13800138000") -> PhoneCall:
        return PhoneCall(twilio, caller)
    return make


@pytest.fixture
def sibling(hl, clock):
    """`sibling(**settings)`: another Hotline (as another web process would build it) on the same
    database and clock, with some settings changed; closed after the test."""
    made: list[Hotline] = []

    def make(**changes) -> Hotline:
        h = Hotline(dataclasses.replace(hl.settings, **changes), clock=clock).load_plugins()
        made.append(h)
        return h

    yield make
    for h in made:
        h.close()


@pytest.fixture
def sibling_app(sibling):
    """`sibling_app(**settings)`: the app of such a sibling Hotline."""
    def make(**changes):
        return create_app(sibling(**changes), {"TESTING": True})
    return make


@pytest.fixture
def prompt_files(tmp_path):
    """A PROMPTS_DIR in which `hotline prompts build` has rendered every prompt (zh and en)."""
    root = tmp_path / "prompts"
    for lang in prompts.LANGS:
        (root / lang).mkdir(parents=True)
        for key in prompts.all_prompts():
            (root / lang / f"{key}.wav").write_bytes(b"RIFF" + key.encode() + b"WAVE")
    return root
