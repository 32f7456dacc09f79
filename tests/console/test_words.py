"""What people read in the console: the workspace says when no call can pop, refusals in Chinese
in the Chinese view, catalog names instead of keys, readable audit data, quantities in words."""
from __future__ import annotations

import ast
import importlib
import string
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import pytest

from flask import Flask, session

from tests.console.conftest import text
from tests.console.test_admin import SERVICE_FORM
from tests.console.helpers import make_order
from tickets.concurrency import CONFLICT
from tickets.errors import ConcurrentChange, PermissionDenied, ValidationError
from tickets.timeutil import to_utc


def at(hl, clock, local: str) -> None:
    clock.now = to_utc(datetime.strptime(local, "%Y-%m-%d %H:%M"), hl.tz)


def english(console) -> None:
    console.post("/language", {"lang": "en"})


@contextmanager
def app_context_in(lang: str):
    """A request whose session has chosen `lang`, for the words functions outside a page."""
    app = Flask(__name__)
    app.secret_key = "test"
    with app.test_request_context():
        session["lang"] = lang
        yield


# ---------------------------------------------------------------- the workspace outside business hours

def test_the_workspace_says_in_hours_nothing_about_closing(login):
    page = text(login("agent1").get("/workspace/"))
    assert 'data-testid="closed-notice"' not in page


def test_the_workspace_says_at_night_that_key_0_books_a_callback_and_pops_nothing(login, hl, clock):
    at(hl, clock, "2026-11-23 21:30")
    page = text(login("agent1").get("/workspace/"))
    assert "现在是非服务时间（服务时间 08:00–20:00），来电按 0 会预约回电，不会弹屏。" in page


def test_the_workspace_names_the_configured_hours_in_english(login, new_hotline, clock):
    from agent_console.app import create_app
    from tests.console.conftest import Console
    h = new_hotline(BUSINESS_HOURS="09:00-18:00")
    at(h, clock, "2026-11-23 18:30")
    c = Console(create_app(h, {"TESTING": True}))
    c.login("agent1")
    english(c)
    page = text(c.get("/workspace/"))
    assert "Outside service hours now (service hours 09:00–18:00): a caller who presses 0 is offered a " \
           "callback instead of the queue, so no call pops here." in page


def test_the_workspace_names_the_statutory_holiday(login, hl, clock):
    at(hl, clock, "2026-10-01 10:00")
    page = text(login("agent1").get("/workspace/"))
    assert "今天是法定节假日（国庆节），人工服务暂停：来电按 0 会预约回电，不会弹屏。" in page


# ---------------------------------------------------------------- tickets' refusals in the Chinese view

def test_a_missing_order_is_refused_in_chinese(login):
    page = text(login("agent1").get("/orders/2632799999"))
    assert "没有工单 2632799999（或您无权查看）。" in page
    assert "no work order" not in page


def test_a_malformed_order_number_is_refused_in_chinese_with_an_example(login):
    page = text(login("agent1").get("/orders/abc"))
    assert "没有工单“abc”：工单号是10位数字，例如 2632700001。" in page


def test_a_refused_move_names_the_state_and_the_allowed_moves_by_their_chinese_names(login, hl):
    number = make_order(hl, "completed")
    resp = login("franchisee1").post(f"/orders/{number}/act", {"action": "accept"})
    assert resp.status_code == 409
    assert f"工单 {number} 当前状态为“已完工”，不能执行“接单”（此状态下可执行：" in text(resp)
    assert "返工" in text(resp)         # rework: allowed from completed, by its name


def test_a_concurrent_change_is_told_in_chinese():
    from agent_console.refusals import message
    with app_context_in("zh"):
        assert message(ConcurrentChange(CONFLICT, what="order 2632700001")) == \
            "工单 2632700001 刚刚被其他人修改，请刷新后重试。"
        assert message(ConcurrentChange(CONFLICT, what="the survey of order 2632700001")) == \
            "工单 2632700001 的回访刚刚被其他人修改，请刷新后重试。"


def test_the_english_view_shows_tickets_own_words(login, hl):
    number = make_order(hl, "completed")
    c = login("franchisee1")
    english(c)
    resp = c.post(f"/orders/{number}/act", {"action": "accept"})
    assert f"order {number} is completed; it cannot accept" in text(resp)


# ---------------------------------------------------------------- catalog names, audit data, quantities

def test_the_service_table_shows_the_category_by_its_chinese_name(login):
    page = text(login("admin").get("/admin/services"))
    assert '<td id="service-BJ-category">清洁服务</td>' in page


def test_the_audit_trail_shows_its_data_as_labelled_lines_not_json(login):
    admin = login("admin")
    assert admin.post("/admin/services", {**SERVICE_FORM, "price": "45.50"}).status_code == 302
    page = text(admin.get("/admin/"))
    assert "<div>指导价: 40.00 元；45.50 元</div>" in page      # was; is
    assert "guide_price_fen" not in page


def test_an_order_in_the_english_view_counts_hours_in_the_plural(login, hl):
    number = make_order(hl, "dispatched")       # home cleaning, 3 hours
    c = login("agent1")
    english(c)
    page = text(c.get(f"/orders/{number}"))
    assert "× 3 hours" in page


def test_an_order_in_the_chinese_view_counts_hours_in_chinese(login, hl):
    number = make_order(hl, "dispatched")
    assert "× 3 小时" in text(login("agent1").get(f"/orders/{number}"))


# ---------------------------------------------------------------- every refusal has its Chinese sentence
REFUSAL_CLASSES = {"HotlineError", "ValidationError", "NotFound", "PermissionDenied", "TransitionError",
                   "DuplicateBooking", "ConcurrentChange", "LoginRefused", "CardRefused", "TooManyCodes"}
CONSOLE_FACING = ("tickets", "agent_console")
NOT_CONSOLE_FACING = {"cli.py", "commands.py", "call_commands.py", "report_cli.py"}     # the command line's own errors are read in a terminal


def raised_templates() -> tuple[dict[str, str], list[str]]:
    """Every refusal template raised where a console page can show it -> where; and the raises whose
    message is not a template (an f-string or an expression the catalog cannot hold)."""
    root = Path(__file__).resolve().parents[2]
    found: dict[str, str] = {}
    not_templates: list[str] = []
    for package in CONSOLE_FACING:
        for path in sorted((root / package).glob("*.py")):
            if path.name in NOT_CONSOLE_FACING:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"))
            constants = {target.id: node.value.value for node in tree.body if isinstance(node, ast.Assign)
                         and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
                         for target in node.targets if isinstance(target, ast.Name)}
            # A template imported from another module of ours (tickets.concurrency.CONFLICT).
            module_name = f"{package}.{path.stem}"
            for node in tree.body:
                if isinstance(node, ast.ImportFrom) and node.level:
                    source = importlib.import_module(
                        ".".join(module_name.split(".")[:-node.level] + ([node.module] if node.module else [])))
                    constants.update({a.asname or a.name: getattr(source, a.name) for a in node.names
                                      if isinstance(getattr(source, a.name, None), str)})
            for node in ast.walk(tree):
                if not (isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) and node.exc.args):
                    continue
                func = node.exc.func
                if (func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")) not in REFUSAL_CLASSES:
                    continue
                first, where = node.exc.args[0], f"{package}/{path.name}:{node.lineno}"
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    found[first.value] = where
                elif isinstance(first, ast.Name) and first.id in constants:
                    found[constants[first.id]] = where
                elif not (isinstance(first, ast.Call) and getattr(first.func, "id", "") == "next"):
                    not_templates.append(where)     # forms.py re-raises a form's own (translated) message
    return found, not_templates


def fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_every_refusal_the_console_can_show_is_a_template_not_a_finished_sentence():
    _, not_templates = raised_templates()
    assert not_templates == [], "raise a template and its values, e.g. ValidationError(\"no district {id}\", id=7)"


def test_every_refusal_template_has_a_chinese_sentence():
    from agent_console.refusals import ZH
    found, _ = raised_templates()
    missing = {where: template for template, where in found.items() if template not in ZH}
    assert missing == {}


def test_each_chinese_sentence_names_only_values_its_template_is_given():
    from agent_console.refusals import ZH
    # {needs} is the keys of {missing}, given beside it (tickets.workflow._require).
    extra = {template: fields(zh) - fields(template) - {"needs"} for template, zh in ZH.items()}
    assert {t: names for t, names in extra.items() if names} == {}


def test_no_chinese_sentence_is_kept_for_a_refusal_nobody_raises():
    from agent_console.refusals import ZH
    found, _ = raised_templates()
    assert set(ZH) - set(found) == set()


@pytest.mark.parametrize("exc, expected", [
    (ValidationError("{action} of order {number} needs {missing}", action="cancel", number="2632700001",
                     missing="reason", needs=("reason",)), "工单 2632700001 执行“取消工单”需要：原因。"),
    (ValidationError("{name} must be a whole number from {minimum} to {maximum} in digits 0-9, e.g. {example}; "
                     "got {text!r}", name="district", minimum=1, maximum=99, example=1, text="x"),
     "片区必须是 1 到 99 的整数（数字0-9），例如 1；当前为“x”。"),
    (PermissionDenied("only the agent who took the call, a supervisor or an admin may wrap it up"),
     "只有接听此来电的坐席、班长或管理员可以做话后处理。"),
])
def test_rarer_refusals_read_in_chinese_with_their_values_by_name(exc, expected):
    from agent_console.refusals import message
    with app_context_in("zh"):
        assert message(exc) == expected
