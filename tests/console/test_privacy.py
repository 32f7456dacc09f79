"""Who sees a customer's phone number and address (policy.CONTACT_POLICY), and franchisee A
against franchisee B's orders."""
from __future__ import annotations

import re

import pytest

from agent_console.policy import CONTACT_POLICY, contact_of
from tests.console.conftest import text
from tests.console.helpers import TIANSHAN_ADDRESS, actor, make_order
from tickets import search
from tickets.models import ROLES

FULL_PHONE, MASKED_PHONE = "13800138000", "138****8000"
MASKED_ADDRESS = "天山区 ***"

# role -> (what the phone shows, what the address shows) on an order dispatched to franchisee1.
SEEN: dict[str, tuple[str, str]] = {
    "agent1": (FULL_PHONE, TIANSHAN_ADDRESS),
    "dispatcher1": (FULL_PHONE, TIANSHAN_ADDRESS),
    "manager1": (FULL_PHONE, TIANSHAN_ADDRESS),
    "callback1": (FULL_PHONE, MASKED_ADDRESS),
    "supervisor1": (MASKED_PHONE, MASKED_ADDRESS),
    "admin": (MASKED_PHONE, MASKED_ADDRESS),
    "franchisee1": (FULL_PHONE, TIANSHAN_ADDRESS),
}


def _field(page: str, testid: str) -> str:
    return re.search(rf'data-testid="{testid}"[^>]*>([^<]*)<', page).group(1).strip()


@pytest.mark.parametrize("username", SEEN)
def test_order_page_shows_contact_data_as_the_role_may_see_it(login, hl, username):
    number = make_order(hl, "dispatched")
    page = text(login(username).get(f"/orders/{number}"))
    assert (_field(page, "order-phone"), _field(page, "order-address")) == SEEN[username]


@pytest.mark.parametrize("username", ["supervisor1", "admin"])
def test_masked_roles_never_get_the_full_number_anywhere_on_the_page(login, hl, username):
    number = make_order(hl, "dispatched")
    c = login(username)
    for url in (f"/orders/{number}", "/orders/?name=王女士"):
        assert FULL_PHONE not in text(c.get(url))
        assert "解放南路" not in text(c.get(url))


def test_search_results_mask_the_phone_for_masked_roles(login, hl):
    number = make_order(hl, "dispatched")
    page = text(login("supervisor1").get(f"/orders/?number={number}"))
    assert _field(page, f"phone-{number}") == MASKED_PHONE


def test_a_franchisee_cannot_open_another_franchisees_order(login, hl):
    number = make_order(hl, "dispatched")           # dispatched to franchisee1
    assert login("franchisee2").get(f"/orders/{number}").status_code == 404


def test_a_franchisee_cannot_act_on_another_franchisees_order(login, hl):
    number = make_order(hl, "dispatched")
    other = login("franchisee2")
    assert other.post(f"/orders/{number}/act", {"action": "accept"}).status_code == 404
    with hl.session() as s:
        assert search.visible_order(s, number, actor(s, "franchisee1")).status == "dispatched"


def test_a_franchisees_search_lists_only_its_own_orders(login, hl):
    mine = make_order(hl, "dispatched")
    page = text(login("franchisee2").get("/orders/?phone=13800138000"))
    assert mine not in page


def test_a_franchisee_loses_sight_of_an_order_it_rejected(login, hl):
    number = make_order(hl, "dispatched")
    f1 = login("franchisee1")
    assert f1.post(f"/orders/{number}/act", {"action": "reject", "reason": "no staff"}).status_code == 302
    assert f1.get(f"/orders/{number}").status_code == 404


def test_a_district_manager_sees_only_orders_of_their_districts(login, hl):
    # manager1 looks after 天山区 and 水磨沟区; 沙依巴克区 is someone else's.
    elsewhere = make_order(hl, "dispatched", address="沙依巴克区友好南路5号")
    mine = make_order(hl, "dispatched")
    manager = login("manager1")
    assert manager.get(f"/orders/{elsewhere}").status_code == 404
    assert manager.get(f"/orders/{mine}").status_code == 200
    assert elsewhere not in text(manager.get("/dispatch/"))


def test_the_policy_table_names_every_role():
    assert set(CONTACT_POLICY) == set(ROLES)
    assert all(rule.why for rule in CONTACT_POLICY.values())


def test_policy_masks_a_franchisee_on_an_order_that_is_not_theirs(hl):
    number = make_order(hl, "dispatched")
    with hl.session() as s:
        order = search.visible_order(s, number, actor(s, "admin"))
        assert contact_of(actor(s, "franchisee2"), order).phone == MASKED_PHONE
        assert contact_of(actor(s, "franchisee1"), order).phone == FULL_PHONE
