"""A member card in headless Chromium: a supervisor tops it up, an agent spends from it, and a bad
amount is refused on the page without touching the balance."""
from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.pages import open_as

CARD = "880000000002"      # demo: 李先生


def balance_fen(page) -> int:
    return int(page.locator("#card-balance").get_attribute("data-fen"))


def test_top_up_then_spend_on_the_card_page_moves_the_balance_and_the_ledger(chromium, live_console, screenshot):
    supervisor = open_as(chromium, live_console, "supervisor1")
    supervisor.goto(f"/cards/{CARD}")
    before = balance_fen(supervisor)
    supervisor.fill("#topup-amount", "200")
    supervisor.fill("#topup-reason", "现金充值 收据0042")
    supervisor.click("#topup-submit")
    expect(supervisor.locator("#card-balance")).to_have_attribute("data-fen", str(before + 20000))
    expect(supervisor.locator("#ledger")).to_contain_text("现金充值 收据0042")

    agent = open_as(chromium, live_console, "agent1")
    agent.goto(f"/cards/{CARD}")
    expect(agent.locator("#topup-form")).to_have_count(0)        # money in is not an agent's
    agent.fill("#spend-amount", "35.50")
    agent.fill("#spend-reason", "上门费")
    agent.click("#spend-submit")
    expect(agent.locator("#card-balance")).to_have_attribute("data-fen", str(before + 20000 - 3550))
    expect(agent.locator("#ledger tbody tr[data-kind=spend]").last).to_contain_text("-35.50")
    screenshot(agent, "20-member-card")


def test_a_negative_amount_is_refused_on_the_page_and_the_balance_stays(chromium, live_console):
    agent = open_as(chromium, live_console, "agent1")
    agent.goto(f"/cards/{CARD}")
    before = balance_fen(agent)
    agent.fill("#spend-amount", "-5")
    agent.click("#spend-submit")
    expect(agent.locator(".flash-error")).to_contain_text("amount")
    assert balance_fen(agent) == before
