"""One webhook request, one step: exactly once, with the state kept where any web process finds it."""
from __future__ import annotations

import threading
from datetime import datetime

from sqlalchemy import select

from agent_console.app import create_app
from ivr import prompts
from ivr.scenarios import DEMO_PATH, NIGHT
from tickets.models import AgentEvent, Call, Complaint, IvrSession, User, WorkOrder
from tickets.timeutil import to_utc

from .phone import PhoneCall, Twilio, query, verbs

WANG, LI = "13800138000", "13900139000"


def ivr_session(hl, sid) -> IvrSession | None:
    with hl.session() as s:
        return s.get(IvrSession, sid)


def call_row(hl, sid) -> Call:
    with hl.session() as s:
        return s.scalar(select(Call).where(Call.external_id == sid))


def orders_of_call(hl, sid) -> list[WorkOrder]:
    with hl.session() as s:
        call = s.scalar(select(Call).where(Call.external_id == sid))
        return list(s.scalars(select(WorkOrder).where(WorkOrder.call_id == call.id)))


def replay(call: PhoneCall, doc_index: int = -1) -> tuple[int, str]:
    """Post the request behind one of the call's documents again (Twilio retrying it)."""
    url, params = call.requests[doc_index]
    resp = call.twilio.post(url, params)
    return resp.status_code, resp.get_data(as_text=True)


def make_available(hl, username: str = "agent1") -> int:
    with hl.session() as s, s.begin():
        user = s.scalar(select(User).where(User.username == username))
        user.presence = "available"
        return user.id


def test_each_answer_names_the_next_step_in_its_urls(phone):
    call = phone(WANG)
    call.dial()
    for n, key in enumerate(["1", "1"], start=2):
        doc = call.press(key)
        assert query(doc.find("Gather").get("action")) == {"step": str(n)}


def test_a_replayed_step_gets_the_same_twiml_and_does_not_advance_the_call(hl, phone):
    call = phone(WANG)
    call.dial()
    first = call.press("1")                 # the booking's category menu
    status, body = replay(call)
    assert status == 200
    assert body == call.bodies[-1]
    assert ivr_session(hl, call.sid).step == 2
    assert call.press("1").find("Gather/Say").text.startswith(prompts.text("book.item", "zh"))
    assert first.find("Gather/Say").text.startswith(prompts.text("book.category", "zh"))


def test_an_early_step_replayed_after_the_call_moved_on_gets_its_original_answer(hl, phone):
    call = phone(WANG)
    call.dial()
    call.press("1")
    call.press("1")
    status, body = replay(call, 1)
    assert status == 200
    assert body == call.bodies[1]
    assert ivr_session(hl, call.sid).step == 3


def test_a_replayed_incoming_call_webhook_starts_one_call(hl, phone):
    call = phone(WANG)
    call.dial()
    status, body = replay(call)
    assert status == 200
    assert body == call.bodies[0]
    with hl.session() as s:
        assert len(s.scalars(select(Call).where(Call.external_id == call.sid)).all()) == 1


def test_a_replayed_booking_confirmation_books_one_order(hl, phone):
    call = phone(WANG)
    call.dial()
    for key in DEMO_PATH.split():
        call.press(key)
    status, body = replay(call)
    assert status == 200
    assert body == call.bodies[-1]
    assert len(orders_of_call(hl, call.sid)) == 1


def test_concurrent_deliveries_of_one_confirmation_book_one_order_and_get_one_answer(hl, app, phone):
    call = phone(WANG)
    call.dial()
    keys = DEMO_PATH.split()
    for key in keys[:-1]:
        call.press(key)
    url = call.last.find("Gather").get("action")
    params = call.params(Digits=keys[-1])
    bodies: list[str] = []
    barrier = threading.Barrier(4)

    def deliver():
        twilio = Twilio(app)       # each delivery on its own connection, as Twilio's retries are
        barrier.wait()
        resp = twilio.post(url, params)
        bodies.append(f"{resp.status_code} {resp.get_data(as_text=True)}")

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(bodies) == 4
    assert len(set(bodies)) == 1
    assert bodies[0].startswith("200 ")
    assert len(orders_of_call(hl, call.sid)) == 1


def test_the_next_step_is_served_by_another_app_on_the_same_database(hl, app, sibling):
    other = create_app(sibling(), {"TESTING": True})
    call = PhoneCall(Twilio(app), WANG)
    call.dial()
    call.twilio = Twilio(other)          # the load balancer sends the next request elsewhere
    call.press("1")
    call.twilio = Twilio(app)
    doc = call.press("1")
    assert doc.find("Gather/Say").text.startswith(prompts.text("book.item", "zh"))
    assert ivr_session(hl, call.sid).step == 3


def test_a_silent_caller_posts_the_no_input_redirect_and_gets_the_retries_the_menu_allows(hl, phone):
    call = phone(WANG)
    call.dial()
    call.silence()
    call.silence()
    doc = call.silence()                  # the third silence: the fallback, an agent in business hours
    assert verbs(doc) == ["Say", "Enqueue"]
    assert call_row(hl, call.sid).outcome == "agent"


def test_a_recording_reaches_the_complaint_by_its_twilio_url(hl, phone):
    call = phone(LI)
    call.dial()
    call.press("3")
    call.press("1")
    url = "https://api.twilio.com/2010-04-01/Accounts/ACtest/Recordings/RE0123456789abcdef"
    doc = call.speak(seconds=9, recording_url=url)
    assert prompts.text("complaint.done", "zh") in doc.find("Say").text
    with hl.session() as s:
        complaint = s.scalar(select(Complaint).where(Complaint.recording == url))
    assert complaint is not None
    assert complaint.phone == "+8613900139000"


def test_an_empty_recording_is_asked_for_again(phone):
    call = phone(LI)
    call.dial()
    call.press("3")
    call.press("1")
    doc = call.silence()                  # Twilio skips the action of an empty <Record>
    assert verbs(doc) == ["Say", "Say", "Record", "Redirect"]
    assert doc.find("Say").text == prompts.text("retry.noinput", "zh")


def test_the_transfer_pops_the_callers_card_on_an_available_agents_screen(hl, phone):
    agent_id = make_available(hl)
    events = hl.bus.subscribe(f"agent.{agent_id}")
    try:
        call = phone(WANG)
        call.dial()
        assert verbs(call.press("0")) == ["Enqueue"]
        event = events.get(timeout=10)
    finally:
        events.close()
    assert event is not None
    assert event.payload["kind"] == "offer"
    card = event.payload["payload"]["card"]
    assert card["caller"] == "+8613800138000"
    assert card["name"] == "王女士"
    assert event.payload["payload"]["external_id"] == call.sid
    assert event.payload["payload"]["ivr"]["queue"] == "agents"
    call_id = call_row(hl, call.sid).id
    with hl.session() as s:
        offer = s.scalar(select(AgentEvent).where(AgentEvent.kind == "offer"))
    assert offer.user_id == agent_id
    assert offer.call_id == call_id


def test_the_caller_is_queued_even_when_no_agent_is_available(hl, phone):
    call = phone(WANG)
    call.dial()
    assert verbs(call.press("0")) == ["Enqueue"]
    with hl.session() as s:
        assert s.scalar(select(AgentEvent)) is None
    assert call_row(hl, call.sid).queue == "agents"


def test_a_step_of_a_call_we_have_no_state_for_hands_the_caller_to_an_agent_in_hours(hl, phone):
    call = phone(WANG)
    call.dial()
    doc = call.twilio.twiml("/twilio/voice/step?step=5", call.params(Digits="1"))
    assert verbs(doc) == ["Say", "Enqueue"]
    assert doc.find("Say").text.startswith(prompts.text("error.system", "zh"))


def test_a_step_of_a_call_we_have_no_state_for_ends_politely_out_of_hours(hl, clock, phone):
    clock.now = to_utc(datetime.strptime(NIGHT, "%Y-%m-%d %H:%M"), hl.tz)
    call = phone(WANG)
    call.dial()
    doc = call.twilio.twiml("/twilio/voice/step?step=5", call.params(Digits="1"))
    assert verbs(doc) == ["Say", "Hangup"]
    assert call_row(hl, call.sid).outcome == "failed"


def test_a_step_request_without_a_step_number_is_a_bad_request(phone):
    call = phone(WANG)
    call.dial()
    assert call.twilio.post("/twilio/voice/step", call.params(Digits="1")).status_code == 400


def test_a_request_without_a_call_sid_is_a_bad_request(twilio):
    assert twilio.post("/twilio/voice", {"From": "+8613800138000", "To": "+8699196156"}).status_code == 400


def test_a_recording_of_unreadable_length_is_asked_for_again(phone):
    call = phone(LI)
    call.dial()
    call.press("3")
    record = call.press("1").find("Record")
    doc = call.twilio.twiml(record.get("action"), call.params(
        RecordingUrl="https://api.twilio.com/2010-04-01/Accounts/ACtest/Recordings/RE1", RecordingDuration="n/a"))
    assert verbs(doc)[-2:] == ["Record", "Redirect"]
