"""The Twilio SMS webhooks as Twilio calls them: signatures, proxies, replays, awkward bodies, statuses."""
from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from sqlalchemy import select, text

from agent_console.app import create_app
from tests.sms.conftest import SMS_URL, STATUS_URL, WANG, Phone, messages, new_sid, sign, sms_orders, twiml_messages
from tickets.models import SmsMessage, WebhookReceipt


def test_a_signed_message_is_answered_with_one_twiml_message(phone):
    response = phone(WANG).post("HELP")
    assert response.status_code == 200
    assert response.mimetype == "text/xml"
    root = ET.fromstring(response.get_data())
    assert [child.tag for child in root] == ["Message"]
    assert root[0].text.startswith("家政热线：")


def test_a_tampered_signature_is_refused(hl, phone):
    response = phone(WANG).post("HELP", signature="bm90IGEgc2lnbmF0dXJl")
    assert response.status_code == 403
    assert messages(hl, provider="twilio") == []


def test_a_missing_signature_is_refused(client):
    response = client.post("/twilio/sms", data={"MessageSid": new_sid(), "From": WANG, "Body": "HELP"})
    assert response.status_code == 403


def test_a_body_changed_after_signing_is_refused(client):
    params = {"MessageSid": new_sid(), "From": WANG, "Body": "QX 2632700001"}
    signature = sign(SMS_URL, params)
    response = client.post("/twilio/sms", data={**params, "Body": "QX 2632700002"},
                           headers={"X-Twilio-Signature": signature})
    assert response.status_code == 403


def test_a_signature_made_with_another_token_is_refused(client):
    params = {"MessageSid": new_sid(), "From": WANG, "Body": "HELP"}
    response = client.post("/twilio/sms", data=params, headers={"X-Twilio-Signature": sign(SMS_URL, params, "other")})
    assert response.status_code == 403


@pytest.fixture
def proxied(new_hotline, tmp_path, clock):
    """The app behind a proxy: Twilio calls https://hotline.example.cn, the app sees http://localhost."""
    h = new_hotline(PUBLIC_BASE_URL="https://hotline.example.cn")
    yield Phone(create_app(h).test_client(), clock, WANG)
    h.close()


def test_behind_a_proxy_the_public_url_is_what_twilio_signed(proxied):
    params_url = "https://hotline.example.cn/twilio/sms"
    response = proxied.post("HELP", url=params_url)
    assert response.status_code == 200


def test_behind_a_proxy_a_signature_over_the_internal_url_is_refused(proxied):
    assert proxied.post("HELP", url=SMS_URL).status_code == 403


@pytest.mark.parametrize("env, signed, status", [
    ({"TWILIO_AUTH_TOKEN": ""}, False, 403),
    ({"TWILIO_AUTH_TOKEN": ""}, True, 403),
    ({"TWILIO_AUTH_TOKEN": "", "TWILIO_INSECURE_DEV": "1"}, False, 200),
])
def test_without_an_auth_token_twilio_traffic_is_refused_unless_the_development_switch_is_on(
        new_hotline, tmp_path, clock, env, signed, status):
    h = new_hotline(**env)
    try:
        params = {"MessageSid": new_sid(), "From": WANG, "Body": "HELP"}
        headers = {"X-Twilio-Signature": sign(SMS_URL, params)} if signed else {}
        assert create_app(h).test_client().post("/twilio/sms", data=params, headers=headers).status_code == status
    finally:
        h.close()


def test_a_replayed_message_sid_gets_the_same_answer_and_creates_nothing_twice(hl, phone):
    wang = phone(WANG)
    wang.text("BJ 明天上午")
    first = wang.post("Y", sid="SMreplayed0000000000000000000001")
    again = wang.post("Y", sid="SMreplayed0000000000000000000001")
    assert again.get_data() == first.get_data()
    assert "预约成功" in twiml_messages(again)[0]
    assert len(sms_orders(hl, WANG)) == 1
    assert len(messages(hl, provider_sid="SMreplayed0000000000000000000001")) == 1
    with hl.session() as s:
        assert len(s.scalars(select(WebhookReceipt).where(
            WebhookReceipt.key == "SMreplayed0000000000000000000001")).all()) == 1


def test_emoji_are_stored_and_counted_as_two_units(hl, phone):
    wang = phone(WANG)
    reply = wang.text("😀👍 BJ 明天上午 🧹")
    assert reply.startswith("预约家庭保洁")
    [inbound] = messages(hl, phone=WANG, direction="in")
    assert inbound.body == "😀👍 BJ 明天上午 🧹"
    assert inbound.segments == 1


def test_a_4000_character_body_is_stored_whole_and_answered_briefly(hl, phone):
    body = "我想问一下" * 800
    reply = phone(WANG).text(body)
    assert reply.startswith("没看懂您的短信")
    [inbound] = messages(hl, phone=WANG, direction="in")
    assert (len(inbound.body), inbound.segments) == (4000, 60)


def test_sql_in_a_body_is_only_text(hl, phone):
    body = "BJ'; DROP TABLE sms_messages; -- 明天上午"
    phone(WANG).text(body)
    assert messages(hl, phone=WANG, direction="in")[0].body == body
    with hl.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM sms_messages")).scalar() > 0


def test_html_in_a_body_comes_back_escaped_as_text(hl, phone):
    response = phone(WANG).post("<script>alert(1)</script> XYZ 明天上午")
    root = ET.fromstring(response.get_data())
    assert root.find(".//script") is None
    assert root[0].text.startswith("没有服务代码“SCRIPT”")
    assert messages(hl, phone=WANG, direction="in")[0].body == "<script>alert(1)</script> XYZ 明天上午"


def test_a_message_without_a_sid_is_a_bad_request(client):
    params = {"From": WANG, "Body": "HELP"}
    assert client.post("/twilio/sms", data=params,
                       headers={"X-Twilio-Signature": sign(SMS_URL, params)}).status_code == 400


def test_a_message_from_an_unusable_number_is_stored_and_not_answered(hl, client):
    params = {"MessageSid": new_sid(), "From": "garbage", "Body": "HELP"}
    response = client.post("/twilio/sms", data=params, headers={"X-Twilio-Signature": sign(SMS_URL, params)})
    assert twiml_messages(response) == []
    assert [m.kind for m in messages(hl, phone="anonymous")] == ["anonymous"]


# ---------------------------------------------------------------- status callbacks

def _outbound(hl, sid: str, status: str = "sent") -> int:
    with hl.session() as s, s.begin():
        row = SmsMessage(direction="out", provider="twilio", provider_sid=sid, phone=WANG, body="订单已派工",
                         kind="dispatched", status=status, created_at=hl.now(), updated_at=hl.now())
        s.add(row)
        s.flush()
        return row.id


def row(hl, row_id: int) -> SmsMessage:
    with hl.session() as s:
        return s.get(SmsMessage, row_id)


def _status(client, sid: str, status: str, **extra):
    params = {"MessageSid": sid, "MessageStatus": status, "AccountSid": "ACtest", **extra}
    return client.post("/twilio/sms/status", data=params, headers={"X-Twilio-Signature": sign(STATUS_URL, params)})


def test_a_delivery_report_marks_the_message_delivered(hl, client):
    row_id = _outbound(hl, "SMstatus1")
    assert _status(client, "SMstatus1", "delivered").status_code == 204
    with hl.session() as s:
        assert s.get(SmsMessage, row_id).status == "delivered"


def test_a_failure_report_keeps_the_error_code(hl, client):
    row_id = _outbound(hl, "SMstatus2")
    _status(client, "SMstatus2", "undelivered", ErrorCode="30003")
    with hl.session() as s:
        row = s.get(SmsMessage, row_id)
        assert (row.status, row.error) == ("failed", "twilio undelivered, error 30003")


def test_a_late_sent_report_does_not_undo_delivered(hl, client):
    row_id = _outbound(hl, "SMstatus3")
    _status(client, "SMstatus3", "delivered")
    _status(client, "SMstatus3", "sent")
    with hl.session() as s:
        assert s.get(SmsMessage, row_id).status == "delivered"


def test_a_report_for_an_unknown_message_is_acknowledged_and_changes_nothing(hl, client):
    row_id = _outbound(hl, "SMsomebody")
    before = [(m.id, m.status) for m in messages(hl)]
    assert _status(client, "SMnobody", "delivered").status_code == 204
    assert [(m.id, m.status) for m in messages(hl)] == before
    assert row(hl, row_id).status == "sent"


def test_an_unsigned_status_report_is_refused(hl, client):
    row_id = _outbound(hl, "SMstatus4")
    response = client.post("/twilio/sms/status", data={"MessageSid": "SMstatus4", "MessageStatus": "failed"})
    assert response.status_code == 403
    with hl.session() as s:
        assert s.get(SmsMessage, row_id).status == "sent"
