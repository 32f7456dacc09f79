"""The permission matrix: every role against every page and every action, as a table.

Read a row as: this request, made by each role, answers with this status. 200/302 mean the
role may; 403 means its role may not (the server refuses, whatever the page showed); 404 means
the order is not one this user may see at all (another franchisee's, another district's).
Each action runs on a fresh order in the state the action needs.
"""
from __future__ import annotations

import dataclasses
import re
from datetime import date

import pytest
from sqlalchemy import func, select

from agent_console.app import create_app
from tests.conftest import Clock, make_test_hotline
from tests.console.conftest import Console, text
from tests.console.helpers import make_order, worker_id, franchisee_id
from tests.core.helpers import EARLY
from tickets import cards, catalog, complaints, console_sessions, customers, holidays, orders, outbound
from tickets.actors import SYSTEM, Actor
from tickets.models import ConsoleSession, District, Franchisee, MemberCard, User

USERS = {"agent": "agent1", "dispatcher": "dispatcher1", "district_manager": "manager1", "callback": "callback1",
         "supervisor": "supervisor1", "admin": "admin", "franchisee": "franchisee1", "other_franchisee": "franchisee2"}
ROLES = tuple(USERS)
EVERYONE = frozenset(ROLES)


def only(*roles: str) -> dict[str, int]:
    """Pages: these roles get 200, every other role 403."""
    return {r: 200 if r in roles else 403 for r in ROLES}


STAFF = ("agent", "dispatcher", "district_manager", "callback", "supervisor", "admin")

# GET page -> role -> status. "{order}" is an order in 天山区 dispatched to franchisee1.
PAGES: dict[str, dict[str, int]] = {
    "/orders/": only(*ROLES),
    "/orders/{order}": {**only(*ROLES), "other_franchisee": 404},
    "/orders/new": only("agent", "dispatcher", "admin"),
    "/dispatch/": only("dispatcher", "district_manager", "supervisor", "admin"),
    "/dispatch/overdue": only("dispatcher", "district_manager", "supervisor", "admin"),
    "/portal/": only("franchisee", "other_franchisee"),
    "/portal/figures": only("franchisee", "other_franchisee"),
    "/portal/notices": only("franchisee", "other_franchisee"),
    "/desk/": only("callback", "supervisor", "admin"),
    "/desk/complaints": only("agent", "district_manager", "callback", "supervisor", "admin"),
    # "{complaint}" is about an order in 天山区 (manager1's) dispatched to franchisee1.
    "/complaints/{complaint}": only("agent", "district_manager", "callback", "supervisor", "admin"),
    "/complaints/new": only("agent", "callback", "supervisor", "admin"),
    "/complaints/closed": only("agent", "district_manager", "callback", "supervisor", "admin"),
    "/portal/complaints/": only("franchisee", "other_franchisee"),
    "/desk/survey/{order}": only("callback", "supervisor", "admin"),
    # A typed complaint has no recording: those allowed are told so (404), the others refused.
    "/desk/complaints/{complaint}/recording": {r: 404 if r in ("agent", "callback", "supervisor", "admin") else 403
                                              for r in ROLES},
    "/callbacks/": only("agent", "callback", "supervisor", "admin"),
    "/admin/": only("admin"),
    "/admin/services": only("admin"),
    "/admin/districts": only("admin"),
    "/admin/franchisees": only("admin"),
    "/admin/franchisees/1": only("admin"),
    "/admin/workers/1": only("admin"),
    "/admin/users": only("admin"),
    "/admin/users/1": only("admin"),
    "/admin/notices": only("admin"),
    "/admin/calendar": only("admin"),
    "/admin/roles": only("admin"),
    "/customers/": only("agent", "callback", "supervisor"),
    "/customers/1": only("agent", "callback", "supervisor"),
    # The residents' public pages: open to everyone, logged in or not (test_public_pages_need_no_login).
    "/lookup": only(*ROLES),
    "/book": only(*ROLES),
    "/cards/": only("agent", "callback", "supervisor", "admin"),
    "/cards/880000000002": only("agent", "callback", "supervisor", "admin"),
    "/cards/880000000002/spends": only("agent", "callback", "supervisor", "admin"),
    "/cards/880000000002/print": only("agent", "callback", "supervisor", "admin"),
    "/cards/880000000002/ledger.csv": only("agent", "callback", "supervisor", "admin"),
    "/cards/880000000002/ledger.xlsx": only("agent", "callback", "supervisor", "admin"),
    "/cards/summary": only("agent", "callback", "supervisor", "admin"),
    "/cards/summary.csv": only("agent", "callback", "supervisor", "admin"),
    "/cards/summary.xlsx": only("agent", "callback", "supervisor", "admin"),
}


# 统计报表: report -> roles that read it (each also as .csv and .xlsx); everyone else 403.
MANAGERS = ("supervisor", "admin", "district_manager")
REPORT_PAGES: dict[str, tuple[str, ...]] = {
    "orders": MANAGERS + ("franchisee", "other_franchisee"),
    "franchisees": MANAGERS,
    "satisfaction": MANAGERS + ("franchisee", "other_franchisee", "callback"),
    "complaints": MANAGERS + ("callback",),
    "calls": ("supervisor", "admin", "agent"),
    "service": ("supervisor", "admin", "agent"),
    "agents": ("supervisor", "admin", "agent"),
    "menu": ("supervisor", "admin"),
}
PAGES["/reports/"] = only(*MANAGERS, "franchisee", "other_franchisee", "callback", "agent")


def may(*roles: str, hidden_from: tuple[str, ...] = ("other_franchisee",)) -> dict[str, int]:
    """Actions: these roles succeed (302), `hidden_from` do not see the order (404), the rest 403."""
    return {r: 302 if r in roles else 404 if r in hidden_from else 403 for r in ROLES}


# Action on an order: (state the order starts in, form, role -> status).
ORDER_ACTIONS: dict[str, tuple[str, dict, dict[str, int]]] = {
    "dispatch": ("confirmed", {"action": "dispatch", "franchisee_id": "{franchisee}"},
                 may("dispatcher", "district_manager", "supervisor", "admin",
                     hidden_from=("franchisee", "other_franchisee"))),
    "accept": ("dispatched", {"action": "accept"}, may("franchisee", "admin")),
    "reject": ("dispatched", {"action": "reject", "reason": "no staff that day"}, may("franchisee")),
    "recall": ("dispatched", {"action": "recall", "reason": "customer asked for another"},
               may("dispatcher", "district_manager", "supervisor", "admin")),
    "assign_worker": ("accepted", {"action": "assign_worker", "worker_id": "{worker}"}, may("franchisee", "admin")),
    "start": ("assigned", {"action": "start", "reason": EARLY}, may("franchisee", "admin")),
    "complete": ("in_service", {"action": "complete", "final_price": "120.00"}, may("franchisee", "admin")),
    "reschedule": ("dispatched", {"action": "reschedule", "when": "2026-12-02T09:00", "confirmed": "1"},
                   may("agent", "dispatcher", "district_manager", "admin")),
    "cancel": ("dispatched", {"action": "cancel", "reason": "plans changed", "confirmed": "1"},
               may("agent", "dispatcher", "district_manager", "admin")),
    "rework": ("completed", {"action": "rework", "reason": "the kitchen was missed"},
               may("dispatcher", "callback", "supervisor", "admin")),
    "note": ("dispatched", {"action": "note", "text": "customer prefers mornings"},
             may("franchisee", *STAFF)),
}

# Other writes: (url, state of the order it needs or None, form, role -> status).
OTHER_WRITES: dict[str, tuple[str, str | None, dict, dict[str, int]]] = {
    # Every role books the same slot in one shared world: each says the customer wants another.
    "create order": ("/orders/new", None, {"phone": "13900139000", "service": "BJ", "when": "2026-11-30T09:00",
                                           "dispatch_now": "1", "allow_duplicate": "1"},
                     may("agent", "dispatcher", "admin", hidden_from=())),
    "set district": ("/orders/{order}/district", "new", {"district_id": "{district}"},
                     may("agent", "dispatcher", "supervisor", "admin",
                         hidden_from=("district_manager", "franchisee", "other_franchisee"))),
    "batch dispatch": ("/dispatch/batch", "confirmed", {"numbers": "{order}"},
                       may("dispatcher", "district_manager", "supervisor", "admin", hidden_from=())),
    "record survey": ("/desk/survey/{order}", "completed", {"score": "4"},
                      may("callback", "supervisor", "admin", hidden_from=())),
    "take complaint": ("/complaints/new", "completed", {"number": "{order}", "category": "lateness", "text": "late"},
                       may("agent", "callback", "supervisor", "admin", hidden_from=())),
    "file complaint by category": ("/complaints/{complaint}/category", None, {"category": "damage"},
                                   may("agent", "callback", "supervisor", "admin", hidden_from=())),
    "decide complaint": ("/complaints/{complaint}/decide", None,
                         {"answer": "refunded the visit fee", "compensation_kind": "refund", "compensation": "10"},
                         may("supervisor", "admin", hidden_from=())),
    "reopen complaint": ("/complaints/{resolved_complaint}/reopen", None, {"reason": "customer not satisfied"},
                         may("supervisor", "admin", hidden_from=())),
    # Only the franchisee concerned: another franchisee does not see the complaint at all.
    "franchisee's account of a complaint": ("/portal/complaints/{complaint}/account", None,
                                            {"account": "the worker's bus broke down"}, may("franchisee")),
    "call back": ("/callbacks/{callback}/call", None, {}, may("agent", "callback", "supervisor", "admin", hidden_from=())),
    "record callback outcome": ("/callbacks/{callback}/outcome", None, {"outcome": "no-answer", "notes": "rang out"},
                                may("agent", "callback", "supervisor", "admin", hidden_from=())),
    "post notice": ("/admin/notices", None, {"title": "春节安排", "body": "..."}, may("admin", hidden_from=())),
    "change price": ("/admin/services", None, {"code": "BJ", "name_zh": "家庭保洁", "name_en": "Home cleaning",
                                               "category": "cleaning", "unit": "hour", "price": "45",
                                               "default_quantity": "3", "active": "1"},
                     may("admin", hidden_from=())),
    "save district": ("/admin/districts", None, {"code": "test{role}", "name_zh": "测试区{role}", "name_en": "Test"},
                      may("admin", hidden_from=())),
    "add alias": ("/admin/districts/{district}/aliases", None, {"alias": "测试路{role}"}, may("admin", hidden_from=())),
    "remove alias": ("/admin/aliases/{alias}/remove", None, {}, may("admin", hidden_from=())),
    "set calendar day": ("/admin/calendar", None, {"day": "2027-01-01", "kind": "holiday", "name": "元旦"},
                         may("admin", hidden_from=())),
    "remove calendar day": ("/admin/calendar/{day}/remove", None, {}, may("admin", hidden_from=())),
    "create franchisee": ("/admin/franchisees", None, {"name": "测试家政{role}", "contact_phone": "13999100099",
                                                       "status": "active", "daily_capacity": "10"},
                          may("admin", hidden_from=())),
    "update franchisee": ("/admin/franchisees/{other_fr}", None, {"name": "米东县域便民服务", "contact_phone": "13999100006",
                                                                 "status": "active", "daily_capacity": "16"},
                          may("admin", hidden_from=())),
    "set coverage": ("/admin/franchisees/{other_fr}/coverage", None, {"priority_{district}": "3"},
                     may("admin", hidden_from=())),
    "create worker": ("/admin/franchisees/{other_fr}/workers", None, {"name": "测试工{role}",
                                                                     "health_cert_expires": "2027-06-30", "active": "1"},
                      may("admin", hidden_from=())),
    "update worker": ("/admin/workers/{other_worker}", None, {"name": "陈静", "health_cert_expires": "2027-07-31",
                                                             "active": "1"},
                      may("admin", hidden_from=())),
    "create user": ("/admin/users", None, {"username": "new{role}", "role": "agent", "password": "long-enough-pw"},
                    may("admin", hidden_from=())),
    "update user": ("/admin/users/{agent2}", None, {"role": "agent", "display_name": "坐席 小李"},
                    may("admin", hidden_from=())),
    "set a user's mobile": ("/admin/users/{agent2}", None, {"role": "agent", "display_name": "坐席 小李",
                                                            "phone": "13999300029"},
                            may("admin", hidden_from=())),
    "reset password": ("/admin/users/{agent2}/account", None, {"action": "reset_password", "password": "new-secret-123"},
                       may("admin", hidden_from=())),
    "deactivate user": ("/admin/users/{agent2}/account", None, {"action": "deactivate"}, may("admin", hidden_from=())),
    "log a user out everywhere": ("/admin/users/{agent2}/account", None, {"action": "logout_everywhere"},
                                  may("admin", hidden_from=())),
    "end one session of a user": ("/admin/users/{agent2}/sessions/{agent2_session}/end", None, {},
                                  may("admin", hidden_from=())),
    "edit a customer record": ("/customers/4", None, {"name": "赵阿姨", "notes": "{role}"},
                               may("agent", "callback", "supervisor", hidden_from=())),
    "add a customer address": ("/customers/4/addresses", None, {"text": "米东区古牧地东路{role}号"},
                               may("agent", "callback", "supervisor", hidden_from=())),
    # Merging needs two records of one person: the refusal (400, itself) shows the role got through.
    "merge customer records": ("/customers/4/merge", None, {"other": "4", "same_person": "1"},
                               {r: 400 if r in ("agent", "callback", "supervisor") else 403 for r in ROLES}),
    # Member cards: "{card}" is a fresh card with 100.00 yuan for each request, "{entry}" its top-up.
    "open card": ("/cards/open", None, {"phone": "135001350{role_no}", "level": "senior"},
                  may("agent", "supervisor", "admin", hidden_from=())),
    "top up card": ("/cards/{card}/topup", None, {"amount": "50", "reason": "cash at the hall"},
                    may("supervisor", "admin", hidden_from=())),
    "spend on card": ("/cards/{card}/spend", None, {"amount": "5", "key": "perm-{role}"},
                      may("agent", "supervisor", "admin", hidden_from=())),
    "refund from card": ("/cards/{card}/refund", None, {"amount": "5", "reason": "cash back"},
                         may("supervisor", "admin", hidden_from=())),
    "credit card": ("/cards/{card}/credit", None, {"amount": "5", "reason": "complaint compensation"},
                    may("supervisor", "admin", hidden_from=())),
    "reverse ledger row": ("/cards/{card}/reverse", None, {"entry": "{entry}", "reason": "typed twice"},
                           may("supervisor", "admin", hidden_from=())),
    "freeze card": ("/cards/{card}/freeze", None, {"reason": "reported lost"},
                    may("agent", "supervisor", "admin", hidden_from=())),
    "unfreeze card": ("/cards/{frozen_card}/unfreeze", None, {"reason": "found again"},
                      may("supervisor", "admin", hidden_from=())),
    "replace card": ("/cards/{card}/replace", None, {"reason": "lost"}, may("agent", "supervisor", "admin", hidden_from=())),
    "close card": ("/cards/{card}/close", None, {"reason": "moving away"}, may("supervisor", "admin", hidden_from=())),
    "change card level": ("/cards/{card}/level", None, {"level": "vip"}, may("agent", "supervisor", "admin", hidden_from=())),
    "pay order by card": ("/cards/pay/{order}", "completed", {"key": "perm-pay-{role}"},
                          may("agent", "supervisor", "admin", "franchisee")),
}

# The residents' public pages: (method, url, form) -> status for anyone without a log-in.
PUBLIC: dict[tuple[str, str], tuple[dict, int]] = {
    ("GET", "/lookup"): ({}, 200),
    ("POST", "/lookup"): ({"number": "2600100001"}, 200),
    ("POST", "/lookup/verify"): ({"number": "2600100001", "code": "123456"}, 400),
    ("GET", "/lookup/order"): ({}, 302),
    ("POST", "/lookup/order"): ({"action": "cancel"}, 302),
    ("GET", "/book"): ({}, 200),
    ("POST", "/book"): ({"service": "BJ"}, 400),
    ("POST", "/book/confirm"): ({"service": "BJ", "code": "123456"}, 400),
}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """One demo city for the whole matrix; each action gets its own fresh order in it."""
    path = tmp_path_factory.mktemp("matrix") / "hotline.db"
    hl = make_test_hotline(f"sqlite:///{path}", clock=Clock())
    with hl.session() as s, s.begin():
        # Every order of the matrix is on the same day: room for all of them at franchisee1.
        s.get(Franchisee, franchisee_id(s)).daily_capacity = 10000
    app = create_app(hl, {"TESTING": True})
    browsers: dict[str, Console] = {}

    def as_role(role: str) -> Console:
        if role not in browsers:
            browsers[role] = Console(app)
            assert browsers[role].login(USERS[role]).status_code == 302
        return browsers[role]
    with hl.session() as s:
        ids = {"franchisee": franchisee_id(s), "worker": worker_id(s),
               "district": s.scalar(select(District.id).where(District.name_zh == "天山区")),
               "other_fr": franchisee_id(s, "米东县域便民服务"), "other_worker": worker_id(s, "陈静"),
               "agent2": s.scalar(select(User.id).where(User.username == "agent2"))}
    with hl.session() as s, s.begin():
        console_sessions.start(s, s.get(User, ids["agent2"]))
        s.flush()
        ids["agent2_session"] = s.scalar(select(ConsoleSession.id).where(ConsoleSession.user_id == ids["agent2"]))
    yield hl, as_role, ids
    hl.close()


def new_complaint(hl, *, resolved: bool = False) -> int:
    """A complaint about a completed order of franchisee1 in 天山区; resolved by the platform if asked."""
    number = make_order(hl, "completed")
    with hl.session() as s, s.begin():
        c = complaints.open_complaint(s, actor=SYSTEM, source="agent", order=orders.get(s, number), text="late again")
        if resolved:
            complaints.decide(s, c, "apologised", Actor(role="supervisor", label="matrix"))
        s.flush()
        return c.id


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("suffix", ("", ".csv", ".xlsx"))
@pytest.mark.parametrize("report", REPORT_PAGES)
def test_report_access(world, report, suffix, role):
    _, as_role, _ = world
    expected = 200 if role in REPORT_PAGES[report] else 403
    assert as_role(role).get(f"/reports/{report}{suffix}").status_code == expected


def _fill(template: str, values: dict) -> str:
    return template.format(**values)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("page", PAGES)
def test_page_access(world, page, role):
    hl, as_role, _ = world
    url = page.format(order=make_order(hl, "dispatched")) if "{order}" in page else page
    if "{complaint}" in page:
        url = page.format(complaint=new_complaint(hl))
    assert as_role(role).get(url).status_code == PAGES[page][role]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", ORDER_ACTIONS)
def test_order_action(world, action, role):
    hl, as_role, ids = world
    state, form, expected = ORDER_ACTIONS[action]
    number = make_order(hl, state)
    resp = as_role(role).post(f"/orders/{number}/act", {k: _fill(v, ids) for k, v in form.items()})
    assert resp.status_code == expected[role], text(resp)[-600:]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("write", OTHER_WRITES)
def test_other_write(world, write, role):
    hl, as_role, ids = world
    url, state, form, expected = OTHER_WRITES[write]
    values = {**ids, "role": role, "role_no": f"{ROLES.index(role):02d}"}
    if "{card}" in url or "{frozen_card}" in url:
        values.update(_fresh_card(hl, frozen="{frozen_card}" in url))
    if state is not None:
        values["order"] = make_order(hl, state)
    if "{complaint}" in url:
        values["complaint"] = new_complaint(hl)
    if "{resolved_complaint}" in url:
        values["resolved_complaint"] = new_complaint(hl, resolved=True)
    if "{callback}" in url:
        # Click-to-call rings the user's own extension first, through the configured backend.
        hl.settings = dataclasses.replace(hl.settings, outbound_voice="asterisk")
        with hl.session() as s, s.begin():
            user = s.scalar(select(User).where(User.username == USERS[role]))
            user.extension = user.extension or f"PJSIP/{user.username}"
            values["callback"] = outbound.request_callback(s, phone="+8613800138000", source="after-hours").id
    if "{alias}" in url:
        with hl.session() as s, s.begin():
            values["alias"] = catalog.add_alias(s, SYSTEM, s.get(District, ids["district"]), f"旧名{role}").id
    if "{day}" in url:
        with hl.session() as s, s.begin():
            holidays.set_override(s, SYSTEM, date(2027, 1, 2), "day_off", "元旦")
            values["day"] = "2027-01-02"
    resp = as_role(role).post(_fill(url, values), {_fill(k, values): _fill(v, values) for k, v in form.items()})
    assert resp.status_code == expected[role], text(resp)[-600:]


@pytest.mark.parametrize("method, url", PUBLIC)
def test_public_pages_need_no_login(world, method, url):
    hl, as_role, _ = world
    app = as_role("admin").app
    anonymous = Console(app, remote_addr="198.51.100.7")
    form, status = PUBLIC[(method, url)]
    resp = anonymous.get(url) if method == "GET" else anonymous.post(url, form)
    assert resp.status_code == status, text(resp)[-600:]


def _fresh_card(hl, frozen: bool) -> dict[str, object]:
    """A new customer's card with 100.00 yuan on it (frozen if asked), and its top-up row."""
    with hl.session() as s, s.begin():
        n = s.scalar(select(func.count()).select_from(MemberCard))
        card = cards.open_card(s, customers.get_or_create(s, f"1370099{n:04d}"), SYSTEM)
        entry = cards.top_up(s, card, 10000, SYSTEM, reason="matrix")
        if frozen:
            cards.freeze(s, card, SYSTEM, reason="matrix")
        return {"card": card.number, "frozen_card": card.number, "entry": entry.id}


def _shape(path: str) -> str:
    """/orders/<number>/act, /orders/{order}/act and /orders/2632700001/act all read /orders/*/act."""
    return re.sub(r"<[^>]+>|\{[a-z_0-9]+\}|(?<=/)\d+(?=/|$)", "*", path)


def test_the_matrix_covers_every_console_route(world):
    """A new page or action must be added to the tables above before it can ship."""
    _, as_role, _ = world
    app = as_role("admin").app
    areas = ("orders.", "dispatch.", "portal.", "desk.", "callbacks.", "admin.", "complaints.", "portal_complaints.",
             "reports.", "customers.", "selfservice.", "cards.")
    routes = {(m, _shape(r.rule)) for r in app.url_map.iter_rules() if r.endpoint.startswith(areas)
              for m in r.methods - {"HEAD", "OPTIONS"}}
    covered = {("GET", _shape(p)) for p in PAGES} | {("POST", "/orders/*/act")} \
        | {("POST", _shape(url)) for url, *_ in OTHER_WRITES.values()} | set(PUBLIC) \
        | {("GET", "/reports/*"), ("GET", "/reports/*.*")}     # every report of REPORT_PAGES, in each format
    assert routes - covered == set()
