"""What a caller hears reads as sentences: every phrase ends with its mark, so <Say> and espeak
pause between them instead of running one into the next ("晚上8点需要客服…")."""
from __future__ import annotations

import pytest

from ivr import phrases
from ivr.runtime import Ivr
from ivr.scenarios import LI, NIGHT, SMITH, WANG, WITHHELD, Scenario, prepare, run_scenario, set_clock


def transcript(hl, clock, scenario: Scenario) -> str:
    set_clock(hl, clock, scenario)
    return run_scenario(Ivr(hl).step, scenario, prepare(hl, scenario)).transcript


def test_each_order_read_out_ends_before_the_next_one_starts(hl, clock):
    said = transcript(hl, clock, Scenario("status", LI, "2 H", (), "abandoned", orders=((LI, "SD", 1), (LI, "BJ", 2))))
    assert "等待接单。家庭保洁" in said
    assert "等待接单家庭保洁" not in said


def test_an_orders_service_and_its_day_are_separate_clauses(hl, clock):
    said = transcript(hl, clock, Scenario("status", LI, "2 H", (), "abandoned", orders=((LI, "SD", 1),)))
    assert "水电维修，时间：" in said
    assert "水电维修11月" not in said


def test_one_open_order_is_counted_in_the_singular(hl, clock):
    said = transcript(hl, clock, Scenario("status", SMITH, "2 H", (), "abandoned", orders=((SMITH, "BJ", 1),)))
    assert "You have 1 open order." in said
    assert "1 open orders" not in said


def test_the_booking_read_back_names_the_time_and_the_service_as_separate_clauses(hl, clock):
    said = transcript(hl, clock, Scenario("book", WANG, "1 1 1 2 1 1 H", (), "abandoned"))
    assert "点，项目是" in said


def test_an_order_read_out_in_english_ends_with_a_full_stop(hl, clock):
    said = transcript(hl, clock, Scenario("status", SMITH, "2 H", (), "abandoned",
                                          orders=((SMITH, "BJ", 1),)))
    assert "waiting for them to accept. To look up" in said.replace("\n", " ")


def test_an_order_number_is_followed_by_a_pause_before_its_service(hl, clock):
    scenario = Scenario("lookup", LI, "2 1 {order0} H", (), "abandoned", orders=((LI, "KT", 3),))
    set_clock(hl, clock, scenario)
    placeholders = prepare(hl, scenario)
    said = run_scenario(Ivr(hl).step, scenario, placeholders).transcript
    assert f"订单{' '.join(placeholders['order0'])}，空调维修" in said


@pytest.mark.parametrize("caller, keys, expected", [
    (WANG, "0 2", "人工服务时间为每天上午8点至晚上8点，现在是非工作时间。"),
    # The withheld caller hears the hours and the refusal in one <Say>: they must not run together.
    (WITHHELD, "1 0", "至晚上8点，现在是非工作时间。我们无法识别您的来电号码"),
    (SMITH, "0 2", "Our agents answer every day from 8 a.m. to 8 p.m. They are not available now."),
])
def test_the_opening_hours_are_a_sentence_of_their_own(hl, clock, caller, keys, expected):
    said = transcript(hl, clock, Scenario("night", caller, keys, (), "ended", at=NIGHT))
    assert expected in said
    assert "晚上8点需要客服" not in said.replace("\n", "")


def test_the_complaint_due_time_ends_its_sentence_before_the_goodbye(hl, clock):
    said = transcript(hl, clock, Scenario("complaint", LI, "3 1 R", (), "complaint", orders=((LI, "KT", 3),)))
    assert "之前给您答复。感谢您的来电" in said


@pytest.mark.parametrize("lang, expected", [("zh", "订单2 6 3，空调维修"), ("en", "Order 2 6 3, Air-conditioner repair")])
def test_words_after_digits_are_a_new_phrase(lang, expected):
    segments = [phrases.prompt("status.order"), phrases.digits("263"), phrases.prompt("svc.KT.name")]
    assert phrases.render(segments, lang)[1] == expected


def test_a_phrase_starting_with_the_mark_the_last_one_ended_with_is_not_doubled():
    # "8 p.m." then ". They are not available now." reads "8 p.m. They", not "8 p.m.. They".
    segments = [phrases.prompt("time.pm"), phrases.prompt("agent.closed.end")]
    assert phrases.render(segments, "en")[1] == "p.m. They are not available now."
