"""In headless Chromium: the card on screen follows the queue's events (answered, completed,
missed), and a new call never wipes a wrap-up the agent is still writing."""
from __future__ import annotations

from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser.pages import ready_agent
from tests.console.live import offer_to
from tickets import calls
from tickets.models import Call, User


def queue_event(hl, kind: str, external_id: str = "call-1", username: str = "agent1", **fields) -> None:
    """What the AMI listener does for a queue event: update the call record, push `kind` to the agent."""
    with hl.session() as s, s.begin():
        call = s.scalar(select(Call).where(Call.external_id == external_id))
        for name, value in fields.items():
            setattr(call, name, value)
        agent = s.scalar(select(User).where(User.username == username))
        calls.push_agent_event(s, agent, kind, {"call_id": call.id, "external_id": external_id}, call)


def test_card_follows_the_call_from_ringing_to_answered_to_completed(chromium, live_console):
    agent = ready_agent(chromium, live_console)
    offer_to(live_console.hl, "agent1")
    state = agent.locator("[data-testid=pop-call-state]")
    expect(state).to_have_attribute("data-state", "ringing")
    queue_event(live_console.hl, "connect", queue_result="answered", hold_seconds=12)
    expect(state).to_have_attribute("data-state", "live")
    queue_event(live_console.hl, "complete", talk_seconds=95)
    expect(state).to_have_attribute("data-state", "ended")


def test_call_the_agent_did_not_answer_leaves_the_screen(chromium, live_console):
    agent = ready_agent(chromium, live_console)
    offer_to(live_console.hl, "agent1")
    expect(agent.locator("#pop")).to_be_visible()
    queue_event(live_console.hl, "missed")
    expect(agent.locator("[data-testid=missed]")).to_be_visible()
    expect(agent.locator("#pop")).to_have_count(0)


def test_caller_hanging_up_in_the_queue_shows_on_the_card(chromium, live_console):
    agent = ready_agent(chromium, live_console)
    offer_to(live_console.hl, "agent1")
    queue_event(live_console.hl, "abandon", queue_result="abandoned", outcome="abandoned")
    expect(agent.locator("[data-testid=pop-call-state]")).to_have_attribute("data-state", "abandoned")


def test_new_call_during_an_unsaved_wrap_up_is_announced_and_the_notes_are_kept(chromium, live_console):
    agent = ready_agent(chromium, live_console)
    offer_to(live_console.hl, "agent1", "13800138000", external_id="first")
    expect(agent.locator("[data-testid=pop-name]")).to_have_text("王女士")
    agent.fill("#notes", "客户要改到周六")
    offer_to(live_console.hl, "agent1", "13900139000", external_id="second")
    banner = agent.locator("[data-testid=incoming-banner]")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("李先生")
    expect(agent.locator("#notes")).to_have_value("客户要改到周六")
    agent.click("[data-testid=show-incoming]")
    expect(agent.locator("[data-testid=pop-name]")).to_have_text("李先生")
    expect(banner).to_be_hidden()
