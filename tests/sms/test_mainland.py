"""Mainland inbound SMS: Aliyun SmsUp batch pushes and Tencent Cloud reply callbacks.

Payloads follow the providers' documented formats. Replies cannot ride on these callbacks, so
they are queued for the outbound provider (console here) and sent after the commit.
"""
from __future__ import annotations

import pytest

from agent_console.app import create_app
from tests.sms.conftest import WANG, messages, sms_orders

TOKEN = "callback-secret"


@pytest.fixture
def mainland(new_hotline, tmp_path, clock):
    h = new_hotline(SMS_CALLBACK_TOKEN=TOKEN)
    yield h, create_app(h).test_client()
    h.close()


def aliyun(seq: int, content: str, phone: str = "13800138000") -> dict:
    return {"phone_number": phone, "send_time": "2026-11-23 10:00:00", "content": content, "sign_name": "家政热线",
            "dest_code": "1234", "sequence_id": seq}


def tencent(text: str, mobile: str = "13800138000", time: int = 1795399200) -> dict:
    return {"extend": "", "mobile": mobile, "nationcode": "86", "sign": "家政热线", "text": text, "time": time}


def test_an_aliyun_batch_is_acknowledged_with_code_0_and_every_message_answered(mainland):
    hl, client = mainland
    response = client.post(f"/sms/aliyun/smsup?token={TOKEN}", json=[aliyun(1001, "HELP"), aliyun(1002, "CX")])
    assert (response.status_code, response.get_json()["code"]) == (200, 0)
    inbound = messages(hl, provider="aliyun")
    assert [(m.provider_sid, m.phone, m.body, m.kind) for m in inbound] == [
        ("1001", WANG, "HELP", "help"), ("1002", WANG, "CX", "query")]
    replies = [m for m in messages(hl, phone=WANG, direction="out") if m.kind == "reply"]
    assert [(m.provider, m.status) for m in replies] == [("console", "sent"), ("console", "sent")]
    assert replies[0].body.startswith("家政热线：")


def test_an_aliyun_booking_is_confirmed_by_a_later_push(mainland, clock):
    hl, client = mainland
    client.post(f"/sms/aliyun/smsup?token={TOKEN}", json=[aliyun(2001, "BJ 明天上午")])
    clock.advance(minutes=2)
    client.post(f"/sms/aliyun/smsup?token={TOKEN}", json=[aliyun(2002, "Y")])
    [order] = sms_orders(hl, WANG)
    booked = [m for m in messages(hl, order_id=order.id) if m.kind == "booked"]
    assert [(m.provider, m.status) for m in booked] == [("console", "sent")]


def test_a_repeated_aliyun_push_creates_nothing_twice(mainland):
    hl, client = mainland
    batch = [aliyun(3001, "BJ 明天上午"), aliyun(3002, "Y")]
    for _ in range(2):
        assert client.post(f"/sms/aliyun/smsup?token={TOKEN}", json=batch).get_json()["code"] == 0
    assert len(messages(hl, provider="aliyun")) == 2
    assert len(sms_orders(hl, WANG)) == 1


def test_a_malformed_aliyun_element_is_skipped_and_the_rest_processed(mainland):
    hl, client = mainland
    batch = [{"content": "no sender or id"}, "not an object", aliyun(4001, "HELP")]
    assert client.post(f"/sms/aliyun/smsup?token={TOKEN}", json=batch).get_json()["code"] == 0
    assert [m.provider_sid for m in messages(hl, provider="aliyun")] == ["4001"]


def test_an_aliyun_push_that_is_not_an_array_is_a_bad_request(mainland):
    _, client = mainland
    response = client.post(f"/sms/aliyun/smsup?token={TOKEN}", json={"content": "HELP"})
    assert response.status_code == 400
    assert response.get_json()["code"] != 0


@pytest.mark.parametrize("query", ["", "?token=wrong", "?token="])
def test_a_callback_without_the_token_is_refused(mainland, query):
    hl, client = mainland
    assert client.post(f"/sms/aliyun/smsup{query}", json=[aliyun(5001, "HELP")]).status_code == 403
    assert client.post(f"/sms/tencent/reply{query}", json=tencent("HELP")).status_code == 403
    assert messages(hl, direction="in") == []


def test_with_no_token_configured_the_callbacks_are_refused(hl, client):
    assert client.post("/sms/aliyun/smsup?token=", json=[aliyun(5002, "HELP")]).status_code == 403


def test_a_tencent_reply_is_acknowledged_and_answered(mainland):
    hl, client = mainland
    response = client.post(f"/sms/tencent/reply?token={TOKEN}", json=tencent("TD"))
    assert response.get_json() == {"result": 0, "errmsg": "OK"}
    [inbound] = messages(hl, provider="tencent")
    assert (inbound.phone, inbound.body, inbound.kind) == (WANG, "TD", "optout")
    [reply] = [m for m in messages(hl, phone=WANG, direction="out") if m.kind == "optout"]
    assert reply.status == "sent"    # the confirmation of an opt-out still goes out


def test_an_answer_to_an_opted_out_number_goes_out_through_the_provider(mainland):
    hl, client = mainland
    client.post(f"/sms/tencent/reply?token={TOKEN}", json=tencent("TD", time=1795399200))
    client.post(f"/sms/tencent/reply?token={TOKEN}", json=tencent("CX", time=1795399260))
    [answer] = [m for m in messages(hl, phone=WANG, direction="out") if m.kind == "reply"]
    assert answer.status == "sent" and answer.body.endswith("发送“订阅”恢复通知）")


def test_a_retried_tencent_callback_is_processed_once(mainland):
    hl, client = mainland
    for _ in range(3):
        client.post(f"/sms/tencent/reply?token={TOKEN}", json=tencent("BJ 明天上午"))
    assert len(messages(hl, provider="tencent")) == 1


def test_the_same_text_sent_again_later_is_a_new_message(mainland, clock):
    hl, client = mainland
    client.post(f"/sms/tencent/reply?token={TOKEN}", json=tencent("CX", time=1795399200))
    clock.advance(minutes=1)
    client.post(f"/sms/tencent/reply?token={TOKEN}", json=tencent("CX", time=1795399260))
    assert len(messages(hl, provider="tencent")) == 2


def test_a_tencent_number_with_a_plus_is_taken_as_it_is(mainland):
    hl, client = mainland
    client.post(f"/sms/tencent/reply?token={TOKEN}", json=tencent("HELP", mobile="+8613800138000"))
    assert messages(hl, provider="tencent")[0].phone == WANG
