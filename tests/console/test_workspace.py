"""The agent workspace pages: presence, the caller's card (known, new, anonymous), the prefilled
order form, wrap-up, and who may use them."""
from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from agent_console.workspace import order_prefill
from tests.console.conftest import text
from tests.console.live import offer_to
from tickets import agents, cards
from tickets.models import Call, User


def user(hl, username: str) -> User:
    with hl.session() as s:
        return s.scalar(select(User).where(User.username == username))


def card_html(console, event_id: int) -> str:
    resp = console.get(f"/workspace/offers/{event_id}")
    assert resp.status_code == 200, text(resp)
    return text(resp)


def test_agent_sets_presence_and_extension_with_the_form(login, hl):
    agent = login("agent1")
    resp = agent.post("/workspace/presence", {"presence": "available", "extension": "client:xiaozhang"})
    assert resp.status_code == 302
    u = user(hl, "agent1")
    assert (u.presence, u.extension) == ("available", "client:xiaozhang")


def test_presence_from_the_page_script_answers_json(login):
    agent = login("agent1")
    resp = agent.client.post("/workspace/presence", json={"presence": "busy"},
                             headers={"X-CSRFToken": agent.token()})
    assert resp.status_code == 200
    assert resp.json == {"presence": "busy", "extension": "PJSIP/agent1"}


def test_presence_from_an_xhr_form_post_answers_json(login):
    # The same test for "a script is asking" as the log-in gate uses: an XMLHttpRequest posting the form.
    agent = login("agent1")
    resp = agent.post("/workspace/presence", {"presence": "busy"}, headers={"X-Requested-With": "XMLHttpRequest"})
    assert resp.status_code == 200
    assert resp.json == {"presence": "busy", "extension": "PJSIP/agent1"}


def test_refused_presence_says_why(login):
    agent = login("agent1")
    resp = agent.client.post("/workspace/presence", json={"presence": "available", "extension": "PJSIP/agent2"},
                             headers={"X-CSRFToken": agent.token()})
    assert resp.status_code == 400
    assert "已由 agent2 使用" in resp.json["error"]


def test_presence_without_csrf_token_is_refused(login, hl):
    agent = login("agent1")
    resp = agent.post_without_token("/workspace/presence", {"presence": "available"})
    assert resp.status_code == 400
    assert user(hl, "agent1").presence == "away"


def test_workspace_shows_presence_buttons_and_how_to_try_without_a_pbx(login):
    page = text(login("agent1").get("/workspace/"))
    for presence in agents.PRESENCES:
        assert f'data-testid="presence-{presence}"' in page
    assert 'id="presence-away"' in page
    assert re.search(r'presence-away on"', page)
    assert "hotline simulate-call 13800138000" in page


@pytest.mark.parametrize("username", ["dispatcher1", "callback1", "franchisee1", "admin"])
def test_workspace_is_refused_to_roles_that_take_no_calls(login, username):
    assert login(username).get("/workspace/").status_code == 403


def test_card_of_a_known_caller_shows_who_they_are_and_their_history(login, hl):
    agent = login("agent1")
    html = card_html(agent, offer_to(hl, "agent1", "13800138000"))
    assert 'data-known="yes"' in html
    assert "王女士" in html
    assert "VIP" in html
    with hl.session() as s:
        card = cards.get(s, "880000000001")            # the card's balance, as its ledger sums it
    assert card.number in html and f"{card.balance_fen // 100}.{card.balance_fen % 100:02d}" in html
    assert "天山区解放南路88号3单元502" in html
    assert 'data-testid="pop-recent-orders"' in html
    assert "2631300001" in html
    assert re.search(r'data-testid="pop-survey"><span class="badge ok">4 / 5', html)


def test_card_of_an_unknown_number_offers_a_new_customer_order(login, hl):
    agent = login("agent1")
    html = card_html(agent, offer_to(hl, "agent1", "13512345678"))
    assert 'data-known="no"' in html
    assert 'data-testid="pop-new-caller"' in html
    assert "13512345678" in html


def test_card_of_an_anonymous_caller_asks_for_a_number(login, hl):
    agent = login("agent1")
    html = card_html(agent, offer_to(hl, "agent1", ""))
    assert 'data-testid="pop-anonymous"' in html
    assert "匿名" in html


def test_card_shows_what_the_caller_did_in_the_voice_menu(login, hl):
    agent = login("agent1")
    event_id = offer_to(hl, "agent1", ivr={"language": "en", "path": ["lang", "greet", "status", "agent"],
                                           "order": "2632700001"})
    html = card_html(agent, event_id)
    # What the caller chose, in words; routing nodes (greet, start) say nothing.
    assert 'data-testid="pop-ivr-path">选择语言 › 查询订单 › 转人工<' in html
    assert 'data-testid="pop-ivr-order">2632700001<' in html


def test_card_names_the_menu_steps_in_the_english_view_too(login, hl):
    agent = login("agent1")
    agent.post("/language", {"lang": "en"})
    event_id = offer_to(hl, "agent1", ivr={"path": ["start", "greet", "main", "book.category", "book.item.cleaning",
                                                    "main", "agent", "agent.transfer"]})
    html = card_html(agent, event_id)
    assert ('data-testid="pop-ivr-path">main menu › booking › Cleaning › main menu › asked for an agent<'
            in html)


def test_card_of_another_agents_offer_is_not_shown(login, hl):
    event_id = offer_to(hl, "agent2")
    assert login("agent1").get(f"/workspace/offers/{event_id}").status_code == 404


def test_reopened_workspace_shows_the_current_call(login, hl):
    agent = login("agent1")
    offer_to(hl, "agent1", "13900139000")
    page = text(agent.get("/workspace/"))
    assert 'data-testid="pop"' in page
    assert "李先生" in page


def test_order_form_is_prefilled_from_the_card():
    pop = {"call": {"id": 7},
           "card": {"caller": "+8613800138000", "caller_display": "13800138000", "known": True, "name": "王女士",
                    "addresses": [{"text": "水磨沟区南湖路12号", "default": False},
                                  {"text": "天山区解放南路88号3单元502", "default": True}]},
           "ivr": {"service": "BJ"}}
    assert order_prefill(pop) == {"call_id": "7", "phone": "13800138000", "name": "王女士",
                                  "address": "天山区解放南路88号3单元502", "service": "BJ"}


def test_order_form_for_an_anonymous_caller_leaves_the_phone_to_the_agent():
    pop = {"call": {"id": 8}, "card": {"caller": "anonymous", "caller_display": "匿名", "known": False}, "ivr": {}}
    assert order_prefill(pop) == {"call_id": "8"}


def test_card_links_the_new_order_form_with_the_prefill(login, hl):
    agent = login("agent1")
    html = card_html(agent, offer_to(hl, "agent1", "13800138000"))
    href = re.search(r'id="pop-new-order"[^>]*href="([^"]+)"', html).group(1).replace("&amp;", "&")
    query = parse_qs(urlsplit(href).query)
    assert query["phone"] == ["13800138000"]
    assert query["name"] == ["王女士"]
    assert query["address"] == ["天山区解放南路88号3单元502"]
    assert query["call_id"]
    form = text(agent.get(href))
    assert 'value="王女士"' in form
    assert "天山区解放南路88号3单元502" in form


def test_wrap_up_form_saves_disposition_and_notes(login, hl):
    agent = login("agent1")
    event_id = offer_to(hl, "agent1")
    with hl.session() as s:
        call_id = s.scalar(select(Call.id).where(Call.external_id == "call-1"))
    resp = agent.post(f"/workspace/calls/{call_id}/wrap-up", {"disposition": "info", "notes": "问了价格"})
    assert resp.status_code == 302
    with hl.session() as s:
        call = s.get(Call, call_id)
        assert (call.disposition, call.notes) == ("info", "问了价格")
    assert 'data-testid="pop"' not in text(agent.get("/workspace/"))     # no longer the current call
    assert "selected>" in card_html(agent, event_id)


def test_wrap_up_of_another_agents_call_is_refused(login, hl):
    offer_to(hl, "agent2")
    with hl.session() as s:
        call_id = s.scalar(select(Call.id).where(Call.external_id == "call-1"))
    agent = login("agent1")
    resp = agent.client.post(f"/workspace/calls/{call_id}/wrap-up", json={"disposition": "info"},
                             headers={"X-CSRFToken": agent.token()})
    assert resp.status_code == 403


def test_wrap_up_of_a_call_that_does_not_exist_is_not_found(login):
    agent = login("agent1")
    assert agent.post("/workspace/calls/999/wrap-up", {"disposition": "info"}).status_code == 404


@pytest.mark.parametrize("fields, state", [
    ({}, "ringing"),
    ({"queue_result": "answered"}, "live"),
    ({"queue_result": "answered", "talk_seconds": 95}, "ended"),
    ({"queue_result": "abandoned", "outcome": "abandoned"}, "abandoned"),
])
def test_card_shows_the_call_state_the_queue_reported(login, hl, fields, state):
    event_id = offer_to(hl, "agent1")
    with hl.session() as s, s.begin():
        call = s.scalar(select(Call).where(Call.external_id == "call-1"))
        for name, value in fields.items():
            setattr(call, name, value)
    assert f'data-testid="pop-call-state" data-state="{state}"' in card_html(login("agent1"), event_id)

