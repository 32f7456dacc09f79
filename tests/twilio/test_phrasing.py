"""The sentences Twilio's <Say> reads: one <Say> of several phrases keeps each phrase's mark, so
the caller hears a pause between them."""
from __future__ import annotations

from datetime import datetime

from ivr.scenarios import NIGHT
from tickets.timeutil import to_utc

from .phone import spoken


def says(doc) -> list[str]:
    return [a["text"] for a in spoken(doc) if "text" in a]


def at_night(hl, clock) -> None:
    clock.now = to_utc(datetime.strptime(NIGHT, "%Y-%m-%d %H:%M"), hl.tz)


def test_a_withheld_caller_at_night_hears_the_hours_and_the_refusal_as_two_sentences(hl, clock, phone):
    at_night(hl, clock)
    call = phone("")
    call.dial()
    call.press("1")                 # Chinese
    said = says(call.press("0"))    # an agent: closed, and no number to call back
    assert any("至晚上8点，现在是非工作时间。我们无法识别您的来电号码" in s for s in said), said


def test_an_english_caller_at_night_hears_the_hours_end_in_a_full_stop(hl, clock, phone):
    at_night(hl, clock)
    call = phone("13700137000")     # Mr. Smith, English
    call.dial()
    said = " ".join(says(call.press("0")))
    assert "from 8 a.m. to 8 p.m. They are not available now. If you would like an agent" in said, said
