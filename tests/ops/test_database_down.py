"""The database out of reach (a restart, a failover): every caller and sender gets a clear answer.

The database is a SQLite file whose directory is moved away once the app is up: every new
connection then fails with OperationalError, as connections to a stopped server do.
"""
from __future__ import annotations

import os
import xml.etree.ElementTree as ET

import pytest
from sqlalchemy import func, select

from agent_console.app import create_app
from ivr import prompts
from ivr.runtime import Ivr
from tests.conftest import sqlite_copy
from tests.sms.conftest import SMS_URL, sign
from tests.twilio.phone import PhoneCall, Twilio, verbs
from tickets.models import SmsMessage

TOKEN = "callback-secret"


class Outage:
    """A Hotline on a database that `cut()` puts out of reach and `mend()` brings back."""

    def __init__(self, template, tmp_path, clock) -> None:
        self.dir = tmp_path / "db"
        self.dir.mkdir()
        self.hl = sqlite_copy(template, self.dir, clock, SMS_CALLBACK_TOKEN=TOKEN)

    def cut(self) -> None:
        self.hl.engine.dispose()
        os.rename(self.dir, f"{self.dir}-away")

    def mend(self) -> None:
        os.rename(f"{self.dir}-away", self.dir)


@pytest.fixture
def outage(sqlite_template, tmp_path, clock):
    made = Outage(sqlite_template, tmp_path, clock)
    yield made
    if not made.dir.exists():
        made.mend()
    made.hl.close()


def test_a_voice_menu_call_with_the_database_down_hears_an_apology_and_goes_to_the_agents(outage):
    ivr = Ivr(outage.hl)                 # built while the database answered (a running FastAGI server)
    outage.cut()
    state, actions = ivr.step(None, {"type": "start", "call_id": "call-1", "caller": "13800138000"})
    assert [seg["prompt"] for seg in actions[0]["segments"]] == ["error.system", "retry.transfer"]
    assert actions[-1]["type"] == "transfer" and state["done"]
    assert ivr.step(state, {"type": "digits", "digits": "1"}) == (state, [])


def test_after_hours_the_apology_ends_in_a_goodbye(outage, clock):
    clock.advance(hours=12)              # 22:00 local: agents do not answer
    ivr = Ivr(outage.hl)
    outage.cut()
    _, actions = ivr.step(None, {"type": "start", "call_id": "call-1", "caller": "13800138000"})
    assert [seg["prompt"] for seg in actions[0]["segments"]] == ["error.system", "retry.goodbye"]
    assert actions[-1] == {"type": "hangup"}


def test_a_twilio_call_with_the_database_down_gets_valid_twiml_with_the_apology_and_the_queue(outage):
    call = PhoneCall(Twilio(create_app(outage.hl, {"TESTING": True})), "13800138000")
    outage.cut()
    doc = call.dial()                    # 200 and text/xml, or the helper fails
    assert verbs(doc) == ["Say", "Enqueue"]
    assert doc.find("Say").text.startswith(prompts.text("error.system", "zh"))


def test_the_app_boots_with_the_database_down_and_serves_the_menu_once_it_is_back(outage):
    """A web worker replaced during a database restart (gunicorn stops altogether when one cannot boot)."""
    outage.cut()
    app = create_app(outage.hl, {"TESTING": True})
    outage.mend()
    doc = PhoneCall(Twilio(app), "13800138000").dial()
    assert doc.find("Gather") is not None


def test_an_sms_with_the_database_down_is_asked_to_be_sent_again_and_a_resend_is_taken(outage):
    client = create_app(outage.hl, {"TESTING": True}).test_client()
    params = {"MessageSid": "SM" + "1" * 32, "AccountSid": "ACtest", "From": "+8613800138000",
              "To": "+8699196156", "Body": "HELP", "NumMedia": "0"}
    outage.cut()
    resp = client.post(SMS_URL, data=params, headers={"X-Twilio-Signature": sign(SMS_URL, params)})
    assert resp.status_code == 200
    assert "重新发送" in ET.fromstring(resp.get_data(as_text=True)).find("Message").text
    outage.mend()
    with outage.hl.session() as s:          # nothing was half kept
        assert s.scalar(select(func.count()).select_from(SmsMessage)
                        .where(SmsMessage.provider_sid == params["MessageSid"])) == 0
    resp = client.post(SMS_URL, data=params, headers={"X-Twilio-Signature": sign(SMS_URL, params)})
    assert "代码" in ET.fromstring(resp.get_data(as_text=True)).find("Message").text


def test_a_mainland_push_with_the_database_down_gets_503_with_retry_after(outage):
    client = create_app(outage.hl, {"TESTING": True}).test_client()
    outage.cut()
    resp = client.post(f"/sms/aliyun/smsup?token={TOKEN}",
                       json=[{"phone_number": "13800138000", "content": "HELP", "sign_name": "家政热线",
                              "dest_code": "1", "sequence_id": 1, "send_time": "2026-11-23 10:00:00"}])
    assert resp.status_code == 503
    assert int(resp.headers["Retry-After"]) > 0


def test_the_scheduler_says_the_outage_once_for_all_its_jobs_and_goes_on_when_it_is_back(outage, caplog):
    from tickets.scheduler import CORE_JOBS, Scheduler
    sched = Scheduler(outage.hl)
    watchdog = next(job for job in CORE_JOBS if job.name == "accept-deadline-watchdog")
    outage.cut()
    with caplog.at_level("INFO", logger="tickets.scheduler"):
        for _ in range(3):
            for job in CORE_JOBS:
                sched.run_job(job)
        outage.mend()
        sched.run_job(watchdog)
        sched.run_job(watchdog)
    lines = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert [level for level, _ in lines] == ["WARNING", "INFO"], lines
    assert lines[0][1].startswith("scheduler: the database unreachable (")
    assert lines[0][1].endswith("no job runs until it is back")
    assert lines[1][1] == "scheduler: the database reachable again"
    assert not any(r.exc_info for r in caplog.records)


def test_a_job_that_fails_for_its_own_reasons_still_logs_its_traceback(outage, caplog):
    from tickets.context import Job
    from tickets.scheduler import Scheduler

    def broken(_hl):
        raise RuntimeError("a bug in the job")
    with caplog.at_level("ERROR", logger="tickets.scheduler"):
        Scheduler(outage.hl).run_job(Job("broken", broken, 60))
    [record] = caplog.records
    assert record.getMessage() == "job broken failed; it runs again in 60s" and record.exc_info
