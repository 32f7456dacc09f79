"""Steps the browser tests share: log in as someone, open the agent workspace ready for calls."""
from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.conftest import VIEWPORT


def open_as(chromium, console, username: str):
    """A fresh browser context (its own cookies) logged in as `username`, on its home page."""
    context = chromium.new_context(viewport=VIEWPORT, locale="zh-CN", base_url=console.url.rstrip("/"))
    page = context.new_page()
    page.goto("/login")
    page.fill("#login-username", username)
    page.fill("#login-password", "demo")
    page.click("#login-submit")
    expect(page.locator("#current-user")).to_be_visible()
    return page


def ready_agent(chromium, console, username: str = "agent1"):
    """The agent's workspace, set available, with its live stream connected."""
    page = open_as(chromium, console, username)
    page.goto("/workspace/")
    page.click("#presence-available")
    expect(page.locator("#presence-available")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#stream-state")).to_have_attribute("data-state", "live")
    return page
