"""In headless Chromium: a simulated call pops the caller's card on the available agent's screen,
and the booking it leads to goes through dispatch, the franchisee, and the satisfaction call
(a score of 2 opens a complaint). Screenshots of the key screens are taken on the way (see conftest)."""
from __future__ import annotations

import re
from datetime import datetime, time, timedelta

import pytest
from playwright.sync_api import expect

from tests.browser.pages import open_as, ready_agent
from tests.console.live import simulate_call
from tickets.timeutil import to_local

WAIT_MS = 30_000      # generous: the simulated call is a process of its own on a shared machine


def call_in(console, tmp_path, phone: str = "13800138000", keys: str = "0") -> None:
    """A caller rings and asks for an agent (0); no PBX, so the simulator offers the call."""
    out = simulate_call(console.hl.settings.database_url, tmp_path, phone, keys).stdout
    assert "RESULT outcome=agent" in out, out


def tomorrow_at_ten(console) -> str:
    local = to_local(console.hl.now(), console.hl.tz).date() + timedelta(days=1)
    return datetime.combine(local, time(10, 0)).strftime("%Y-%m-%dT%H:%M")


def test_simulated_call_pops_the_known_callers_card_on_the_available_agents_screen(chromium, live_console,
                                                                                   tmp_path, screenshot):
    agent = ready_agent(chromium, live_console)
    screenshot(agent, "01-workspace-available")
    call_in(live_console, tmp_path)
    pop = agent.locator("#pop")
    expect(pop).to_be_visible(timeout=WAIT_MS)
    expect(pop.locator("[data-testid=pop-name]")).to_have_text("王女士")
    expect(pop.locator("[data-testid=pop-level]")).to_contain_text("VIP")
    expect(pop.locator("[data-testid=pop-addresses]")).to_contain_text("天山区解放南路88号3单元502")
    expect(pop.locator("[data-testid=pop-ivr]")).to_contain_text("转人工")
    expect(agent.locator("#recent-calls li").first).to_contain_text("13800138000")
    assert agent.title().startswith("☎")
    screenshot(agent, "02-screenpop")


def test_unknown_caller_pops_the_new_customer_order_form(chromium, live_console, tmp_path):
    agent = ready_agent(chromium, live_console)
    call_in(live_console, tmp_path, "13512345678", "1 0")     # a new number is asked its language first
    expect(agent.locator("#pop[data-known=no]")).to_be_visible(timeout=WAIT_MS)
    expect(agent.locator("[data-testid=pop-new-caller]")).to_be_visible()
    expect(agent.locator("#pop-new-order")).to_have_text(re.compile("新客户"))


def test_reloaded_workspace_keeps_the_current_call_and_its_wrap_up(chromium, live_console, tmp_path):
    agent = ready_agent(chromium, live_console)
    call_in(live_console, tmp_path)
    expect(agent.locator("#pop")).to_be_visible(timeout=WAIT_MS)
    agent.reload()
    expect(agent.locator("[data-testid=pop-name]")).to_have_text("王女士")
    agent.select_option("#disposition", "info")
    agent.fill("#notes", "询问保洁价格")
    agent.click("[data-testid=wrapup-save]")
    expect(agent.locator("[data-testid=wrapup-state]")).to_have_text("话后处理已保存。")
    agent.reload()
    expect(agent.locator("#waiting")).to_be_visible()


def test_browser_reconnects_by_itself_and_misses_no_offer(chromium, demo_template, tmp_path):
    """Streams that end every second (STREAM_MAX_SECONDS=1): EventSource reconnects with
    Last-Event-ID and every offer arrives once, in order."""
    from agent_console.commands import WebService
    from tests.console.live import hotline_from, offer_to, wait_until
    from tests.servers import free_port
    from tickets.models import utcnow

    hl = hotline_from(demo_template, tmp_path / "hotline.db", clock=utcnow, WEB_BIND=f"127.0.0.1:{free_port()}",
                      STREAM_MAX_SECONDS="1", WEB_THREADS="8", STREAM_SLOTS="8")
    console = WebService(hl)
    console.start()
    try:
        agent = ready_agent(chromium, console)
        sent = []
        for n in range(5):
            sent.append(offer_to(hl, "agent1", external_id=f"reconnect-{n}"))
            # One at a time, so the offers spread over several stream lifetimes.
            wait_until(lambda: sent[-1] in agent.evaluate("window.hotline.screenpop.received"),
                       timeout=20, what=f"offer {n} in the browser")
        received = agent.evaluate("window.hotline.screenpop.received")
        assert [i for i in received if i in sent] == sent
    finally:
        console.stop()
        hl.close()


@pytest.mark.timeout(600)
def test_call_to_complaint_journey_across_the_roles(chromium, live_console, tmp_path, screenshot):
    # The agent takes the call: the card pops, and the order form opens prefilled from it.
    agent = ready_agent(chromium, live_console)
    call_in(live_console, tmp_path)
    expect(agent.locator("#pop")).to_be_visible(timeout=WAIT_MS)
    with agent.context.expect_page() as opened:
        agent.click("#pop-new-order")
    form = opened.value
    expect(form.locator("#order-phone")).to_have_value("13800138000")
    expect(form.locator("#order-name")).to_have_value("王女士")
    expect(form.locator("#order-address")).to_have_value("天山区解放南路88号3单元502")
    form.select_option("#order-service", "BJ")
    form.fill("#order-when", tomorrow_at_ten(live_console))
    form.uncheck("#order-dispatch-now")       # a dispatcher chooses the franchisee
    form.fill("#order-notes", "客户希望上午完成")
    screenshot(form, "03-order-form-prefilled")
    form.click("#order-submit")
    number = form.locator("#order-number").inner_text().strip()
    expect(form.locator("#order-status")).to_have_attribute("data-status", "confirmed")
    agent.bring_to_front()
    agent.select_option("#disposition", "booked")
    agent.fill("#notes", f"已下单 {number}")
    agent.click("[data-testid=wrapup-save]")
    expect(agent.locator("[data-testid=wrapup-state]")).to_have_text("话后处理已保存。")

    # The dispatcher sends it to the district's franchisee.
    dispatcher = open_as(chromium, live_console, "dispatcher1")
    dispatcher.goto("/dispatch/")
    row = dispatcher.locator(f"[data-testid=board-row-{number}]")
    expect(row).to_be_visible()
    screenshot(dispatcher, "04-dispatch-board")
    dispatcher.select_option(f"#dispatch-{number}-franchisee", label="天山家政服务有限公司")
    dispatcher.click(f"#dispatch-{number}-submit")
    expect(row).to_contain_text("天山家政服务有限公司")

    # The franchisee accepts, assigns a worker with a valid health certificate, starts, completes.
    franchisee = open_as(chromium, live_console, "franchisee1")
    franchisee.goto("/portal/")
    franchisee.click(f"#accept-{number}-submit")
    worker = franchisee.locator(f"#assign-{number}-worker option:not([value='']):not(:has-text('⚠'))").first
    franchisee.select_option(f"#assign-{number}-worker", worker.get_attribute("value"))
    franchisee.click(f"#assign-{number}-submit")
    screenshot(franchisee, "05-franchisee-portal")
    # Booked for a later day: starting early needs a reason.
    franchisee.fill(f"#start-{number}-reason", "客户要求提前上门")
    franchisee.click(f"#start-{number}-submit")
    franchisee.fill(f"#complete-{number}-notes", "已完成全屋保洁")
    franchisee.click(f"#complete-{number}-submit")
    franchisee.goto(f"/orders/{number}")
    expect(franchisee.locator("#order-status")).to_have_attribute("data-status", "completed")

    # The callback agent records a score of 2; a follow-up complaint opens.
    callback = open_as(chromium, live_console, "callback1")
    callback.goto(f"/desk/survey/{number}")
    callback.check("#survey-score-2")
    callback.fill("#survey-comment", "清洁不彻底")
    screenshot(callback, "06-satisfaction-survey")
    callback.click("#survey-submit")
    callback.goto("/desk/complaints")
    complaint = callback.locator("section[data-testid^=complaint-]", has=callback.locator(f"a:text-is('{number}')"))
    expect(complaint).to_be_visible()
    screenshot(callback, "07-complaints")

    # The supervisor's wallboard counts the day.
    supervisor = open_as(chromium, live_console, "supervisor1")
    supervisor.goto("/wallboard/")
    expect(supervisor.locator("[data-testid=wb-answered] .n")).to_have_text("1")
    screenshot(supervisor, "08-wallboard")
