"""What Twilio is told to do: every answer parsed as TwiML, verbs and attributes checked."""
from __future__ import annotations

from datetime import datetime

import pytest

from agent_console.app import create_app
from ivr import prompts
from ivr.scenarios import NIGHT
from tickets.timeutil import to_utc

from .phone import PhoneCall, Twilio, query, verbs

WANG, LI, SMITH = "13800138000", "13900139000", "13700137000"


def call_with_prompts(sibling, root, caller=WANG) -> PhoneCall:
    return PhoneCall(Twilio(create_app(sibling(prompts_dir=root), {"TESTING": True})), caller)


def test_incoming_call_answers_with_a_one_key_gather_around_the_main_menu(phone):
    doc = phone(WANG).dial()
    assert verbs(doc) == ["Say", "Gather", "Redirect"]
    gather = doc.find("Gather")
    assert gather.attrib == {"input": "dtmf", "action": "/twilio/voice/step?step=1", "method": "POST",
                             "numDigits": "1", "finishOnKey": "#", "timeout": "5"}
    assert [el.tag for el in gather] == ["Say"]
    assert gather.find("Say").text == prompts.text("main.menu", "zh")


def test_a_known_caller_is_greeted_by_name_in_chinese(phone):
    say = phone(WANG).dial().find("Say")
    assert say.get("language") == "zh-CN"
    assert say.get("voice") == "alice"
    assert say.text.startswith("王女士")


def test_an_english_customer_is_spoken_to_in_us_english(phone):
    doc = phone(SMITH).dial()
    assert {say.get("language") for say in doc.iter("Say")} == {"en-US"}
    assert doc.find("Gather/Say").text == prompts.text("main.menu", "en")


def test_no_input_redirects_to_the_same_step_as_a_timeout(phone):
    doc = phone(WANG).dial()
    redirect = doc.find("Redirect")
    assert redirect.get("method") == "POST"
    assert redirect.text.startswith("/twilio/voice/step?")
    assert query(redirect.text) == {"step": "1", "event": "timeout"}


def test_silence_is_answered_with_the_no_input_apology_and_the_menu_again(phone):
    call = phone(WANG)
    call.dial()
    doc = call.silence()
    assert doc.find("Say").text == prompts.text("retry.noinput", "zh")
    assert doc.find("Gather/Say").text == prompts.text("main.menu", "zh")
    assert query(doc.find("Gather").get("action")) == {"step": "2"}


def test_an_order_number_is_gathered_as_up_to_ten_keys_ended_by_hash(phone):
    call = phone(WANG)
    call.dial()
    call.press("2")
    gather = call.press("1").find("Gather")
    assert gather.get("numDigits") == "10"
    assert gather.get("finishOnKey") == "#"
    assert gather.get("timeout") == "10"
    assert gather.find("Say").text == prompts.text("status.enter", "zh")


def test_a_voice_message_is_prompted_then_recorded_with_a_beep_until_hash(phone):
    call = phone(LI)
    call.dial()
    call.press("3")
    doc = call.press("1")
    assert verbs(doc) == ["Say", "Record", "Redirect"]
    assert doc.find("Say").text == prompts.text("complaint.record", "zh")
    record = doc.find("Record")
    assert record.attrib == {"action": "/twilio/voice/step?step=3", "method": "POST", "maxLength": "120",
                             "finishOnKey": "#", "playBeep": "true"}
    assert query(doc.find("Redirect").text) == {"step": "3", "event": "timeout"}


def test_asking_for_an_agent_in_business_hours_enqueues_the_caller_in_the_agents_queue(phone):
    call = phone(WANG)
    call.dial()
    doc = call.press("0")
    assert verbs(doc) == ["Enqueue"]
    enqueue = doc.find("Enqueue")
    assert enqueue.text == "agents-p2"          # 王女士 is VIP: the priority 2 queue
    assert enqueue.get("action") == "/twilio/voice/queue"
    assert enqueue.get("method") == "POST"


def test_a_goodbye_is_said_and_then_the_call_is_hung_up(hl, clock, phone):
    clock.now = to_utc(datetime.strptime(NIGHT, "%Y-%m-%d %H:%M"), hl.tz)   # agents have gone home
    call = phone(WANG)
    call.dial()
    call.press("0")
    doc = call.press("2")
    assert verbs(doc) == ["Say", "Hangup"]
    assert doc.find("Say").text == prompts.text("bye", "zh")


def test_generated_prompt_files_are_played_instead_of_said(sibling, prompt_files):
    call = call_with_prompts(sibling, prompt_files, caller="13512345678")   # no history: the language menu
    gather = call.dial().find("Gather")
    assert [el.tag for el in gather] == ["Play"]
    assert gather.find("Play").text == "/twilio/voice/prompts/zh/lang.menu.wav"


def test_a_played_prompt_file_is_served_to_twilio(sibling, prompt_files):
    call = call_with_prompts(sibling, prompt_files, caller="13512345678")
    url = call.dial().find("Gather/Play").text
    resp = call.twilio.client.get(url)
    assert resp.status_code == 200
    assert resp.mimetype == "audio/wav"
    assert resp.data == b"RIFFlang.menuWAVE"


def test_digits_between_prompts_are_said_one_by_one(sibling, prompt_files):
    call = call_with_prompts(sibling, prompt_files)
    call.dial()
    for key in "1 1 1 2 1 1".split():
        call.press(key)
    doc = call.press("1")       # confirm the booking: the order number is read back twice
    number = doc.find("Say").text.replace(" ", "")
    assert len(number) == 10
    assert number.isdigit()
    assert doc.find("Say").text == " ".join(number)
    assert [el.text.rsplit("/", 1)[-1] for el in doc.iter("Play")][:2] == ["book.done.wav", "book.done.repeat.wav"]


def test_a_sentence_with_the_callers_name_is_said_even_when_its_prompt_file_exists(sibling, prompt_files):
    doc = call_with_prompts(sibling, prompt_files).dial()
    assert verbs(doc) == ["Say", "Gather", "Redirect"]
    assert doc.find("Say").text.startswith("王女士")
    assert doc.find("Gather/Play").text == "/twilio/voice/prompts/zh/main.menu.wav"


def test_a_sentence_whose_prompt_file_is_missing_is_said(sibling, prompt_files):
    (prompt_files / "zh" / "main.menu.wav").unlink()
    gather = call_with_prompts(sibling, prompt_files).dial().find("Gather")
    assert [el.tag for el in gather] == ["Say"]


@pytest.mark.parametrize("url", ["/twilio/voice/prompts/zh/no.such.prompt.wav",
                                 "/twilio/voice/prompts/fr/main.menu.wav",
                                 "/twilio/voice/prompts/zh/..%2F..%2Fhotline.db.wav"])
def test_prompt_files_that_were_never_built_are_not_found(sibling_app, prompt_files, url):
    client = sibling_app(prompts_dir=prompt_files).test_client()
    assert client.get(url).status_code == 404


def test_prompt_files_built_after_start_up_are_played_from_the_next_call_on(sibling, tmp_path):
    root = tmp_path / "later"
    twilio = Twilio(create_app(sibling(prompts_dir=root), {"TESTING": True}))
    assert PhoneCall(twilio, "13512345678").dial().find("Gather/Say") is not None
    (root / "zh").mkdir(parents=True)
    for key in prompts.all_prompts():
        (root / "zh" / f"{key}.wav").write_bytes(b"RIFF....WAVE")
    assert PhoneCall(twilio, "13512345678").dial().find("Gather/Play") is not None
