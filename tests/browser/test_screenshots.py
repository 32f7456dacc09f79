"""Where the browser tests' screenshots go: a test run leaves the checkout's docs/screenshots alone,
and HOTLINE_SCREENSHOTS (scripts/screenshots.sh) sends them there to refresh the README's pictures."""
from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


class PageStandIn:
    """What `screenshot` asks of a Playwright page, without a browser: the picture is a few bytes."""

    def bring_to_front(self) -> None:
        pass

    def screenshot(self, path: str) -> None:
        Path(path).write_bytes(b"\x89PNG stand-in")


@pytest.fixture
def no_screenshots_folder(monkeypatch):
    monkeypatch.delenv("HOTLINE_SCREENSHOTS", raising=False)


@pytest.fixture
def screenshots_folder(monkeypatch, tmp_path):
    folder = tmp_path / "docs" / "screenshots"
    monkeypatch.setenv("HOTLINE_SCREENSHOTS", str(folder))
    return folder


def test_a_test_run_takes_screenshots_outside_the_checkout(no_screenshots_folder, screenshot):
    path = screenshot(PageStandIn(), "02-screenpop")
    assert path.read_bytes() == b"\x89PNG stand-in"
    assert ROOT not in path.parents


def test_hotline_screenshots_names_the_folder_they_go_to(screenshots_folder, screenshot):
    path = screenshot(PageStandIn(), "02-screenpop")
    assert path == screenshots_folder / "02-screenpop.png"
    assert path.read_bytes() == b"\x89PNG stand-in"
