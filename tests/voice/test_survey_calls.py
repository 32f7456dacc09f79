"""Survey calls (回访) over the real AMI and AGI wire protocols: tickets.outbound queues the call,
agi_scripts.originate sends AMI Originate to the fake Asterisk Manager, whose OriginateResponse
and then the FastAGI session of extensions.conf's hotline-survey context (the survey menu on
the IVR engine) run as Asterisk would run them."""
from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import select

from agi_scripts.fake_ami import DialplanRunner, FakeAmiServer
from agi_scripts.originate import AmiDialer
from sms import notices
from tests.outbound import calls_of, only_survey_waiting, survey_of, survey_waiting_for_a_call
from tickets import outbound
from tickets.models import Call, SmsMessage, WorkOrder, WorkOrderEvent

from .conftest import catalog_sounds

DEADLINE = 30.0


@pytest.fixture
def asterisk(hl, fastagi):
    """`asterisk(callee=..., keys=..., amd=...)`: a fake AMI whose answered survey calls run the
    FastAGI survey session; the hotline set to place calls through it."""
    made = []

    def start(callee=lambda action: "answer", keys=("5",), amd=lambda action: "HUMAN") -> FakeAmiServer:
        runner = DialplanRunner(fastagi.address, lambda action: list(keys), amd=amd, sounds=catalog_sounds())
        server = FakeAmiServer(callee=callee, on_answer=runner).start()
        server.runner = runner
        made.append(server)
        hl.settings = dataclasses.replace(hl.settings, ami_url=server.url, outbound_voice="asterisk")
        hl.extensions[outbound.DIALER] = AmiDialer(hl, server.url, reply_timeout=DEADLINE)
        return server
    yield start
    for server in made:
        server.stop()


def test_an_answered_survey_call_records_the_score_pressed_on_the_phone(hl, clock, asterisk):
    order_id = survey_waiting_for_a_call(hl, clock)
    ami = asterisk(keys=("4",))
    outbound.follow_through(hl)
    assert ami.wait_for("dialplan_runs", 1, DEADLINE)
    survey = survey_of(hl, order_id)
    assert (survey.status, survey.score, survey.channel) == ("answered", 4, "phone")
    (placed,) = calls_of(hl, order_id)
    assert placed.status == "answered" and placed.external_id == f"hotline-out-{placed.id}"
    with hl.session() as s:
        assert s.get(WorkOrder, order_id).status == "closed"
        call = s.scalar(select(Call).where(Call.external_id == placed.external_id))
        assert (call.outcome, call.caller) == ("survey", "+8613800138000")


def test_the_originate_dials_the_customer_into_the_survey_context_with_our_action_id(hl, clock, asterisk):
    order_id = survey_waiting_for_a_call(hl, clock)
    ami = asterisk()
    outbound.follow_through(hl)
    (placed,) = calls_of(hl, order_id)
    (action,) = ami.originated
    assert action["Channel"] == "PJSIP/13800138000@carrier"
    assert (action["Context"], action["Exten"], action["Priority"]) == ("hotline-survey", "13800138000", "1")
    assert action["Async"] == "true" and action["ActionID"].startswith(f"hotline-{placed.id}-")
    assert action["Variable"] == f"HOTLINE_OUTBOUND={placed.id}"
    assert action["ChannelId"] == f"hotline-out-{placed.id}"


def test_the_survey_session_hears_the_order_number_and_the_score_question(hl, clock, asterisk):
    order_id = survey_waiting_for_a_call(hl, clock)
    ami = asterisk(keys=("5",))
    outbound.follow_through(hl)
    assert ami.wait_for("dialplan_runs", 1, DEADLINE)
    (result,) = ami.runner.results
    heard = [h.value for h in result.heard if h.kind == "prompt"]
    intro, ask = heard.index("hotline/zh/survey.intro"), heard.index("hotline/zh/survey.ask")
    assert heard.index("hotline/zh/survey.thanks") > ask
    assert result.env["agi_context"] == "hotline-survey"
    with hl.session() as s:
        number = s.get(WorkOrder, order_id).number
    assert "".join(p.rsplit(".", 1)[1] for p in heard[intro + 1:ask]) == number


@pytest.mark.parametrize("callee, status", [("no-answer", "no-answer"), ("busy", "busy"),
                                            ("congestion", "failed"), ("fail", "failed")])
def test_an_unanswered_originate_is_recorded_with_its_reason(hl, clock, asterisk, callee, status):
    order_id = survey_waiting_for_a_call(hl, clock)
    asterisk(callee=lambda action: callee)
    outbound.follow_through(hl)
    (placed,) = calls_of(hl, order_id)
    assert placed.status == status and "Reason" in placed.reason
    assert survey_of(hl, order_id).status == "pending"
    with hl.session() as s:
        actions = [e.action for e in s.scalars(select(WorkOrderEvent).where(WorkOrderEvent.order_id == order_id))]
    assert actions[-3:] == ["survey_resend", "survey_call", "survey_unreached"]


def test_an_answering_machine_is_recorded_and_hears_no_survey(hl, clock, asterisk):
    order_id = survey_waiting_for_a_call(hl, clock)
    ami = asterisk(amd=lambda action: "MACHINE")
    outbound.follow_through(hl)
    assert ami.wait_for("dialplan_runs", 1, DEADLINE)
    (placed,) = calls_of(hl, order_id)
    assert placed.status == "machine"
    assert survey_of(hl, order_id).status == "pending"
    (result,) = ami.runner.results
    assert "hotline/zh/survey.ask" not in [h.value for h in result.heard]


def test_unanswered_calls_are_retried_after_the_interval_up_to_the_attempt_limit(hl, clock, asterisk):
    order_id = survey_waiting_for_a_call(hl, clock)
    ami = asterisk(callee=lambda action: "no-answer")
    outbound.follow_through(hl)
    outbound.follow_through(hl)              # too soon: nothing more
    assert len(ami.originated) == 1
    for _ in range(hl.settings.survey_call_attempts + 1):
        clock.advance(minutes=hl.settings.survey_retry_minutes)
        outbound.follow_through(hl)
    assert [c.attempt for c in calls_of(hl, order_id)] == list(range(1, hl.settings.survey_call_attempts + 1))
    assert len(ami.originated) == hl.settings.survey_call_attempts
    with hl.session() as s:
        assert [sv.order_id for sv in outbound.unanswered_after_calls(s)] == [order_id]


def test_a_failed_originate_counts_as_an_attempt_and_is_retried(hl, clock, asterisk):
    order_id = survey_waiting_for_a_call(hl, clock)
    asterisk()
    hl.extensions[outbound.DIALER] = AmiDialer(hl, "ami://hotline:wrong@127.0.0.1:1", reply_timeout=1)
    outbound.follow_through(hl)
    (first,) = calls_of(hl, order_id)
    assert first.status == "failed" and "not reachable" in first.reason
    clock.advance(minutes=hl.settings.survey_retry_minutes)
    hl.extensions[outbound.DIALER] = AmiDialer(hl, hl.settings.ami_url, reply_timeout=DEADLINE)
    outbound.follow_through(hl)
    assert [c.status for c in calls_of(hl, order_id)] == ["failed", "answered"]


def test_a_second_run_of_the_job_places_no_call_twice(hl, clock, asterisk):
    order_id = survey_waiting_for_a_call(hl, clock)
    asterisk()
    with hl.session() as s, s.begin():
        first = outbound.queue_survey_calls(s)
    with hl.session() as s, s.begin():
        again = outbound.queue_survey_calls(s)
    assert len(first) == 1 and again == []
    (row,) = calls_of(hl, order_id)
    with hl.session() as s, s.begin():
        assert outbound.claim(s, row.id, "asterisk")
    with hl.session() as s, s.begin():
        assert not outbound.claim(s, row.id, "asterisk")     # the other leader finds it taken


def test_no_survey_call_is_placed_in_quiet_hours(hl, clock, asterisk):
    survey_waiting_for_a_call(hl, clock)
    ami = asterisk()
    # FIXED_NOW is 10:00 in Shanghai; +12 h is 22:00, inside the default 21:00-08:00.
    clock.advance(hours=12)
    outbound.follow_through(hl)
    assert ami.originated == []
    clock.advance(hours=11)                  # 09:00 the next morning
    outbound.follow_through(hl)
    assert len(ami.originated) == 1


def test_a_dialer_that_died_after_claiming_leaves_a_failed_attempt(hl, clock):
    order_id = survey_waiting_for_a_call(hl, clock)
    hl.settings = dataclasses.replace(hl.settings, outbound_voice="asterisk")
    with hl.session() as s, s.begin():
        (row,) = outbound.queue_survey_calls(s)
        assert outbound.claim(s, row.id, "asterisk")
    clock.advance(minutes=16)
    with hl.session() as s, s.begin():
        assert outbound.expire_lost(s) == 1
    assert calls_of(hl, order_id)[0].status == "failed"


# ---------------------------------------------------------------- the customer's choice: phone, or no calls at all

def _sms_kinds(hl, order_id: int) -> list[str]:
    with hl.session() as s:
        return list(s.scalars(select(SmsMessage.kind).where(SmsMessage.order_id == order_id)))


def test_a_customer_who_prefers_phone_is_called_at_once_and_gets_no_survey_sms(hl, clock, asterisk):
    order_id = only_survey_waiting(hl, survey_channel="phone")
    assert "completed" not in _sms_kinds(hl, order_id)
    ami = asterisk(keys=("5",))
    outbound.follow_through(hl)              # at completion: no resend, no waiting
    assert ami.wait_for("dialplan_runs", 1, DEADLINE)
    (placed,) = calls_of(hl, order_id)
    assert (placed.attempt, placed.status) == (1, "answered")
    assert (survey_of(hl, order_id).status, survey_of(hl, order_id).channel) == ("answered", "phone")
    clock.advance(hours=hl.settings.survey_resend_hours)
    assert notices.resend_surveys(hl) == 0 and "survey_resend" not in _sms_kinds(hl, order_id)


def test_an_unanswered_phone_survey_is_retried_by_call_not_by_sms(hl, clock, asterisk):
    order_id = only_survey_waiting(hl, survey_channel="phone")
    ami = asterisk(callee=lambda action: "no-answer")
    outbound.follow_through(hl)
    clock.advance(hours=hl.settings.survey_resend_hours)
    assert notices.resend_surveys(hl) == 0
    outbound.follow_through(hl)
    assert [c.status for c in calls_of(hl, order_id)] == ["no-answer", "no-answer"] and len(ami.originated) == 2
    assert "survey_resend" not in _sms_kinds(hl, order_id)


@pytest.mark.parametrize("channel", ["sms", "phone"])
def test_a_do_not_call_customer_gets_no_survey_resend_and_no_survey_call(hl, clock, asterisk, channel):
    order_id = only_survey_waiting(hl, do_not_call=True, survey_channel=channel)
    ami = asterisk()
    outbound.follow_through(hl)
    clock.advance(hours=hl.settings.survey_resend_hours)
    assert notices.resend_surveys(hl) == 0
    clock.advance(hours=hl.settings.survey_call_after_hours)
    outbound.follow_through(hl)
    assert calls_of(hl, order_id) == [] and ami.originated == []
    assert not {"completed", "survey_resend"} & set(_sms_kinds(hl, order_id))
    assert survey_of(hl, order_id).status == "pending"      # the survey desk still has it
