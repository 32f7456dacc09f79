"""`hotline simulate-call`: the menu in the terminal over FastAGI, ending with the RESULT line."""
from __future__ import annotations

import io
import re
import socket

import pytest
from sqlalchemy import select, update

from ivr.prompts import text
from ivr.scenarios import DEMO_PATH, WANG
from tickets.cli import main as hotline
from tickets.models import AgentEvent, User

RESULT = re.compile(r"^RESULT outcome=(\S+) order=(\S+)$")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def cli_env(hl, monkeypatch):
    """The `hotline` command on the test's database; nothing listens on FASTAGI_BIND."""
    monkeypatch.setenv("DATABASE_URL", hl.settings.database_url)
    monkeypatch.setenv("FASTAGI_BIND", f"127.0.0.1:{free_port()}")
    monkeypatch.setenv("SMS_PROVIDER", "console")
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    return hl


def simulate(capsys, *args) -> list[str]:
    assert hotline(["simulate-call", *args]) == 0
    return capsys.readouterr().out.splitlines()


LINE = re.compile(r"^(Calling 96156 from \d+|  \(.*\)|  IVR: .+|  caller (presses \S+|presses nothing|hangs up|"
                  r"speaks after the tone \(recorded\))|  queue: .+|RESULT outcome=\S+ order=\S+)$")


def test_the_demo_booking_prints_the_conversation_and_the_order(cli_env, capsys):
    out = simulate(capsys, WANG, "--keys", DEMO_PATH)
    assert [line for line in out if not LINE.match(line)] == []
    assert "in-process FastAGI server" in "\n".join(out)
    assert any(text("main.menu", "zh") in line for line in out)
    assert any(text("book.done", "zh") in line for line in out)
    outcome, order = RESULT.match(out[-1]).groups()
    assert outcome == "booked"
    assert re.fullmatch(r"\d{10}", order)


def test_a_running_server_is_used_when_one_listens(cli_env, fastagi, monkeypatch, capsys):
    host, port = fastagi.address
    monkeypatch.setenv("FASTAGI_BIND", f"{host}:{port}")
    out = simulate(capsys, WANG, "--keys", DEMO_PATH)
    assert "in-process" not in "\n".join(out)
    assert RESULT.match(out[-1]).group(1) == "booked"


def test_hanging_up_after_two_prompts_is_an_abandoned_call(cli_env, capsys):
    out = simulate(capsys, WANG, "--keys", DEMO_PATH, "--hangup-after", "2")
    assert "  caller hangs up" in out
    assert out[-1] == "RESULT outcome=abandoned order=-"


def test_without_keys_the_caller_is_asked_at_the_terminal(cli_env, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(DEMO_PATH.split()) + "\n"))
    out = simulate(capsys, WANG)
    assert RESULT.match(out[-1]).group(1) == "booked"


def test_a_transfer_is_offered_to_an_available_agent_without_a_pbx(cli_env, fastagi, capsys):
    with cli_env.session() as s, s.begin():
        s.execute(update(User).where(User.username == "agent2").values(presence="available"))
    host, port = fastagi.address
    out = simulate(capsys, WANG, "--keys", "0", "--url", f"agi://{host}:{port}/hotline")
    assert any("offered to agent2" in line for line in out)
    assert out[-1] == "RESULT outcome=agent order=-"
    with cli_env.session() as s:
        offers = s.scalars(select(AgentEvent).where(AgentEvent.kind == "offer")).all()
        assert [e.user_id for e in offers] == [s.scalar(select(User.id).where(User.username == "agent2"))]


def test_the_offered_agents_card_hears_that_the_simulated_caller_hung_up(cli_env, fastagi, capsys):
    """The simulated caller is gone once the menu transfers: the card must not ring on."""
    from tickets import agents
    with cli_env.session() as s, s.begin():
        s.execute(update(User).where(User.username == "agent2").values(presence="available"))
    host, port = fastagi.address
    simulate(capsys, WANG, "--keys", "0", "--url", f"agi://{host}:{port}/hotline")
    with cli_env.session() as s:
        agent2 = s.scalar(select(User).where(User.username == "agent2"))
        events = s.scalars(select(AgentEvent).where(AgentEvent.user_id == agent2.id)
                           .order_by(AgentEvent.id)).all()
        assert [e.kind for e in events if e.kind != "presence"] == ["offer", "abandon"]
        pop = agents.screen_pop(s, agent2, next(e.id for e in events if e.kind == "offer"))
        assert pop["call"]["queue_result"] == "abandoned"      # the card reads 客户已挂断


def test_a_transfer_with_no_agent_available_says_so(cli_env, fastagi, capsys):
    host, port = fastagi.address
    out = simulate(capsys, WANG, "--keys", "0", "--url", f"agi://{host}:{port}")
    assert any("no agent is available" in line for line in out)
    assert out[-1] == "RESULT outcome=agent order=-"


def test_a_bad_url_is_explained(cli_env, capsys):
    assert hotline(["simulate-call", WANG, "--keys", "1", "--url", "http://x"]) == 1
    assert "agi://HOST:PORT" in capsys.readouterr().err
