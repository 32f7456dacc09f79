"""Notices to mainland phones: the real Aliyun and Tencent SDKs against a local stand-in of their
APIs (tests/sms/fake_mainland.py), signatures checked there, and the outbox's fault rules."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from datetime import timedelta, timezone

import pytest

from agent_console.app import create_app
from sms import kinds, outbox
from sms import receipts as receipt_job
from sms.plugin import outbox_job
from tests.sms.conftest import WANG, messages
from tests.sms.fake_mainland import ALIYUN_KEY, TENCENT_KEY, FakeMainland, acs3_signature
from tickets.config import ConfigError, load_settings
from tickets.context import Hotline
from tickets.models import SmsMessage

SIGN = "乌鲁木齐家政热线"
NOTICE = {"number": "2632700001", "franchisee": "天山家政服务有限公司", "when": "11月24日(周二)10:00"}


def templates(prefix: str) -> str:
    return ",".join(f"{kind}={prefix}{i}" for i, kind in enumerate(kinds.KINDS, 1))


def mainland_env(endpoint: str, providers: str = "aliyun,tencent", **more) -> dict[str, str]:
    return {"SMS_PROVIDER": providers, "SMS_PROVIDER_HTTP": "http",
            "ALIYUN_SMS_ACCESS_KEY_ID": ALIYUN_KEY[0], "ALIYUN_SMS_ACCESS_KEY_SECRET": ALIYUN_KEY[1],
            "ALIYUN_SMS_SIGN_NAME": SIGN, "ALIYUN_SMS_ENDPOINT": endpoint, "ALIYUN_SMS_TEMPLATES": templates("SMS_48000"),
            "TENCENT_SMS_SECRET_ID": TENCENT_KEY[0], "TENCENT_SMS_SECRET_KEY": TENCENT_KEY[1],
            "TENCENT_SMS_SIGN_NAME": SIGN, "TENCENT_SMS_SDK_APP_ID": "1400000001",
            "TENCENT_SMS_ENDPOINT": endpoint, "TENCENT_SMS_TEMPLATES": templates("19000"), **more}


@pytest.fixture
def fake():
    f = FakeMainland()
    yield f
    f.close()


@pytest.fixture
def make(new_hotline, fake):
    """make(providers='aliyun,tencent', **env) -> a Hotline sending through the fake."""
    made = []

    def build(providers: str = "aliyun,tencent", **env) -> Hotline:
        h = new_hotline(**mainland_env(fake.endpoint, providers, **env))
        made.append(h)
        return h
    yield build
    for h in made:
        outbox.install_sender(h).close()


def notify(hl, kind: str = "dispatched", params: dict = NOTICE, phone: str = WANG) -> SmsMessage:
    """Queue a notice, let the after-commit sender hand it over, and return the stored row."""
    with hl.session() as s, s.begin():
        row = outbox.enqueue(s, phone, kind=kind, params=params)
        s.flush()
        row_id = row.id
    assert outbox.install_sender(hl).flush(timeout=60)
    return stored(hl, row_id)


def stored(hl, row_id: int) -> SmsMessage:
    with hl.session() as s:
        return s.get(SmsMessage, row_id)


def template_of(kind: str, prefix: str) -> str:
    return f"{prefix}{list(kinds.KINDS).index(kind) + 1}"


# ---------------------------------------------------------------- the request each provider receives

def test_aliyun_gets_the_kinds_template_and_named_params_signed_with_acs3(make, fake):
    hl = make("aliyun")
    row = notify(hl)
    [request] = fake.of("aliyun")
    assert request["headers"]["x-acs-action"] == "SendSms"
    assert request["headers"]["x-acs-version"] == "2017-05-25"
    assert request["params"] == {"PhoneNumbers": "13800138000", "SignName": SIGN,
                                 "TemplateCode": template_of("dispatched", "SMS_48000"),
                                 "TemplateParam": json.dumps(NOTICE, ensure_ascii=False), "OutId": f"hl-{row.id}"}
    assert request["signature_ok"]
    assert (row.status, row.provider, row.provider_sid) == ("sent", "aliyun", "900619746936498441^0")


def test_the_acs3_check_fails_for_another_secret(make, fake):
    notify(make("aliyun"))
    [request] = fake.of("aliyun")
    path = "/?" + "&".join(f"{k}={v}" for k, v in request["params"].items())
    expected, received = acs3_signature("POST", path, request["headers"], "not-the-secret")
    assert expected != received


def test_tencent_gets_the_kinds_template_and_params_in_order_signed_with_tc3(make, fake):
    hl = make("tencent")
    row = notify(hl)
    [request] = fake.of("tencent")
    assert request["headers"]["x-tc-action"] == "SendSms"
    assert request["headers"]["x-tc-region"] == "ap-guangzhou"
    assert request["params"] == {"PhoneNumberSet": [WANG], "SmsSdkAppId": "1400000001", "SignName": SIGN,
                                 "TemplateId": template_of("dispatched", "19000"),
                                 "TemplateParamSet": [NOTICE["number"], NOTICE["franchisee"], NOTICE["when"]],
                                 "SessionContext": f"hl-{row.id}"}
    assert request["signature_ok"]
    assert (row.status, row.provider, row.provider_sid) == ("sent", "tencent", "2640:1")


def test_the_body_for_twilio_and_the_console_is_rendered_from_the_same_params(make):
    row = notify(make("aliyun"))
    assert row.body == "订单2632700001已派给天山家政服务有限公司，服务时间11月24日(周二)10:00。查询回复CX 2632700001"
    assert (row.template, row.params) == ("dispatched", NOTICE)


def test_a_notice_with_params_its_kind_does_not_take_is_refused(make):
    hl = make("aliyun")
    with pytest.raises(kinds.BadNotice, match="number, franchisee, when"), hl.session() as s:
        outbox.enqueue(s, WANG, kind="dispatched", params={"number": "1"})


# ---------------------------------------------------------------- failover and faults

def test_a_quota_refusal_by_aliyun_fails_over_to_tencent(make, fake):
    fake.aliyun_refuses("isv.AMOUNT_NOT_ENOUGH", "账户余额不足")
    row = notify(make())
    assert (len(fake.of("aliyun")), len(fake.of("tencent"))) == (1, 1)
    assert (row.status, row.provider, row.error) == ("sent", "tencent", "")


def test_refused_by_both_the_message_stays_queued_with_both_reasons_and_waits_its_back_off(make, fake, clock):
    hl = make()
    fake.aliyun_refuses("isv.BUSINESS_LIMIT_CONTROL", "触发天级流控Permits:10")
    fake.tencent_refuses("FailedOperation.TemplateIncorrectOrUnapproved", "template unapproved")
    row = notify(hl)
    assert row.status == "queued"
    assert "isv.BUSINESS_LIMIT_CONTROL" in row.error and "TemplateIncorrectOrUnapproved" in row.error
    assert row.next_attempt_at == hl.now() + outbox.BACKOFF_FIRST
    clock.advance(seconds=30)
    outbox_job(hl)
    assert len(fake.requests) == 2          # not due yet
    clock.advance(seconds=31)
    outbox_job(hl)
    row = stored(hl, row.id)
    assert (row.status, row.provider, row.attempts, len(fake.requests)) == ("sent", "aliyun", 2, 3)


def test_the_back_off_doubles_with_each_refused_try(make, fake, clock):
    hl = make("aliyun")
    for _ in range(3):
        fake.aliyun_refuses("ServiceUnavailable", "down", status=503)
    row = notify(hl)
    clock.advance(minutes=1)
    outbox_job(hl)
    assert stored(hl, row.id).next_attempt_at == hl.now() + 2 * outbox.BACKOFF_FIRST


def test_an_aliyun_server_error_leaves_the_message_queued_with_the_http_status(make, fake):
    fake.aliyun_refuses("ServiceUnavailable", "The request has failed due to a temporary failure", status=503)
    row = notify(make("aliyun"))
    assert row.status == "queued"
    assert "HTTP 503, ServiceUnavailable" in row.error


def test_an_unapproved_tencent_signature_leaves_the_message_queued_with_the_reason(make, fake):
    fake.tencent_refuses("FailedOperation.SignatureIncorrectOrUnapproved", "signature unapproved", per_number=False)
    row = notify(make("tencent"))
    assert row.status == "queued"
    assert "FailedOperation.SignatureIncorrectOrUnapproved" in row.error


def test_a_bad_number_fails_at_once_without_trying_the_other_provider(make, fake):
    fake.aliyun_refuses("isv.MOBILE_NUMBER_ILLEGAL", "非法手机号")
    row = notify(make())
    assert (row.status, fake.of("tencent")) == ("failed", [])
    assert "isv.MOBILE_NUMBER_ILLEGAL" in row.error


def test_an_unreachable_provider_passes_the_message_to_the_next(make, fake):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"127.0.0.1:{probe.getsockname()[1]}"
    row = notify(make(ALIYUN_SMS_ENDPOINT=closed))
    assert (row.status, row.provider) == ("sent", "tencent")


def test_a_request_that_got_no_answer_is_neither_retried_nor_passed_on(make, fake, clock):
    hl = make()
    fake.hangs_up("aliyun")
    row = notify(hl)
    assert row.status == "failed"
    assert row.error.endswith("(may have been sent: not sent again unless aliyun says it never got it)")
    clock.advance(hours=2)
    outbox_job(hl)
    assert (len(fake.of("aliyun")), fake.of("tencent")) == (1, [])


# ---------------------------------------------------------------- per-number limits

def test_past_the_per_number_limit_the_next_notice_goes_to_the_other_provider(make, fake):
    hl = make(ALIYUN_SMS_LIMITS="1/min")
    first, second = notify(hl), notify(hl, kind="completed", params={"number": "2632700001"})
    assert (first.provider, second.provider) == ("aliyun", "tencent")


def test_past_every_providers_limit_a_notice_waits_until_a_slot_frees(make, fake, clock):
    hl = make("aliyun", ALIYUN_SMS_LIMITS="1/min,2/h")
    notify(hl)
    clock.advance(seconds=10)
    waiting = notify(hl, kind="completed", params={"number": "2632700001"})
    assert (waiting.status, len(fake.requests)) == ("queued", 1)
    assert waiting.next_attempt_at == hl.now() + timedelta(seconds=50)
    clock.advance(seconds=50)
    outbox_job(hl)
    assert (stored(hl, waiting.id).status, len(fake.requests)) == ("sent", 2)


def test_limits_count_per_number(make, fake):
    hl = make("aliyun", ALIYUN_SMS_LIMITS="1/min")
    other = notify(hl, phone="+8613900139000")
    assert (notify(hl).status, other.status) == ("sent", "sent")


# ---------------------------------------------------------------- start-up check

def test_a_mainland_provider_without_templates_is_refused_at_start_up_naming_the_variable(tmp_path):
    env = mainland_env("127.0.0.1:9", "aliyun", ALIYUN_SMS_TEMPLATES="booked=SMS_1",
                       DATABASE_URL=f"sqlite:///{tmp_path}/h.db")
    with pytest.raises(ConfigError, match=r"ALIYUN_SMS_TEMPLATES has no template for dispatched, .*e\.g\. "
                                          r"ALIYUN_SMS_TEMPLATES=dispatched=SMS_480001"):
        Hotline(load_settings(env)).load_plugins()


def test_every_kind_needs_a_template_only_at_the_providers_configured(tmp_path):
    env = mainland_env("127.0.0.1:9", "aliyun", TENCENT_SMS_TEMPLATES="")
    kinds.check_config(load_settings(env))      # Tencent is not in SMS_PROVIDER: its templates are not needed


def test_missing_credentials_are_named(tmp_path):
    env = mainland_env("127.0.0.1:9", "tencent", TENCENT_SMS_SDK_APP_ID="", TENCENT_SMS_SECRET_KEY="")
    with pytest.raises(ConfigError, match="tencent, which needs TENCENT_SMS_SECRET_KEY, TENCENT_SMS_SDK_APP_ID"):
        kinds.check_config(load_settings(env))


def test_an_unknown_kind_in_the_templates_is_named(tmp_path):
    env = mainland_env("127.0.0.1:9", "aliyun", ALIYUN_SMS_TEMPLATES=templates("SMS_") + ",bookd=SMS_9")
    with pytest.raises(ConfigError, match="unknown kinds bookd"):
        kinds.check_config(load_settings(env))


@pytest.mark.parametrize("variable, value", [("SMS_PROVIDER", "aliyun,twilio"), ("ALIYUN_SMS_LIMITS", "5/week"),
                                             ("ALIYUN_SMS_TEMPLATES", "booked"),
                                             ("SMS_RECEIPTS", "pull"), ("OUTBOUND_MAX_CHANNELS", "0")])
def test_a_malformed_mainland_setting_names_the_variable(variable, value):
    with pytest.raises(ConfigError, match=variable):
        load_settings({variable: value})


# ---------------------------------------------------------------- delivery receipts (pushed by the providers)

TOKEN = "callback-secret"


@pytest.fixture
def receipts(make):
    """(hl, post) with post(path, payload) -> the JSON answer."""
    hl = make(SMS_CALLBACK_TOKEN=TOKEN)
    client = create_app(hl).test_client()

    def post(path: str, payload, token: str = TOKEN):
        return client.post(f"{path}?token={token}", json=payload)
    return hl, post


def aliyun_report(row: SmsMessage, success: bool = True, **more) -> dict:
    return {"phone_number": row.phone.removeprefix("+86"), "send_time": "2026-11-23 10:00:00",
            "report_time": "2026-11-23 10:00:05", "success": success, "err_code": "DELIVERED" if success else "MK:0001",
            "err_msg": "用户接收成功" if success else "停机", "sms_size": "1", "biz_id": row.provider_sid,
            "out_id": f"hl-{row.id}", **more}


def tencent_report(row: SmsMessage, status: str = "SUCCESS", **more) -> dict:
    return {"user_receive_time": "2026-11-23 10:00:05", "nationcode": "86", "mobile": row.phone.removeprefix("+86"),
            "report_status": status, "errmsg": "DELIVRD" if status == "SUCCESS" else "MK:0005",
            "description": "用户短信送达成功" if status == "SUCCESS" else "空号", "sid": row.provider_sid,
            "ext": f"hl-{row.id}", **more}


def test_an_aliyun_receipt_marks_the_message_delivered(receipts):
    hl, post = receipts
    row = notify(hl)
    answer = post("/sms/aliyun/report", [aliyun_report(row)])
    assert (answer.status_code, answer.get_json()["code"]) == (200, 0)
    assert stored(hl, row.id).status == "delivered"


def test_a_failed_tencent_receipt_marks_the_message_failed_with_the_carriers_reason(receipts, fake):
    hl, post = receipts
    fake.aliyun_refuses("isv.AMOUNT_NOT_ENOUGH", "账户余额不足")
    row = notify(hl)
    answer = post("/sms/tencent/status", [tencent_report(row, "FAIL")])
    assert answer.get_json() == {"result": 0, "errmsg": "OK"}
    row = stored(hl, row.id)
    assert (row.status, row.error) == ("failed", "MK:0005: 空号")


def test_a_late_receipt_never_undoes_a_later_status_and_a_repeated_one_changes_nothing(receipts):
    hl, post = receipts
    row = notify(hl)
    for _ in range(2):
        post("/sms/aliyun/report", [aliyun_report(row)])
    post("/sms/aliyun/report", [aliyun_report(row, success=False)])
    assert stored(hl, row.id).status == "delivered"


def test_a_receipt_finds_a_message_that_got_no_answer_by_our_id_and_records_it_arrived(receipts, fake):
    hl, post = receipts
    fake.hangs_up("aliyun")
    row = notify(hl)
    assert (row.status, row.provider_sid) == ("failed", None)
    post("/sms/aliyun/report", [aliyun_report(row, biz_id="900619746936498999^0")])
    row = stored(hl, row.id)
    assert (row.status, row.provider, row.provider_sid, row.error) == ("delivered", "aliyun", "900619746936498999^0", "")


def test_a_crash_between_the_providers_accept_and_our_commit_sends_nothing_twice(receipts, fake, clock):
    # The row was claimed ("sending") and handed to Tencent, then the process died before it stored
    # the answer: the job fails it rather than resending, and Tencent's receipt brings it back.
    hl, post = receipts
    with hl.session() as s, s.begin():
        s.add(SmsMessage(direction="out", provider="tencent", phone=WANG, body="已派工", kind="dispatched",
                         template="dispatched", params=NOTICE, status="sending", created_at=hl.now(),
                         updated_at=hl.now()))
    clock.advance(minutes=11)
    outbox_job(hl)
    [row] = [m for m in messages(hl, body="已派工")]
    assert row.status == "failed" and fake.requests == []
    post("/sms/tencent/status", [tencent_report(row, sid="2640:77")])
    assert (stored(hl, row.id).status, stored(hl, row.id).provider_sid) == ("delivered", "2640:77")


def test_a_receipt_naming_another_number_does_not_touch_the_message(receipts, fake):
    hl, post = receipts
    fake.hangs_up("aliyun")
    row = notify(hl)
    post("/sms/aliyun/report", [aliyun_report(row, phone_number="13900139000", biz_id="1^0")])
    assert stored(hl, row.id).status == "failed"


def test_a_malformed_receipt_is_skipped_and_the_rest_applied(receipts):
    hl, post = receipts
    row = notify(hl)
    answer = post("/sms/aliyun/report", [{"success": True}, "not an object", aliyun_report(row)])
    assert answer.get_json()["code"] == 0
    assert stored(hl, row.id).status == "delivered"


@pytest.mark.parametrize("path", ["/sms/aliyun/report", "/sms/tencent/status"])
def test_a_receipt_without_the_token_is_refused(receipts, path):
    _, post = receipts
    assert post(path, [], token="wrong").status_code == 403


def test_a_receipt_push_that_is_not_a_batch_is_a_bad_request(receipts):
    _, post = receipts
    assert post("/sms/aliyun/report", "text").status_code == 400


@pytest.mark.parametrize("command", [["config"], ["run", "--only", "web"]])
def test_hotline_config_and_run_stop_on_a_missing_template_naming_the_variable(tmp_path, command):
    env = {**os.environ, **mainland_env("127.0.0.1:9", "tencent", TENCENT_SMS_TEMPLATES=templates("19000")
                                        .replace(",otp=", ",otq=")),
           "DATABASE_URL": f"sqlite:///{tmp_path}/hotline.db", "LOG_LEVEL": "WARNING"}
    r = subprocess.run([sys.executable, "-m", "tickets.cli", *command], capture_output=True, text=True, env=env,
                       timeout=120)
    assert r.returncode == 1
    assert "TENCENT_SMS_TEMPLATES has no template for otp" in r.stderr
    assert "unknown kinds otq" in r.stderr


# ---------------------------------------------------------------- two senders at once

def test_two_senders_racing_for_one_message_send_it_once(make, fake):
    # The web process's after-commit sender and the leader's outbox job both find the row queued:
    # the claim (queued -> sending in one UPDATE) lets one of them through, on both backends.
    hl = make()
    rounds = 6
    with hl.session() as s, s.begin():
        rows = [SmsMessage(direction="out", provider="aliyun", phone=WANG, body=f"第{i}条", kind="completed",
                           template="completed", params={"number": f"263270000{i}"}, status="queued",
                           created_at=hl.now(), updated_at=hl.now()) for i in range(rounds)]
        s.add_all(rows)
        s.flush()
        ids = [r.id for r in rows]
    for row_id in ids:
        barrier = threading.Barrier(2, timeout=30)
        results = []

        def send() -> None:
            barrier.wait()
            results.append(outbox.send_one(hl, row_id))
        threads = [threading.Thread(target=send) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert sorted(results, key=str) == [None, "sent"]
    assert sorted(r["params"]["OutId"] for r in fake.requests) == sorted(f"hl-{i}" for i in ids)


# ---------------------------------------------------------------- delivery receipts (polled by the job)

def polled(hl, clock) -> int:
    """The sms-receipts job's run, past the grace a pushed receipt is given first."""
    clock.advance(seconds=receipt_job.GRACE.total_seconds())
    return receipt_job.poll(hl)


def test_the_job_asks_aliyun_query_send_details_by_number_day_and_biz_id_and_records_delivery(make, fake, clock):
    hl = make("aliyun", SMS_RECEIPTS="poll")
    row = notify(hl)
    fake.carrier_reports("aliyun", row.provider_sid)
    assert polled(hl, clock) == 1
    [query] = [r for r in fake.of("aliyun") if r["headers"]["x-acs-action"] == "QuerySendDetails"]
    assert query["headers"]["x-acs-version"] == "2017-05-25" and query["signature_ok"]
    assert query["params"] == {"PhoneNumber": "13800138000", "SendDate": "20261123", "BizId": row.provider_sid,
                               "PageSize": "10", "CurrentPage": "1"}
    assert stored(hl, row.id).status == "delivered"


def test_the_aliyun_send_date_is_the_day_in_beijing(make, fake, clock):
    clock.advance(hours=15, minutes=58)         # 2026-11-23 17:58 UTC: 01:58 on the 24th in Beijing
    hl = make("aliyun", SMS_RECEIPTS="poll", TIMEZONE="Asia/Urumqi")
    notify(hl)
    polled(hl, clock)
    [query] = [r for r in fake.of("aliyun") if r["headers"]["x-acs-action"] == "QuerySendDetails"]
    assert query["params"]["SendDate"] == "20261124"


def test_a_message_without_a_carrier_receipt_yet_stays_sent_and_is_asked_again(make, fake, clock):
    hl = make("aliyun", SMS_RECEIPTS="poll")
    row = notify(hl)
    assert receipt_job.poll(hl) == 0 and len(fake.requests) == 1       # within the grace: not asked yet
    assert polled(hl, clock) == 0
    assert stored(hl, row.id).status == "sent"
    fake.carrier_reports("aliyun", row.provider_sid, delivered=False, code="MK:0001")
    assert polled(hl, clock) == 1
    row = stored(hl, row.id)
    assert (row.status, row.error) == ("failed", "MK:0001")
    polled(hl, clock)
    assert len(fake.requests) == 3                                  # a receipted message is not asked about


def test_a_message_still_without_a_receipt_is_asked_about_less_and_less_often(make, fake, clock):
    hl = make("aliyun", SMS_RECEIPTS="poll")
    row = notify(hl)

    def asked() -> int:
        return sum(r["headers"]["x-acs-action"] == "QuerySendDetails" for r in fake.of("aliyun"))
    minutes_asked = []                             # after the send
    for minute in range(1, 24 * 60 + 1):           # the job every minute for a day
        clock.advance(minutes=1)
        before = asked()
        receipt_job.poll(hl)
        minutes_asked += [minute] * (asked() - before)
    # As long again as it had waited, then every ASK_AT_LEAST_EVERY (6 hours).
    assert minutes_asked == [2, 4, 8, 16, 32, 64, 128, 256, 512, 872, 1232]
    assert stored(hl, row.id).status == "sent"
    fake.carrier_reports("aliyun", row.provider_sid)
    clock.advance(hours=6)
    assert receipt_job.poll(hl) == 1 and stored(hl, row.id).status == "delivered"


def sends(fake, provider: str) -> int:
    return sum(r["headers"].get("x-acs-action", r["headers"].get("x-tc-action")) in ("SendSms",)
               for r in fake.of(provider))


def test_an_unanswered_send_that_aliyun_took_is_found_by_our_out_id_and_never_sent_again(make, fake, clock):
    hl = make("aliyun", SMS_RECEIPTS="poll")
    fake.takes_and_hangs_up("aliyun")
    row = notify(hl)
    assert (row.status, row.provider_sid) == ("failed", None)
    assert polled(hl, clock) == 1
    [query] = [r for r in fake.of("aliyun") if r["headers"]["x-acs-action"] == "QuerySendDetails"]
    assert query["signature_ok"] and query["params"] == {"PhoneNumber": "13800138000", "SendDate": "20261123",
                                                         "PageSize": "50", "CurrentPage": "1"}
    assert (stored(hl, row.id).status, stored(hl, row.id).error) == ("sent", "")
    [(_, biz_id)] = fake.accepted_sends
    fake.carrier_reports("aliyun", biz_id)
    for _ in range(8):
        clock.advance(minutes=30)
        outbox_job(hl)
        receipt_job.poll(hl)
    assert stored(hl, row.id).status == "delivered" and sends(fake, "aliyun") == 1


def test_an_unanswered_send_that_aliyun_never_got_is_sent_again_ten_minutes_on(make, fake, clock):
    hl = make("aliyun", SMS_RECEIPTS="poll")
    fake.hangs_up("aliyun")
    row = notify(hl)
    tried = row.sent_at
    minutes = 0
    while stored(hl, row.id).status == "failed":
        clock.advance(minutes=1)
        minutes += 1
        receipt_job.poll(hl)
        assert minutes < 60, "never queued again"
    # Asked at 2, 4 and 8 minutes (still not listed, but maybe not yet), and at 16 it is settled.
    assert minutes == 16 >= receipt_job.NOT_SENT_AFTER.total_seconds() / 60
    again = stored(hl, row.id)
    assert (again.status, again.sent_at) == ("queued", None)
    assert again.error == f"aliyun never got the try of {tried:%H:%M} UTC that had no answer: sent again"
    outbox_job(hl)
    assert stored(hl, row.id).status == "sent" and stored(hl, row.id).provider_sid
    assert sends(fake, "aliyun") == 2


def test_an_unanswered_send_is_left_alone_when_a_pushed_receipt_came_first(make, fake, clock):
    hl = make("aliyun", SMS_RECEIPTS="both", SMS_CALLBACK_TOKEN=TOKEN)
    fake.takes_and_hangs_up("aliyun")
    row = notify(hl)
    client = create_app(hl).test_client()
    client.post(f"/sms/aliyun/report?token={TOKEN}", json=[aliyun_report(row, biz_id="900619746936498999^0")])
    for _ in range(30):
        clock.advance(minutes=1)
        receipt_job.poll(hl)
        outbox_job(hl)
    assert (stored(hl, row.id).status, sends(fake, "aliyun")) == ("delivered", 1)


def test_an_unanswered_send_to_tencent_waits_for_its_receipt_and_is_never_sent_again(make, fake, clock):
    hl = make("tencent", SMS_RECEIPTS="poll")
    fake.takes_and_hangs_up("tencent")
    row = notify(hl)
    assert (row.status, row.provider_sid) == ("failed", None)
    for _ in range(12):                 # its pull lists receipts only: no receipt yet proves nothing
        clock.advance(minutes=10)
        receipt_job.poll(hl)
        outbox_job(hl)
    assert stored(hl, row.id).status == "failed" and sends(fake, "tencent") == 1
    [(_, serial)] = fake.accepted_sends
    fake.carrier_reports("tencent", serial)
    clock.advance(hours=6)
    assert receipt_job.poll(hl) == 1
    settled = stored(hl, row.id)
    assert (settled.status, settled.provider_sid, settled.error) == ("delivered", serial, "")


def test_the_job_pulls_tencent_receipts_by_number_signed_with_tc3(make, fake, clock):
    hl = make("tencent", SMS_RECEIPTS="poll")
    row = notify(hl)
    fake.carrier_reports("tencent", row.provider_sid, delivered=False, code="空号")
    sent_at = int(row.sent_at.replace(tzinfo=timezone.utc).timestamp())
    assert polled(hl, clock) == 1
    [pull] = [r for r in fake.of("tencent") if r["headers"]["x-tc-action"] == "PullSmsSendStatusByPhoneNumber"]
    assert pull["signature_ok"] and pull["headers"]["x-tc-version"] == "2021-01-11"
    assert pull["params"] == {"PhoneNumber": WANG, "SmsSdkAppId": "1400000001", "BeginTime": sent_at - 60,
                              "EndTime": sent_at + int(receipt_job.GRACE.total_seconds()), "Offset": 0, "Limit": 100}
    row = stored(hl, row.id)
    assert (row.status, row.error) == ("failed", "空号")


def test_a_message_receipted_by_push_and_by_poll_is_updated_once(make, fake, clock):
    hl = make("tencent", SMS_RECEIPTS="both", SMS_CALLBACK_TOKEN=TOKEN)
    pushed, waiting = notify(hl), notify(hl, kind="completed", params={"number": "2632700001"})
    for row in (pushed, waiting):
        fake.carrier_reports("tencent", row.provider_sid)
    client = create_app(hl).test_client()
    client.post(f"/sms/tencent/status?token={TOKEN}", json=[tencent_report(pushed)])
    first = stored(hl, pushed.id)
    assert first.status == "delivered"
    clock.advance(minutes=1)
    assert polled(hl, clock) == 2               # one pull for the number: both messages' receipts
    assert (stored(hl, pushed.id).status, stored(hl, pushed.id).updated_at) == ("delivered", first.updated_at)
    assert stored(hl, waiting.id).status == "delivered"


def test_a_provider_refusing_the_query_leaves_the_message_for_the_next_run(make, fake, clock, caplog):
    hl = make("aliyun", SMS_RECEIPTS="poll")
    row = notify(hl)
    fake.carrier_reports("aliyun", row.provider_sid)
    fake.aliyun_refuses("isv.BUSINESS_LIMIT_CONTROL", "触发流控")
    assert polled(hl, clock) == 0
    assert stored(hl, row.id).status == "sent" and "isv.BUSINESS_LIMIT_CONTROL" in caplog.text
    assert polled(hl, clock) == 1


@pytest.mark.parametrize("mode, polls", [("push", False), ("poll", True), ("both", True)])
def test_the_receipts_job_runs_on_the_leader_when_receipts_are_polled(make, mode, polls):
    hl = make(SMS_RECEIPTS=mode, SMS_RECEIPT_POLL_SECONDS="120")
    jobs = {job.name: job for job in hl.jobs}
    assert ("sms-receipts" in jobs) == polls
    if polls:
        assert (jobs["sms-receipts"].func, jobs["sms-receipts"].seconds) == (receipt_job.poll, 120)


def test_no_receipts_job_without_a_mainland_provider(new_hotline):
    assert "sms-receipts" not in {job.name for job in new_hotline(SMS_PROVIDER="console").jobs}


@pytest.mark.parametrize("path", ["/sms/aliyun/report", "/sms/tencent/status"])
def test_with_receipts_polled_a_push_is_refused(make, path):
    hl = make(SMS_RECEIPTS="poll", SMS_CALLBACK_TOKEN=TOKEN)
    assert create_app(hl).test_client().post(f"{path}?token={TOKEN}", json=[]).status_code == 404
