"""Sending: after commit only, once per row, through the console or the Twilio REST API, with retries."""
from __future__ import annotations

import logging

import pytest
from sqlalchemy import select

from sms import outbox
from sms.plugin import outbox_job
from sms.providers import TwilioProvider, use_provider
from tests.sms.conftest import WANG, Phone, messages
from tests.sms.fake_twilio import FakeTwilio, LocalHttpClient
from tickets.models import SmsConversation, SmsMessage

TWILIO_NUMBER = "+8610000000"


def queue(hl, body: str = "订单2632700001已派工", **kw) -> int:
    with hl.session() as s, s.begin():
        queued = outbox.enqueue(s, WANG, kind="test", template="reply", params={"text": body}, **kw)
    return queued.id


def row(hl, row_id: int) -> SmsMessage:
    with hl.session() as s:
        return s.get(SmsMessage, row_id)


# ---------------------------------------------------------------- console provider

def test_a_console_message_is_written_in_the_transaction_and_logged_after_the_commit(hl, caplog):
    caplog.set_level(logging.INFO, logger="sms.providers")
    with hl.session() as s, s.begin():
        queued = outbox.enqueue(s, WANG, kind="test", template="reply", params={"text": "订单2632700001已派工"})
        s.flush()
        # The console provider only logs: its row is final with the business transaction.
        assert queued.status == "sent"
        assert "订单2632700001已派工" not in caplog.text
    assert row(hl, queued.id).status == "sent"
    assert "订单2632700001已派工" in caplog.text


def test_a_rolled_back_message_is_never_sent(hl):
    with pytest.raises(RuntimeError), hl.session() as s, s.begin():
        outbox.enqueue(s, WANG, kind="test", template="reply", params={"text": "不该发出"})
        raise RuntimeError("the business transaction failed")
    assert messages(hl, body="不该发出") == []


def test_an_opted_out_number_gets_a_suppressed_row_and_nothing_sent(hl, phone):
    phone(WANG).text("TD")
    row_id = queue(hl)
    stored = row(hl, row_id)
    assert (stored.status, stored.error) == ("suppressed", "recipient opted out (TD/STOP)")


def test_one_row_per_dedupe_key(hl):
    first = queue(hl, dedupe_key="99:dispatched")
    again = queue(hl, "另一条", dedupe_key="99:dispatched")
    assert first == again
    assert len(messages(hl, dedupe_key="99:dispatched")) == 1


def test_a_long_notice_is_cut_to_three_segments(hl):
    stored = row(hl, queue(hl, "很长的通知" * 100))
    assert stored.segments == 3
    assert stored.body.endswith("…")


# ---------------------------------------------------------------- Twilio REST

@pytest.fixture
def fake():
    f = FakeTwilio()
    yield f
    f.close()


@pytest.fixture
def twilio_hl(new_hotline, tmp_path, clock, fake):
    """A Hotline sending through Twilio (the fake), behind https://hotline.example.cn."""
    h = new_hotline(SMS_PROVIDER="twilio", TWILIO_NUMBER=TWILIO_NUMBER,
                    PUBLIC_BASE_URL="https://hotline.example.cn")
    use_provider(h, TwilioProvider(h.settings, http_client=LocalHttpClient(fake.url)))
    sender = outbox.install_sender(h)
    yield h
    sender.close()
    h.close()


def sent_after_commit(hl, body: str = "订单2632700001已派工") -> SmsMessage:
    row_id = queue(hl, body)
    assert outbox.install_sender(hl).flush(timeout=30)
    return row(hl, row_id)


def test_twilio_sends_through_the_messages_api_with_a_status_callback(twilio_hl, fake):
    stored = sent_after_commit(twilio_hl)
    [request] = fake.requests
    assert request["path"] == "/2010-04-01/Accounts/ACtest/Messages.json"
    assert request["form"] == {"To": WANG, "From": TWILIO_NUMBER, "Body": "订单2632700001已派工",
                               "StatusCallback": "https://hotline.example.cn/twilio/sms/status"}
    assert request["auth"].startswith("Basic ")
    assert (stored.status, stored.provider, stored.provider_sid) == ("sent", "twilio", "SM" + "0" * 31 + "1")


def test_a_refusal_by_twilio_fails_the_message_with_the_reason(twilio_hl, fake):
    fake.refuse(400, 21211, "The 'To' number is not a valid phone number.")
    stored = sent_after_commit(twilio_hl)
    assert stored.status == "failed"
    assert "code 21211" in stored.error
    outbox_job(twilio_hl)
    assert len(fake.requests) == 1      # not retried


def test_a_server_error_is_retried_by_the_outbox_job_after_its_back_off(twilio_hl, fake, clock):
    fake.refuse(503, 20503, "Service unavailable")
    stored = sent_after_commit(twilio_hl)
    assert stored.status == "queued"
    assert "HTTP 503" in stored.error
    clock.advance(seconds=30)
    outbox_job(twilio_hl)
    assert len(fake.requests) == 1      # not due yet: the first back-off is a minute
    clock.advance(seconds=31)
    outbox_job(twilio_hl)
    stored = row(twilio_hl, stored.id)
    assert (stored.status, stored.error, len(fake.requests)) == ("sent", "", 2)


def test_transient_failures_are_given_up_after_a_day(twilio_hl, fake, clock):
    fake.refuse(503, 20503, "Service unavailable")
    stored = sent_after_commit(twilio_hl)
    clock.advance(hours=24, seconds=1)
    fake.refuse(503, 20503, "Service unavailable")
    outbox_job(twilio_hl)
    assert row(twilio_hl, stored.id).status == "failed"


def test_an_unreachable_twilio_is_a_transient_failure(new_hotline, tmp_path, clock):
    h = new_hotline(SMS_PROVIDER="twilio", TWILIO_NUMBER=TWILIO_NUMBER)
    closed = FakeTwilio()
    closed.close()
    use_provider(h, TwilioProvider(h.settings, http_client=LocalHttpClient(closed.url)))
    try:
        stored = sent_after_commit(h)
        assert stored.status == "queued"
        assert stored.error.startswith("twilio unreachable")
    finally:
        outbox.install_sender(h).close()
        h.close()


def test_twilio_without_a_sending_number_fails_saying_what_to_set(new_hotline, tmp_path, clock, fake):
    h = new_hotline(SMS_PROVIDER="twilio")
    use_provider(h, TwilioProvider(h.settings, http_client=LocalHttpClient(fake.url)))
    try:
        stored = sent_after_commit(h)
        assert stored.status == "failed"
        assert "TWILIO_NUMBER" in stored.error
        assert fake.requests == []
    finally:
        outbox.install_sender(h).close()
        h.close()


def test_a_message_is_claimed_by_one_sender_only(twilio_hl, fake):
    with twilio_hl.session() as s, s.begin():
        s.add(SmsMessage(direction="out", provider="twilio", phone=WANG, body="一次", kind="test", status="queued",
                         created_at=twilio_hl.now(), updated_at=twilio_hl.now()))
    [stored] = messages(twilio_hl, body="一次")
    assert outbox.send_one(twilio_hl, stored.id) == "sent"
    assert outbox.send_one(twilio_hl, stored.id) is None
    assert len(fake.requests) == 1


def test_a_send_interrupted_half_way_is_failed_not_sent_again(twilio_hl, fake, clock):
    with twilio_hl.session() as s, s.begin():
        s.add(SmsMessage(direction="out", provider="twilio", phone=WANG, body="中断", kind="test", status="sending",
                         created_at=twilio_hl.now(), updated_at=twilio_hl.now()))
    clock.advance(minutes=11)
    outbox_job(twilio_hl)
    [stored] = messages(twilio_hl, body="中断")
    assert stored.status == "failed"
    assert "not retried" in stored.error
    assert fake.requests == []


# ---------------------------------------------------------------- the job

def test_the_outbox_job_expires_unanswered_requests(hl, client, clock):
    Phone(client, clock, WANG).text("BJ 明天上午")
    clock.advance(minutes=31)
    outbox_job(hl)
    with hl.session() as s:
        assert s.scalars(select(SmsConversation.status)).all() == ["expired"]


def test_the_job_sends_what_the_after_commit_hand_off_missed(new_hotline, tmp_path, clock, fake):
    # Without the plugin's sender (a process that crashed after committing), rows wait in the table.
    from tickets.config import load_settings
    from tickets.context import Hotline
    env = {"SMS_PROVIDER": "twilio", "TWILIO_NUMBER": TWILIO_NUMBER}
    h = new_hotline(**env)
    use_provider(h, TwilioProvider(h.settings, http_client=LocalHttpClient(fake.url)))
    bare = Hotline(load_settings({"DATABASE_URL": h.settings.database_url, "TWILIO_ACCOUNT_SID": "ACtest",
                                  "TWILIO_AUTH_TOKEN": "test-twilio-token", **env}), clock=clock)
    try:
        with bare.session() as s, s.begin():
            queued = outbox.enqueue(s, WANG, kind="test", template="reply", params={"text": "等待发送"})
        assert row(h, queued.id).status == "queued"
        assert fake.requests == []
        outbox_job(h)
        assert row(h, queued.id).status == "sent"
        assert len(fake.requests) == 1
    finally:
        bare.close()
        h.close()


def test_a_second_job_run_sends_nothing_twice(twilio_hl, fake):
    row_id = queue(twilio_hl, "只发一次")
    assert outbox.install_sender(twilio_hl).flush(timeout=30)
    outbox_job(twilio_hl)
    outbox_job(twilio_hl)
    assert row(twilio_hl, row_id).status == "sent"
    assert [r["form"]["Body"] for r in fake.requests] == ["只发一次"]
