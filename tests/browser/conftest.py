"""Browser tests: the console served for real (waitress on a free loopback port) and driven by
headless Chromium through Playwright, using Debian's chromium (Playwright's own download is not
used). Locally they skip when /usr/bin/chromium is missing; with CI set, a missing browser fails.

Screenshots of the key screens are taken at 1366x768 into a temporary folder, so a test run leaves
the checkout as it was; HOTLINE_SCREENSHOTS=docs/screenshots (what scripts/screenshots.sh sets)
writes them where the README shows them.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from agent_console.commands import WebService
from tests.console.live import agents_answer_now, demo_template, hotline_from  # noqa: F401
from tests.servers import free_port
from tickets.models import utcnow

CHROMIUM = Path(os.environ.get("HOTLINE_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
VIEWPORT = {"width": 1366, "height": 768}
# The folder screenshots go to (scripts/screenshots.sh: the README's docs/screenshots); unset, a temporary one.
SCREENSHOTS_ENV = "HOTLINE_SCREENSHOTS"


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    if not CHROMIUM.exists():
        reason = (f"headless Chromium not found at {CHROMIUM}: install Debian's chromium package "
                  "(scripts/test.sh does), or point HOTLINE_CHROMIUM at it")
        if os.environ.get("CI"):
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    return CHROMIUM


@pytest.fixture
def live_console(demo_template, tmp_path):
    """The console on the demo city, served by waitress like `hotline run`, on the real clock
    (the `hotline simulate-call` process the tests start keeps the real time too)."""
    hl = hotline_from(demo_template, tmp_path / "hotline.db", clock=utcnow,
                      WEB_BIND=f"127.0.0.1:{free_port()}", FASTAGI_BIND=f"127.0.0.1:{free_port()}",
                      WEB_THREADS="8", STREAM_SLOTS="16", **agents_answer_now())
    svc = WebService(hl)
    svc.start()
    yield svc
    svc.stop()
    hl.close()


@pytest.fixture
def chromium(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium_path), args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def screenshot(tmp_path_factory):
    """`screenshot(page, "02-screenpop")` -> 02-screenpop.png in $HOTLINE_SCREENSHOTS, else in a temporary folder."""
    chosen = os.environ.get(SCREENSHOTS_ENV)
    folder = Path(chosen) if chosen else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)

    def _shot(page, name: str) -> Path:
        from playwright.sync_api import Error as PlaywrightError
        path = folder / f"{name}.png"
        # Several roles' pages share one headless browser: the one shot is brought to the front,
        # and Chromium's rare "Unable to capture screenshot" (a frame not composited yet, seen
        # under CI load) is tried again; the picture is documentation, not an assertion.
        page.bring_to_front()
        for attempt in range(3):
            try:
                page.screenshot(path=str(path))
                return path
            except PlaywrightError as exc:
                if "Unable to capture screenshot" not in str(exc) or attempt == 2:
                    raise
                page.wait_for_timeout(250)      # a pause before the retry, not a wait for a condition
        return path
    return _shot
