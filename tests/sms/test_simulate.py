"""`hotline simulate-sms`: a signed request to a running app over HTTP, or in-process when none runs."""
from __future__ import annotations

import threading

import pytest
from werkzeug.serving import make_server

from agent_console.app import create_app
from tests.servers import free_port
from tests.sms.conftest import TOKEN, WANG, messages
from tickets.cli import demo_environment, main, twilio_security
from tickets.config import load_settings


@pytest.fixture
def env(hl, monkeypatch):
    """The command's environment: the test database, nothing listening on WEB_BIND."""
    monkeypatch.setenv("DATABASE_URL", hl.settings.database_url)
    monkeypatch.setenv("WEB_BIND", f"127.0.0.1:{free_port()}")
    monkeypatch.setenv("SMS_PROVIDER", "console")
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    for name in ("TWILIO_AUTH_TOKEN", "PUBLIC_BASE_URL", "TWILIO_INSECURE_DEV"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.fixture
def running_app(hl):
    """The console app served over real HTTP on loopback."""
    server = make_server("127.0.0.1", 0, create_app(hl), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


def test_with_no_app_running_it_runs_in_process_and_prints_the_reply(env, capsys):
    assert main(["simulate-sms", "13800138000", "HELP"]) == 0
    out = capsys.readouterr()
    assert out.out.startswith("家政热线：发 代码+时间 预约")
    assert "running in-process" in out.err


def test_in_process_a_booking_prints_the_confirmation_and_the_dispatch_notice(env, capsys):
    main(["simulate-sms", "13800138000", "BJ 明天上午"])
    assert "回复Y确认，N取消" in capsys.readouterr().out
    main(["simulate-sms", "13800138000", "Y"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("预约成功！订单号")
    assert lines[1].startswith("[notice] 订单")
    assert "已派给" in lines[1]


def test_it_sends_a_signed_request_to_the_running_app(hl, env, running_app, capsys):
    env.setenv("TWILIO_AUTH_TOKEN", TOKEN)
    assert main(["simulate-sms", "13800138000", "CX", "--url", running_app]) == 0
    assert capsys.readouterr().out.strip() == "您没有进行中的订单。预约请发如 BJ 明天上午3小时"
    assert [m.body for m in messages(hl, phone=WANG, direction="in", provider="twilio")] == ["CX"]


def test_the_same_sid_twice_gets_the_same_answer(hl, env, running_app, capsys):
    env.setenv("TWILIO_AUTH_TOKEN", TOKEN)
    main(["simulate-sms", "13800138000", "HELP", "--url", running_app, "--sid", "SMsimulated1"])
    first = capsys.readouterr().out
    main(["simulate-sms", "13800138000", "TD", "--url", running_app, "--sid", "SMsimulated1"])
    assert capsys.readouterr().out == first
    assert len(messages(hl, provider_sid="SMsimulated1")) == 1


def test_a_refusal_by_the_app_is_explained(env, running_app, capsys):
    env.setenv("TWILIO_AUTH_TOKEN", "not-the-apps-token")
    assert main(["simulate-sms", "13800138000", "HELP", "--url", running_app]) == 1
    assert "refused the request (403)" in capsys.readouterr().err


def test_a_bad_number_is_refused_with_the_right_format(env, capsys):
    assert main(["simulate-sms", "12345", "HELP"]) == 1
    assert "13800138000" in capsys.readouterr().err


# ---------------------------------------------------------------- the demo (`hotline run --demo`)

@pytest.fixture
def demo_app(new_hotline, tmp_path, clock):
    """The app started the way `hotline run --demo` starts it when no Twilio token is set."""
    environ: dict[str, str] = {}
    demo_environment(environ)
    h = new_hotline(TWILIO_AUTH_TOKEN="", **environ)
    server = make_server("127.0.0.1", 0, create_app(h), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield h, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)
    h.close()


def test_the_demo_without_a_token_answers_simulate_sms_from_another_shell(demo_app, env, capsys):
    h, url = demo_app
    assert main(["simulate-sms", "13800138000", "BJ 明天上午", "--url", url]) == 0
    assert "回复Y确认，N取消" in capsys.readouterr().out
    assert twilio_security(h.settings).startswith("WARNING: TWILIO_AUTH_TOKEN is not set")


def test_the_demo_keeps_checking_signatures_when_a_token_is_set():
    environ = {"TWILIO_AUTH_TOKEN": "a real token"}
    demo_environment(environ)
    assert "TWILIO_INSECURE_DEV" not in environ


@pytest.mark.parametrize("env, says", [
    ({"TWILIO_AUTH_TOKEN": "t"}, "checked against X-Twilio-Signature"),
    ({"TWILIO_AUTH_TOKEN": ""}, "Twilio requests are refused (403)"),
    ({"TWILIO_AUTH_TOKEN": "", "TWILIO_INSECURE_DEV": "1"}, "unsigned Twilio requests are accepted"),
])
def test_the_start_up_banner_says_how_twilio_requests_are_checked(env, says):
    assert says in twilio_security(load_settings(env))
