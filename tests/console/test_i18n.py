"""The console's words: every text a page asks for exists in Chinese and English."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from agent_console import i18n
from tests.console.conftest import text
from tickets.models import ROLES
from tickets.orders import CHANNELS
from tickets.pricing import UNIT_NAMES
from tickets.workflow import MOVES, STATES

CONSOLE = Path(i18n.__file__).parent
# t('key') / t("key") in templates and Python, and t('prefix.' ~ x) families used with label().
KEY = re.compile(r"""\bt\(\s*['"]([a-z_]+\.[a-z_0-9.]+)['"]""")


def _keys_used() -> set[str]:
    used = set()
    for path in list(CONSOLE.rglob("*.html")) + list(CONSOLE.glob("*.py")):
        used |= set(KEY.findall(path.read_text(encoding="utf-8")))
    return used


def test_every_key_used_in_pages_and_views_has_both_languages(app):
    # The app registers every area's texts (some areas add theirs to the table when registered).
    # Keys ending in "." or "_" are families completed by a value (t('desk.score_' ~ n)); see below.
    missing = sorted(k for k in _keys_used() if k not in i18n.STRINGS and not k.endswith((".", "_")))
    assert missing == []


def test_every_text_is_given_in_chinese_and_english(app):
    assert [k for k, (zh, en) in i18n.STRINGS.items() if not zh.strip() or not en.strip()] == []


@pytest.mark.parametrize("prefix, values", [
    ("status", STATES), ("action", tuple(MOVES) + ("create",)), ("role", ROLES), ("channel", CHANNELS),
    ("unit", tuple(UNIT_NAMES)), ("level", ("standard", "senior", "vip")), ("desk", [f"score_{n}" for n in range(1, 6)]),
])
def test_every_value_shown_by_name_has_a_name(prefix, values):
    assert [v for v in values if f"{prefix}.{v}" not in i18n.STRINGS] == []


def test_chinese_is_the_default(console):
    page = text(console.get("/login"))
    assert '<html lang="zh-CN">' in page
    assert "用户名" in page


def test_the_switch_turns_the_pages_english_and_back(login):
    c = login("dispatcher1")
    c.post("/language", {"lang": "en", "next": "/dispatch/"})
    page = text(c.get("/dispatch/"))
    assert '<html lang="en">' in page
    assert "Dispatch board" in page
    c.post("/language", {"lang": "zh"})
    assert "派工台" in text(c.get("/dispatch/"))


def test_the_language_choice_survives_logging_in(console):
    console.post("/language", {"lang": "en"})
    console.login("agent1")
    assert "Log out" in text(console.get("/orders/"))
