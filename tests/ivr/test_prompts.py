"""The prompt catalog: every key the menus use exists, in Chinese and English, as words a caller hears."""
from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import select

from ivr import phrases, prompts
from ivr.menus import prompt_keys
from ivr.runtime import Ivr
from tickets import seed
from tickets.models import District, Service
from tickets.workflow import STATES


def test_every_prompt_has_a_chinese_and_an_english_text():
    for key, texts in prompts.all_prompts().items():
        assert set(texts) == set(prompts.LANGS), key
        assert all(isinstance(t, str) and t.strip() for t in texts.values()), key


def test_prompt_keys_are_usable_as_file_names():
    for key in prompts.all_prompts():
        assert key.replace(".", "").replace("_", "").isalnum(), key


def test_every_prompt_named_by_a_menu_exists_in_both_languages(hl):
    catalog = prompts.all_prompts()
    missing = {(k, lang) for k in prompt_keys(Ivr(hl).menus) for lang in prompts.LANGS
               if not catalog.get(k, {}).get(lang)}
    assert missing == set()


def test_every_active_service_and_its_category_has_choice_and_name_prompts(session):
    keys = set(prompts.all_prompts())
    for svc in session.scalars(select(Service).where(Service.active)):
        assert {f"svc.{svc.code}", f"svc.{svc.code}.name", f"cat.{svc.category}",
                f"cat.{svc.category}.name"} <= keys, svc.code


def test_every_district_and_order_state_has_a_prompt(session):
    keys = set(prompts.all_prompts())
    assert {f"district.{d.code}" for d in session.scalars(select(District))} <= keys
    assert {f"state.{s}" for s in STATES} <= keys


def test_service_choice_prompts_say_the_key_from_the_catalog():
    cat = seed.catalog()
    cleaning = next(c for c in cat["categories"] if c["key"] == "cleaning")
    assert prompts.text("cat.cleaning", "zh") == f"清洁服务请按{cleaning['digit']}，"
    assert prompts.text("svc.BJ", "en") == "Home cleaning, press 1."


@pytest.mark.parametrize("lang, expected", [("zh", "11月24日星期二"), ("en", "Tuesday November 24")])
def test_a_date_is_said_in_the_languages_word_order(lang, expected):
    assert phrases.render(phrases.say_date(date(2026, 11, 24), lang), lang)[1] == expected


@pytest.mark.parametrize("hour, minute, lang, expected", [
    (9, 0, "zh", "上午9点"), (14, 30, "zh", "下午2点30分"), (18, 0, "zh", "晚上6点"),
    (9, 0, "en", "9 a.m."), (14, 30, "en", "2 30 p.m."), (0, 0, "en", "12 a.m."),
])
def test_a_clock_time_is_said_in_twelve_hour_form(hour, minute, lang, expected):
    local = datetime(2026, 11, 24, hour, minute)
    assert phrases.render(phrases.say_time(local, lang), lang)[1] == expected


def test_money_is_said_in_yuan_and_fen():
    assert phrases.render(phrases.say_money(12000), "zh")[1] == "120元"
    assert phrases.render(phrases.say_money(12050), "en")[1] == "120 yuan 50 fen"


def test_transcript_only_text_is_not_sent_to_the_adapter():
    played, text = phrases.render([phrases.prompt("district.tianshan", "天山区解放南路88号")], "zh")
    assert played == [{"prompt": "district.tianshan"}]
    assert text == "天山区解放南路88号"
