"""The residents' public pages: order lookup with a one-time code, their own change or
cancellation, and online booking. No log-in, CSRF checked, every refusal its own message."""
from __future__ import annotations

import re
from datetime import datetime

import pytest
from sqlalchemy import select

from tests.console.conftest import text
from tests.console.helpers import make_order
from tickets.models import SmsMessage, WorkOrder

WANG = "+8613800138000"
SMITH = "+8613700137000"
SOON = datetime(2026, 11, 24, 1, 0)     # tomorrow 09:00 local: within 72 hours of the fixed clock
BOOKING = {"service": "BJ", "day": "2026-11-25", "slot": "morning", "address": "天山区解放南路88号3单元502",
           "phone": "13700137000", "name": "Mr. Smith"}


def last_code(hl, phone: str) -> str:
    with hl.session() as s:
        body = s.scalar(select(SmsMessage.body).where(SmsMessage.phone == phone, SmsMessage.kind == "otp")
                        .order_by(SmsMessage.id.desc()).limit(1))
    assert body, f"no code sent to {phone}"
    return re.search(r"验证码(\d{6})", body).group(1)


def flashes(resp) -> list[str]:
    return re.findall(r'class="flash flash-error"[^>]*>([^<]+)<', text(resp))


def without_csrf(page: str) -> str:
    """The CSRF token is signed with the second it was made, so two pages a second apart differ there."""
    return re.sub(r'name="csrf_token" value="[^"]*"', 'name="csrf_token"', page)


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10 ** 6:06d}"


def verified(console, hl, number: str):
    console.post("/lookup", {"number": number})
    return console.post("/lookup/verify", {"number": number, "code": last_code(hl, WANG)})


# ---------------------------------------------------------------- lookup

def test_the_lookup_page_needs_no_login_and_runs_no_script(console):
    resp = console.get("/lookup")
    assert resp.status_code == 200 and 'id="lookup-form"' in text(resp)
    assert "<script" not in text(resp) and "script-src 'self'" in resp.headers["Content-Security-Policy"]
    assert resp.headers["Cache-Control"] == "no-store"


def test_a_known_and_an_unknown_order_number_get_the_same_answer(hl, console):
    number = make_order(hl, "dispatched")
    known = console.post("/lookup", {"number": number})
    console.client.environ_base["REMOTE_ADDR"] = "203.0.113.9"
    unknown = console.post("/lookup", {"number": "2600100001"})
    assert known.status_code == unknown.status_code == 200
    assert without_csrf(text(known)).replace(number, "N") == without_csrf(text(unknown)).replace("2600100001", "N")


def test_the_code_goes_to_the_orders_phone_and_opens_its_progress(hl, console):
    number = make_order(hl, "accepted")
    resp = verified(console, hl, number)
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/lookup/order")
    page = text(console.get("/lookup/order"))
    assert number in page and "138****8000" in page and "解放南路" not in page
    assert "天山家政服务有限公司" in page and 'data-status="accepted"' in page
    assert "服务商已接单" in page


def test_a_wrong_code_says_how_many_tries_are_left(hl, console):
    number = make_order(hl, "dispatched")
    console.post("/lookup", {"number": number})
    resp = console.post("/lookup/verify", {"number": number, "code": wrong(last_code(hl, WANG))})
    assert resp.status_code == 400 and flashes(resp) == ["验证码不对，还可以试4次。"]
    assert console.get("/lookup/order").status_code == 302


def test_an_expired_code_is_its_own_answer(hl, clock, console):
    number = make_order(hl, "dispatched")
    console.post("/lookup", {"number": number})
    clock.advance(minutes=6)
    resp = console.post("/lookup/verify", {"number": number, "code": last_code(hl, WANG)})
    assert resp.status_code == 400 and flashes(resp) == ["验证码已过期（5分钟有效），请重新获取。"]


def test_a_malformed_code_and_a_malformed_number_are_refused_with_their_format(hl, console):
    resp = console.post("/lookup", {"number": "26328"})
    assert resp.status_code == 400 and flashes(resp) == ["“26328”不是订单号：订单号是10位数字，如 2632700001。"]
    number = make_order(hl, "dispatched")
    console.post("/lookup", {"number": number})
    resp = console.post("/lookup/verify", {"number": number, "code": "12 34"})
    assert resp.status_code == 400 and flashes(resp) == ["验证码是6位数字，请按短信填写。"]


def test_asking_again_within_a_minute_is_refused_with_when(hl, console):
    number = make_order(hl, "dispatched")
    console.post("/lookup", {"number": number})
    resp = console.post("/lookup", {"number": number})
    assert resp.status_code == 429 and flashes(resp)[0].startswith("验证码刚刚发过")


def test_the_order_page_needs_a_verified_code(console):
    resp = console.get("/lookup/order")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/lookup")


def test_a_verification_lasts_self_service_minutes(hl, clock, console):
    number = make_order(hl, "dispatched")
    verified(console, hl, number)
    clock.advance(minutes=16)
    assert console.get("/lookup/order").status_code == 302


def test_a_late_cancellation_shows_the_penalty_before_it_is_made(hl, console):
    number = make_order(hl, "dispatched", start=SOON)
    verified(console, hl, number)
    assert "¥24.00" in text(console.get("/lookup/order"))
    step = console.post("/lookup/order", {"action": "cancel"})
    assert step.status_code == 200 and 'id="confirm-penalty"' in text(step) and "¥24.00" in text(step)
    with hl.session() as s:
        assert s.scalar(select(WorkOrder.status).where(WorkOrder.number == number)) == "dispatched"
    done = console.post("/lookup/order", {"action": "cancel", "confirmed": "1"})
    assert done.status_code == 302
    with hl.session() as s:
        order = s.scalar(select(WorkOrder).where(WorkOrder.number == number))
        assert order.status == "cancelled" and order.events[-1].actor_label == "customer via online"


def test_a_reschedule_to_a_past_day_is_refused_with_its_own_message(hl, console):
    number = make_order(hl, "dispatched")
    verified(console, hl, number)
    resp = console.post("/lookup/order", {"action": "reschedule", "day": "2026-11-20", "slot": "morning"})
    assert resp.status_code == 400 and flashes(resp) == ["2026-11-20 这个时间已过，请选择以后的日期或时段。"]


def test_a_reschedule_days_ahead_is_free_and_moves_the_order(hl, console):
    number = make_order(hl, "dispatched")
    verified(console, hl, number)
    step = console.post("/lookup/order", {"action": "reschedule", "day": "2026-12-03", "slot": "afternoon"})
    assert 'id="confirm-free"' in text(step)
    console.post("/lookup/order", {"action": "reschedule", "day": "2026-12-03", "slot": "afternoon", "confirmed": "1"})
    with hl.session() as s:
        assert s.scalar(select(WorkOrder.scheduled_start).where(WorkOrder.number == number)) == datetime(2026, 12, 3, 6, 0)


def test_an_unknown_move_is_refused(hl, console):
    number = make_order(hl, "dispatched")
    verified(console, hl, number)
    assert console.post("/lookup/order", {"action": "complete"}).status_code == 400


def test_a_post_without_the_csrf_token_is_refused(console):
    assert console.post_without_token("/lookup", {"number": "2600100001"}).status_code == 400


def test_the_pages_speak_english(console):
    console.post("/language", {"lang": "en", "next": "/lookup"})
    assert "Track your order" in text(console.get("/lookup"))


# ---------------------------------------------------------------- online booking

def test_the_booking_page_lists_the_catalog_with_guide_prices(console):
    page = text(console.get("/book"))
    assert "家庭保洁 · ¥40.00/小时" in page and 'name="slot"' in page


def test_a_booking_is_read_back_priced_and_the_code_sent(hl, console):
    resp = console.post("/book", BOOKING)
    assert resp.status_code == 200 and 'data-testid="readback-total">¥120.00' in text(resp)
    assert len(last_code(hl, SMITH)) == 6


def test_the_right_code_books_online_and_dispatches(hl, console):
    console.post("/book", BOOKING)
    resp = console.post("/book/confirm", {**BOOKING, "code": last_code(hl, SMITH)})
    assert resp.status_code == 200
    number = re.search(r'data-testid="booked-number">(\d{10})<', text(resp)).group(1)
    with hl.session() as s:
        order = s.scalar(select(WorkOrder).where(WorkOrder.number == number))
        assert (order.channel, order.status, order.phone) == ("online", "dispatched", SMITH)


def test_a_wrong_booking_code_books_nothing(hl, console):
    console.post("/book", BOOKING)
    resp = console.post("/book/confirm", {**BOOKING, "code": wrong(last_code(hl, SMITH))})
    assert resp.status_code == 400 and flashes(resp) == ["验证码不对，还可以试4次。"]
    with hl.session() as s:
        assert s.scalar(select(WorkOrder).where(WorkOrder.channel == "online")) is None


@pytest.mark.parametrize("change, status, message", [
    ({"day": "2026-11-20"}, 400, "2026-11-20 这个时间已过，请选择以后的日期或时段。"),
    ({"service": "ZZZ"}, 400, "没有服务“ZZZ”，请从列表中选择。"),
    ({"day": "25/11/2026"}, 400, "“25/11/2026”不是日期，请写成 2026-12-01 这样。"),
    ({"day": ""}, 400, "请选择日期。"),
    ({"slot": "midnight"}, 400, "请选择时段：上午、下午或晚上。"),
    ({"address": " "}, 400, "请填写服务地址，如 天山区解放南路88号。"),
    ({"phone": ""}, 400, "请填写接收验证码的手机号，如 13800138000。"),
    ({"quantity": "-3"}, 400, None),
    ({"day": "2027-12-01"}, 400, "只能预约90天内的服务（2027-02-21前），请选更早的日期。"),
])
def test_odd_booking_input_gets_its_own_answer(console, change, status, message):
    resp = console.post("/book", {**BOOKING, **change})
    assert resp.status_code == status
    assert flashes(resp) and (message is None or flashes(resp) == [message])


def test_the_same_booking_twice_is_refused_as_a_duplicate(hl, console, clock):
    console.post("/book", BOOKING)
    console.post("/book/confirm", {**BOOKING, "code": last_code(hl, SMITH)})
    clock.advance(minutes=2)
    resp = console.post("/book", BOOKING)
    assert resp.status_code == 409 and flashes(resp)[0].startswith("您已预约过同一服务同一时间")


def test_a_code_posted_with_an_unbookable_request_is_not_looked_at(hl, console):
    """Guesses sent with a booking that cannot be read back (an unknown service): the code was
    checked first and the refusal rolled its try back, so a stranger who had a code sent to
    someone's phone could guess it without limit, the page telling the right code (its only
    refusal the service) from a wrong one. Now such a request is refused before its code is read."""
    console.post("/book", BOOKING)
    code = last_code(hl, SMITH)
    answers = [console.post("/book/confirm", {**BOOKING, "service": "ZZZ", "code": guess})
               for guess in (wrong(code), code)]
    assert [(r.status_code, flashes(r)) for r in answers] == [(400, ["没有服务“ZZZ”，请从列表中选择。"])] * 2
    resp = console.post("/book/confirm", {**BOOKING, "code": wrong(code)})
    assert flashes(resp) == ["验证码不对，还可以试4次。"]
    resp = console.post("/book/confirm", {**BOOKING, "code": code})
    assert resp.status_code == 200 and "booked-number" in text(resp)
