"""In headless Chromium at a phone's size: a resident looks an order up with the SMS code and
cancels it (the 72-hour penalty shown first), and books online; an agent opens a customer record
from a search and marks it do-not-call. Screenshots of the public pages are taken on the way."""
from __future__ import annotations

import re
from datetime import datetime, timedelta

from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser.pages import open_as
from tickets import orders
from tickets.actors import SYSTEM
from tickets.bookable import SLOTS
from tickets.models import Customer, SmsMessage, WorkOrder
from tickets.timeutil import to_local, to_utc

PHONE = {"width": 390, "height": 844}
WANG = "+8613800138000"


def resident(chromium, console):
    """A phone's browser, no log-in."""
    context = chromium.new_context(viewport=PHONE, locale="zh-CN", base_url=console.url.rstrip("/"),
                                   is_mobile=True, has_touch=True)
    return context.new_page()


def sent_code(console, phone: str) -> str:
    """The last code the console SMS provider sent to `phone` (what the demo shows in its log)."""
    with console.hl.session() as s:
        body = s.scalar(select(SmsMessage.body).where(SmsMessage.phone == phone, SmsMessage.kind == "otp")
                        .order_by(SmsMessage.id.desc()).limit(1))
    return re.search(r"(\d{6})", body).group(1)


def local_day(console, days: int):
    return to_local(console.hl.now(), console.hl.tz).date() + timedelta(days=days)


def book_tomorrow(console) -> str:
    hl = console.hl
    start = to_utc(datetime.combine(local_day(console, 1), SLOTS["afternoon"]), hl.tz)
    with hl.session() as s, s.begin():
        return orders.book(s, phone=WANG, service="BJ", start=start, actor=SYSTEM, channel="agent",
                           allow_duplicate=True).number


def test_a_resident_looks_up_an_order_with_the_sms_code_and_cancels_it(chromium, live_console, screenshot):
    number = book_tomorrow(live_console)
    page = resident(chromium, live_console)
    page.goto("/lookup")
    page.fill("#lookup-number", number)
    screenshot(page, "09-lookup")
    page.click("#lookup-submit")
    expect(page.locator("#code-sent")).to_contain_text(number)
    page.fill("#code-input", sent_code(live_console, WANG))
    page.click("#code-submit")
    expect(page.locator("#progress")).to_have_attribute("data-status", "dispatched")
    expect(page.locator("[data-testid=progress-phone]")).to_have_text("138****8000")
    expect(page.locator("#penalty-note")).to_be_visible()
    screenshot(page, "10-lookup-progress")
    page.click("#cancel-submit")
    expect(page.locator("#confirm-penalty")).to_contain_text("¥")
    page.click("#confirm-submit")
    expect(page.locator("#progress")).to_have_attribute("data-status", "cancelled")
    expect(page.locator(".flash-success")).to_contain_text(number)


def test_a_wrong_code_is_answered_on_the_page(chromium, live_console):
    number = book_tomorrow(live_console)
    page = resident(chromium, live_console)
    page.goto("/lookup")
    page.fill("#lookup-number", number)
    page.click("#lookup-submit")
    right = sent_code(live_console, WANG)
    page.fill("#code-input", f"{(int(right) + 1) % 10 ** 6:06d}")
    page.click("#code-submit")
    expect(page.locator(".flash-error")).to_contain_text("还可以试4次")


def test_a_resident_books_online_with_a_verified_phone(chromium, live_console, screenshot):
    page = resident(chromium, live_console)
    page.goto("/book")
    page.select_option("#book-service", "BJ")
    page.fill("#book-day", local_day(live_console, 3).isoformat())
    page.select_option("#book-slot", "morning")
    page.fill("#book-address", "天山区解放南路88号3单元502")
    page.fill("#book-phone", "13700137000")
    screenshot(page, "11-online-booking")
    page.click("#book-submit")
    expect(page.locator("[data-testid=readback-total]")).to_contain_text("¥")
    screenshot(page, "12-online-readback")
    page.fill("#booking-code", sent_code(live_console, "+8613700137000"))
    page.click("#booking-confirm")
    number = page.locator("#booked-number").inner_text()
    with live_console.hl.session() as s:
        order = s.scalar(select(WorkOrder).where(WorkOrder.number == number))
        assert (order.channel, order.status) == ("online", "dispatched")


def test_an_agent_opens_a_customer_record_and_marks_it_do_not_call(chromium, live_console, screenshot):
    agent = open_as(chromium, live_console, "agent1")
    agent.goto("/customers/")
    agent.fill("#customer-q", "王女士")
    agent.click("#customer-search-submit")
    agent.locator("#customer-results a").first.click()
    expect(agent.locator("#customer-title")).to_contain_text("王女士")
    expect(agent.locator("#customer-timeline li[data-kind=order]").first).to_be_visible()
    agent.check("#customer-dnc-input")
    agent.click("#customer-save")
    expect(agent.locator("#customer-dnc")).to_be_visible()
    screenshot(agent, "13-customer-record")
    with live_console.hl.session() as s:
        assert s.scalar(select(Customer.do_not_call).where(Customer.name == "王女士"))
