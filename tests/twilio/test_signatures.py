"""Only Twilio gets through: X-Twilio-Signature checked on every voice webhook, against the public URL."""
from __future__ import annotations

import logging

import pytest
from sqlalchemy import func, select

from tickets.models import Call

from .phone import PhoneCall, Twilio, new_sid

PUBLIC = "https://hotline.example.cn"
ENDPOINTS = ["/twilio/voice", "/twilio/voice/step?step=1", "/twilio/voice/queue", "/twilio/voice/status"]


def incoming(sid: str | None = None) -> dict[str, str]:
    return {"CallSid": sid or new_sid(), "From": "+8613800138000", "To": "+8699196156", "CallStatus": "ringing",
            "AccountSid": "ACtest", "Direction": "inbound"}


def calls(hl) -> int:
    with hl.session() as s:
        return s.scalar(select(func.count(Call.id)))


def test_a_correctly_signed_call_is_answered(twilio):
    assert twilio.post("/twilio/voice", incoming()).status_code == 200


@pytest.mark.parametrize("path", ENDPOINTS)
def test_a_request_without_a_signature_is_refused_and_logged(twilio, caplog, path):
    with caplog.at_level(logging.WARNING, logger="agent_console.webhooks"):
        resp = twilio.post(path, incoming(), signed=False)
    assert resp.status_code == 403
    assert "missing signature" in caplog.text


@pytest.mark.parametrize("path", ENDPOINTS)
def test_a_request_whose_parameters_were_changed_after_signing_is_refused(hl, twilio, path):
    params = incoming()
    signature = twilio.sign(path, params)
    params["From"] = "+8613900139000"
    assert twilio.post(path, params, signature=signature).status_code == 403
    assert calls(hl) == 0


def test_a_step_url_with_a_changed_step_number_is_refused(twilio):
    params = incoming()
    signature = twilio.sign("/twilio/voice/step?step=1", params)
    assert twilio.post("/twilio/voice/step?step=2", params, signature=signature).status_code == 403


def test_a_signature_made_with_another_auth_token_is_refused(app):
    assert Twilio(app, token="someone-elses-token").post("/twilio/voice", incoming()).status_code == 403


def test_behind_a_proxy_the_signature_is_checked_against_the_public_url(sibling_app):
    twilio = Twilio(sibling_app(public_base_url=PUBLIC))
    params = incoming()
    assert twilio.post("/twilio/voice", params, signature=twilio.sign("/twilio/voice", params, base=PUBLIC)
                       ).status_code == 200


def test_behind_a_proxy_a_signature_for_the_internal_url_is_refused(sibling_app):
    twilio = Twilio(sibling_app(public_base_url=PUBLIC))
    assert twilio.post("/twilio/voice", incoming()).status_code == 403      # signed for http://localhost


def test_without_an_auth_token_twilio_traffic_is_refused(sibling_app, caplog):
    twilio = Twilio(sibling_app(twilio_auth_token=""))
    with caplog.at_level(logging.WARNING, logger="agent_console.webhooks"):
        assert twilio.post("/twilio/voice", incoming()).status_code == 403
    assert "TWILIO_AUTH_TOKEN is not set" in caplog.text


def test_the_development_switch_lets_unsigned_calls_in_when_no_auth_token_is_set(sibling_app):
    app = sibling_app(twilio_auth_token="", twilio_insecure_dev=True)
    call = PhoneCall(Twilio(app, signing=False), "13800138000")
    doc = call.dial()
    assert doc.find("Gather") is not None
    assert call.press("1").find("Gather") is not None


def test_the_development_switch_does_not_weaken_a_configured_auth_token(sibling_app):
    twilio = Twilio(sibling_app(twilio_insecure_dev=True))
    assert twilio.post("/twilio/voice", incoming(), signed=False).status_code == 403
