"""With REDIS_URL set, Twilio call state lives in Redis (a real server), shared by every web process."""
from __future__ import annotations

import pytest
import redis
from sqlalchemy import func, select

from ivr import prompts
from ivr.twilio import Links
from tickets.models import Call, IvrSession

from .phone import PhoneCall, Twilio, query, verbs

pytestmark = pytest.mark.redis

WANG = "13800138000"


@pytest.fixture
def redis_apps(redis_server, sibling_app):
    """Two web processes' apps on one database and one Redis."""
    return sibling_app(redis_url=redis_server.url), sibling_app(redis_url=redis_server.url)


def dummy_links(step: int, token: str) -> Links:
    return Links(answer=f"/answer?step={step}&t={token}", no_input=f"/none?step={step}&t={token}",
                 queue_result="/queue", prompt=lambda lang, key: f"/{lang}/{key}.wav")


def test_steps_alternate_between_processes_with_the_state_in_redis_not_the_database(hl, redis_apps):
    first, second = redis_apps
    call = PhoneCall(Twilio(first), WANG)
    call.dial()
    call.twilio = Twilio(second)
    call.press("1")
    call.twilio = Twilio(first)
    doc = call.press("1")
    assert doc.find("Gather/Say").text.startswith(prompts.text("book.item", "zh"))
    with hl.session() as s:
        assert s.scalar(select(func.count()).select_from(IvrSession)) == 0


def test_each_step_url_carries_the_token_of_its_state_snapshot(redis_apps):
    call = PhoneCall(Twilio(redis_apps[0]), WANG)
    gather = call.dial().find("Gather")
    q = query(gather.get("action"))
    assert q["step"] == "1"
    assert len(q["t"]) == 12


def test_a_replayed_step_gets_the_same_twiml_with_redis_state(redis_apps):
    call = PhoneCall(Twilio(redis_apps[0]), WANG)
    call.dial()
    call.press("1")
    url, params = call.requests[-1]
    call.twilio = Twilio(redis_apps[1])
    assert call.twilio.post(url, params).get_data(as_text=True) == call.bodies[-1]
    assert call.press("1").find("Gather/Say").text.startswith(prompts.text("book.item", "zh"))


def test_a_step_whose_transaction_rolled_back_runs_again_from_the_same_state(hl, redis_apps):
    app = redis_apps[0]
    call = PhoneCall(Twilio(app), WANG)
    call.dial()
    q = query(call.last.find("Gather").get("action"))
    voice = app.extensions["ivr.twilio"]
    with hl.session() as s:
        s.begin()
        orphan = voice.step(s, call.sid, int(q["step"]), q["t"], {"type": "digits", "digits": "1"}, dummy_links)
        s.rollback()           # the commit failed: Twilio gets an error and tries again
    doc = call.press("1")
    assert doc.find("Gather/Say").text.startswith(prompts.text("book.category", "zh"))
    assert query(doc.find("Gather").get("action"))["t"] not in orphan
    assert call.press("1").find("Gather/Say").text.startswith(prompts.text("book.item", "zh"))


def test_hanging_up_mid_menu_records_the_abandon_point_from_the_redis_state(hl, redis_apps):
    call = PhoneCall(Twilio(redis_apps[0]), WANG)
    call.dial()
    call.press("1")
    call.twilio = Twilio(redis_apps[1])
    call.hang_up()
    with hl.session() as s:
        row = s.scalar(select(Call).where(Call.external_id == call.sid))
    assert (row.outcome, row.abandoned_at) == ("abandoned", "book.category")


def test_a_call_whose_redis_state_was_lost_is_handed_to_an_agent(redis_server, redis_apps):
    call = PhoneCall(Twilio(redis_apps[0]), WANG)
    call.dial()
    redis.Redis.from_url(redis_server.url).flushdb()     # Redis restarted without persistence
    doc = call.press("1")
    assert verbs(doc) == ["Say", "Enqueue"]
    assert doc.find("Say").text.startswith(prompts.text("error.system", "zh"))


def test_a_call_books_through_a_redis_outage_with_its_state_in_the_database_meanwhile(hl, sibling_app, tmp_path):
    from tests.ops.test_redis_outage import RestartableRedis

    server = RestartableRedis(tmp_path)
    server.start()
    try:
        call = PhoneCall(Twilio(sibling_app(redis_url=server.url)), WANG)
        server.kill()
        call.dial()                                      # saved in the database: no token to carry
        assert "t" not in query(call.last.find("Gather").get("action"))
        assert call.press("1").find("Gather/Say").text.startswith(prompts.text("book.category", "zh"))
        server.start()
        doc = call.press("1")                            # read from the database, saved in Redis again
        assert doc.find("Gather/Say").text.startswith(prompts.text("book.item", "zh"))
        assert len(query(doc.find("Gather").get("action"))["t"]) == 12
        call.hang_up()                                   # the later step (Redis) is the call's latest
        with hl.session() as s:
            row = s.scalar(select(Call).where(Call.external_id == call.sid))
            assert (row.outcome, row.abandoned_at) == ("abandoned", "book.item.cleaning")
            assert s.scalar(select(func.count()).select_from(IvrSession)) == 0
    finally:
        server.kill()
