"""The customer records pages: search, the record with its timeline, audited edits and merges,
contact details by role."""
from __future__ import annotations

import re

from sqlalchemy import select

from tests.console.conftest import text
from tests.console.helpers import make_order
from tests.console.live import offer_to
from tickets import customers
from tickets.models import AuditLog, Customer


def customer_id(hl, phone: str) -> int:
    with hl.session() as s:
        return customers.find_by_phone(s, phone).id


def version(hl, cid: int) -> int:
    with hl.session() as s:
        return s.get(Customer, cid).version


def errors(resp) -> list[str]:
    return re.findall(r'class="flash flash-error"[^>]*>([^<]+)<', text(resp))


def test_an_agent_finds_a_customer_by_phone_and_sees_the_full_number(login, hl):
    page = text(login("agent1").get("/customers/?q=13800138000"))
    assert "王女士" in page and "13800138000" in page and "解放南路88号" in page


def test_a_supervisor_sees_the_number_masked(login, hl):
    page = text(login("supervisor1").get("/customers/?q=王女士"))
    assert "138****8000" in page and "解放南路88号" not in page


def test_a_too_short_search_is_refused_with_a_message(login):
    resp = login("agent1").get("/customers/?q=王")
    assert resp.status_code == 400 and errors(resp)


def test_the_record_shows_orders_surveys_and_calls_on_one_timeline(login, hl):
    number = make_order(hl, "dispatched")
    page = text(login("agent1").get(f"/customers/{customer_id(hl, '13800138000')}"))
    assert f'id="order-link-{number}"' in page
    assert 'data-kind="order"' in page and 'data-kind="survey"' in page


def test_an_edit_is_saved_and_audited(login, hl):
    cid = customer_id(hl, "13700137000")
    resp = login("callback1").post(f"/customers/{cid}", {"name": "Mr. Smith", "language": "en",
                                                         "notes": "prefers evenings", "do_not_call": "1",
                                                         "version": str(version(hl, cid))})
    assert resp.status_code == 302
    with hl.session() as s:
        assert s.get(Customer, cid).do_not_call
        row = s.scalar(select(AuditLog).where(AuditLog.action == "customer.update"))
        assert row.actor_label == "callback1" and row.data["notes"] == ["", "prefers evenings"]


def test_the_survey_channel_is_chosen_on_the_record_page_and_audited(login, hl):
    cid = customer_id(hl, "13700137000")
    callback = login("callback1")
    page = text(callback.get(f"/customers/{cid}"))
    assert '<option value="phone" >电话（完工后直接电话回访，不发短信）</option>' in page.replace("  ", " ")
    resp = callback.post(f"/customers/{cid}", {"name": "Mr. Smith", "language": "en", "survey_channel": "phone",
                                               "version": str(version(hl, cid))})
    assert resp.status_code == 302
    with hl.session() as s:
        assert s.get(Customer, cid).survey_channel == "phone"
        row = s.scalar(select(AuditLog).where(AuditLog.action == "customer.update"))
        assert row.data["survey_channel"] == ["sms", "phone"]
    assert 'data-testid="customer-survey">电话' in text(callback.get(f"/customers/{cid}"))


def test_an_unknown_survey_channel_is_refused_in_chinese_and_nothing_saved(login, hl):
    cid = customer_id(hl, "13700137000")
    resp = login("agent1").post(f"/customers/{cid}", {"name": "Mr. Smith", "language": "en", "survey_channel": "fax",
                                                      "version": str(version(hl, cid))})
    assert resp.status_code == 400
    assert "回访方式“fax”无效，可选：sms, phone。" in errors(resp)
    with hl.session() as s:
        assert s.get(Customer, cid).survey_channel == "sms"


def test_an_edit_over_someone_elses_save_is_refused(login, hl):
    cid = customer_id(hl, "13700137000")
    read = version(hl, cid)
    agent = login("agent1")
    agent.post(f"/customers/{cid}", {"name": "Mr. Smith", "language": "en", "notes": "first", "version": str(read)})
    resp = agent.post(f"/customers/{cid}", {"name": "Mr. Smith", "language": "en", "notes": "second",
                                            "version": str(read)})
    assert resp.status_code == 409


def test_an_address_is_added_with_its_district_found(login, hl):
    cid = customer_id(hl, "13700137000")
    assert login("agent1").post(f"/customers/{cid}/addresses", {"text": "天山区新华南路1号"}).status_code == 302
    with hl.session() as s:
        assert [a.district.name_zh for a in s.get(Customer, cid).addresses if a.text == "天山区新华南路1号"] == ["天山区"]


def test_a_merge_needs_the_tick(login, hl):
    keep, gone = customer_id(hl, "13900139000"), customer_id(hl, "13700137000")
    resp = login("agent1").post(f"/customers/{keep}/merge", {"other": str(gone)})
    assert resp.status_code == 400 and errors(resp)


def test_a_merge_of_a_record_with_itself_is_refused(login, hl):
    keep = customer_id(hl, "13900139000")
    resp = login("agent1").post(f"/customers/{keep}/merge", {"other": str(keep), "same_person": "1"})
    assert resp.status_code == 400


def test_a_merge_moves_the_other_records_history(login, hl):
    keep, gone = customer_id(hl, "13900139000"), customer_id(hl, "13700137000")
    agent = login("agent1")
    assert agent.post(f"/customers/{keep}/merge", {"other": str(gone), "same_person": "1"}).status_code == 302
    assert customer_id(hl, "13700137000") == keep
    assert 'id="customer-merged"' in text(agent.get(f"/customers/{gone}"))


def test_an_unknown_record_is_404(login):
    assert login("agent1").get("/customers/999999").status_code == 404


def test_the_screen_pop_card_links_the_record(login, hl):
    agent = login("agent1")
    html = text(agent.get(f"/workspace/offers/{offer_to(hl, 'agent1', '13800138000')}"))
    assert f'href="/customers/{customer_id(hl, "13800138000")}"' in html


def test_the_record_shows_the_card_ledger_in_yuan_and_the_cards_life(login, hl):
    page = text(login("agent1").get(f"/customers/{customer_id(hl, '13800138000')}"))
    # 王女士's demo card: a top-up and two spends, amounts and balances in yuan
    rows = re.findall(r'data-kind="card">(.*?)</li>', page, re.S)
    assert len(rows) == 3 and "充值" in rows[-1] and all("元" in r for r in rows)
    assert re.search(r'data-testid="card-amount">\+\d+\.\d\d 元', rows[-1])
    assert re.search(r'data-testid="card-amount">-\d+\.\d\d 元', rows[0]) and "消费" in rows[0]
    assert 'data-kind="card_event"' in page and "开卡" in page


def test_a_customer_is_found_by_a_card_number_even_after_a_replacement(login, hl):
    from tickets import cards
    from tickets.actors import SYSTEM
    with hl.session() as s, s.begin():
        cards.replace(s, cards.get(s, "880000000001"), SYSTEM, reason="lost")
    wang = f'href="/customers/{customer_id(hl, "13800138000")}"'
    agent = login("agent1")
    assert wang in text(agent.get("/customers/?q=880000000001"))          # the number it had
    assert wang not in text(agent.get("/customers/?q=880000000002"))      # 李先生's card
