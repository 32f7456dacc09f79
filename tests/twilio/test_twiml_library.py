"""The TwiML the hotline writes as text (ivr/twilio.py: faster than building twilio's objects on
every key press) is the document twilio's own library writes for the same verbs.

Each test takes a real answer of the app (a menu step through the signed webhook, or the
function that writes it) and the document VoiceResponse / MessagingResponse build for the
verbs, attributes and texts that step should have; both are compared as parsed XML, so only
attribute order and the serialiser's spelling of an escape may differ.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime

from sqlalchemy import select
from twilio.twiml.messaging_response import MessagingResponse
from twilio.twiml.voice_response import VoiceResponse

from agent_console.sms_hooks import twiml as sms_twiml
from ivr import prompts
from ivr.scenarios import NIGHT
from ivr.twilio import HANGUP, Links, PromptFiles, render
from tickets.models import WorkOrder
from tickets.timeutil import to_utc

from .test_twiml import LI, WANG, call_with_prompts

ZH = {"language": "zh-CN", "voice": "alice"}


def tree(xml: str) -> tuple:
    """A document as nested (tag, attributes, text, tail, children): equal when the XML is."""
    def node(el: ET.Element) -> tuple:
        return el.tag, el.attrib, el.text or "", el.tail or "", [node(child) for child in el]
    return node(ET.fromstring(xml))


def assert_same_twiml(ours: str, library: VoiceResponse | MessagingResponse) -> None:
    theirs = str(library)
    assert tree(ours) == tree(theirs), f"\nours:    {ours}\ntwilio:  {theirs}"


def step_url(step: int, timeout: bool = False) -> str:
    return f"/twilio/voice/step?step={step}" + ("&event=timeout" if timeout else "")


def body_after(call, keys: list[str]) -> str:
    """The TwiML text of the step after dialling and pressing `keys`, as the app sent it."""
    call.dial()
    for key in keys:
        call.press(key)
    return call.bodies[-1]


def menu_gather(vr: VoiceResponse, step: int, digits: int = 1, timeout: int = 5):
    """<Gather> as every menu asks for keys, followed by the <Redirect> that reports silence."""
    gather = vr.gather(action=step_url(step), finish_on_key="#", input="dtmf", method="POST", num_digits=digits,
                       timeout=timeout)
    vr.redirect(step_url(step, timeout=True), method="POST")
    return gather


def test_main_menu_greeting_say_gather_and_redirect(phone):
    vr = VoiceResponse()
    vr.say(prompts.GREETING_BY_NAME["zh"].format(name="王女士"), **ZH)
    menu_gather(vr, 1).say(prompts.text("main.menu", "zh"), **ZH)
    assert_same_twiml(body_after(phone(WANG), []), vr)


def test_order_number_gather_of_ten_keys(phone):
    vr = VoiceResponse()
    menu_gather(vr, 3, digits=10, timeout=10).say(prompts.text("status.enter", "zh"), **ZH)
    assert_same_twiml(body_after(phone(WANG), ["2", "1"]), vr)


def test_voice_message_say_record_and_redirect(phone):
    vr = VoiceResponse()
    vr.say(prompts.text("complaint.record", "zh"), **ZH)
    vr.record(action=step_url(3), finish_on_key="#", max_length=120, method="POST", play_beep=True)
    vr.redirect(step_url(3, timeout=True), method="POST")
    assert_same_twiml(body_after(phone(LI), ["3", "1"]), vr)


def test_transfer_to_an_agent_is_an_enqueue(phone):
    vr = VoiceResponse()
    # The hold's wait URL offers key 1 for a callback instead of holding (README, "Callbacks").
    # 王女士 is VIP: <Enqueue> has no priority, so she waits in the queue of priority 2.
    vr.enqueue("agents-p2", action="/twilio/voice/queue", method="POST", wait_url="/twilio/voice/queue/wait",
               wait_url_method="POST")
    assert_same_twiml(body_after(phone(WANG), ["0"]), vr)


def test_goodbye_is_a_say_then_a_hangup(hl, clock, phone):
    clock.now = to_utc(datetime.strptime(NIGHT, "%Y-%m-%d %H:%M"), hl.tz)   # agents have gone home: bye
    vr = VoiceResponse()
    vr.say(prompts.text("bye", "zh"), **ZH)
    vr.hangup()
    assert_same_twiml(body_after(phone(WANG), ["0", "2"]), vr)


def test_generated_prompts_are_plays_inside_and_outside_a_gather(hl, sibling, prompt_files):
    call = call_with_prompts(sibling, prompt_files)
    menu = VoiceResponse()
    menu.say(prompts.GREETING_BY_NAME["zh"].format(name="王女士"), **ZH)
    menu_gather(menu, 1).play("/twilio/voice/prompts/zh/main.menu.wav")
    assert_same_twiml(body_after(call, []), menu)

    booked = body_after(call, "1 1 1 2 1 1 1".split())    # home cleaning, tomorrow morning, confirmed
    with hl.session() as s:
        number = s.scalars(select(WorkOrder.number).order_by(WorkOrder.id.desc())).first()
    spelled = " ".join(number)
    done = VoiceResponse()
    done.play("/twilio/voice/prompts/zh/book.done.wav")
    done.say(spelled, **ZH)
    done.play("/twilio/voice/prompts/zh/book.done.repeat.wav")
    done.say(spelled, **ZH)
    done.play("/twilio/voice/prompts/zh/book.done.dispatched.wav")
    done.play("/twilio/voice/prompts/zh/bye.wav")
    done.hangup()
    assert_same_twiml(booked, done)


def test_text_and_urls_with_xml_characters_are_escaped_as_the_library_does(tmp_path):
    text = 'A & B <C> "D" \'E\''
    url = "/twilio/voice/step?step=1&event=timeout&x=<\">"
    links = Links(answer=url, no_input=url, queue_result=url, prompt=lambda lang, key: url)
    actions = [{"type": "play", "segments": [], "text": text, "lang": "en"},
               {"type": "gather", "segments": [], "text": text, "lang": "en", "max_digits": 4, "timeout_ms": 2500},
               {"type": "transfer", "queue": text}]
    vr = VoiceResponse()
    vr.say(text, language="en-US", voice="alice")
    vr.gather(action=url, finish_on_key="#", input="dtmf", method="POST", num_digits=4, timeout=3).say(
        text, language="en-US", voice="alice")
    vr.redirect(url, method="POST")
    vr.enqueue(text, action=url, method="POST")
    assert_same_twiml(render(actions, links, PromptFiles(tmp_path)), vr)


def test_the_agent_legs_hangup_is_the_librarys():
    vr = VoiceResponse()
    vr.hangup()
    assert_same_twiml(HANGUP, vr)


def test_sms_answers_are_the_librarys_message_or_empty_response():
    reply = "订单 2632700001 已受理 & <确认> 请回复 \"Y\""
    mr = MessagingResponse()
    mr.message(reply)
    assert_same_twiml(sms_twiml(reply), mr)
    assert_same_twiml(sms_twiml(None), MessagingResponse())
