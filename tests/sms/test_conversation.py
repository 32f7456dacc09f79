"""SMS conversations through the signed Twilio webhook: book, confirm, query, cancel, opt out, surveys."""
from __future__ import annotations

import re
import threading
from datetime import date, datetime

from sqlalchemy import select

from sms import segments
from tests.core.helpers import order_in
from tests.sms.conftest import LI, STRANGER, WANG, ZHAO, messages, sms_orders
from tickets import holidays, orders
from tickets.actors import Actor
from tickets.models import Complaint, SmsConversation, SmsOptOut, Survey

ORDER_NUMBER = re.compile(r"\d{10}")


def booked_number(reply: str) -> str:
    m = ORDER_NUMBER.search(reply)
    assert m, reply
    return m.group(0)


def book_by_sms(phone, text: str = "BJ 明天上午") -> str:
    phone.text(text)
    return booked_number(phone.text("Y"))


# ---------------------------------------------------------------- booking

def test_a_booking_is_read_back_with_its_price_and_the_confirmation_prompt(phone):
    reply = phone(WANG).text("BJ 11月25日 下午3点 3小时")
    assert reply == ("预约家庭保洁3小时，11月25日(周三)15:00，约¥120.00，地址：天山区解放南路88号3单元502。"
                     "回复Y确认，N取消")


def test_nothing_is_booked_before_the_confirmation(hl, phone):
    phone(WANG).text("BJ 明天上午")
    assert sms_orders(hl, WANG) == []


def test_y_books_and_dispatches_the_order_and_replies_with_its_number(hl, phone):
    wang = phone(WANG)
    wang.text("BJ 明天上午")
    reply = wang.text("Y")
    [order] = sms_orders(hl, WANG)
    assert reply == f"预约成功！订单号{order.number}：家庭保洁 11月24日(周二)09:00。查询回复CX {order.number}"
    assert (order.status, order.service_id is not None, order.franchisee_id is not None) == ("dispatched", True, True)


def test_the_confirmation_reply_is_the_booked_notice_so_the_customer_gets_one_message(hl, phone):
    book_by_sms(phone(WANG))
    [order] = sms_orders(hl, WANG)
    booked = [m for m in messages(hl, order_id=order.id) if m.kind == "booked"]
    assert len(booked) == 1
    assert (booked[0].provider, booked[0].status, booked[0].direction) == ("twilio", "sent", "out")
    assert booked[0].dedupe_key == f"{order.events[0].id}:booked"


def test_the_booking_uses_the_quantity_and_price_of_the_catalog(hl, phone):
    number = book_by_sms(phone(WANG), "XSG 明天上午 4小时")
    with hl.session() as s:
        order = orders.get(s, number)
        assert (order.quantity, order.price_total_fen, order.channel) == (4, 4 * 4000, "sms")


def test_n_declines_and_books_nothing(hl, phone):
    wang = phone(WANG)
    wang.text("BJ 明天上午")
    assert wang.text("N") == "好的，本次预约已取消。"
    assert wang.text("Y").startswith("没有待确认的预约")
    assert sms_orders(hl, WANG) == []


def test_a_pending_request_expires_after_30_minutes(hl, phone, clock):
    wang = phone(WANG)
    wang.text("BJ 明天上午")
    clock.advance(minutes=30)
    assert wang.text("Y").startswith("您的预约超过30分钟未确认，已失效")
    assert sms_orders(hl, WANG) == []


def test_a_confirmation_within_30_minutes_still_books(hl, phone, clock):
    wang = phone(WANG)
    wang.text("BJ 明天上午")
    clock.advance(minutes=29)
    assert wang.text("Y").startswith("预约成功")


def test_a_new_request_replaces_the_one_waiting(hl, phone):
    wang = phone(WANG)
    wang.text("BJ 明天上午")
    wang.text("KT 后天下午")
    number = booked_number(wang.text("Y"))
    with hl.session() as s:
        assert orders.get(s, number).service.code == "KT"
        statuses = s.scalars(select(SmsConversation.status).where(SmsConversation.phone == WANG)
                             .order_by(SmsConversation.id)).all()
    assert statuses == ["replaced", "confirmed"]


def test_a_second_y_repeats_the_order_number_and_books_nothing_more(hl, phone):
    wang = phone(WANG)
    number = book_by_sms(wang)
    assert wang.text("Y") == f"已确认，订单号{number}。查询回复CX {number}"
    assert len(sms_orders(hl, WANG)) == 1


def test_the_same_booking_again_is_refused_naming_the_order_it_has(hl, phone):
    wang = phone(WANG)
    number = book_by_sms(wang)
    reply = wang.text("BJ 明天上午")
    assert reply == (f"您已预约家庭保洁 11月24日(周二)09:00，订单号{number}，未重复预约。"
                     f"如需再订一单请致电热线。查询回复CX {number}")
    assert wang.text("Y") == f"已确认，订单号{number}。查询回复CX {number}"
    assert len(sms_orders(hl, WANG)) == 1


def test_a_booking_made_by_another_channel_since_the_read_back_is_not_made_twice(hl, phone):
    from datetime import timedelta
    from tickets.timeutil import to_local, to_utc
    wang = phone(WANG)
    wang.text("BJ 明天上午")
    tomorrow = to_local(hl.now(), hl.tz).date() + timedelta(days=1)
    with hl.session() as s, s.begin():
        by_agent = orders.book(s, phone=WANG, service="BJ", start=to_utc(datetime.combine(tomorrow, datetime.min.time())
                                                                        .replace(hour=9), hl.tz),
                               actor=Actor(role="agent", label="agent-test")).number
    assert f"订单号{by_agent}，未重复预约" in wang.text("Y")
    assert sms_orders(hl, WANG) == []


def test_concurrent_y_replies_create_one_order(hl):
    from agent_console.app import create_app
    from tests.sms.conftest import Phone
    app = create_app(hl)
    Phone(app.test_client(), hl.clock, WANG).text("BJ 明天上午")
    start, replies = threading.Barrier(4), []

    def confirm():
        texter = Phone(app.test_client(), hl.clock, WANG)
        start.wait()
        replies.append(texter.post("Y"))

    threads = [threading.Thread(target=confirm) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert [r.status_code for r in replies] == [200] * 4
    [order] = sms_orders(hl, WANG)
    assert all(order.number in r.get_data(as_text=True) for r in replies)


def test_a_sender_without_an_address_is_asked_for_one(hl, phone):
    reply = phone(STRANGER).text("BJ 明天上午")
    assert reply == "请加上服务地址，如：BJ 明天上午 天山区解放南路88号"
    with hl.session() as s:
        assert s.scalar(select(SmsConversation).where(SmsConversation.phone == STRANGER)) is None


def test_an_address_in_the_message_is_read_back_and_used(hl, phone):
    stranger = phone(STRANGER)
    assert "地址：沙依巴克区友好北路100号" in stranger.text("BJ 明天上午 沙依巴克区友好北路100号")
    number = booked_number(stranger.text("Y"))
    with hl.session() as s:
        order = orders.get(s, number)
        assert (order.address_text, order.district.name_zh, order.status) == \
            ("沙依巴克区友好北路100号", "沙依巴克区", "dispatched")


def test_words_that_are_not_an_address_become_the_orders_notes(hl, phone):
    number = book_by_sms(phone(WANG), "BJ 明天上午 请带吸尘器")
    with hl.session() as s:
        order = orders.get(s, number)
        assert (order.notes, order.address_text) == ("请带吸尘器", "天山区解放南路88号3单元502")


def test_a_holiday_booking_says_the_holiday_rate_is_included(phone, clock):
    clock.now = datetime(2026, 9, 20, 2, 0)
    # 1 October is National Day; hourly work is charged double.
    reply = phone(WANG).text("BJ 10月1日 上午 3小时")
    assert "约¥240.00(含节假日加价)" in reply


def test_a_faulty_request_is_answered_with_what_is_wrong_and_the_right_format(phone):
    reply = phone(WANG).text("BJ 明天")
    assert reply == "请写明天几点，如 明天上午、明天14:30。格式：代码 日期 时间，如 BJ 明天上午3小时"


def test_an_unknown_code_is_answered_with_the_code_list(phone):
    reply = phone(WANG).text("XYZ 明天上午")
    assert reply.startswith("没有服务代码“XYZ”。如 BJ 明天上午3小时。代码：BJ保洁 ")
    assert segments.count(reply) <= 3


def test_yd_without_a_service_asks_for_one_with_the_code_list(phone):
    reply = phone(WANG).text("YD 11-25 AM")
    assert reply.startswith("请写服务代码。如 BJ 明天上午3小时。代码：BJ保洁 GSBJ公司保洁 ")


def test_a_time_that_has_passed_is_refused(phone):
    assert phone(WANG).text("BJ 今天 9点").startswith("“今天9点”已过，请写以后的时间")


def test_a_date_past_the_bookable_window_is_refused_with_the_last_day(phone):
    assert phone(WANG).text("BJ 2027-03-01 上午").startswith("只能预约90天内的服务（2027-02-21前），请改一个日期")


def test_anything_else_gets_the_help_text_with_the_right_format(phone):
    assert phone(WANG).text("你好，请问怎么预约？") == (
        "没看懂您的短信。预约请发：代码 日期 时间，如 BJ 明天上午3小时 或 预约 保洁 周六9点。发HELP看全部代码")


def test_help_lists_every_active_service_code(hl, phone):
    reply = phone(WANG).text("HELP")
    with hl.session() as s:
        from tickets.models import Service
        codes = s.scalars(select(Service.code).where(Service.active)).all()
    assert all(re.search(rf"(?<![A-Z]){code}(?![A-Z])", reply) for code in codes)
    assert segments.count(reply) <= 3


# ---------------------------------------------------------------- status

def test_cx_lists_the_senders_open_orders(phone):
    wang = phone(WANG)
    number = book_by_sms(wang)
    assert wang.text("CX") == f"您有1个进行中的订单：{number} 家庭保洁 11月24日(周二)09:00 已派工。详情回复CX 订单号"


def test_cx_with_a_number_shows_that_orders_status(phone):
    wang = phone(WANG)
    number = book_by_sms(wang)
    reply = wang.text(f"CX {number}")
    assert reply == (f"订单{number}：家庭保洁3小时，11月24日(周二)09:00，已派工(天山家政服务有限公司)，金额¥120.00")


def test_cx_from_another_of_the_customers_numbers_is_allowed(phone):
    number = book_by_sms(phone(WANG))
    # 王女士's landline is on her record too (demo data: 09914567890).
    assert phone("+869914567890").text(f"CX {number}").startswith(f"订单{number}：")


def test_cx_without_open_orders(phone):
    assert phone(LI).text("查询").startswith("您没有进行中的订单")


# ---------------------------------------------------------------- cancelling

def test_qx_within_72_hours_states_the_penalty_before_the_confirmation(hl, phone):
    wang = phone(WANG)
    number = book_by_sms(wang)
    assert wang.text(f"QX {number}") == (f"取消订单{number}（家庭保洁 11月24日(周二)09:00）？"
                                          "不足72小时，需付违约金¥24.00。回复Y确认取消，N保留")
    with hl.session() as s:
        assert orders.get(s, number).status == "dispatched"
    assert wang.text("Y") == f"订单{number}（家庭保洁）已取消，违约金¥24.00（72小时内变更）。"
    with hl.session() as s:
        order = orders.get(s, number)
        assert (order.status, orders.amount_due(order)) == ("cancelled", 2400)


def test_qx_more_than_72_hours_ahead_is_free(hl, phone):
    wang = phone(WANG)
    number = book_by_sms(wang, "BJ 12月10日 上午")
    assert "无违约金" in wang.text(f"取消 {number}")
    assert wang.text("Y") == f"订单{number}（家庭保洁）已取消。"


def test_n_keeps_the_order(hl, phone):
    wang = phone(WANG)
    number = book_by_sms(wang)
    wang.text(f"QX {number}")
    assert wang.text("N") == f"好的，订单{number}保留不变。"
    with hl.session() as s:
        assert orders.get(s, number).status == "dispatched"


def test_an_order_in_service_cannot_be_cancelled_by_sms(hl, phone):
    with hl.session() as s, s.begin():
        number = order_in(s, hl, "in_service", phone=WANG).number
    assert phone(WANG).text(f"QX {number}") == f"订单{number}服务中，不能短信取消，请致电热线"


def test_bare_qx_lists_the_orders_that_can_be_cancelled(phone):
    wang = phone(WANG)
    number = book_by_sms(wang)
    assert wang.text("QX") == f"请发 QX 订单号，如 QX {number}。可取消：{number} 家庭保洁 11月24日(周二)09:00 已派工"


def test_cancel_of_someone_elses_order_reads_as_not_found(hl, phone):
    number = book_by_sms(phone(WANG))
    assert phone(LI).text(f"QX {number}").startswith(f"未找到订单{number}")
    with hl.session() as s:
        assert orders.get(s, number).status == "dispatched"


# ---------------------------------------------------------------- complaints

def test_a_complaint_by_sms_opens_one_and_the_reply_gives_its_number_and_deadline(hl, phone):
    reply = phone(LI).text("投诉 师傅迟到了两个小时，态度也不好")
    with hl.session() as s:
        [c] = s.scalars(select(Complaint).where(Complaint.phone == LI, Complaint.source == "sms")).all()
        assert (c.text, c.status, c.order_id) == ("师傅迟到了两个小时,态度也不好", "open", None)   # full-width punctuation read as ASCII (sms.text.clean)
        # COMPLAINT_DUE_HOURS (24) after the fixed clock, Monday 10:00 local: Tuesday 10:00.
        assert reply == f"已受理您的投诉，编号{c.id}，我们将在11月24日(周二)10:00前答复您。"


def test_a_complaint_naming_the_senders_order_is_about_that_order(hl, phone):
    wang = phone(WANG)
    number = book_by_sms(wang)
    reply = wang.text(f"投诉 订单{number} 没打扫干净")
    with hl.session() as s:
        c = s.scalar(select(Complaint).where(Complaint.source == "sms"))
        assert c.order_id == orders.get(s, number).id
    assert f"（订单{number}）" in reply


def test_a_complaint_without_words_asks_for_them(hl, phone):
    assert phone(LI).text("投诉") == "请写明投诉内容，如：投诉 2632700001 师傅迟到两小时"
    with hl.session() as s:
        assert s.scalar(select(Complaint).where(Complaint.source == "sms")) is None


# ---------------------------------------------------------------- opt-out

def test_td_opts_out_and_is_kept(hl, phone):
    assert phone(WANG).text("TD") == "已退订，您将不再收到本热线的通知短信，您发来的短信仍会回复。发送“订阅”或START恢复通知"
    with hl.session() as s:
        assert s.get(SmsOptOut, WANG).opted_out is True


def test_an_opted_out_number_is_still_answered_and_told_how_to_resume_notices(hl, phone):
    wang = phone(WANG)
    wang.text("STOP")
    readback = wang.text("BJ 明天上午")
    assert readback.startswith("预约家庭保洁") and readback.endswith("（您已退订通知，发送“订阅”恢复通知）")
    booked = wang.text("Y")
    [order] = sms_orders(hl, WANG)
    assert booked.startswith(f"预约成功！订单号{order.number}") and booked.endswith("发送“订阅”恢复通知）")
    assert [m.body for m in messages(hl, phone=WANG, direction="in")] == ["STOP", "BJ 明天上午", "Y"]
    # The notices of the order (its dispatch) are still held back.
    [dispatched] = messages(hl, order_id=order.id, kind="dispatched")
    assert dispatched.status == "suppressed"


def test_a_long_answer_to_an_opted_out_number_keeps_the_resume_hint(hl, phone):
    from sms import replies
    wang = phone(WANG)
    wang.text("TD")
    reply = wang.text("HELP")
    assert reply.endswith(replies.TEXTS["optout_resume"])
    assert segments.count(reply) <= segments.MAX_REPLY_SEGMENTS


def test_help_is_answered_even_when_opted_out(phone):
    wang = phone(WANG)
    wang.text("退订")
    assert wang.text("HELP").startswith("家政热线：")


def test_start_opts_back_in(hl, phone):
    wang = phone(WANG)
    wang.text("TD")
    assert wang.text("START") == "已恢复订阅。回复HELP查看服务代码"
    assert wang.text("BJ 明天上午").startswith("预约家庭保洁")
    with hl.session() as s:
        assert s.get(SmsOptOut, WANG).opted_out is False


# ---------------------------------------------------------------- surveys

def test_a_digit_answers_the_waiting_survey_and_closes_the_order(hl, phone):
    assert phone(ZHAO).text("5") == "感谢您的评价（5分）！"
    with hl.session() as s:
        survey = s.scalar(select(Survey).where(Survey.phone == ZHAO))
        assert (survey.status, survey.score, survey.channel, survey.order.status) == ("answered", 5, "sms", "closed")


def test_a_low_score_opens_a_complaint(hl, phone):
    assert phone(ZHAO).text("2 阿姨迟到了一个小时") == "已记录您的评价（2分），客服会尽快联系您。"
    with hl.session() as s:
        complaint = s.scalar(select(Complaint).where(Complaint.phone == ZHAO))
        assert complaint is not None
        assert "阿姨迟到了一个小时" in complaint.text


def test_a_digit_without_a_waiting_survey_says_so(phone):
    assert phone(LI).text("5").startswith("没有待评价的订单")


def test_a_survey_is_answered_once(hl, phone):
    zhao = phone(ZHAO)
    zhao.text("4")
    assert zhao.text("1").startswith("没有待评价的订单")
    with hl.session() as s:
        assert s.scalar(select(Survey.score).where(Survey.phone == ZHAO)) == 4


# ---------------------------------------------------------------- flood control

def test_a_flood_is_answered_once_and_every_message_is_stored(hl, phone):
    wang = phone(WANG)
    answers = [wang.post(f"flood {i}") for i in range(12)]    # same instant: well past 6 a minute
    texts = ["".join(r.get_data(as_text=True)) for r in answers]
    assert sum("短信太频繁" in t for t in texts) == 1
    assert all("<Message>" not in t for t in texts[7:])
    assert len(messages(hl, phone=WANG, direction="in")) == 12
    assert len([m for m in messages(hl, phone=WANG, direction="out") if m.provider == "twilio"]) == 7


def test_after_a_quiet_minute_the_number_is_answered_again(hl, phone, clock):
    wang = phone(WANG)
    for i in range(10):
        wang.post(f"flood {i}")
    clock.advance(seconds=61)
    assert wang.text("HELP").startswith("家政热线：")


def test_every_reply_fits_in_three_segments(hl, phone):
    wang = phone(WANG)
    for text in ["HELP", "XYZ 明天上午", "YD 11-25 AM", "BJ 明天上午 " + "天山区" * 40, "Y", "CX", "QX", "你好" * 300]:
        reply = wang.text(text)
        assert segments.count(reply) <= 3, (text, reply)
    assert all(m.segments <= 3 for m in messages(hl, phone=WANG, direction="out"))


def test_dates_are_read_in_the_configured_time_zone(new_hotline, tmp_path, clock):
    from agent_console.app import create_app
    from tests.sms.conftest import Phone
    h = new_hotline(TIMEZONE="Asia/Urumqi")   # UTC+6: now is 08:00 there
    try:
        wang = Phone(create_app(h).test_client(), clock, WANG)
        assert "11月24日(周二)09:00" in wang.text("BJ 明天上午")
        number = booked_number(wang.text("Y"))
        with h.session() as s:
            assert orders.get(s, number).scheduled_start == datetime(2026, 11, 24, 3, 0)   # stored in UTC
    finally:
        h.close()


def test_a_holiday_name_books_the_first_day_of_its_next_occurrence(phone, clock):
    clock.now = datetime(2026, 9, 20, 2, 0)
    reply = phone(WANG).text("BJ 国庆 上午 3小时")
    assert reply.startswith("预约家庭保洁3小时，10月1日(周四)09:00，约¥240.00(含节假日加价)")


def test_a_holiday_the_calendar_does_not_know_yet_is_refused_with_an_example(phone):
    # The fixed clock is 2026-11-23: chinese-calendar 1.11.0 has no 2027, and no day was entered.
    reply = phone(WANG).text("BJ 元旦 下午")
    assert reply.startswith("“元旦”不在可预约的日期内，请写具体日期，如 1月1日上午")


def test_a_holiday_entered_by_an_admin_is_read_as_its_date(hl, phone):
    with hl.session() as s, s.begin():
        holidays.set_override(s, Actor(role="admin", label="admin"), date(2027, 1, 1), "holiday", "元旦")
    reply = phone(WANG).text("BJ 元旦 下午")
    assert reply.startswith("预约家庭保洁3小时，2027年1月1日(周五)14:00，约¥240.00(含节假日加价)")


def test_a_holiday_beyond_the_bookable_window_is_refused(phone):
    assert phone(WANG).text("BJ 五一 上午").startswith("“五一”不在可预约的日期内")
