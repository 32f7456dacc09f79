"""CX of another number's order: the one-time code goes to the order's phone, and "CX number code"
from the asking phone then shows the status; unknown and known numbers are answered alike."""
from __future__ import annotations

import re

from tests.sms.conftest import LI, WANG, messages
from tests.sms.test_conversation import book_by_sms


def code_sent_to(hl, phone: str) -> str:
    sent = messages(hl, phone=phone, kind="otp")
    assert sent, f"no code sent to {phone}"
    return re.search(r"验证码(\d{6})", sent[-1].body).group(1)


def test_cx_of_someone_elses_order_sends_the_code_to_the_orders_phone(hl, phone):
    number = book_by_sms(phone(WANG))
    reply = phone(LI).text(f"CX {number}")
    assert reply == f"如订单{number}存在，验证码已发至该订单的手机，5分钟内有效。请回复 CX {number} 验证码，或在网上查询页输入"
    body = messages(hl, phone=WANG, kind="otp")[-1].body
    assert body.startswith("验证码") and "5分钟内有效" in body     # the approved otp template names no order
    assert messages(hl, phone=LI, kind="otp") == []


def test_an_unknown_order_number_gets_the_same_answer_and_no_code(hl, phone):
    reply = phone(LI).text("CX 2600100001")
    assert reply == "如订单2600100001存在，验证码已发至该订单的手机，5分钟内有效。请回复 CX 2600100001 验证码，或在网上查询页输入"
    assert messages(hl, kind="otp") == []


def test_the_code_from_the_orders_phone_shows_the_status_to_the_asking_phone(hl, phone):
    number = book_by_sms(phone(WANG))
    phone(LI).text(f"CX {number}")
    code = code_sent_to(hl, WANG)
    assert phone(LI).text(f"CX {number} {code}").startswith(f"订单{number}：家庭保洁")


def test_a_wrong_code_by_sms_says_how_many_tries_are_left(hl, phone):
    number = book_by_sms(phone(WANG))
    phone(LI).text(f"CX {number}")
    wrong = "000000" if code_sent_to(hl, WANG) != "000000" else "111111"
    assert phone(LI).text(f"CX {number} {wrong}") == "验证未通过：验证码不对，还可试4次"


def test_a_code_for_an_unknown_order_is_always_wrong(phone):
    phone(LI).text("CX 2600100001")
    assert phone(LI).text("CX 2600100001 123456") == "验证未通过：验证码不对，还可试4次"
