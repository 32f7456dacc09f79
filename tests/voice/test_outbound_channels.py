"""The AMI dialer places calls in parallel, never more than OUTBOUND_MAX_CHANNELS at once: over
the real AMI wire protocol with the fake Asterisk Manager, which counts the Originates queued and
not yet answered by their OriginateResponse (sent to every connection, as Asterisk does)."""
from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import select

from agi_scripts.fake_ami import FakeAmiServer
from agi_scripts.originate import AmiDialer
from tickets import outbound
from tickets.models import CallbackRequest, OutboundCall

from .test_callbacks import call_back, new_request

WAIT_S = 10.0
# How each number answers: the last digit picks it.
OUTCOMES = ["answer", "no-answer", "busy", "answer", "congestion"]
RECORDED = {"answer": "answered", "no-answer": "no-answer", "busy": "busy", "congestion": "failed"}


def outcome_of(action: dict[str, str]) -> str:
    return OUTCOMES[int(action["Exten"][-1]) % len(OUTCOMES)]


def queue_calls(hl, n: int) -> list[int]:
    """`n` queued survey-call rows to numbers 1390000000<i> (as the survey job writes them)."""
    with hl.session() as s, s.begin():
        rows = [OutboundCall(key=f"load-{i}", purpose="survey", phone=f"+861390000000{i}", attempt=1, status="queued",
                             reason="", backend="", created_at=hl.now()) for i in range(n)]
        s.add_all(rows)
        s.flush()
        return [r.id for r in rows]


def rows(hl) -> list[OutboundCall]:
    with hl.session() as s:
        return list(s.scalars(select(OutboundCall).order_by(OutboundCall.id)))


@pytest.fixture
def dialing(hl):
    """`dialing(channels, n)` -> the fake AMI, whose called parties answer only once as many
    Originates are in flight as the dialer may have (or all that are left): so a dialer that keeps
    fewer in flight shows it, and one that keeps more shows it too."""
    made = []

    def start(channels: int, n: int) -> FakeAmiServer:
        def callee(action: dict[str, str]) -> str:
            server.wait_for("in_flight", min(channels, n - server.responded), WAIT_S)
            return outcome_of(action)
        server = FakeAmiServer(callee=callee).start()
        made.append(server)
        hl.settings = dataclasses.replace(hl.settings, ami_url=server.url, outbound_voice="asterisk",
                                          outbound_max_channels=channels)
        return server
    yield start
    for server in made:
        server.stop()


@pytest.mark.parametrize("n, channels", [(7, 3), (4, 1), (3, 4)])
def test_at_most_the_channel_limit_rings_at_once_and_each_call_is_placed_and_settled_once(hl, dialing, n,
                                                                                          channels):
    server = dialing(channels, n)
    ids = queue_calls(hl, n)
    done = outbound.place_queued(hl, AmiDialer(hl, server.url, reply_timeout=30))
    assert server.max_in_flight == min(channels, n)
    assert sorted(a["ChannelId"] for a in server.originated) == sorted(f"hotline-out-{i}" for i in ids)
    assert server.responded == n and server.in_flight == 0
    assert sorted(key for key, _ in done) == sorted(f"load-{i}" for i in range(n))
    for row in rows(hl):
        assert row.status == RECORDED[OUTCOMES[int(row.phone[-1]) % len(OUTCOMES)]], row.key
        assert row.ended_at is not None and row.backend == "asterisk"


def test_a_second_run_places_nothing_already_placed(hl, dialing):
    server = dialing(2, 3)
    queue_calls(hl, 3)
    dialer = AmiDialer(hl, server.url, reply_timeout=30)
    outbound.place_queued(hl, dialer)
    assert outbound.place_queued(hl, dialer) == []
    assert len(server.originated) == 3


def test_calls_still_ringing_elsewhere_take_their_channels(hl, dialing):
    # Two Twilio calls placed by an earlier run are still `placing` (their status callbacks have
    # not come): of three channels one is free, so the queued calls go one at a time.
    server = dialing(1, 3)
    hl.settings = dataclasses.replace(hl.settings, outbound_max_channels=3)
    with hl.session() as s, s.begin():
        s.add_all([OutboundCall(key=f"ringing-{i}", purpose="survey", phone="+8613800138000", attempt=1,
                                status="placing", reason="", backend="twilio", created_at=hl.now(),
                                placed_at=hl.now()) for i in range(2)])
    queue_calls(hl, 3)
    outbound.place_queued(hl, AmiDialer(hl, server.url, reply_timeout=30))
    assert server.max_in_flight == 1 and len(server.originated) == 3


def test_a_waiting_callback_goes_before_the_queued_survey_calls(hl, dialing):
    server = dialing(1, 4)
    queue_calls(hl, 3)
    request_id = new_request(hl)
    call_back(hl, request_id)
    outbound.place_queued(hl, AmiDialer(hl, server.url, reply_timeout=30))
    assert server.originated[0]["Context"] == "hotline-callback"
    assert [a["Context"] for a in server.originated[1:]] == ["hotline-survey"] * 3
    with hl.session() as s:
        assert s.get(CallbackRequest, request_id).status == "calling"
