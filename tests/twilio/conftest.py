"""Twilio webhook fixtures: the real app on the test Hotline, and Twilio's side of the calls."""
from __future__ import annotations

import pytest

from agent_console.app import create_app

from .phone import PhoneCall, Twilio


@pytest.fixture
def app(hl):
    return create_app(hl, {"TESTING": True})


@pytest.fixture
def twilio(app) -> Twilio:
    return Twilio(app)


@pytest.fixture
def phone(twilio):
    """`phone(caller)`: a new call from `caller` (national or E.164; "" withholds the number)."""
    def make(caller: str = "13800138000") -> PhoneCall:
        return PhoneCall(twilio, caller)
    return make
