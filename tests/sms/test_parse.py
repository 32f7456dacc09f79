"""The SMS parser as a table: what each message means, against a fixed local now.

Now is Monday 2026-11-23 10:00 local time (the suite's fixed clock).
"""
from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy.orm import Session

from sms.parse import Catalog, parse
from tickets.db import make_engine

NOW = datetime(2026, 11, 23, 10, 0)     # Monday


@pytest.fixture(scope="module")
def catalog(sqlite_template) -> Catalog:
    """The demo database's catalog, as the webhook reads it."""
    engine = make_engine(f"sqlite:///{sqlite_template}")
    with Session(engine) as s:
        cat = Catalog.load(s)
    engine.dispose()
    return cat


def at(month: int, day: int, hour: int, minute: int = 0, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute)


BOOKINGS = [
    # the issue's own examples
    ("BJ 明天上午", "BJ", at(11, 24, 9), None),
    ("BJ 11月25日 下午3点 3小时", "BJ", at(11, 25, 15), 3),
    ("预约 保洁 周六 9点", "BJ", at(11, 28, 9), None),
    ("YD BJ 11-25 AM", "BJ", at(11, 25, 9), None),
    # relative days and parts of the day
    ("BJ 后天晚上", "BJ", at(11, 25, 19), None),
    ("BJ 大后天下午", "BJ", at(11, 26, 14), None),
    ("BJ 今天下午", "BJ", at(11, 23, 14), None),
    ("BJ 今晚", "BJ", at(11, 23, 19), None),
    ("BJ 明早", "BJ", at(11, 24, 8), None),
    ("BJ 明天中午", "BJ", at(11, 24, 12), None),
    ("BJ 明天晚上8点", "BJ", at(11, 24, 20), None),
    ("BJ tomorrow 9:30am", "BJ", at(11, 24, 9, 30), None),
    ("BJ 明天 3pm", "BJ", at(11, 24, 15), None),
    # weekdays: next such day, this week's, next week's
    ("搬家 下周一 9点半", "BJJ", at(11, 30, 9, 30), None),
    ("BJ 这周日 10点", "BJ", at(11, 29, 10), None),
    ("BJ 星期三 14:00", "BJ", at(11, 25, 14), None),
    ("BJ 礼拜五上午", "BJ", at(11, 27, 9), None),
    ("BJ 下下周三 10点", "BJ", at(12, 9, 10), None),
    ("BJ 周末上午", "BJ", at(11, 28, 9), None),
    # calendar dates
    ("BJ 12/1 14:00", "BJ", at(12, 1, 14), None),
    ("BJ 2026-12-01 9:00", "BJ", at(12, 1, 9), None),
    ("BJ 2026年12月1日 上午10点", "BJ", at(12, 1, 10), None),
    ("BJ 十二月一日 下午两点半", "BJ", at(12, 1, 14, 30), None),
    ("BJ 30号 10点", "BJ", at(11, 30, 10), None),
    ("BJ 5号 10点", "BJ", at(12, 5, 10), None),                 # the 5th has passed: next month's
    ("BJ 1月5日 9点", "BJ", at(1, 5, 9, year=2027), None),      # January written in November: next year
    ("BJ 下个月3号 9点", "BJ", at(12, 3, 9), None),
    # clock forms
    ("BJ 明天 9点一刻", "BJ", at(11, 24, 9, 15), None),
    ("BJ 明天 十点三刻", "BJ", at(11, 24, 10, 45), None),
    ("BJ 明天 9点30分", "BJ", at(11, 24, 9, 30), None),
    ("BJ 明天 3点", "BJ", at(11, 24, 15), None),                # a bare 1-6 o'clock is afternoon
    ("BJ 明天 8点", "BJ", at(11, 24, 8), None),
    ("BJ 下午3点", "BJ", at(11, 23, 15), None),                 # no date: today, still ahead
    ("BJ 上午", "BJ", at(11, 24, 9), None),                     # no date, already past today: tomorrow
    ("KT 周三三点", "KT", at(11, 25, 15), None),
    # full-width letters, digits and punctuation; no spaces; lower case
    ("ＢＪ　明天　１４：３０", "BJ", at(11, 24, 14, 30), None),
    ("BJ明天上午", "BJ", at(11, 24, 9), None),
    ("bj 明天上午", "BJ", at(11, 24, 9), None),
    # quantities in the service's unit
    ("小时工 明天 9点 4小时", "XSG", at(11, 24, 9), 4),
    ("BJ 明天上午 三个小时", "BJ", at(11, 24, 9), 3),
    ("BJ 明天上午 2h", "BJ", at(11, 24, 9), 2),
    ("GSBJ 明天上午 100平米", "GSBJ", at(11, 24, 9), 100),
    ("BM 下周一上午 2个月", "BM", at(11, 30, 9), 2),
    ("YYJ 明天下午 2次", "YYJ", at(11, 24, 14), 2),
    # Chinese names and aliases; the longest name wins
    ("抽油烟机清洗 明天下午", "YYJ", at(11, 24, 14), None),
    ("修空调 明天下午", "KT", at(11, 24, 14), None),
    ("公司搬家 周六上午", "GSBJJ", at(11, 28, 9), None),
    ("我要预约钟点工 明天上午", "XSG", at(11, 24, 9), None),
    ("清洗保洁 明天上午", "QX", at(11, 24, 9), None),
    ("QX 明天上午", "QX", at(11, 24, 9), None),                 # QX with a time is deep cleaning
]


@pytest.mark.parametrize("text, service, when, quantity", BOOKINGS, ids=[b[0] for b in BOOKINGS])
def test_booking_forms_are_read(catalog, text, service, when, quantity):
    req = parse(text, catalog, NOW)
    assert (req.intent, req.problems) == ("book", ())
    assert (req.service, req.when, req.quantity) == (service, when, quantity)


def test_words_left_over_are_kept_as_the_rest(catalog):
    req = parse("BJ 明天上午 地址：天山区解放南路88号3单元502", catalog, NOW)
    assert req.when == at(11, 24, 9)
    assert req.rest == "天山区解放南路88号3单元502"


PROBLEMS = [
    ("BJ 明天", "missing_time", "明天"),
    ("BJ", "missing_time", ""),
    ("明天上午", "missing_service", ""),
    ("YD 11-25 AM", "missing_service", ""),       # YD is 预订, a booking word, not a service
    ("XYZ 明天上午", "unknown_code", "XYZ"),
    ("保洁 搬家 明天上午", "two_services", "保洁/搬家"),
    ("BJ 2月30日 9点", "bad_date", "2月30日"),
    ("BJ 11月22日 9点", "past_date", "11月22日"),
    ("BJ 今天 9点", "past_time", "今天9点"),
    ("BJ 周一 9点", "past_time", "周一9点"),       # Monday is today, and 9:00 has gone
    ("BJ 明天 25点", "bad_time", "25点"),
    ("BJ 明天晚上12点", "bad_time", "晚上12点"),
    ("BJ 明天上午 0小时", "bad_quantity", "0小时"),
    ("BJ 明天上午 1.5小时", "bad_quantity", "1.5小时"),
    ("BJ 明天上午 2000小时", "bad_quantity", "2000小时"),
    ("BJJ 明天上午 3小时", "unit_mismatch", "3小时"),
]


@pytest.mark.parametrize("text, code, words", PROBLEMS, ids=[p[0] for p in PROBLEMS])
def test_what_is_missing_or_wrong_is_named(catalog, text, code, words):
    req = parse(text, catalog, NOW)
    assert req.intent == "book"
    assert (req.problems[0].code, req.problems[0].text) == (code, words)


INTENTS = [
    *[(w, "yes", None) for w in ("Y", "y", "是", "确认", "OK", "好的", "Y!")],
    *[(w, "no", None) for w in ("N", "n", "不要", "算了")],
    *[(w, "optout", None) for w in ("TD", "td", "退订", "STOP", "unsubscribe")],
    *[(w, "optin", None) for w in ("START", "订阅")],
    *[(w, "help", None) for w in ("HELP", "帮助", "?", "？")],
    ("CX", "query", None), ("查询", "query", None),
    ("CX 2632700001", "query", "2632700001"), ("查询2632700001", "query", "2632700001"),
    ("CX#2632700001", "query", "2632700001"), ("2632700001", "query", "2632700001"),
    ("查询订单 2632700001", "query", "2632700001"),
    ("QX 2632700001", "cancel", "2632700001"), ("取消 2632700001", "cancel", "2632700001"),
    ("取消订单2632700001", "cancel", "2632700001"), ("QX", "cancel", None), ("取消", "cancel", None),
    ("投诉 师傅迟到两小时", "complaint", None), ("投诉：订单2632700001 没打扫干净", "complaint", "2632700001"),
    ("投诉", "complaint", None),
    ("", "empty", None), ("   ", "empty", None),
    ("你好", "unknown", None), ("😀", "unknown", None), ("请问几点开门", "unknown", None),
    ("预约", "unknown", None), ("我要预约，怎么发？", "unknown", None),
]


@pytest.mark.parametrize("text, intent, number", INTENTS, ids=[repr(i[0]) for i in INTENTS])
def test_commands_are_recognised(catalog, text, intent, number):
    req = parse(text, catalog, NOW)
    assert (req.intent, req.number, req.problems) == (intent, number, ())


def test_a_complaint_keeps_its_words_as_the_text(catalog):
    req = parse("投诉，保洁师傅迟到两小时！", catalog, NOW)
    assert (req.intent, req.comment) == ("complaint", "保洁师傅迟到两小时")


def test_a_query_with_a_malformed_number_says_what_a_number_looks_like(catalog):
    req = parse("CX 12345", catalog, NOW)
    assert req.intent == "query"
    assert req.problems[0].code == "bad_number"


@pytest.mark.parametrize("text, score, comment", [
    ("5", 5, ""), ("1", 1, ""), ("4分", 4, ""), ("五星", 5, ""), ("3 师傅来晚了", 3, "师傅来晚了"),
    ("5，很满意！", 5, "很满意!"),        # full-width punctuation comes back as ASCII (NFKC)
])
def test_a_digit_1_to_5_is_a_survey_score(catalog, text, score, comment):
    req = parse(text, catalog, NOW)
    assert (req.intent, req.score, req.comment) == ("score", score, comment)


@pytest.mark.parametrize("text", ["6", "0", "3小时", "55"])
def test_other_numbers_are_not_scores(catalog, text):
    assert parse(text, catalog, NOW).intent != "score"


def test_an_address_number_is_not_read_as_a_day(catalog):
    req = parse("BJ 明天上午 天山区解放南路88号", catalog, NOW)
    assert req.when == at(11, 24, 9)
    assert "88号" in req.rest
