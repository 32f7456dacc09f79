"""Whatever a phone sends, the webhook answers 200 with one short TwiML message and stores the text."""
from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sms import segments
from tests.sms.conftest import Phone, messages

BODIES = st.text(alphabet=st.characters(codec="utf-8"), max_size=400) | st.text(
    alphabet="BJKTYDQXCNT明天后周六下午上晚点半号月日时小次取消查询退订 0123456789:-/ＢＪ１２，。!?😀<>&'\"", max_size=40)
_numbers = itertools.count(1)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=BODIES)
def test_every_message_gets_one_reply_of_at_most_three_segments(hl, client, clock, body):
    number = f"+86137{next(_numbers):08d}"    # a fresh sender: never opted out, never flooding
    reply = Phone(client, clock, number).text(body)
    assert reply
    assert segments.count(reply) <= 3
    [stored] = messages(hl, phone=number, direction="in")
    assert stored.body == body.replace("\x00", "\ufffd")
