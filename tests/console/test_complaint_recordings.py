"""A voice complaint is heard in the console: an audio player on the desk and on the caller's
card, fed by an authenticated route that serves only files under RECORDINGS_DIR."""
from __future__ import annotations

import pytest

from agent_console.app import create_app
from tests.console.conftest import Console, text
from tests.console.live import offer_to
from tests.console.helpers import make_order
from tickets import complaints, orders
from tickets.actors import SYSTEM

WAV = b"RIFF\x24\x00\x00\x00WAVEfmt "


@pytest.fixture
def setup(new_hotline, tmp_path):
    rec = tmp_path / "recordings"
    rec.mkdir()
    (rec / "complaint-1.wav").write_bytes(WAV)
    (tmp_path / "secret.txt").write_text("not a recording")
    h = new_hotline(RECORDINGS_DIR=str(rec))
    number = make_order(h, "dispatched")
    with h.session() as s, s.begin():
        voice = complaints.open_complaint(s, actor=SYSTEM, source="ivr", phone="+8613800138000",
                                          order=orders.get(s, number), recording=str(rec / "complaint-1.wav")).id
        outside = complaints.open_complaint(s, actor=SYSTEM, source="ivr", phone="+8613800138000",
                                            recording=str(tmp_path / "secret.txt")).id
    app = create_app(h, {"TESTING": True})

    def login(username):
        c = Console(app)
        assert c.login(username).status_code == 302
        return c
    login.app = app
    return h, login, number, voice, outside


def test_the_desk_plays_a_voice_complaint_instead_of_showing_its_path(setup):
    _h, login, _number, voice, _outside = setup
    page = text(login("callback1").get("/desk/complaints"))
    assert f'data-testid="recording-{voice}"' in page and "<audio" in page
    assert "complaint-1.wav" not in page


def test_the_recording_is_served_to_the_desk_and_agents_only(setup):
    _h, login, _number, voice, _outside = setup
    resp = login("callback1").get(f"/desk/complaints/{voice}/recording")
    assert resp.status_code == 200 and resp.mimetype == "audio/wav" and resp.data == WAV
    assert login("agent1").get(f"/desk/complaints/{voice}/recording").status_code == 200
    assert login("franchisee1").get(f"/desk/complaints/{voice}/recording").status_code == 403
    assert Console(login.app).get(
        f"/desk/complaints/{voice}/recording").status_code == 302       # not logged in: to the log-in page


def test_a_recording_outside_the_recordings_folder_is_never_served(setup):
    _h, login, _number, _voice, outside = setup
    resp = login("callback1").get(f"/desk/complaints/{outside}/recording")
    assert resp.status_code == 404
    assert b"not a recording" not in resp.data


def test_the_callers_card_shows_an_open_complaints_number_order_and_recording(setup):
    h, login, number, voice, _outside = setup
    agent = login("agent1")
    html = text(agent.get(f"/workspace/offers/{offer_to(h, 'agent1', '13800138000')}"))
    item = html.split(f'data-testid="pop-complaint-{voice}"', 1)[1].split("</li>", 1)[0]
    assert f"#{voice}" in item and number in item
    assert f'data-testid="recording-{voice}"' in item
